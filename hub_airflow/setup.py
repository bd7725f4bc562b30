"""Wiring the hub into an Airflow installation: the agency pools and the policy that fills them.

Airflow gives every instance of a mapped task the pool of the mapped task itself; a pool per
mapped instance cannot be declared (``pool`` is not an ``expand`` argument, apache/airflow#33657).
``collect_credit_records`` maps one ``collect`` task per source, and each source belongs to its
agency's pool, so the pool is set by a cluster policy instead: ``task_instance_mutation_hook``,
which Airflow calls scheduler-side whenever it creates, expands or refreshes a task instance
(before the instance is queued, so the pool's slots are what the scheduler counts). For
``collect_credit_records.collect`` it sets the pool of the source at the instance's map index;
the enabled sources are read in id order, the order ``enabled_source_ids`` returns them in.

Install it:

- a deployment: an ``airflow_local_settings.py`` on the scheduler's path (``$AIRFLOW_HOME/config/``)
  with ``from hub_airflow.setup import task_instance_mutation_hook``; the pools from
  ``hub airflow pools > pools.json && airflow pools import pools.json``;
- in one process (the tests, a local scheduler): ``install_pool_policy()`` and ``create_pools()``.

Nothing here imports Airflow at module level; the functions that write to Airflow's metadata
database import it when called.
"""

from __future__ import annotations

from typing import Any

from hub.collect.sources import agency_pools, all_sources, load_source_file
from hub.core.logs import masked_logger
from hub.core.settings import settings

COLLECT_DAG_ID = "collect_credit_records"
COLLECT_TASK_ID = "collect"
log = masked_logger(__name__)
_installed = False


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


def collect_pool(map_index: int) -> str | None:
    """The pool of the collect task at ``map_index``; ``None`` when no enabled source is there.

    The source files are read afresh (not the process's cached registry): a long-running scheduler
    must see the same sources as the task that listed them.
    """
    paths = sorted(settings().sources_dir.glob("*.yaml"))
    enabled = [spec for spec in map(load_source_file, paths) if spec.enabled]
    if not 0 <= map_index < len(enabled):
        return None
    return enabled[map_index].agency_pool.name


def task_instance_mutation_hook(task_instance: Any, dag_run: Any) -> None:
    """Airflow cluster policy: put each collect task instance into its source's agency pool.

    Any other task instance is left alone. A source registry that cannot be read leaves the pool
    as it is (logged): a policy must never stop the scheduler.
    """
    if task_instance.dag_id != COLLECT_DAG_ID or task_instance.task_id != COLLECT_TASK_ID:
        return
    if task_instance.map_index < 0:
        return
    try:
        pool = collect_pool(task_instance.map_index)
    except Exception:
        log.exception("cannot choose the agency pool of %s", task_instance)
        return
    if pool is not None:
        task_instance.pool = pool


def install_pool_policy() -> None:
    """Register ``task_instance_mutation_hook`` with Airflow in this process, once.

    The same registration Airflow makes for an ``airflow_local_settings`` module.
    """
    global _installed
    if _installed:
        return
    import sys

    from airflow import policies
    from airflow import settings as airflow_settings

    manager = airflow_settings.get_policy_plugin_manager()
    policies.make_plugin_from_local_settings(
        manager, sys.modules[__name__], {"task_instance_mutation_hook"}
    )
    airflow_settings.task_instance_mutation_hook.is_noop = False
    _installed = True


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


def allow_dag_test_with_deadlines() -> None:
    """Let ``dag.test()`` finish a DAG that declares a deadline alert (``reconcile_repairs``).

    Airflow 3.3.2's ``dag.test()`` builds its scheduler DAG in memory, so ``dag.deadline`` holds
    the encoded alerts instead of the ``deadline_alert`` ids a scheduler's DAG holds, and a
    successful run then fails in ``DeadlineAlertModel.get_by_id`` (``'dict' object has no attribute
    'hex'``; apache/airflow#73428, fix proposed in #73430). As that fix does, an encoded alert is
    answered from itself; ids are looked up as before. Only needed where ``dag.test()`` runs
    (tests, the demo); a scheduler never passes an encoded alert.
    """
    from types import SimpleNamespace

    from airflow.models.deadline_alert import DeadlineAlert

    original = DeadlineAlert.get_by_id
    if getattr(original, "hub_encoded_alerts", False):
        return

    def get_by_id(deadline_alert_id: Any, *, session: Any = None) -> Any:
        if isinstance(deadline_alert_id, dict):
            encoded = SimpleNamespace(reference=deadline_alert_id["reference"])
            return SimpleNamespace(
                reference=encoded.reference,
                reference_class=DeadlineAlert.reference_class.fget(encoded),
            )
        if session is None:
            return original(deadline_alert_id)
        return original(deadline_alert_id, session=session)

    get_by_id.hub_encoded_alerts = True
    DeadlineAlert.get_by_id = staticmethod(get_by_id)


def prepare_local_airflow() -> dict[str, int]:
    """Everything a single-process Airflow (tests, the demo's scheduler) needs from the hub.

    Creates the agency pools, installs the pool policy and the ``dag.test()`` deadline fix, in
    a migrated metadata database; returns the pools (name → slots).
    """
    pools = create_pools()
    install_pool_policy()
    allow_dag_test_with_deadlines()
    return pools
