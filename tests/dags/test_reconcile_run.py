"""A real Airflow run of ``reconcile_repairs`` against the loopback Credit China and GSXT."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pendulum
import pytest
import sqlalchemy as sa

from hub.collect import collect_source
from hub.settings import settings
from hub.sources import enabled_sources
from hub.store.reconcile_schema import reconcile_run
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox
from sandbox.repair_scenario import RepairScenario, decide_repairs
from sandbox.repair_systems import serve_repair_systems
from tests.conftest import sandbox_in_environment

pytestmark = [pytest.mark.dag, pytest.mark.integration]

DAY = date(2026, 11, 2)


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
