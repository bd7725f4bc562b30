"""Reconcile repair status between the platform, Credit China and GSXT for the run's day.

For day D, `hub.reconcile.reconcile_day` fetches both systems' repair results since their cursors
into the repair ledger, computes the publicity period of new records, compares the three statuses
of every record where they could differ, pushes a repair to the system that lags (谁认定、谁修复),
marks, republishes or expires platform records (each move written with its outbox rows for the
fan-out), and keeps the findings with whose move each is and since when. Rerunning a day changes
nothing. The daily report (HTML, XLSX, JSON) goes to `<HUB_VAR_DIR>/reports/reconcile/`; its
reminder list looks `hub_reminder_days` ahead (Airflow Variable, default 30).

Runs daily at 00:00 Asia/Shanghai for the day just ended (the data interval `[D 00:00, D+1 00:00)`),
and again whenever collection updates the `platform_credit_records` Asset, for the day the Asset
event names: the records collected for D are then reconciled the same night. A manual run does
the day its data interval starts in (`dag.test(logical_date=D+1 00:00)` does D).

A system that cannot be read fails the `reconcile` task after the rest is done (the findings stay
valid for what was read); the task's retries read it again. The `platform_status_changes` Asset
is updated after every successful run with the day in its extra, which starts the fan-out.

Deadline: a daily run that has not finished by 08:00 of D+1 (`HUB_RECONCILE_DEADLINE`) is reported
by `hub_airflow.alerts.reconcile_deadline_missed`: an error in the scheduler's executor log and a
post to the `hub_alerts` webhook connection when defined. Same as `hub reconcile --date D`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    CronDataIntervalTimetable,
    DeadlineAlert,
    DeadlineReference,
    SyncCallback,
    Variable,
    dag,
    task,
)

from hub.core.thresholds import reconcile_deadline
from hub_airflow.alerts import reconcile_deadline_missed

SHANGHAI = pendulum.timezone("Asia/Shanghai")
PLATFORM_RECORDS = Asset(name="platform_credit_records", uri="hub://platform/credit_records")
STATUS_CHANGES = Asset(name="platform_status_changes", uri="hub://platform/status_changes")


@dag(
    dag_id="reconcile_repairs",
    schedule=AssetOrTimeSchedule(
        timetable=CronDataIntervalTimetable("0 0 * * *", timezone=SHANGHAI),
        assets=PLATFORM_RECORDS,
    ),
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=reconcile_deadline(),
        callback=SyncCallback(reconcile_deadline_missed),
        name="reconcile_finished_by_morning",
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz=SHANGHAI),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["reconcile", "repair", "credit"],
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "retry_exponential_backoff": True,
    },
)
def reconcile_repairs() -> None:
    """Daily reconciliation of repairs between the platform, Credit China and GSXT."""

    @task(outlets=[STATUS_CHANGES])
    def reconcile(dag_run=None, triggering_asset_events=None, outlet_events=None) -> dict:
        from hub.core.settings import settings
        from hub.core.thresholds import REMINDER_DAYS
        from hub.reconcile.report import build_report, write_report
        from hub.reconcile.run import reconcile_day
        from hub.reconcile.systems import RepairSystems
        from hub.store.db import make_engine
        from hub_airflow.connections import airflow_connection
        from hub_airflow.run_day import event_day, run_day

        day = run_day(
            data_interval_start=dag_run.data_interval_start,
            data_interval_end=dag_run.data_interval_end,
            run_after=dag_run.run_after,
            event_extras=[e.extra for e in triggering_asset_events.get(PLATFORM_RECORDS, [])],
        )
        engine = make_engine()
        try:
            summary = reconcile_day(
                day, engine=engine, systems=RepairSystems(resolve=airflow_connection)
            )
            with engine.connect() as connection:
                report = build_report(connection, day, REMINDER_DAYS.value_from(Variable.get))
        finally:
            engine.dispose()
        paths = write_report(report, settings().var_dir / "reports" / "reconcile")
        if summary.errors:
            raise RuntimeError(f"reconciliation of {day} incomplete: {'; '.join(summary.errors)}")
        outlet_events[STATUS_CHANGES].extra = event_day(day)
        return {**summary.as_dict(), "reports": {k: str(p) for k, p in paths.items()}}

    reconcile()


reconcile_repairs()
