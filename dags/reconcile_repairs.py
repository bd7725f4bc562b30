"""Reconcile repair status between the platform, Credit China and GSXT for the run's day.

For day D, the reconciliation fetches both systems' repair results since their cursors into the
repair ledger, computes the publicity period of new records, compares the three statuses of
every record where they could differ, pushes a repair to the system that lags (谁认定、谁修复),
marks, republishes or expires platform records (each move written with its outbox rows for the
fan-out), and keeps the findings with whose move each is and since when. Rerunning a day changes
nothing. The daily report (HTML, XLSX, JSON) goes to `<HUB_VAR_DIR>/reports/reconcile/`; its
reminder list looks `hub_reminder_days` ahead (Airflow Variable, default 30).

Runs daily at 00:00 platform time (Asia/Shanghai) for the day just ended (the data interval
`[D 00:00, D+1 00:00)`), and again whenever collection updates the `platform_credit_records`
Asset, for the day the Asset event names: the records collected for D are then reconciled the
same night. A manual run does the day its data interval starts in (`dag.test(logical_date=D+1
00:00)` does D).

A system that cannot be read fails the `reconcile` task after the rest is done (the findings stay
valid for what was read); the task's retries read it again. The `platform_status_changes` Asset
is updated after every successful run with the day in its extra, which starts the fan-out.

Deadline: a daily run that has not finished by 08:00 of D+1 (`HUB_RECONCILE_DEADLINE`) is reported
by `hub_airflow.alerts.reconcile_deadline_missed`: an error in the scheduler's executor log and a
post to the `hub_alerts` webhook connection when defined. Same as `hub reconcile --date D`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import (
    AssetOrTimeSchedule,
    DeadlineAlert,
    DeadlineReference,
    SyncCallback,
    dag,
    task,
)

from hub.core.thresholds import reconcile_deadline
from hub_airflow.alerts import reconcile_deadline_missed
from hub_airflow.conventions import (
    PLATFORM_RECORDS,
    START_DATE,
    STATUS_CHANGES,
    daily,
    default_args,
)


@dag(
    dag_id="reconcile_repairs",
    schedule=AssetOrTimeSchedule(timetable=daily(), assets=PLATFORM_RECORDS),
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=reconcile_deadline(),
        callback=SyncCallback(reconcile_deadline_missed),
        name="reconcile_finished_by_morning",
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["reconcile", "repair", "credit"],
    default_args=default_args(retry_delay=timedelta(minutes=10)),
)
def reconcile_repairs() -> None:
    """Daily reconciliation of repairs between the platform, Credit China and GSXT."""

    @task(outlets=[STATUS_CHANGES])
    def reconcile(dag_run=None, triggering_asset_events=None, outlet_events=None) -> dict:
        from hub import jobs
        from hub_airflow.run_day import dag_run_day, event_day
        from hub_airflow.tasks import finish, task_runtime

        day = dag_run_day(dag_run, triggering_asset_events.get(PLATFORM_RECORDS, []))
        figures = finish(jobs.reconcile(day, task_runtime()))
        outlet_events[STATUS_CHANGES].extra = event_day(day)
        return figures

    reconcile()


reconcile_repairs()
