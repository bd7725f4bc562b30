"""``hub demo``: the whole daily cycle over the sandbox province, through the real DAGs, on SQLite.

Everything lives under ``<var dir>/demo/`` and is made anew on each run: the platform database
(``hub.db``), the sandbox (agency data, Credit China and GSXT, ground truth), Airflow's own home
and metadata database (``airflow/``), the reports and the delta files. Every simulated system is
served on loopback for the duration of the run and stopped after, also when the run fails.

The default fortnight, 2026-09-28 to 2026-10-11, holds the National Day holiday (1-7 October,
when agencies deliver nothing) and the make-up working Saturday of 10 October.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from hub.core.settings import settings
from hub.core.workdays import WorkCalendar
from hub.ops.totals import Totals, platform_totals
from hub.store.db import make_engine, upgrade
from hub.store.reference import load_reference
from hub.store.schema import LOADED_IN_BATCH, ingest_batch, quarantine
from sandbox.config import SandboxConfig
from sandbox.cycle import AirflowRunner, DagRunResult, run_cycle
from sandbox.deliver import init_sandbox

DEFAULT_START = date(2026, 9, 28)
DEFAULT_DAYS = 14
_SYMBOLS = {"success": "[green]✓[/]", "failed": "[red]✗[/]"}


def _fresh_demo_dir() -> Path:
    demo_dir = settings().var_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    demo_dir.mkdir(parents=True)
    return demo_dir


def _day_label(calendar: WorkCalendar, day: date) -> str:
    if calendar.is_workday(day):
        return "make-up working day" if day.weekday() >= 5 else "working day"
    return "holiday" if day.weekday() < 5 else "rest day"


def _per_source(connection: sa.Connection) -> Table:
    b = ingest_batch.c
    statement = (
        sa.select(
            b.source_id,
            sa.func.count(),
            sa.func.sum(b.n_read),
            sa.func.sum(LOADED_IN_BATCH),
            sa.func.sum(b.n_quarantined),
            sa.func.sum(sa.case((b.status == "failed", 1), else_=0)),
        )
        .group_by(b.source_id)
        .order_by(b.source_id)
    )
    table = Table(title="collection per source")
    for header in ("source", "batches", "read", "loaded", "quarantined", "failed"):
        table.add_column(header, justify="left" if header == "source" else "right")
    for row in connection.execute(statement):
        table.add_row(*(str(value) for value in row))
    return table


def _quarantine_reasons(connection: sa.Connection) -> Table:
    statement = (
        sa.select(
            quarantine.c.department,
            quarantine.c.rule,
            sa.func.count().label("records"),
            sa.func.min(quarantine.c.message).label("example"),
        )
        .group_by(quarantine.c.department, quarantine.c.rule)
        .order_by(quarantine.c.department, sa.desc("records"))
    )
    table = Table(title="quarantined, by department and rule (one example each)")
    for header in ("department", "rule", "records", "example"):
        table.add_column(header)
    for row in connection.execute(statement):
        table.add_row(row.department, row.rule, str(row.records), row.example)
    return table


def summary_table(totals: Totals) -> Table:
    """The cycle's figures in one table: records, reconciliation, changes, deliveries, files."""
    table = Table(title="the cycle in figures", show_header=False)
    table.add_column("what")
    table.add_column("figures")
    held = ", ".join(
        f"{kind} {sum(by_status.values())}" for kind, by_status in totals.records.items()
    )
    table.add_row(
        "records",
        f"{totals.read} read, {totals.loaded} loaded, {totals.quarantined} quarantined "
        f"({totals.batches} batches, {totals.failed_batches} failed); held: {held}",
    )
    table.add_row(
        "reconciliation",
        ", ".join(f"{n} {state}" for state, n in sorted(totals.reconcile_runs.items()))
        + " runs; findings: "
        + ", ".join(f"{cls} {n}" for cls, n in sorted(totals.findings.items()))
        + f" ({totals.open_findings} open)",
    )
    table.add_row(
        "status changes",
        ", ".join(f"{status} {n}" for status, n in sorted(totals.status_changes.items())) or "none",
    )
    table.add_row(
        "deliveries",
        "; ".join(
            f"{target} {d.delivered} delivered, {d.pending} pending, {d.dead} dead"
            for target, d in totals.deliveries.items()
        )
        or "none",
    )
    table.add_row(
        "delta files",
        "; ".join(
            f"{site} {f.sets} sets (last #{f.last_sequence}), {f.rows} rows"
            for site, f in totals.delta_files.items()
        ),
    )
    return table


def run_demo(console: Console, days: int = DEFAULT_DAYS, start: date = DEFAULT_START) -> None:
    """Run the daily cycle for ``days`` days from ``start``, printing what happened and where."""
    demo_dir = _fresh_demo_dir()
    database_url = f"sqlite:///{demo_dir / 'hub.db'}"
    os.environ.update(HUB_DATABASE_URL=database_url, HUB_VAR_DIR=str(demo_dir))
    settings.cache_clear()
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        load_reference(connection)

    config = SandboxConfig(demo_dir / "sandbox")
    init_sandbox(config)
    console.print("starting Airflow (its own metadata database under the demo folder)…")
    runner = AirflowRunner.in_home(demo_dir / "airflow")
    calendar = WorkCalendar.load()
    day_list = [start + timedelta(days=n) for n in range(days)]

    def show(run: DagRunResult) -> None:
        mark = _SYMBOLS.get(run.state, run.state)
        failed = f" failed: {', '.join(run.failed_tasks)}" if run.failed_tasks else ""
        label = f"{run.day} ({_day_label(calendar, run.day)})"
        console.print(f"{label:<34} {run.dag_id:<24} {mark} {run.seconds:5.1f} s{failed}")

    console.print("sandbox province served on loopback for the run; the DAGs, day by day:")
    cycle = run_cycle(runner, config, day_list, on_run=show)

    with engine.connect() as connection:
        console.print(_per_source(connection))
        console.print(_quarantine_reasons(connection))
        console.print(summary_table(platform_totals(connection)))
    engine.dispose()
    reports = demo_dir / "reports"
    console.print(
        f"\n{len(cycle.runs)} DAG runs over {days} days ({len(cycle.failed_runs)} failed); "
        f"agencies delivered on {len(cycle.delivery_days)} working days.\n"
        f"results: platform database [bold]{demo_dir / 'hub.db'}[/]\n"
        f"         quality reports  [bold]{reports / 'quality'}[/]\n"
        f"         reconciliation   [bold]{reports / 'reconcile'}[/]\n"
        f"         delta files      [bold]{demo_dir / 'deltas'}[/]\n"
        f"         Airflow home     [bold]{demo_dir / 'airflow'}[/] (metadata DB, task logs)\n"
        f"         sandbox truth    [bold]{config.dir}[/]\n"
        f"         HUB_DATABASE_URL={database_url} hub status   shows it again"
    )
