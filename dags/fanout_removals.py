"""Deliver status changes (repaired, expired, withdrawn records) to the targets that take pushes.

The city credit sites and the government-service platform declared with `delivery: push` in
`mappings/targets/` get every change of their region from the outbox, which the reconciliation
fills in the same transaction as each change. Runs when the reconciliation updates the
`platform_status_changes` Asset, and every 15 minutes besides, so that messages waiting out a
retry backoff go out on a quiet day too (the Asset is a nudge; what is due is read from the
outbox).

One mapped task per push target: batches of the target's `batch_size`, `concurrency` requests at
once, an idempotency key per message, retries with backoff and jitter honouring `Retry-After`,
dead letters after `max_attempts`. A task fails when its target could not be reached or messages
became dead letters; `hub status` shows the outbox, `hub fanout --retry-dead` revives dead letters.
The lease of a claimed batch and the retry backoff are the Airflow Variables
`hub_fanout_lease_seconds` (300), `hub_fanout_retry_base_seconds` (60) and
`hub_fanout_retry_max_seconds` (3600). Each target's address and token come from its Airflow
Connection (`connection`). Same as `hub fanout`; see docs/airflow.md.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from hub_airflow.conventions import START_DATE, STATUS_CHANGES, TIMEZONE, default_args


@dag(
    dag_id="fanout_removals",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/15 * * * *", timezone=TIMEZONE), assets=STATUS_CHANGES
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["fanout", "credit"],
    default_args=default_args(retry_delay=timedelta(minutes=2)),
)
def fanout_removals() -> None:
    """Push the outbox to every push target."""

    @task
    def push_target_ids() -> list[str]:
        from hub.core.targets import push_targets

        return [target.id for target in push_targets()]

    @task(map_index_template="{{ target_id }}")
    def deliver(target_id: str) -> dict:
        from hub import jobs
        from hub.core.targets import all_targets
        from hub_airflow.tasks import finish, task_runtime

        return finish(jobs.fanout(task_runtime(), targets=[all_targets()[target_id]]))

    deliver.expand(target_id=push_target_ids())


fanout_removals()
