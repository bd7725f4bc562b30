"""The agency pools: at most a source's declared slots of an agency's collect tasks run at once.

Each source names its agency's pool in its YAML file (``pool: {name: agency_scjg, slots: 2}``);
``collect_credit_records`` gives each source's task that pool. The pools themselves must exist in
Airflow: ``hub airflow pools > pools.json && airflow pools import pools.json`` in a deployment,
``create_pools()`` in one process (the tests, the demo).
"""

from __future__ import annotations

from typing import Any

from hub.collect.sources import agency_pools, all_sources


def pools_document() -> dict[str, dict[str, Any]]:
    """The agency pools in the JSON form ``airflow pools import`` reads (name → settings)."""
    members: dict[str, list[str]] = {}
    for source in all_sources().values():
        members.setdefault(source.agency_pool.name, []).append(source.id)
    departments = {s.agency_pool.name: s.department for s in all_sources().values()}
    return {
        name: {
            "slots": slots,
            "description": f"{departments[name]}: {', '.join(members[name])}",
            "include_deferred": False,
        }
        for name, slots in agency_pools().items()
    }


def create_pools() -> dict[str, int]:
    """Create or update every agency pool in Airflow's metadata database; returns name → slots."""
    from airflow.models.pool import Pool

    document = pools_document()
    for name, entry in document.items():
        Pool.create_or_update_pool(
            name=name,
            slots=entry["slots"],
            description=entry["description"],
            include_deferred=entry["include_deferred"],
        )
    return {name: entry["slots"] for name, entry in document.items()}
