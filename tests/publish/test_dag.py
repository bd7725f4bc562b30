"""The ``publish_deltas`` DAG: declared as operators rely on, and a real run with ``dag.test()``."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest

from hub.core.settings import settings
from tests.publish.conftest import DAY, PULL_SITES, ChangeLog, local
from tests.publish.sets import expected_rows, read_set, verify_against_manifest

pytestmark = pytest.mark.dag


def test_the_dag_runs_daily_in_shanghai_with_retries_and_announces_the_files(dagbag) -> None:
    assert not [path for path in dagbag.import_errors if path.endswith("publish_deltas.py")]
    dag = dagbag.get_dag("publish_deltas")
    assert dag.timezone.name == "Asia/Shanghai"
    assert dag.timetable.expression == "0 0 * * *"
    assert dag.task_ids == ["publish_day"]
    assert {(t.owner, t.retries) for t in dag.tasks} == {("data-engineering", 2)}
    assert [o.name for o in dag.get_task("publish_day").outlets] == ["platform_delta_files"]
    assert "publish" in dag.tags and "hub publish --date D" in dag.doc_md


@pytest.mark.integration
def test_a_daily_run_publishes_its_day_for_every_pull_site(
    dagbag, log: ChangeLog, platform_url: str, delta_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", platform_url)
    settings.cache_clear()
    changes = log.apply(local(DAY, 10), 60)

    # The run at D+1 00:00 covers day D.
    run = dagbag.get_dag("publish_deltas").test(
        logical_date=pendulum.datetime(2026, 11, 4, tz="Asia/Shanghai")
    )

    assert run.state == "success"
    assert {ti.task_id: ti.state for ti in run.get_task_instances()} == {"publish_day": "success"}
    for site, prefix in PULL_SITES.items():
        delta = read_set(delta_dir, site, DAY, 1)
        verify_against_manifest(delta)
        mine = [c for c in changes if c["region_code"].startswith(prefix)]
        assert delta.csv_rows() == expected_rows(mine)
