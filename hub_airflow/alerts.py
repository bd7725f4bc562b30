"""What an operator is told when the daily reconciliation misses its deadline.

``reconcile_deadline_missed`` is the callback of the ``reconcile_repairs`` DAG's deadline alert;
Airflow calls it (through the executor) with the context of the late run. It logs an error naming
the DAG, the run, its day and the deadline (both in the platform's time zone: the day the run
covers, as ``hub_airflow.run_day`` reads it), and, when the Airflow Connection ``hub_alerts`` is
defined (``AIRFLOW_CONN_HUB_ALERTS``: the URL of a webhook, e.g. the on-call chat's incoming hook,
its password sent as a bearer token), posts the same as JSON to it. The callback never fails: a
connection that cannot be looked up (not defined, or refused to the callback's token by the Task
SDK), or a webhook that cannot be reached, is logged and named in the result; the error line is
always written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from connectors.connections import ConnectionResolver, MissingConnectionError
from connectors.http_session import ALERT_POLICY, GaveUpError, build_session, send_request
from hub.core.logs import masked_logger
from hub.core.privacy import mask_document
from hub.core.settings import local_day, settings
from hub_airflow.run_day import run_day

ALERT_CONNECTION_ID = "hub_alerts"
log = masked_logger(__name__)


def _instant(value: Any) -> datetime | None:
    """A datetime from the context: as given, or parsed from the REST API's ISO string."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _day(run: dict[str, Any]) -> date | None:
    """The day the late run covers, in the platform's time zone (``None`` if it cannot tell)."""
    start = _instant(run.get("data_interval_start"))
    end = _instant(run.get("data_interval_end"))
    run_after = _instant(run.get("run_after") or run.get("logical_date"))
    if start is not None and (end is None or end > start):
        return local_day(start)
    if run_after is None:
        return None
    return run_day(data_interval_start=None, data_interval_end=None, run_after=run_after)


def deadline_alert(context: dict[str, Any]) -> dict[str, Any]:
    """The alert for a missed deadline, from the context Airflow hands a deadline callback.

    Args:
        context: ``{"dag_run": {...the run as the REST API shows it...}, "deadline": {...}}``.

    Returns:
        The alert: DAG, run, the run's day and the deadline in the platform's time zone, state.
    """
    run = context.get("dag_run") or {}
    deadline = _instant((context.get("deadline") or {}).get("deadline_time"))
    day = _day(run)
    return {
        "alert": "deadline_missed",
        "dag_id": run.get("dag_id"),
        "run_id": run.get("dag_run_id") or run.get("run_id"),
        "day": day.isoformat() if day else None,
        "state": run.get("state"),
        "deadline": deadline.astimezone(settings().timezone).isoformat() if deadline else None,
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
    try:
        alert = mask_document(deadline_alert(context))
    except Exception as exc:  # an unreadable context still raises the alarm
        log.exception("DEADLINE MISSED: the late run's context could not be read")
        alert = mask_document({"alert": "deadline_missed", "context_error": str(exc)})
        alert |= dict.fromkeys(("dag_id", "run_id", "day", "state", "deadline"))
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
    except Exception as exc:
        # Under the Task SDK the callback's token may be refused the look-up
        # (AirflowSecretsBackendAccessDenied): the alert was logged, the callback must not fail.
        reason = f"connection {ALERT_CONNECTION_ID} could not be read: {type(exc).__name__}"
        log.error("deadline alert not sent: %s: %s", reason, exc)
        return f"not sent: {reason}"
    headers = {"Authorization": f"Bearer {connection.password}"} if connection.password else {}
    url = connection.base_url()
    policy = ALERT_POLICY.with_extras(connection.extra)
    session = build_session(policy, log_fields={"alert": alert["alert"]})
    try:
        response = send_request(
            session, "POST", url, json=alert, headers=headers, timeout=policy.timeout_seconds
        )
    except (GaveUpError, OSError, ValueError) as exc:
        log.error("deadline alert not delivered to %s: %s", url, exc)
        return f"failed: {exc}"
    finally:
        session.close()
    if response.status_code >= 400:
        log.error("deadline alert refused by %s: %s", url, response.status_code)
    return str(response.status_code)
