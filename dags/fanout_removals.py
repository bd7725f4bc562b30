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
Connection (`connection_id`); nothing is read at import time. See docs/airflow.md.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Variable, dag, task

SHANGHAI = pendulum.timezone("Asia/Shanghai")
STATUS_CHANGES = Asset(name="platform_status_changes", uri="hub://platform/status_changes")
log = logging.getLogger(__name__)


@dag(
    dag_id="fanout_removals",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/15 * * * *", timezone=SHANGHAI), assets=STATUS_CHANGES
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz=SHANGHAI),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["fanout", "credit"],
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
    },
)
def fanout_removals() -> None:
    """Push the outbox to every push target."""

    @task
    def push_target_ids() -> list[str]:
        from hub.core.targets import push_targets

        return [target.id for target in push_targets()]

    @task(map_index_template="{{ target_id }}")
    def deliver(target_id: str) -> dict:
        from hub.core.targets import all_targets
        from hub.core.thresholds import (
            FANOUT_LEASE_SECONDS,
            FANOUT_RETRY_BASE_SECONDS,
            FANOUT_RETRY_MAX_SECONDS,
        )
        from hub.fanout.claims import RetrySchedule
        from hub.fanout.deliver import deliver as deliver_outbox
        from hub.store.db import make_engine
        from hub_airflow.connections import airflow_connection

        schedule = RetrySchedule(
            base_seconds=FANOUT_RETRY_BASE_SECONDS.value_from(Variable.get),
            max_seconds=FANOUT_RETRY_MAX_SECONDS.value_from(Variable.get),
        )
        engine = make_engine()
        try:
            run = deliver_outbox(
                engine,
                [all_targets()[target_id]],
                resolve=airflow_connection,
                lease_seconds=FANOUT_LEASE_SECONDS.value_from(Variable.get),
                schedule=schedule,
            )
        finally:
            engine.dispose()
        report = asdict(run.targets[target_id])
        log.info("delivery to %s: %s", target_id, report)
        if run.problems:
            raise RuntimeError("; ".join(run.problems))
        return report

    deliver.expand(target_id=push_target_ids())


fanout_removals()
