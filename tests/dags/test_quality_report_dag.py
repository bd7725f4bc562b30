"""The ``quality_report`` DAG: how it is scheduled, what parsing costs, and a real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hub.collect.run import collect_source
from hub.collect.sources import enabled_sources
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox, read_truth
from tests.conftest import sandbox_in_environment
from tests.dags.conftest import DAGS_FOLDER

pytestmark = pytest.mark.dag

DAY = date(2026, 11, 3)
RECEIVED = datetime.combine(DAY + timedelta(days=1), time(0, 30), tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_report_runs_on_collections_asset_and_monthly(dagbag) -> None:
    dag = dagbag.get_dag("quality_report")
    assert set(dag.task_ids) == {"periods", "data_docs", "report"}
    timetable = dag.timetable
    assert type(timetable).__name__ == "AssetOrTimeSchedule"
    assert (timetable.asset_condition.name, timetable.asset_condition.uri) == (
        "platform_credit_records",
        "hub://platform/credit_records",
    )
    assert (timetable.timetable.expression, str(timetable.timetable.timezone)) == (
        "0 6 1 * *",
        "Asia/Shanghai",
    )
    assert dag.get_task("report").trigger_rule == "all_done"  # a report even if GE failed


def test_parsing_the_dag_file_imports_neither_ge_nor_the_report_code() -> None:
    probe = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "print(sorted(m for m in ('great_expectations', 'hub.report.run', 'matplotlib') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(DAGS_FOLDER / "quality_report.py")],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.fixture
def collected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SandboxConfig, Path]]:
    """``DAY`` delivered and collected into a SQLite platform database; var under tmp."""
    from hub.store.db import make_engine, upgrade
    from hub.store.reference import load_reference

    url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        load_reference(connection)
    config = SandboxConfig(tmp_path / "sandbox", seed=17)
    init_sandbox(config)
    deliver(config, DAY, count=25)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    with sandbox_in_environment(config, monkeypatch, database_url=url):
        for source in enabled_sources():
            collect_source(source.id, DAY, engine=engine, received_at=RECEIVED)
        engine.dispose()
        yield config, tmp_path / "var"


@pytest.mark.integration
def test_a_run_writes_the_report_and_data_docs_of_the_period(dagbag, collected) -> None:
    config, var = collected
    dag = dagbag.get_dag("quality_report")
    period = RECEIVED.date().isoformat()
    run = dag.test(run_conf={"period": period, "data_docs": True})

    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    assert states == {
        ("periods", -1): "success",
        ("data_docs", 0): "success",
        ("report", 0): "success",
    }
    folder = var / "reports" / "quality" / period
    assert (folder / "report.html").exists() and (folder / "report.xlsx").exists()
    assert (folder / "data_docs" / "index.html").exists()
    document = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    delivered = sum(d["delivered"] for d in document["departments"])
    assert delivered == sum(read_truth(config, DAY, s.id)["rows"] for s in enabled_sources())
    assert len(document["checkpoints"]) == len({(s.department, s.kind) for s in enabled_sources()})
