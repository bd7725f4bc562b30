"""Publish the day's delta files for the downstream sites that pull, then apply the retention.

For the run's day D (the data interval `[D 00:00, D+1 00:00)` in Asia/Shanghai) every pull site in
`mappings/targets/` gets one delta file set: Parquet, CSV (UTF-8 with BOM, for Excel) and a
manifest JSON with the SHA-256 of each file, numbered by the site's gap-free sequence. The set
holds the status changes of the site's region logged during D (`hub.publish.ranges` says exactly
which); a day without changes still gets its (empty) set. A day missed earlier is published first,
in order. Re-running a day rebuilds the same bytes and verifies them against what was published.

Then files older than the retention (Airflow Variable `hub_delta_retention_days`, else
`HUB_DELTA_RETENTION_DAYS`, else 90 days, counted back from D) are deleted; their manifest rows
stay, marked expired. The `platform_delta_files` Asset is updated for whoever listens. The sites
fetch the files through the pull API (the `credit_deltas` plugin). Same as `hub publish --date D`;
see docs/publish.md.

Scheduled by the clock, not by the reconciliation's Asset: day D's files hold the changes logged
before D+1 00:00, so they can be built as soon as D has ended and never sooner, whatever ran last
(see docs/airflow.md).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Variable, dag, task

SHANGHAI = pendulum.timezone("Asia/Shanghai")
DELTA_FILES = Asset(name="platform_delta_files", uri="hub://platform/delta_files")


@dag(
    dag_id="publish_deltas",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone=SHANGHAI),
    start_date=pendulum.datetime(2026, 1, 1, tz=SHANGHAI),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["publish", "delta-files", "credit"],
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
    },
)
def publish_deltas() -> None:
    """Daily delta files per pull site, and their retention."""

    @task
    def publish_day(data_interval_start: pendulum.DateTime | None = None) -> list[dict]:
        """Publish the run's day (and any unpublished day before it) for every pull site."""
        from hub.core.settings import local_day
        from hub.publish.publisher import publish

        return [
            {
                "day": str(outcome.range.day),
                "changes": outcome.range.n_changes,
                "watermark": [outcome.range.watermark_from, outcome.range.watermark_to],
                "sites": {s.site_id: [s.sequence, s.row_count, s.state] for s in outcome.sites},
            }
            for outcome in publish(local_day(data_interval_start))
        ]

    @task(outlets=[DELTA_FILES])
    def expire_old_files(data_interval_start: pendulum.DateTime | None = None) -> list[dict]:
        """Delete the files past the retention, counted back from the run's day."""
        from hub.core.settings import local_day
        from hub.core.thresholds import DELTA_RETENTION_DAYS
        from hub.publish.config import publish_settings
        from hub.publish.retention import expire_old_files as expire
        from hub.store.db import make_engine

        config = publish_settings(DELTA_RETENTION_DAYS.value_from(Variable.get))
        engine = make_engine()
        try:
            expired = expire(engine, local_day(data_interval_start), config)
        finally:
            engine.dispose()
        return [{"site": e.site_id, "sequence": e.sequence, "day": str(e.day)} for e in expired]

    publish_day() >> expire_old_files()


publish_deltas()
