"""What an operator is told when the daily reconciliation misses its deadline.

``reconcile_deadline_missed`` is the callback of the ``reconcile_repairs`` DAG's deadline alert;
Airflow calls it (through the executor) with the context of the late run. It logs an error naming
the DAG, the run, its day and the deadline, and, when the Airflow Connection ``hub_alerts`` is
defined (``AIRFLOW_CONN_HUB_ALERTS``: the URL of a webhook, e.g. the on-call chat's incoming hook,
its password sent as a bearer token), posts the same as JSON to it. A webhook that cannot be
reached is logged; the error line is always written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.connections import ConnectionResolver, MissingConnectionError
from connectors.http_session import ALERT_POLICY, GaveUpError, build_session, send_request
from hub.core.logs import masked_logger
from hub.core.privacy import mask_document

ALERT_CONNECTION_ID = "hub_alerts"
log = masked_logger(__name__)


def deadline_alert(context: dict[str, Any]) -> dict[str, Any]:
    """The alert for a missed deadline, from the context Airflow hands a deadline callback.

    Args:
        context: ``{"dag_run": {...the run as the REST API shows it...}, "deadline": {...}}``.
    """
    run = context.get("dag_run") or {}
    deadline = (context.get("deadline") or {}).get("deadline_time")
    if isinstance(deadline, datetime):
        deadline = deadline.isoformat()
    day = run.get("data_interval_start") or run.get("logical_date")
    return {
        "alert": "deadline_missed",
        "dag_id": run.get("dag_id"),
        "run_id": run.get("dag_run_id") or run.get("run_id"),
        "day": str(day)[:10] if day else None,
        "state": run.get("state"),
        "deadline": deadline,
    }


def reconcile_deadline_missed(
    context: dict[str, Any], resolve: ConnectionResolver | None = None
) -> dict[str, Any]:
    """Deadline callback: log the late reconciliation at error level and post it to the webhook.

    Args:
        context: what Airflow passes a deadline callback (see ``deadline_alert``).
        resolve: finds the ``hub_alerts`` connection (default: through Airflow).

    Returns:
        The alert sent, with ``"webhook"``: the status the webhook answered, or why none was sent.
    """
    alert = mask_document(deadline_alert(context))
    log.error(
        "DEADLINE MISSED: %s run %s (day %s) had not finished by %s (state: %s)",
        alert["dag_id"],
        alert["run_id"],
        alert["day"],
        alert["deadline"],
        alert["state"],
    )
    return {**alert, "webhook": _post(alert, resolve)}


def _post(alert: dict[str, Any], resolve: ConnectionResolver | None) -> str:
    from hub_airflow.connections import airflow_connection

    try:
        connection = (resolve or airflow_connection)(ALERT_CONNECTION_ID)
    except MissingConnectionError:
        return f"not sent: no connection {ALERT_CONNECTION_ID}"
    headers = {"Authorization": f"Bearer {connection.password}"} if connection.password else {}
    url = connection.base_url()
    policy = ALERT_POLICY.with_extras(connection.extra)
    session = build_session(policy, log_fields={"alert": alert["alert"]})
    try:
        response = send_request(
            session, "POST", url, json=alert, headers=headers, timeout=policy.timeout_seconds
        )
    except GaveUpError as exc:
        log.error("deadline alert not delivered to %s: %s", url, exc)
        return f"failed: {exc}"
    finally:
        session.close()
    if response.status_code >= 400:
        log.error("deadline alert refused by %s: %s", url, response.status_code)
    return str(response.status_code)
