"""Reconcile repair status between the platform, Credit China and GSXT for the run's day.

For day D (the data interval `[D 00:00, D+1 00:00)` in Asia/Shanghai), `hub.reconcile.reconcile_day`
fetches both systems' repair results since their cursors into the repair ledger, computes the
publicity period of new records, compares the three statuses of every record where they could
differ, pushes a repair to the system that lags (谁认定、谁修复), marks, republishes or expires
platform records (each move written with its outbox rows for the fan-out), and keeps the findings
with whose move each is and since when. Rerunning a day changes nothing. The daily report (HTML,
XLSX, JSON) goes to `<HUB_VAR_DIR>/reports/reconcile/`.

A system that cannot be read fails the `reconcile` task after the rest is done (the findings stay
valid for what was read); the task's retries read it again. The `platform_status_changes` Asset
is updated after every successful run, which starts the fan-out. Same as `hub reconcile --date D`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Variable, dag, task

SHANGHAI = pendulum.timezone("Asia/Shanghai")
STATUS_CHANGES = Asset(name="platform_status_changes", uri="hub://platform/status_changes")


@dag(
    dag_id="reconcile_repairs",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone=SHANGHAI),
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
    def reconcile(data_interval_start: pendulum.DateTime | None = None) -> dict:
        from connectors.airflow_connections import airflow_connection
        from hub.reconcile.report import build_report, write_report
        from hub.reconcile.run import reconcile_day
        from hub.reconcile.systems import RepairSystems
        from hub.settings import local_day, settings
        from hub.store.db import make_engine

        day = local_day(data_interval_start)
        engine = make_engine()
        try:
            summary = reconcile_day(
                day, engine=engine, systems=RepairSystems(resolve=airflow_connection)
            )
            with engine.connect() as connection:
                reminder_days = int(Variable.get("hub_reminder_days", default="30"))
                report = build_report(connection, day, reminder_days)
        finally:
            engine.dispose()
        paths = write_report(report, settings().var_dir / "reports" / "reconcile")
        if summary.errors:
            raise RuntimeError(f"reconciliation of {day} incomplete: {'; '.join(summary.errors)}")
        return {**summary.as_dict(), "reports": {k: str(p) for k, p in paths.items()}}

    reconcile()


reconcile_repairs()
