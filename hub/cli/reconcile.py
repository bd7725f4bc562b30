"""The ``hub reconcile`` and ``hub case`` commands."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.core.settings import settings
from hub.core.thresholds import REMINDER_DAYS, ThresholdError
from hub.ops.case import case_of
from hub.reconcile.compare import FINDING_CLASSES
from hub.reconcile.report import build_report, write_report
from hub.reconcile.run import reconcile_day
from hub.store.db import make_engine

console = Console(width=None if Console().is_terminal else 150)


def reconcile(
    day: Annotated[str, typer.Option("--date", help="The day to reconcile, e.g. 2026-11-20.")],
) -> None:
    """Reconcile repairs between the platform, Credit China and GSXT for a day; write its report.

    Exits 1 when a system could not be read or a push failed (the rest is still done).
    """
    try:
        logical_day = date.fromisoformat(day)
    except ValueError as exc:
        raise typer.BadParameter(f"{day!r} is not a date like 2026-11-20") from exc
    try:
        reminder_days = REMINDER_DAYS.value_from()
    except ThresholdError as exc:
        raise typer.BadParameter(str(exc)) from exc
    engine = make_engine()
    summary = reconcile_day(logical_day, engine=engine)
    with engine.connect() as connection:
        report = build_report(connection, logical_day, reminder_days)
    engine.dispose()
    paths = write_report(report, settings().var_dir / "reports" / "reconcile")

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
    console.print(f"reminders (next {reminder_days} days): {len(report.reminders)} records")
    if report.calendar_warning:
        console.print(f"[yellow]{report.calendar_warning}[/]")
    for error in [*summary.errors, *summary.push_rejected]:
        console.print(f"[red]{error}[/]")
    for kind, path in paths.items():
        console.print(f"report ({kind}): {path}")
    if summary.errors:
        raise typer.Exit(1)


def case(
    subject: Annotated[str, typer.Argument(help="The subject's credit code or ID number.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the case as JSON.")] = False,
) -> None:
    """The subject's whole repair case: every record, its status in each system, what is pending."""
    engine = make_engine()
    with engine.connect() as connection:
        found = case_of(connection, subject)
    engine.dispose()
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if not found["records"]:
        console.print(f"no record of {found['subject']} on the platform")
        raise typer.Exit(1)
    console.print(f"[bold]{found['subject_name']}[/] {found['subject']}")
    table = Table()
    for header in (
        "kind",
        "document",
        "decided",
        "platform",
        "信用中国",
        "GSXT",
        "min end",
        "max end",
    ):
        table.add_column(header)
    for r in found["records"]:
        systems = [s["status"] if s else "-" for s in r["systems"].values()]
        table.add_row(
            r["kind"],
            r["document_no"],
            str(r["decision_date"]),
            r["status"],
            *systems,
            str(r["publicity_min_end"]),
            str(r["publicity_max_end"]),
        )
    console.print(table)
    for finding in (f for r in found["records"] for f in r["open_findings"]):
        label = FINDING_CLASSES[finding["finding_class"]]
        console.print(f"open: {label}, {finding['responsible']}, since {finding['first_seen']}")
    for line in found["pending"]:
        console.print(f"pending: {line}")
