"""``hub demo``: the daily collection over the sandbox province, end to end, on SQLite.

Everything lives under ``<var dir>/demo/`` and is made anew on each run: the platform database
(``hub.db``) and the sandbox (agency API store, exchange database, drop folders, ground truth).
The sandbox's agency APIs are served on loopback for the duration of the run and stopped after.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from hub.collect import BatchSummary
from hub.reference import load_reference
from hub.settings import settings
from hub.sources import enabled_sources
from hub.store.db import make_engine, upgrade
from hub.store.schema import quarantine
from sandbox.config import SandboxConfig, connection_env
from sandbox.deliver import deliver, init_sandbox
from sandbox.server import serve_in_thread


def _fresh_demo_dir() -> Path:
    demo_dir = settings().var_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    demo_dir.mkdir(parents=True)
    return demo_dir


def _totals(summaries: list[BatchSummary]) -> Table:
    table = Table(title="totals per source")
    for header in ("source", "read", "loaded", "quarantined", "failed runs"):
        table.add_column(header, justify="left" if header == "source" else "right")
    by_source: dict[str, list[BatchSummary]] = {}
    for summary in summaries:
        by_source.setdefault(summary.source_id, []).append(summary)
    for source_id, runs in sorted(by_source.items()):
        table.add_row(
            source_id,
            str(sum(r.read for r in runs)),
            str(sum(r.loaded for r in runs)),
            str(sum(r.quarantined for r in runs)),
            str(sum(r.status == "failed" for r in runs)),
        )
    return table


def _quarantine_reasons(engine: sa.Engine) -> Table:
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
    with engine.connect() as connection:
        for row in connection.execute(statement):
            table.add_row(row.department, row.rule, str(row.records), row.example)
    return table


def run_demo(console: Console, days: int, start: date) -> None:
    """Deliver and collect ``days`` days from ``start``, printing what happened and where."""
    from hub.cli import batch_table, collect_day

    demo_dir = _fresh_demo_dir()
    database_url = f"sqlite:///{demo_dir / 'hub.db'}"
    os.environ["HUB_DATABASE_URL"] = database_url
    settings.cache_clear()
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        load_reference(connection)

    config = SandboxConfig(demo_dir / "sandbox")
    init_sandbox(config)
    source_ids = [s.id for s in enabled_sources()]
    summaries: list[BatchSummary] = []
    with serve_in_thread(config) as server:
        os.environ.update(connection_env(config.dir, server.base_url, config.exchange_database_url))
        console.print(f"sandbox province: {len(source_ids)} agencies, APIs at {server.base_url}")
        for day in (start + timedelta(days=n) for n in range(days)):
            deliver(config, day)
            done, failures = collect_day(day, source_ids)
            summaries += done
            console.print(batch_table(done, failures, title=f"collection of {day}"))
    console.print(_totals(summaries))
    console.print(_quarantine_reasons(engine))
    engine.dispose()
    console.print(
        f"\nresults: platform database [bold]{demo_dir / 'hub.db'}[/] "
        "(tables ingest_batch, raw_record, quarantine, penalty_record, abnormal_record, "
        "serious_record, record_history)\n"
        f"         sandbox and its ground truth: [bold]{config.dir}[/] "
        "(drop/*/archive and drop/*/rejected hold the processed files)\n"
        f"         HUB_DATABASE_URL={database_url} hub status   shows the batches again"
    )
