"""The DAG files import cleanly, do no I/O at import and declare what operators rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.collect.sources import enabled_sources
from hub.core.settings import MAPPINGS_DIR, settings

SOURCES_DIR = MAPPINGS_DIR / "sources"
pytestmark = pytest.mark.dag


def test_dags_import_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert "collect_credit_records" in dagbag.dag_ids


def test_collect_dag_has_a_task_per_source_in_its_agencys_pool_and_announces_the_asset(
    dagbag,
) -> None:
    dag = dagbag.get_dag("collect_credit_records")
    assert dag.timezone.name == "Asia/Shanghai"
    sources = enabled_sources()
    assert set(dag.task_ids) == {f"collect.{s.id}" for s in sources} | {"announce_records"}
    for source in sources:
        task = dag.get_task(f"collect.{source.id}")
        assert (task.pool, task.retries) == (source.agency_pool.name, 2), source.id
        assert task.downstream_task_ids == {"announce_records"}
    assert dag.get_task("collect.zj_scjg_penalty_api").pool == "agency_scjg"
    assert dag.max_active_tasks == 4
    announce = dag.get_task("announce_records")
    assert [o.name for o in announce.outlets] == ["platform_credit_records"]
    assert "collect" in dag.tags


def test_a_broken_source_file_keeps_its_task_and_breaks_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, airflow_db
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.conftest import DAGS_FOLDER

    for path in SOURCES_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / "zj_tax_serious_api.yaml"
    broken.write_text(
        broken.read_text(encoding="utf-8").replace("records_path:", "records_paht:"), "utf-8"
    )
    monkeypatch.setenv("HUB_SOURCES_DIR", str(tmp_path))
    settings.cache_clear()
    try:
        bag = DagBag(dag_folder=str(DAGS_FOLDER))
    finally:
        monkeypatch.undo()
        settings.cache_clear()

    assert bag.import_errors == {}
    dag = bag.get_dag("collect_credit_records")
    assert {t for t in dag.task_ids if t.startswith("collect.")} == {
        f"collect.{s.id}" for s in enabled_sources()
    }
    assert dag.get_task("collect.zj_tax_serious_api").pool == "default_pool"
    assert dag.get_task("collect.zj_tax_serious_api").queue == "default"
    assert dag.get_task("collect.zj_scjg_penalty_api").pool == "agency_scjg"


def test_reconcile_dag_runs_daily_and_announces_status_changes(dagbag) -> None:
    dag = dagbag.get_dag("reconcile_repairs")
    assert dag.timezone.name == "Asia/Shanghai"
    assert dag.task_ids == ["reconcile"]
    reconcile = dag.get_task("reconcile")
    assert reconcile.retries == 2
    assert [o.name for o in reconcile.outlets] == ["platform_status_changes"]
    assert "reconcile" in dag.tags and "谁认定、谁修复" in dag.doc_md


DAG_IDS = {
    "collect_credit_records",
    "quality_report",
    "reconcile_repairs",
    "fanout_removals",
    "publish_deltas",
}


def test_every_dag_says_what_it_does_whose_it_is_and_retries(dagbag) -> None:
    assert set(dagbag.dag_ids) == DAG_IDS
    for dag_id in DAG_IDS:
        dag = dagbag.get_dag(dag_id)
        assert dag.timezone.name == "Asia/Shanghai", dag_id
        assert dag.doc_md and len(dag.doc_md.split()) > 60, dag_id
        assert "credit" in dag.tags and len(dag.tags) >= 2, dag_id
        assert dag.owner == "data-engineering", dag_id
        for task in dag.tasks:
            assert task.owner == "data-engineering", (dag_id, task.task_id)
            assert task.retries >= 1, (dag_id, task.task_id)
            assert task.retry_delay.total_seconds() >= 60, (dag_id, task.task_id)


def test_dag_docs_name_the_variables_they_read(dagbag) -> None:
    """doc_md is what the UI shows an operator: each threshold is named where it is used."""
    from hub.core.thresholds import THRESHOLDS

    for threshold in THRESHOLDS:
        assert threshold.name in dagbag.get_dag(threshold.dag).doc_md, threshold.name
