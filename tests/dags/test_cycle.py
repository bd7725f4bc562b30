"""The whole daily cycle, end to end: a fortnight of the sandbox province through the real DAGs.

Fourteen days around National Day 2026 (a week of holiday, then the make-up working Saturday),
each run as the scheduler would: collect, quality report, reconcile, fan out, publish. The
figures the platform ends with are checked against what the sandbox generated (its ground
truth) and what the simulated sites received.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from hub.collect.sources import enabled_sources
from hub.core.settings import settings
from hub.core.targets import pull_targets, push_targets
from hub.ops.totals import platform_totals
from hub.store.db import make_engine, upgrade
from hub.store.outbox_schema import outbox
from hub.store.publish_schema import delta_day, delta_manifest
from hub.store.reconcile_schema import reconcile_finding, reconcile_run
from hub.store.reference import load_reference
from hub.store.schema import ingest_batch, raw_record, status_change
from hub.store.tables import metadata
from sandbox.agencies import RULES
from sandbox.config import SandboxConfig
from sandbox.cycle import DAILY_RUNS, AirflowRunner, CycleResult, backfill, run_cycle
from sandbox.deliver import init_sandbox, read_truth
from sandbox.demo import DEFAULT_DAYS, DEFAULT_START, summary_table
from sandbox.repair_scenario import read_repair_truth
from tests.conftest import POSTGRES_ADMIN_URL, throwaway_database

pytestmark = [pytest.mark.dag, pytest.mark.integration]

DAYS = [DEFAULT_START + timedelta(days=n) for n in range(DEFAULT_DAYS)]
WORKING_DAYS = [
    date(2026, 9, 28),
    date(2026, 9, 29),
    date(2026, 9, 30),
    date(2026, 10, 8),
    date(2026, 10, 9),
    date(2026, 10, 10),  # the make-up Saturday
]


@dataclass
class Fortnight:
    """The fortnight run once on a fresh platform database of one backend."""

    config: SandboxConfig
    result: CycleResult
    engine: sa.Engine
    runner: AirflowRunner


def _platform_database(backend: str, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'hub.db'}"
    else:
        yield from throwaway_database(POSTGRES_ADMIN_URL, "PostgreSQL")


def _fortnight_on(
    backend: str, dagbag, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fortnight]:
    """The fortnight on a fresh platform database of ``backend``."""
    folder = tmp_path_factory.mktemp(f"fortnight-{backend}")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for url in _platform_database(backend, folder):
            engine = make_engine(url)
            upgrade(engine)
            with engine.begin() as connection:
                load_reference(connection)
            monkeypatch.setenv("HUB_DATABASE_URL", url)
            monkeypatch.setenv("HUB_VAR_DIR", str(folder / "var"))
            settings.cache_clear()
            config = SandboxConfig(folder / "sandbox", seed=7)
            init_sandbox(config)
            runner = AirflowRunner(dagbag)
            yield Fortnight(config, run_cycle(runner, config, DAYS), engine, runner)
            engine.dispose()
    settings.cache_clear()


def _count(connection: sa.Connection, statement: sa.Select) -> int:
    return connection.execute(statement).scalar_one() or 0


def _collection_matches_the_truth(config: SandboxConfig, connection: sa.Connection) -> None:
    truths = [read_truth(config, day, s.id) for day in WORKING_DAYS for s in enabled_sources()]
    rows = sum(t["rows"] for t in truths)
    defects = sum(t["defects"][rule] for t in truths for rule in RULES)
    b = ingest_batch.c
    read, quarantined, failed = connection.execute(
        sa.select(
            sa.func.sum(b.n_read),
            sa.func.sum(b.n_quarantined),
            sa.func.count().filter(b.status != "succeeded"),
        )
    ).one()
    raw = _count(connection, sa.select(sa.func.count()).select_from(raw_record))
    holiday_reads = _count(
        connection, sa.select(sa.func.sum(b.n_read)).where(b.logical_date.notin_(WORKING_DAYS))
    )
    assert (read, quarantined, failed, raw) == (rows, defects, 0, rows)
    assert holiday_reads == 0


def _quality_reports_count_each_days_arrivals(connection: sa.Connection) -> None:
    b = ingest_batch.c
    for day in WORKING_DAYS:
        report_path = settings().var_dir / "reports" / "quality" / str(day + timedelta(days=1))
        report = json.loads((report_path / "report.json").read_text(encoding="utf-8"))
        delivered = sum(d["delivered"] for d in report["departments"])
        quarantined = sum(d["quarantined"] for d in report["departments"])
        expected = connection.execute(
            sa.select(sa.func.sum(b.n_read), sa.func.sum(b.n_quarantined)).where(
                b.logical_date == day
            )
        ).one()
        assert (delivered, quarantined) == tuple(expected), day


def _every_change_reached_every_push_target_once(
    result: CycleResult, connection: sa.Connection
) -> None:
    o = outbox.c
    undelivered = _count(
        connection,
        sa.select(sa.func.count()).where(o.acknowledged_at.is_(None)),
    )
    assert undelivered == 0
    for target in push_targets():
        in_region = sa.or_(*(status_change.c.region_code.startswith(p) for p in target.regions))
        changes = _count(connection, sa.select(sa.func.count()).where(in_region))
        received = result.received[target.id]
        assert received["messages"] == changes, target.id
    assert sum(r["messages"] for r in result.received.values()) > 0


def _every_pull_site_has_a_gap_free_day_by_day_sequence(connection: sa.Connection) -> None:
    last_watermark = _count(connection, sa.select(sa.func.max(delta_day.c.watermark_to)))
    m = delta_manifest.c
    for site in pull_targets():
        sequences = connection.scalars(
            sa.select(m.sequence).where(m.site_id == site.id).order_by(m.sequence)
        ).all()
        rows = _count(connection, sa.select(sa.func.sum(m.row_count)).where(m.site_id == site.id))
        in_region = sa.or_(*(status_change.c.region_code.startswith(p) for p in site.regions))
        changes = _count(
            connection,
            sa.select(sa.func.count()).where(in_region, status_change.c.id <= last_watermark),
        )
        assert sequences == list(range(1, len(DAYS) + 1)), site.id
        assert rows == changes, site.id


def _unknown_repairs_are_found(config: SandboxConfig, connection: sa.Connection) -> None:
    # Each system's word on a record the platform never received is one finding: its own
    # decisions, and those it took over from the other system.
    truths = [read_repair_truth(config, day) for day in DAYS]
    unknown = sum(
        1
        for truth in truths
        for fact in truth["decisions"] + truth["shares"]
        if not fact["record"]["known"] and fact["decision"] == "repaired"
    )
    f = reconcile_finding.c
    found = _count(
        connection, sa.select(sa.func.count()).where(f.finding_class == "unknown_record")
    )
    runs = Counter(connection.scalars(sa.select(reconcile_run.c.status)))
    assert runs == Counter({"succeeded": len(DAYS)})
    assert found == unknown > 0


def _ends_with_the_sandboxs_figures(fortnight: Fortnight) -> None:
    config, result = fortnight.config, fortnight.result

    assert result.failed_runs == []
    assert len(result.runs) == len(DAILY_RUNS) * len(DAYS)
    assert result.delivery_days == WORKING_DAYS
    with fortnight.engine.connect() as connection:
        _collection_matches_the_truth(config, connection)
        _quality_reports_count_each_days_arrivals(connection)
        _unknown_repairs_are_found(config, connection)
        _every_change_reached_every_push_target_once(result, connection)
        _every_pull_site_has_a_gap_free_day_by_day_sequence(connection)

        totals = platform_totals(connection)
    console = Console(record=True, width=400)
    console.print(summary_table(totals))
    printed = console.export_text()
    assert f"{totals.read} read, {totals.loaded} loaded, {totals.quarantined} quarantined" in (
        printed
    )
    for target, deliveries in totals.deliveries.items():
        assert f"{target} {deliveries.delivered} delivered, 0 pending, 0 dead" in printed


BOOKKEEPING = {"ingest_batch", "reconcile_run", "source_cursor", "repair_feed_cursor"}
"""Tables a rerun adds its own rows to (its batches and runs) or stamps (who read a cursor last)."""


def _snapshot(engine: sa.Engine) -> dict[str, set[tuple]]:
    with engine.connect() as connection:
        return {
            table.name: set(connection.execute(table.select()).tuples())
            for table in metadata.sorted_tables
            if table.name not in BOOKKEEPING
        }


def _week_batches(engine: sa.Engine, week: list[date]) -> tuple[int, int]:
    b = ingest_batch.c
    with engine.connect() as connection:
        statement = sa.select(sa.func.count(), sa.func.sum(b.n_read)).where(
            b.logical_date.in_(week)
        )
        return tuple(connection.execute(statement).one())


def _backfilling_the_past_week_leaves_every_table_as_it_was(fortnight: Fortnight) -> None:
    week = DAYS[-7:]
    later = datetime.combine(DAYS[-1] + timedelta(days=3), time(9), tzinfo=settings().timezone)
    # The morning after the fortnight: the last day runs once more and takes in what came in
    # since (the repair systems' echoes of the repairs pushed to them), so nothing is pending.
    backfill(fortnight.runner, fortnight.config, DAYS[-1:], later)
    before = _snapshot(fortnight.engine)
    batches, reads = _week_batches(fortnight.engine, week)
    rerun = backfill(fortnight.runner, fortnight.config, week, later)
    after = _snapshot(fortnight.engine)

    assert rerun.failed_runs == []
    assert len(rerun.runs) == len(DAILY_RUNS) * len(week)
    changed = {
        name: {
            "gone": sorted(before[name] - after[name])[:3],
            "new": sorted(after[name] - before[name])[:3],
        }
        for name in before
        if before[name] != after[name]
    }
    assert changed == {}
    assert sum(r["messages"] for r in rerun.received.values()) == 0
    # Each source ran once more for each day, and read nothing it had read already.
    assert _week_batches(fortnight.engine, week) == (
        batches + len(week) * len(enabled_sources()),
        reads,
    )


class _Fortnight:
    """The fortnight run once per backend for the class's tests (in file order).

    One class per backend, so that the two fortnights are two units of work for the test
    workers and run side by side.
    """

    backend: str

    @pytest.fixture(scope="class")
    def fortnight(self, dagbag, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fortnight]:
        yield from _fortnight_on(self.backend, dagbag, tmp_path_factory)

    def test_a_fortnight_runs_every_dag_every_day_and_ends_with_the_sandboxs_figures(
        self, fortnight: Fortnight
    ) -> None:
        _ends_with_the_sandboxs_figures(fortnight)

    def test_backfilling_the_past_week_leaves_every_table_as_the_original_run_left_it(
        self, fortnight: Fortnight
    ) -> None:
        _backfilling_the_past_week_leaves_every_table_as_it_was(fortnight)


class TestOnSQLite(_Fortnight):
    backend = "sqlite"


class TestOnPostgreSQL(_Fortnight):
    backend = "postgresql"
