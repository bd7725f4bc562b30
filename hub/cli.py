"""The ``hub`` command line: set up the platform database, collect, and see what happened."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub import clock
from hub.airflow_cli import app as airflow_app
from hub.collect import BatchSummary, CollectError, collect_source
from hub.fanout.cli import fanout
from hub.fanout.status import outbox_figures, outbox_table
from hub.publish.cli import publish, pull, serve, token
from hub.reconcile.cli import case, reconcile
from hub.reference import load_reference
from hub.settings import settings
from hub.sources import enabled_sources, get_source
from hub.store.db import make_engine, upgrade
from hub.store.schema import ingest_batch, quarantine
from quality.cli import report
from sandbox.cli import app as sandbox_app

app = typer.Typer(help="The credit-repair integration hub.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(airflow_app, name="airflow")
app.command("fanout")(fanout)
app.command("publish")(publish)
app.command("token")(token)
app.command("serve")(serve)
app.command("pull")(pull)
app.command("report")(report)
app.command("reconcile")(reconcile)
app.command("case")(case)
# Piped output (CI logs, `| tee`) gets room for the full source ids instead of 80 columns.
console = Console(width=None if Console().is_terminal else 150)


@app.callback()
def _configure(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each page.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-03") from exc


@app.command("init-db")
def init_db() -> None:
    """Create or migrate the platform database and load the reference data."""
    engine = make_engine()
    upgrade(engine)
    with engine.begin() as connection:
        loaded = load_reference(connection)
    engine.dispose()
    url = sa.make_url(settings().database_url).render_as_string(hide_password=True)
    console.print(f"platform database ready: [bold]{url}[/]")
    for table, rows in loaded.items():
        console.print(f"  {table}: {rows} rows")


def batch_table(
    summaries: list[BatchSummary], failures: dict[str, str], title: str = "collection"
) -> Table:
    """A table of what each source's batch did, failures included."""
    table = Table(title=title)
    for header in ("source", "status", "read", "new", "updated", "unchanged", "quarantined"):
        table.add_column(header, justify="left" if header in ("source", "status") else "right")
    table.add_column("notes")
    for s in summaries:
        notes = "; ".join([*s.errors, *s.drift])
        style = "yellow" if s.status == "partial" else "green"
        table.add_row(
            s.source_id,
            f"[{style}]{s.status}[/]",
            str(s.read),
            str(s.counts.inserted),
            str(s.counts.updated),
            str(s.counts.unchanged),
            str(s.quarantined),
            notes,
        )
    for source_id, error in failures.items():
        table.add_row(source_id, "[red]failed[/]", "", "", "", "", "", error)
    return table


def collect_day(day: date, source_ids: list[str]) -> tuple[list[BatchSummary], dict[str, str]]:
    """Collect ``source_ids`` for ``day`` one after the other, with a progress bar."""
    engine = make_engine()
    summaries, failures = [], {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"collecting {day}", total=len(source_ids))
        for source_id in source_ids:
            progress.update(task, description=f"collecting {day} {source_id}")
            try:
                summaries.append(collect_source(source_id, day, engine=engine))
            except CollectError as exc:
                failures[source_id] = str(exc)
            progress.advance(task)
    engine.dispose()
    return summaries, failures


@app.command()
def collect(
    day: Annotated[str, typer.Option("--date", help="The logical day, e.g. 2026-11-03.")],
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Only these sources (repeatable).")
    ] = None,
) -> None:
    """Collect every enabled source (or the given ones) for a day; exit 1 if any failed."""
    source_ids = [get_source(s).id for s in source] if source else [s.id for s in enabled_sources()]
    summaries, failures = collect_day(_parse_day(day), source_ids)
    console.print(batch_table(summaries, failures, title=f"collection of {day}"))
    if failures:
        raise typer.Exit(1)


@app.command()
def demo(
    days: Annotated[int, typer.Option(help="How many days to deliver and collect.")] = 3,
    start: Annotated[str, typer.Option(help="The first day.")] = "2026-11-02",
) -> None:
    """Run the daily collection over the sandbox province on SQLite (under var/demo/)."""
    from hub.demo import run_demo

    run_demo(console, days, _parse_day(start))


def _when(value: datetime | None) -> str:
    """A stored instant in the platform's time zone (SQLite hands back naive UTC)."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(settings().timezone).strftime("%Y-%m-%d %H:%M:%S")


@app.command()
def status(limit: Annotated[int, typer.Option(help="Batches shown per source.")] = 3) -> None:
    """Recent batches per source with their figures and errors, quarantine by rule, outbox."""
    engine = make_engine()
    ranked = sa.select(
        ingest_batch,
        sa.func.row_number()
        .over(partition_by=ingest_batch.c.source_id, order_by=ingest_batch.c.id.desc())
        .label("recency"),
    ).subquery()
    recent = (
        sa.select(ranked)
        .where(ranked.c.recency <= limit)
        .order_by(ranked.c.source_id, ranked.c.id.desc())
    )
    by_rule = (
        sa.select(quarantine.c.source_id, quarantine.c.rule, sa.func.count().label("n"))
        .where(quarantine.c.resolved_at.is_(None))
        .group_by(quarantine.c.source_id, quarantine.c.rule)
        .order_by(quarantine.c.source_id, sa.desc("n"))
    )
    with engine.connect() as connection:
        batches = connection.execute(recent).mappings().all()
        rules = connection.execute(by_rule).all()
        outbox = outbox_figures(connection, clock.now())
    engine.dispose()

    table = Table(title="recent batches")
    for header in (
        "source",
        "batch",
        "day",
        "status",
        "finished (Asia/Shanghai)",
        "read",
        "new",
        "updated",
        "unchanged",
        "quarantined",
        "error",
    ):
        table.add_column(header)
    for b in batches:
        colour = {"succeeded": "green", "partial": "yellow", "failed": "red"}.get(b.status, "")
        table.add_row(
            b.source_id,
            str(b.id),
            str(b.logical_date),
            f"[{colour}]{b.status}[/]",
            _when(b.finished_at),
            str(b.n_read),
            str(b.n_inserted),
            str(b.n_updated),
            str(b.n_unchanged),
            str(b.n_quarantined),
            (b.error or "")[:160],
        )
    console.print(table)
    quarantined = Table(title="quarantined records by rule (unresolved)")
    for header in ("source", "rule", "records"):
        quarantined.add_column(header)
    for source_id, rule, n in rules:
        quarantined.add_row(source_id, rule, str(n))
    console.print(quarantined)
    console.print(outbox_table(outbox))
