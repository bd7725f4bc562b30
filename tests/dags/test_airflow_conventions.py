"""The Airflow conventions: Variables, agency pools and queues, the deadline, the Asset chain."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pendulum
import pytest
from typer.testing import CliRunner

from connectors.connections import Connection, MissingConnectionError
from hub.cli.main import app
from hub.collect.sources import SourceConfigError, agency_pools, enabled_sources
from hub.core.thresholds import (
    DELTA_RETENTION_DAYS,
    REMINDER_DAYS,
    THRESHOLDS,
    ThresholdError,
    reconcile_deadline,
)
from hub_airflow.alerts import reconcile_deadline_missed
from hub_airflow.run_day import run_day

pytestmark = pytest.mark.dag

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXPECTED_POOLS = {
    "agency_jtt": 1,
    "agency_rst": 1,
    "agency_scjg": 2,
    "agency_sthjt": 1,
    "agency_tax": 1,
    "agency_wjw": 1,
    "agency_yjt": 1,
}


# Thresholds ---------------------------------------------------------------------------------


def test_a_threshold_is_the_variable_then_the_environment_then_the_default(monkeypatch) -> None:
    variables = {"hub_reminder_days": "45"}

    def get(key: str, default=None):
        return variables.get(key, default)

    monkeypatch.setenv("HUB_REMINDER_DAYS", "20")
    assert REMINDER_DAYS.value_from(get) == 45
    del variables["hub_reminder_days"]
    assert REMINDER_DAYS.value_from(get) == 20
    monkeypatch.delenv("HUB_REMINDER_DAYS")
    assert REMINDER_DAYS.value_from(get) == 30
    assert REMINDER_DAYS.value_from(None) == 30


def test_an_unusable_threshold_names_the_variable_and_the_rule(monkeypatch) -> None:
    with pytest.raises(ThresholdError) as error:
        DELTA_RETENTION_DAYS.value_from(lambda key, default=None: "0")
    assert str(error.value) == (
        "Airflow Variable hub_delta_retention_days='0': the days of delta files kept, counted back "
        "from the day published must be a whole number of days, at least 1"
    )


def test_hub_airflow_variables_prints_the_defaults_for_airflow_variables_import() -> None:
    result = CliRunner().invoke(app, ["airflow", "variables"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "hub_reminder_days": "30",
        "hub_delta_retention_days": "90",
        "hub_fanout_lease_seconds": "300",
        "hub_fanout_retry_base_seconds": "60",
        "hub_fanout_retry_max_seconds": "3600",
    }
    assert {t.dag for t in THRESHOLDS} == {"reconcile_repairs", "publish_deltas", "fanout_removals"}


def test_the_variables_table_in_the_docs_lists_every_threshold() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "airflow.md").read_text(encoding="utf-8")
    for threshold in THRESHOLDS:
        assert f"| `{threshold.name}` | {threshold.default} {threshold.unit} |" in doc


# Pools --------------------------------------------------------------------------------------


def test_every_agency_has_a_pool_with_the_slots_its_sources_declare() -> None:
    assert agency_pools() == EXPECTED_POOLS
    assert {s.agency_pool.name for s in enabled_sources()} == set(EXPECTED_POOLS)


def test_two_sources_giving_one_pool_different_slots_is_an_error(tmp_path: Path) -> None:
    sources = Path(__file__).resolve().parents[2] / "mappings" / "sources"
    text = (sources / "zj_scjg_penalty_api.yaml").read_text(encoding="utf-8")
    (tmp_path / "zj_scjg_penalty_api.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "zj_scjg_other_api.yaml").write_text(
        text.replace("id: zj_scjg_penalty_api", "id: zj_scjg_other_api").replace(
            "slots: 2", "slots: 3"
        ),
        encoding="utf-8",
    )
    with pytest.raises(SourceConfigError) as error:
        agency_pools(tmp_path)
    assert str(error.value) == (
        "zj_scjg_penalty_api.yaml: pool agency_scjg has 2 slots, "
        "but zj_scjg_other_api.yaml gives it 3"
    )


def test_hub_airflow_pools_prints_them_for_airflow_pools_import() -> None:
    result = CliRunner().invoke(app, ["airflow", "pools"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert {name: entry["slots"] for name, entry in document.items()} == EXPECTED_POOLS
    assert document["agency_scjg"] == {
        "slots": 2,
        "description": "省市场监管局: zj_scjg_abnormal_db, zj_scjg_penalty_api",
        "include_deferred": False,
    }


def test_the_pools_exist_in_airflow_with_their_slots(airflow_db) -> None:
    from airflow.models.pool import Pool

    from hub_airflow.pools import create_pools

    assert create_pools() == EXPECTED_POOLS  # idempotent: the fixture created them already
    for name, slots in EXPECTED_POOLS.items():
        pool = Pool.get_pool(name)
        assert (pool.pool, pool.slots) == (name, slots)


# Celery queues ------------------------------------------------------------------------------

EXPECTED_QUEUES = {
    "collect.zj_jtt_penalty_file": "collect_jtt",
    "collect.zj_rst_serious_file": "collect_rst",
    "collect.zj_scjg_abnormal_db": "collect_scjg",
    "collect.zj_scjg_penalty_api": "collect_scjg",
    "collect.zj_sthjt_penalty_file": "collect_sthjt",
    "collect.zj_tax_serious_api": "collect_tax",
    "collect.zj_wjw_penalty_api": "collect_wjw",
    "collect.zj_yjt_penalty_db": "collect_yjt",
}


def test_each_collect_task_goes_to_its_agencys_queue_and_every_other_task_to_default(
    dagbag,
) -> None:
    collect = dagbag.get_dag("collect_credit_records")
    assert {f"collect.{s.id}" for s in enabled_sources()} == set(EXPECTED_QUEUES)
    assert {task_id: collect.get_task(task_id).queue for task_id in EXPECTED_QUEUES} == (
        EXPECTED_QUEUES
    )
    for source in enabled_sources():  # the queue is the one the source file's pool names
        queue = collect.get_task(f"collect.{source.id}").queue
        assert queue == source.agency_pool.name.replace("agency_", "collect_", 1), source.id
    others = {
        (dag_id, task.task_id): task.queue
        for dag_id, dag in dagbag.dags.items()
        for task in dag.tasks
        if task.task_id not in EXPECTED_QUEUES
    }
    assert others and set(others.values()) == {"default"}


def test_hub_airflow_queues_prints_every_queue_for_a_worker_that_runs_everything() -> None:
    result = CliRunner().invoke(app, ["airflow", "queues"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "default,collect_jtt,collect_rst,collect_scjg,collect_sthjt,collect_tax,collect_wjw,"
        "collect_yjt\n"
    )


# The day of a run ---------------------------------------------------------------------------


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


D = date(2026, 11, 3)


def test_a_run_with_a_data_interval_does_the_day_it_starts_in() -> None:
    day = run_day(
        data_interval_start=at(D), data_interval_end=at(D + timedelta(days=1)), run_after=at(D, 9)
    )
    assert day == D


def test_an_asset_triggered_run_does_the_day_its_events_name_else_the_day_before() -> None:
    later = at(D + timedelta(days=3), 5)
    extras = [{"day": "2026-11-02"}, {"day": "2026-11-03"}, {}]
    no_interval = {"data_interval_start": None, "data_interval_end": None, "run_after": later}
    assert run_day(**no_interval) == D + timedelta(days=2)
    assert run_day(**no_interval, event_extras=extras) == D
    # A zero-length interval (a cron-trigger run) says nothing about the day either.
    instant = at(D + timedelta(days=1), 0, 30)
    assert run_day(data_interval_start=instant, data_interval_end=instant, run_after=instant) == D


# Schedules and the Asset chain --------------------------------------------------------------


def test_the_dags_are_chained_by_assets_where_the_data_flows(dagbag) -> None:
    collect = dagbag.get_dag("collect_credit_records")
    reconcile = dagbag.get_dag("reconcile_repairs")
    quality = dagbag.get_dag("quality_report")
    fanout = dagbag.get_dag("fanout_removals")
    publish = dagbag.get_dag("publish_deltas")

    def outlets(dag) -> set[str]:
        return {o.name for task in dag.tasks for o in task.outlets}

    assert outlets(collect) == {"platform_credit_records"}
    assert outlets(reconcile) == {"platform_status_changes"}
    assert outlets(publish) == {"platform_delta_files"}
    assert quality.timetable.asset_condition.name == "platform_credit_records"
    assert reconcile.timetable.asset_condition.name == "platform_credit_records"
    assert fanout.timetable.asset_condition.name == "platform_status_changes"
    # Where the day matters, the clock: collect, reconcile's daily run, publish.
    for dag in (collect, publish):
        assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
        assert dag.timetable.expression == "0 0 * * *"
    assert type(reconcile.timetable).__name__ == "AssetOrTimeSchedule"
    assert type(reconcile.timetable.timetable).__name__ == "CronDataIntervalTimetable"
    assert reconcile.timetable.timetable.expression == "0 0 * * *"


# The deadline -------------------------------------------------------------------------------


def test_reconcile_must_finish_by_eight_on_the_day_after_its_day(dagbag) -> None:
    from airflow.sdk import DeadlineReference
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    dag = dagbag.get_dag("reconcile_repairs")
    [alert] = dag.deadline
    assert alert.reference == DeadlineReference.DAGRUN_LOGICAL_DATE
    assert alert.interval == timedelta(days=1, hours=8)
    assert alert.callback.path == "hub_airflow.alerts.reconcile_deadline_missed"
    assert type(alert.callback).__name__ == "SyncCallback"

    # The scheduled run for D: logical date D 00:00, so the deadline is D+1 08:00 Shanghai time.
    last = DataInterval(
        pendulum.datetime(2026, 11, 2, tz="Asia/Shanghai"),
        pendulum.datetime(2026, 11, 3, tz="Asia/Shanghai"),
    )
    info = coerce_to_core_timetable(dag.timetable).next_dagrun_info(
        last_automated_data_interval=last,
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    deadline = (info.logical_date + alert.interval).astimezone(SHANGHAI)
    assert (info.logical_date.astimezone(SHANGHAI), deadline) == (at(D), at(D + timedelta(1), 8))


def test_the_deadline_time_of_day_is_configurable(monkeypatch) -> None:
    monkeypatch.setenv("HUB_RECONCILE_DEADLINE", "06:30")
    assert reconcile_deadline() == timedelta(days=1, hours=6, minutes=30)
    monkeypatch.setenv("HUB_RECONCILE_DEADLINE", "8am")
    with pytest.raises(ThresholdError, match=r"HUB_RECONCILE_DEADLINE='8am': .* a time of day"):
        reconcile_deadline()


CONTEXT = {
    "dag_run": {
        "dag_id": "reconcile_repairs",
        "dag_run_id": "scheduled__2026-11-02T16:00:00+00:00",
        "logical_date": "2026-11-02T16:00:00Z",
        "data_interval_start": "2026-11-03T00:00:00+08:00",
        "state": "running",
    },
    "deadline": {"id": "0193", "deadline_time": datetime(2026, 11, 4, 8, tzinfo=SHANGHAI)},
}


def test_a_missed_deadline_is_logged_as_an_error_and_posted_to_the_webhook(
    webhook, caplog: pytest.LogCaptureFixture
) -> None:
    url, received = webhook
    connection = Connection(conn_id="hub_alerts", password="s3cret", extra={"base_url": url})
    with caplog.at_level(logging.ERROR, logger="hub_airflow.alerts"):
        result = reconcile_deadline_missed(CONTEXT, resolve=lambda conn_id: connection)

    alert = {
        "alert": "deadline_missed",
        "dag_id": "reconcile_repairs",
        "run_id": "scheduled__2026-11-02T16:00:00+00:00",
        "day": "2026-11-03",
        "state": "running",
        "deadline": "2026-11-04T08:00:00+08:00",
    }
    assert caplog.messages == [
        "DEADLINE MISSED: reconcile_repairs run scheduled__2026-11-02T16:00:00+00:00 (day "
        "2026-11-03) had not finished by 2026-11-04T08:00:00+08:00 (state: running)"
    ]
    assert [{"body": p["body"], "auth": p["auth"]} for p in received] == [
        {"body": alert, "auth": "Bearer s3cret"}
    ]
    assert result == {**alert, "webhook": "204"}


def test_without_a_webhook_connection_the_error_line_is_all(caplog) -> None:
    def missing(conn_id: str) -> Connection:
        raise MissingConnectionError(conn_id)

    with caplog.at_level(logging.ERROR, logger="hub_airflow.alerts"):
        result = reconcile_deadline_missed(CONTEXT, resolve=missing)
    assert result["webhook"] == "not sent: no connection hub_alerts"
    assert [r.levelname for r in caplog.records] == ["ERROR"]


def test_airflow_resolves_a_missing_connection_as_missing(airflow_db) -> None:
    from hub_airflow.connections import airflow_connection

    with pytest.raises(MissingConnectionError, match="AIRFLOW_CONN_HUB_NO_SUCH_CONNECTION"):
        airflow_connection("hub_no_such_connection")


# As the scheduler hands it (``DAGRunResponse`` dumped to JSON: instants in UTC): a run triggered
# over REST with logical date 2026-11-04 00:00 Shanghai, covering 2026-11-03.
SCHEDULER_CONTEXT = {
    "dag_run": {
        "dag_id": "reconcile_repairs",
        "dag_run_id": "manual__2026-11-03T16:00:00+00:00",
        "logical_date": "2026-11-03T16:00:00Z",
        "data_interval_start": "2026-11-02T16:00:00Z",
        "data_interval_end": "2026-11-03T16:00:00Z",
        "run_after": "2026-12-07T01:02:03Z",
        "state": "running",
    },
    "deadline": {"id": "0194", "deadline_time": datetime(2026, 11, 5, 0, tzinfo=SHANGHAI)},
}


def test_the_alert_names_the_runs_day_and_the_deadline_in_platform_time(webhook) -> None:
    url, received = webhook
    connection = Connection(conn_id="hub_alerts", extra={"base_url": url})

    reconcile_deadline_missed(SCHEDULER_CONTEXT, resolve=lambda conn_id: connection)

    [posted] = received
    assert posted["body"]["day"] == "2026-11-03"
    assert posted["body"]["deadline"] == "2026-11-05T00:00:00+08:00"


def test_an_asset_triggered_run_is_named_by_the_day_before_its_start() -> None:
    from hub_airflow.alerts import deadline_alert

    run = {"dag_id": "reconcile_repairs", "run_after": "2026-11-03T16:40:00Z", "state": "running"}
    assert deadline_alert({"dag_run": run})["day"] == "2026-11-03"


def test_a_connection_the_sdk_refuses_is_logged_and_the_callback_does_not_fail(caplog) -> None:
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

    def refused(conn_id: str) -> Connection:
        raise AirflowSecretsBackendAccessDenied(f"403: the token may not read {conn_id}")

    with caplog.at_level(logging.ERROR, logger="hub_airflow.alerts"):
        result = reconcile_deadline_missed(SCHEDULER_CONTEXT, resolve=refused)

    assert result["webhook"] == (
        "not sent: connection hub_alerts could not be read: AirflowSecretsBackendAccessDenied"
    )
    assert caplog.messages[0].startswith(
        "DEADLINE MISSED: reconcile_repairs run manual__2026-11-03T16:00:00+00:00 (day 2026-11-03)"
    )
    assert "403: the token may not read hub_alerts" in caplog.messages[1]


def test_an_unreachable_webhook_is_logged_and_the_callback_does_not_fail(caplog) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    extra = {"base_url": f"http://127.0.0.1:{port}/hooks", "max_retries": 0}
    connection = Connection(conn_id="hub_alerts", extra=extra)

    with caplog.at_level(logging.ERROR, logger="hub_airflow.alerts"):
        result = reconcile_deadline_missed(SCHEDULER_CONTEXT, resolve=lambda conn_id: connection)

    assert result["webhook"].startswith("failed: ")
    assert caplog.messages[0].startswith("DEADLINE MISSED")


def test_the_run_type_the_task_sdk_hands_is_recognised_as_asset_triggered() -> None:
    from types import SimpleNamespace

    from airflow.sdk.api.datamodels._generated import DagRunType as SdkRunType

    from hub.report.schedule import periods_for_run
    from hub_airflow.run_day import triggered_by_asset

    # What a task gets under the real scheduler: the SDK's enum, whose str() is not its value.
    run = SimpleNamespace(run_type=SdkRunType.ASSET_TRIGGERED)
    assert str(run.run_type) == "DagRunType.ASSET_TRIGGERED"
    assert triggered_by_asset(run)
    received = datetime(2026, 11, 4, 0, 35, tzinfo=SHANGHAI)
    periods = periods_for_run(triggered_by_asset(run), received, {}, SHANGHAI)
    assert [p.label for p in periods] == ["2026-11-04"]
    for other in (SdkRunType.SCHEDULED, SdkRunType.MANUAL, "scheduled"):
        assert not triggered_by_asset(SimpleNamespace(run_type=other))
    assert triggered_by_asset(SimpleNamespace(run_type="asset_triggered"))
