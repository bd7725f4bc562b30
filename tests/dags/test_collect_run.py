"""A real Airflow run of ``collect_credit_records`` (``dag.test()``) over the sandbox province."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pendulum
import pytest
import sqlalchemy as sa

from hub.collect.sources import enabled_sources
from hub.store.schema import ingest_batch
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox, read_truth
from tests.conftest import sandbox_in_environment
from tests.dags.conftest import asset_event_extras

pytestmark = [pytest.mark.dag, pytest.mark.integration]

DAY = date(2026, 11, 3)


@pytest.fixture
def wired_province(
    tmp_path: Path, platform_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SandboxConfig]:
    """Day ``DAY`` delivered by every agency; connections and the platform DB in the env."""
    config = SandboxConfig(tmp_path / "sandbox", seed=5)
    init_sandbox(config)
    deliver(config, DAY)
    with sandbox_in_environment(config, monkeypatch, database_url=platform_url):
        yield config


def test_a_daily_run_collects_every_source_and_announces_the_records(
    dagbag, wired_province: SandboxConfig, platform_url: str
) -> None:
    dag = dagbag.get_dag("collect_credit_records")
    # A manual run at D+1 00:00 covers the day before: the data interval of day D.
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 4, tz="Asia/Shanghai"))

    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    sources = [source.id for source in enabled_sources()]
    assert run.state == "success"
    assert states == {f"collect.{s}": "success" for s in sources} | {"announce_records": "success"}
    # Each source's task ran in its agency's pool, as its source file declares.
    pools = {
        ti.task_id: ti.pool for ti in run.get_task_instances() if ti.task_id != "announce_records"
    }
    assert pools == {f"collect.{s.id}": s.agency_pool.name for s in enabled_sources()}
    assert pools["collect.zj_scjg_penalty_api"] == "agency_scjg"
    assert asset_event_extras("platform_credit_records")[-1] == {"day": "2026-11-03"}

    engine = sa.create_engine(platform_url)
    with engine.connect() as connection:
        batches = connection.execute(
            sa.select(
                ingest_batch.c.source_id,
                ingest_batch.c.logical_date,
                ingest_batch.c.status,
                ingest_batch.c.n_read,
            )
        ).all()
    engine.dispose()
    assert sorted(batches) == sorted(
        (source_id, DAY, "succeeded", read_truth(wired_province, DAY, source_id)["rows"])
        for source_id in sources
    )
