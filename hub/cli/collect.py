"""``hub collect``: collect the enabled sources (or some) for a day, with a progress bar."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub import jobs
from hub.cli.common import console, parse_day, parse_instant, runtime
from hub.collect.sources import UnknownSourceError, enabled_source_ids, get_source


def batch_table(outcome: jobs.CollectOutcome) -> Table:
    """A table of what each source's batch did, failures included."""
    table = Table(title=f"collection of {outcome.day}")
    headers = (
        "source",
        "status",
        "read",
        "new",
        "updated",
        "unchanged",
        "outdated",
        "quarantined",
        "re-read",
    )
    for header in headers:
        table.add_column(header, justify="left" if header in ("source", "status") else "right")
    table.add_column("notes")
    for s in outcome.batches:
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
            str(s.reread),
            "; ".join([*s.errors, *s.drift]),
        )
    for source_id, error in outcome.failures.items():
        table.add_row(source_id, "[red]failed[/]", *[""] * (len(headers) - 2), error)
    return table


def collect(
    day: Annotated[str, typer.Option("--date", help="The logical day, e.g. 2026-11-03.")],
    source: Annotated[
        list[str] | None, typer.Option("--source", help="Only these sources (repeatable).")
    ] = None,
    received_at: Annotated[
        str | None,
        typer.Option(
            "--received-at",
            help="When the delivery arrived, e.g. 2026-10-13T01:00+08:00 (a replay or back-fill; "
            "timeliness counts to it). Default: now. Without an offset: platform time.",
        ),
    ] = None,
) -> None:
    """Collect every enabled source (or the given ones) for a day.

    Exits 1 when a source's batch failed (nothing of it loaded), else 3 when a batch is partial
    (a delivered file was rejected, the rest loaded), else 0.
    """
    chosen_day = parse_day(day)
    arrival = parse_instant(received_at, "--received-at") if received_at else None
    for source_id in source or []:
        try:
            get_source(source_id)
        except UnknownSourceError as exc:
            raise typer.BadParameter(str(exc), param_hint="--source") from exc
    source_ids = source or enabled_source_ids()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        bar = progress.add_task(f"collecting {chosen_day}", total=len(source_ids))

        def on_source(source_id: str) -> None:
            progress.update(bar, description=f"collecting {chosen_day} {source_id}", advance=1)

        outcome = jobs.collect(
            chosen_day, runtime(), sources=source_ids, received_at=arrival, on_source=on_source
        )
    console.print(batch_table(outcome))
    for warning in outcome.warnings:
        console.print(f"[yellow]warning: {warning}[/]")
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)
