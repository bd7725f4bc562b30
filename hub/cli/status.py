"""``hub init-db``, ``hub status`` and ``hub case``: set the platform up and see where it stands."""

from __future__ import annotations

import json
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.table import Table

from hub import jobs
from hub.cli.common import console, runtime
from hub.core.settings import settings
from hub.ops.status import STALE_PULL_DAYS
from hub.ops.status_view import show_status
from hub.reconcile.compare import FINDING_CLASSES


def init_db() -> None:
    """Create or migrate the platform database and load the reference data."""
    loaded = jobs.init_db(runtime())
    url = sa.make_url(settings().database_url).render_as_string(hide_password=True)
    console.print(f"platform database ready: [bold]{url}[/]")
    for table, rows in loaded.items():
        console.print(f"  {table}: {rows} rows")


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
    report = jobs.status(runtime(), recent=limit, stale_pull_days=stale_pull_days)
    show_status(report, console, json_output)
    if report.schema_revision != report.schema_head:
        raise typer.Exit(1)


def case(
    subject: Annotated[str, typer.Argument(help="The subject's credit code or ID number.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the case as JSON.")] = False,
) -> None:
    """The subject's whole repair case: every record, its status in each system, what is pending."""
    found = jobs.case(subject, runtime())
    if as_json:
        console.out(json.dumps(found, ensure_ascii=False, indent=2))
        return
    if not any(found[part] for part in ("records", "quarantined", "rejected_files")):
        console.print(f"no record of {found['subject']} on the platform")
        raise typer.Exit(1)
    console.print(f"[bold]{found['subject_name'] or ''}[/] {found['subject']}")
    if found["records"]:
        _show_records(found)
    for held in found["quarantined"]:
        rules = "; ".join(f"{r['rule']}: {r['message']}" for r in held["rules"])
        state = f"resolved {held['resolved_at']}" if held["resolved_at"] else "open"
        console.print(
            f"quarantined ({state}): source {held['source_id']}, batch {held['batch_id']} "
            f"record {held['raw_seq']}, {held['department']}: {rules}"
        )
    for rejected in found["rejected_files"]:
        console.print(
            f"rejected file: source {rejected['source_id']}, batch {rejected['batch_id']}, "
            f"{rejected['file_name']}: {rejected['reason']}"
        )


def _show_records(found: dict) -> None:
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
