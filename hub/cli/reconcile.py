"""``hub reconcile``: the day's reconciliation between the platform, Credit China and GSXT."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hub import jobs
from hub.cli.common import console, parse_day, runtime


def reconcile(
    day: Annotated[str, typer.Option("--date", help="The day to reconcile, e.g. 2026-11-20.")],
) -> None:
    """Reconcile repairs between the platform, Credit China and GSXT for a day; write its report.

    Exits 1 when a system could not be read or a push failed (the rest is still done).
    """
    outcome = jobs.reconcile(parse_day(day), runtime())
    summary, report = outcome.summary, outcome.report
    table = Table(title=f"reconciliation of {day} (run {summary.run_id}, {summary.status})")
    for header in ("finding class", "found today", "settled today", "open"):
        table.add_column(header, justify="left" if header == "finding class" else "right")
    for row in report.by_class.itertuples():
        table.add_row(
            f"{row.label} ({row.finding_class})",
            str(row.found_today),
            str(row.settled_today),
            str(row.open),
        )
    console.print(table)
    console.print(f"facts fetched: {summary.fetched}; pushed: {summary.pushed or 'none'}")
    console.print(f"platform status changes: {summary.status_changes or 'none'}")
    console.print(f"reminders (next {outcome.reminder_days} days): {len(report.reminders)} records")
    if report.calendar_warning:
        console.print(f"[yellow]{report.calendar_warning}[/]")
    for error in [*summary.errors, *summary.push_rejected]:
        console.print(f"[red]{error}[/]")
    for kind, path in outcome.files.items():
        console.print(f"report ({kind}): {path}")
    if outcome.problems:
        raise typer.Exit(1)
