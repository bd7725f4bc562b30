"""The DAG files import cleanly, do no I/O at import and declare what operators rely on."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.dag


def test_dags_import_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert "collect_credit_records" in dagbag.dag_ids


def test_collect_dag_maps_one_task_per_source_and_announces_the_asset(dagbag) -> None:
    dag = dagbag.get_dag("collect_credit_records")
    assert dag.timezone.name == "Asia/Shanghai"
    assert set(dag.task_ids) == {"enabled_source_ids", "collect", "announce_records"}
    collect = dag.get_task("collect")
    assert type(collect).__name__.endswith("MappedOperator")
    assert collect.retries == 2
    announce = dag.get_task("announce_records")
    assert [o.name for o in announce.outlets] == ["platform_credit_records"]
    assert "collect" in dag.tags


def test_dag_files_read_no_sources_at_import(monkeypatch, airflow_db) -> None:
    """Parsing must not touch the source registry (it may be slow, remote or broken)."""
    import hub.collect.sources

    def refuse(*_args, **_kwargs):
        raise AssertionError("the source registry was read at import time")

    monkeypatch.setattr(hub.collect.sources, "enabled_sources", refuse)
    monkeypatch.setattr(hub.collect.sources, "all_sources", refuse)
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.conftest import DAGS_FOLDER

    assert DagBag(dag_folder=str(DAGS_FOLDER)).import_errors == {}


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
