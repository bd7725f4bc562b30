"""Running the hub's DAGs in one process with ``dag.test()``: the tests and the demo's cycle.

A scheduler needs none of this: its pools come from ``hub airflow pools`` (``airflow pools
import``) and its DAGs never meet the ``dag.test()`` deadline bug below.
"""

from __future__ import annotations

from typing import Any

from hub_airflow.pools import create_pools


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
    """Everything a single-process Airflow needs from the hub, in a migrated metadata database.

    Creates the agency pools and installs the ``dag.test()`` deadline fix; returns the pools
    (name → slots).
    """
    pools = create_pools()
    allow_dag_test_with_deadlines()
    return pools
