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
    import hub.sources

    def refuse(*_args, **_kwargs):
        raise AssertionError("the source registry was read at import time")

    monkeypatch.setattr(hub.sources, "enabled_sources", refuse)
    monkeypatch.setattr(hub.sources, "all_sources", refuse)
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
