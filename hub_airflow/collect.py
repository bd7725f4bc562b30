"""The collect DAG's tasks as the source files declare them: one per enabled source, in its pool.

Each agency pool also names the Celery queue its collect tasks are sent to: ``agency_scjg`` →
``collect_scjg``. A worker that listens to ``collect_scjg`` (``airflow celery worker --queues
collect_scjg``) collects that agency; every other task goes to ``default``.
"""

from __future__ import annotations

from hub.collect.sources import agency_pools, all_sources, enabled_source_ids

DEFAULT_POOL = "default_pool"
DEFAULT_QUEUE = "default"
"""Airflow's ``[operators] default_queue``: every task but the agencies' collect tasks."""


def source_pools() -> dict[str, str]:
    """Each enabled source's id → its agency's pool, in id order, from the source files.

    A file that cannot be read keeps its task (in Airflow's default pool): the task fails naming
    the file and the problem, the other sources are collected as usual.
    """
    declared = all_sources()
    return {
        source_id: declared[source_id].agency_pool.name if source_id in declared else DEFAULT_POOL
        for source_id in enabled_source_ids()
    }


def collect_queue(pool: str) -> str:
    """The Celery queue of an agency pool's collect tasks; ``default`` for Airflow's own pool."""
    if pool == DEFAULT_POOL:
        return DEFAULT_QUEUE
    return "collect_" + pool.removeprefix("agency_")


def worker_queues() -> list[str]:
    """Every queue a worker that runs everything listens to: ``default``, then each agency's."""
    return [DEFAULT_QUEUE, *(collect_queue(pool) for pool in agency_pools())]
