"""Collect penalty, abnormal-list and serious-list records from every enabled agency source.

One mapped task per source declared in `mappings/sources/` (enabled ones), so a source that is
down or sends an unusable delivery fails alone while the others load. Each task runs one batch
(`hub.collect.collect_source`) for the run's day: the data interval `[D 00:00, D+1 00:00)` in
Asia/Shanghai. Figures per batch are in `hub status` and the `ingest_batch` table; quarantined
records with their reasons in `quarantine`.

When at least one source loaded, the `platform_credit_records` Asset is updated, which the quality
report listens to. Connections come from Airflow (Connections UI, secrets backend or
`AIRFLOW_CONN_*` variables); nothing is read at import time.
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
        from hub.sources import enabled_sources

        return [source.id for source in enabled_sources()]

    @task(max_active_tis_per_dagrun=4, map_index_template="{{ source_id }}")
    def collect(source_id: str, data_interval_start: pendulum.DateTime | None = None) -> dict:
        from connectors.airflow_connections import airflow_connection
        from hub.collect import collect_source
        from hub.settings import local_day

        day = local_day(data_interval_start)
        summary = collect_source(source_id, day, resolve=airflow_connection)
        return summary.as_dict()

    @task(outlets=[PLATFORM_RECORDS], trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def announce_records() -> None:
        """Mark the platform's records as updated (the quality report listens)."""

    collected = collect.expand(source_id=enabled_source_ids())
    collected >> announce_records()


collect_credit_records()
