"""Connections resolved through Airflow's own secrets backends, for code running in a DAG task.

Airflow is imported when a connection is asked for, so nothing outside a task pays for it.
"""

from __future__ import annotations

from connectors.connections import Connection, MissingConnectionError, env_var_name


def airflow_connection(conn_id: str) -> Connection:
    """Resolve ``conn_id`` through Airflow (Connections UI, secrets backend, ``AIRFLOW_CONN_*``).

    Raises:
        MissingConnectionError: Airflow knows no such connection (as ``from_environment`` raises,
            so callers name the missing connection the same way inside and outside Airflow).
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise MissingConnectionError(
            f"connection {conn_id!r} is not configured: define it as an Airflow Connection "
            f"or set {env_var_name(conn_id)}"
        ) from None
    return Connection(
        conn_id=conn_id,
        conn_type=conn.conn_type or "",
        host=conn.host or "",
        port=conn.port,
        login=conn.login or "",
        password=conn.password or "",
        schema=conn.schema or "",
        extra=conn.extra_dejson,
    )
