"""The collect DAG's tasks as the source files declare them: one per enabled source, in its pool."""

from __future__ import annotations

from hub.collect.sources import all_sources, enabled_source_ids

DEFAULT_POOL = "default_pool"


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
