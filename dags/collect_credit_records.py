"""Collect penalty, abnormal-list and serious-list records from every enabled agency source.

One mapped task per source declared in `mappings/sources/` (enabled ones), so a source that is
down or sends an unusable delivery fails alone while the others load. Each task runs one batch
(`hub.collect.run.collect_source`) for the run's day: the data interval `[D 00:00, D+1 00:00)` in
Asia/Shanghai. Figures per batch are in `hub status` and the `ingest_batch` table; quarantined
records with their reasons in `quarantine`.

Each source's task runs in its agency's Airflow pool (`pool:` in the source file, e.g.
`agency_scjg` with 2 slots), so one agency is never read by more tasks at once than it allows:
`hub airflow pools` prints them for `airflow pools import`, and the cluster policy in
`hub_airflow.setup` puts each mapped task into its source's pool (Airflow has no per-instance pool
argument). At most 4 sources are read at once overall.

When at least one source loaded, the `platform_credit_records` Asset is updated with the day in
its extra (`{"day": "2026-11-03"}`); the quality report and the reconciliation listen to it.
Connections come from Airflow (Connections UI, secrets backend or `AIRFLOW_CONN_*` variables);
nothing is read at import time. See docs/airflow.md.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, TriggerRule, dag, task

SHANGHAI = pendulum.timezone("Asia/Shanghai")
PLATFORM_RECORDS = Asset(name="platform_credit_records", uri="hub://platform/credit_records")


@dag(
    dag_id="collect_credit_records",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone=SHANGHAI),
    start_date=pendulum.datetime(2026, 1, 1, tz=SHANGHAI),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["collect", "credit"],
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
    },
)
def collect_credit_records() -> None:
    """Daily collection from every enabled agency source."""

    @task
    def enabled_source_ids() -> list[str]:
        from hub.collect.sources import enabled_sources

        return [source.id for source in enabled_sources()]

    @task(max_active_tis_per_dagrun=4, map_index_template="{{ source_id }}")
    def collect(source_id: str, data_interval_start: pendulum.DateTime | None = None) -> dict:
        from hub.collect.run import collect_source
        from hub.core.settings import local_day
        from hub_airflow.connections import airflow_connection

        day = local_day(data_interval_start)
        summary = collect_source(source_id, day, resolve=airflow_connection)
        return summary.as_dict()

    @task(outlets=[PLATFORM_RECORDS], trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def announce_records(
        data_interval_start: pendulum.DateTime | None = None, outlet_events=None
    ) -> str:
        """Mark the platform's records of the run's day as updated (quality, reconcile listen)."""
        from hub.core.settings import local_day
        from hub_airflow.run_day import event_day

        day = local_day(data_interval_start)
        outlet_events[PLATFORM_RECORDS].extra = event_day(day)
        return day.isoformat()

    collected = collect.expand(source_id=enabled_source_ids())
    collected >> announce_records()


collect_credit_records()
