"""Collect penalty, abnormal-list and serious-list records from every enabled agency source.

One task per source declared in `mappings/sources/` (enabled ones), built from the source files
when the DAG is parsed, so a source that is down or sends an unusable delivery fails alone while
the others load. Each task runs one batch for the run's day: the data interval
`[D 00:00, D+1 00:00)` in the platform's time zone (Asia/Shanghai). Figures per batch are in
`hub status` and the `ingest_batch` table; quarantined records with their reasons in
`quarantine`. A source file that cannot be read still gets its task, which fails naming the file
and the problem.

Each source's task runs in its agency's Airflow pool (`pool:` in the source file, e.g.
`agency_scjg` with 2 slots), so one agency is never read by more tasks at once than it allows:
`hub airflow pools` prints the pools for `airflow pools import`. At most 4 sources are read at
once overall. Under the CeleryExecutor each task goes to its agency's queue, named after the pool
(`agency_scjg` → `collect_scjg`), so a worker can be given one agency group; the other tasks of
every DAG go to `default` (docs/deployment.md).

When at least one source loaded, the `platform_credit_records` Asset is updated with the day in
its extra (`{"day": "2026-11-03"}`); the quality report and the reconciliation listen to it.
Connections come from Airflow (Connections UI, secrets backend or `AIRFLOW_CONN_*` variables).
A back-fill of a past day may give the instant its delivery arrived in the run's conf
(`{"received_at": "2026-10-13T01:00:00+08:00"}`), from which timeliness is counted; without it the
records are stamped received now, and the task log warns when that is not the day's night.
Same as `hub collect --date D [--received-at T]`; see docs/airflow.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import TaskGroup, TriggerRule, dag, task

from hub_airflow.collect import collect_queue, source_pools
from hub_airflow.conventions import PLATFORM_RECORDS, START_DATE, daily, default_args


@dag(
    dag_id="collect_credit_records",
    schedule=daily(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    max_active_tasks=4,
    doc_md=__doc__,
    tags=["collect", "credit"],
    default_args=default_args(),
)
def collect_credit_records() -> None:
    """Daily collection from every enabled agency source."""

    @task
    def collect(
        source_id: str, data_interval_start: pendulum.DateTime | None = None, dag_run=None
    ) -> dict:
        """Collect one source for the run's day (a back-fill's conf may give ``received_at``)."""
        from hub import jobs
        from hub_airflow.tasks import finish, interval_day, received_at, task_runtime

        day, arrival = interval_day(data_interval_start), received_at(dag_run)
        return finish(jobs.collect(day, task_runtime(), sources=[source_id], received_at=arrival))

    with TaskGroup("collect") as collected:
        for source_id, pool in source_pools().items():
            collect.override(task_id=source_id, pool=pool, queue=collect_queue(pool))(source_id)

    @task(outlets=[PLATFORM_RECORDS], trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def announce_records(
        data_interval_start: pendulum.DateTime | None = None, outlet_events=None
    ) -> str:
        """Mark the platform's records of the run's day as updated (quality, reconcile listen)."""
        from hub_airflow.run_day import event_day
        from hub_airflow.tasks import interval_day

        day = interval_day(data_interval_start)
        outlet_events[PLATFORM_RECORDS].extra = event_day(day)
        return day.isoformat()

    collected >> announce_records()


collect_credit_records()
