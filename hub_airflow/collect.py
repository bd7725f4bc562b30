"""The collect DAG's tasks as the source files declare them: one per enabled source, in its pool."""

from __future__ import annotations

from hub.collect.sources import registry

DEFAULT_POOL = "default_pool"


def source_pools() -> dict[str, str]:
    """Each enabled source's id → its agency's pool, in id order, from the source files.

    A file that cannot be read keeps its task (in Airflow's default pool): the task fails naming
    the file and the problem, the other sources are collected as usual.
    """
    found = registry()
    pools = {s.id: s.agency_pool.name for s in found.sources.values() if s.enabled}
    pools.update({stem: DEFAULT_POOL for stem in found.broken})
    return dict(sorted(pools.items()))
