"""The ``hub`` command line: set up the platform database, collect, and see what happened."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub.cli.airflow import app as airflow_app
from hub.cli.fanout import fanout
from hub.cli.publish import publish, pull, serve, token
from hub.cli.reconcile import case, reconcile
from hub.cli.report import report
from hub.collect.run import BatchSummary, CollectError, collect_source
from hub.collect.sources import enabled_sources, get_source
from hub.core import clock
from hub.core.logs import configure as configure_logging
from hub.core.settings import settings
from hub.ops.status import STALE_PULL_DAYS, platform_status
from hub.ops.status_view import show_status
from hub.store.db import make_engine, upgrade
from hub.store.reference import load_reference
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
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="-v: log batches, pages and deliveries; -vv: each quarantined record too. "
            "HUB_LOG_FORMAT=json logs JSON lines.",
        ),
    ] = 0,
) -> None:
    configure_logging(verbose)


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
    headers = ("source", "status", "read", "new", "updated", "unchanged", "outdated", "quarantined")
    for header in headers:
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
            str(s.counts.outdated),
            str(s.quarantined),
            notes,
        )
    for source_id, error in failures.items():
        table.add_row(source_id, "[red]failed[/]", *[""] * (len(headers) - 2), error)
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
    days: Annotated[
        int | None, typer.Option(help="How many consecutive days to run (default 14).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="The first day (default 2026-09-28: the fortnight of National Day)."),
    ] = None,
) -> None:
    """Run the daily cycle through the real DAGs over the sandbox province (under var/demo/)."""
    from sandbox.demo import DEFAULT_DAYS, DEFAULT_START, run_demo

    run_demo(console, days or DEFAULT_DAYS, _parse_day(start) if start else DEFAULT_START)


@app.command()
def status(
    limit: Annotated[int, typer.Option(help="Batches shown per source.")] = 3,
    stale_pull_days: Annotated[
        int, typer.Option(help="Days without a pull after which a site is flagged.")
    ] = STALE_PULL_DAYS,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Per source, push target, pull site and DAG: the last run, its figures, problems.

    Exits 1 when the database needs ``hub init-db``.
    """
    engine = make_engine()
    try:
        report = platform_status(engine, clock.now(), recent=limit, stale_pull_days=stale_pull_days)
    finally:
        engine.dispose()
    show_status(report, console, json_output)
    if report.schema_revision != report.schema_head:
        raise typer.Exit(1)
