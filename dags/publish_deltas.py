"""Publish the day's delta files for the downstream sites that pull, then apply the retention.

For the run's day D (the data interval `[D 00:00, D+1 00:00)` in platform time, Asia/Shanghai)
every pull site in `mappings/targets/` gets one delta file set: Parquet, CSV (UTF-8 with BOM, for
Excel) and a manifest JSON with the SHA-256 of each file, numbered by the site's gap-free
sequence. The set holds the status changes of the site's region logged during D
(`hub.publish.ranges` says exactly which); a day without changes still gets its (empty) set. A
day missed earlier is published first, in order. Re-running a day rebuilds the same bytes and
verifies them against what was published.

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

import pendulum
from airflow.sdk import dag, task

from hub_airflow.conventions import DELTA_FILES, START_DATE, daily, default_args


@dag(
    dag_id="publish_deltas",
    schedule=daily(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["publish", "delta-files", "credit"],
    default_args=default_args(),
)
def publish_deltas() -> None:
    """Daily delta files per pull site, and their retention."""

    @task(outlets=[DELTA_FILES])
    def publish_day(data_interval_start: pendulum.DateTime | None = None) -> dict:
        """Publish the run's day (and any unpublished day before it), then the retention."""
        from hub import jobs
        from hub_airflow.tasks import finish, interval_day, task_runtime

        return finish(jobs.publish(interval_day(data_interval_start), task_runtime()))

    publish_day()


publish_deltas()
