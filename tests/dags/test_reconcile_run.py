"""A real Airflow run of ``reconcile_repairs`` against the loopback Credit China and GSXT."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pendulum
import pytest
import sqlalchemy as sa

from hub.collect.run import collect_source
from hub.collect.sources import enabled_sources
from hub.core.settings import settings
from hub.store.reconcile_schema import reconcile_run
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox
from sandbox.repair_scenario import RepairScenario, decide_repairs
from sandbox.repair_systems import serve_repair_systems
from tests.conftest import sandbox_in_environment
from tests.dags.conftest import asset_event_extras

pytestmark = [pytest.mark.dag, pytest.mark.integration]

DAY = date(2026, 11, 2)
SH = "Asia/Shanghai"


def test_a_daily_run_reconciles_the_day_and_writes_its_report(
    dagbag, tmp_path: Path, platform_url: str, platform_engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SandboxConfig(tmp_path / "sandbox", seed=3)
    init_sandbox(config)
    deliver(config, DAY, count=10)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    with sandbox_in_environment(config, monkeypatch, database_url=platform_url):
        for source in enabled_sources():
            collect_source(source.id, DAY, engine=platform_engine)
        truth = decide_repairs(config, DAY, RepairScenario(repair_rate=0.3, repair_within_days=0))
        with serve_repair_systems(config) as systems:
            for name, value in systems.connection_env().items():
                monkeypatch.setenv(name, value)
            dag = dagbag.get_dag("reconcile_repairs")
            run = dag.test(logical_date=pendulum.datetime(2026, 11, 3, tz="Asia/Shanghai"))
        reports = settings().var_dir / "reports" / "reconcile"

    assert run.state == "success"
    with platform_engine.connect() as connection:
        runs = connection.execute(sa.select(reconcile_run.c.run_date, reconcile_run.c.status)).all()
    assert runs == [(DAY, "succeeded")]
    report = json.loads((reports / "reconcile_2026-11-02.json").read_text(encoding="utf-8"))
    unknown = sum(1 for d in truth["decisions"] if not d["record"]["known"])
    found = {row["finding_class"]: row["found_today"] for row in report["by_class"]}
    assert found["unknown_record"] == unknown
    assert (reports / "reconcile_2026-11-02.html").exists()
    # The run's deadline was set: 32 h after the logical date it was given (a scheduled run's
    # logical date is D 00:00, so 08:00 of D+1; this manual one was given D+1 00:00).
    assert deadline_times(run.run_id) == [pendulum.datetime(2026, 11, 4, 8, tz=SH)]


def deadline_times(run_id: str) -> list[pendulum.DateTime]:
    """The deadlines Airflow set for the ``reconcile_repairs`` run ``run_id``."""
    from airflow import settings as airflow_settings
    from airflow.models import DagRun, Deadline

    with airflow_settings.Session() as session:
        times = session.scalars(
            sa.select(Deadline.deadline_time)
            .join(DagRun, Deadline.dagrun_id == DagRun.id)
            .where(DagRun.dag_id == "reconcile_repairs", DagRun.run_id == run_id)
        )
        return [pendulum.instance(t).in_tz(SH) for t in times]


def consume_event_of_day(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    """Make the next ``dag.test()`` run consume a ``platform_credit_records`` event naming ``day``,
    as the scheduler attaches the events that trigger an Asset-triggered run."""
    from airflow.models import dagrun as dagrun_module
    from airflow.models.asset import AssetEvent, AssetModel

    create = dagrun_module.get_or_create_dagrun

    def create_with_event(**kwargs):
        run = create(**kwargs)
        session = kwargs["session"]
        asset = session.scalar(
            sa.select(AssetModel).where(AssetModel.name == "platform_credit_records")
        )
        event = AssetEvent(asset_id=asset.id, extra={"day": day.isoformat()})
        session.add(event)
        run.consumed_asset_events.append(event)
        session.commit()
        return run

    monkeypatch.setattr(dagrun_module, "get_or_create_dagrun", create_with_event)


def test_a_run_without_a_data_interval_takes_its_day_from_the_events_or_run_after(
    dagbag, tmp_path: Path, platform_url: str, platform_engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asset-triggered runs have no logical date and no data interval in Airflow 3."""
    config = SandboxConfig(tmp_path / "sandbox", seed=4)
    init_sandbox(config)
    deliver(config, DAY, count=5)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    dag = dagbag.get_dag("reconcile_repairs")
    with sandbox_in_environment(config, monkeypatch, database_url=platform_url):
        for source in enabled_sources():
            collect_source(source.id, DAY, engine=platform_engine)
        with serve_repair_systems(config) as systems:
            for name, value in systems.connection_env().items():
                monkeypatch.setenv(name, value)
            # No event: the day that ended before run_after.
            first = dag.test(logical_date=None, run_after=pendulum.datetime(2026, 11, 3, tz=SH))
            # An event naming DAY, consumed three days later: still DAY.
            consume_event_of_day(monkeypatch, DAY)
            second = dag.test(logical_date=None, run_after=pendulum.datetime(2026, 11, 5, 5, tz=SH))

    assert (first.state, second.state) == ("success", "success")
    assert (first.logical_date, first.data_interval_start) == (None, None)
    with platform_engine.connect() as connection:
        days = set(connection.scalars(sa.select(reconcile_run.c.run_date)))
    assert days == {DAY}
    assert asset_event_extras("platform_status_changes")[-2:] == [{"day": "2026-11-02"}] * 2
