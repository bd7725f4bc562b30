"""``fanout_removals``: its schedule and shape, and a real Airflow run (``dag.test()``) delivering
the outbox to loopback receivers."""

from __future__ import annotations

import pendulum
import pytest
import sqlalchemy as sa

from hub.core.settings import settings
from hub.core.targets import push_targets
from hub.store.db import make_engine
from hub.store.outbox_schema import outbox
from sandbox.receivers import serve_receivers
from tests.fanout.conftest import (
    FAST_HTTP,
    change,
    expected_keys,
    insert_records,
    make_subjects,
    received_keys,
)

pytestmark = pytest.mark.dag


def test_fanout_runs_on_the_status_changes_asset_or_every_quarter_hour(dagbag) -> None:
    dag = dagbag.dags["fanout_removals"]
    schedule = dag.timetable
    assert type(schedule).__name__ == "AssetOrTimeSchedule"
    assert (schedule.asset_condition.name, schedule.asset_condition.uri) == (
        "platform_status_changes",
        "hub://platform/status_changes",
    )
    assert (schedule.timetable.expression, str(schedule.timetable.timezone)) == (
        "*/15 * * * *",
        "Asia/Shanghai",
    )
    assert set(dag.task_ids) == {"push_target_ids", "deliver"}
    deliver = dag.get_task("deliver")
    assert type(deliver).__name__.endswith("MappedOperator")
    assert (deliver.retries, deliver.owner) == (2, "data-engineering")
    assert "fanout" in dag.tags and dag.max_active_runs == 1
    assert "platform_status_changes" in dag.doc_md


@pytest.mark.integration
def test_a_run_delivers_every_push_target_its_changes(
    dagbag, platform_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(platform_url)
    subjects = make_subjects(36)
    insert_records(engine, subjects)
    change(engine, subjects)
    monkeypatch.setenv("HUB_DATABASE_URL", platform_url)
    settings.cache_clear()

    with serve_receivers(seed=5) as receivers:
        for name, value in receivers.connection_env(**FAST_HTTP).items():
            monkeypatch.setenv(name, value)
        run = dagbag.get_dag("fanout_removals").test(
            logical_date=pendulum.datetime(2026, 11, 20, 10, tz="Asia/Shanghai")
        )
        received = received_keys(receivers)
    settings.cache_clear()

    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert run.state == "success"
    assert states == {
        ("push_target_ids", -1): "success",
        **{("deliver", i): "success" for i in range(len(push_targets()))},
    }
    assert received == expected_keys(subjects)
    with engine.connect() as connection:
        undelivered = connection.scalar(
            sa.select(sa.func.count()).where(outbox.c.acknowledged_at.is_(None))
        )
    engine.dispose()
    assert undelivered == 0
