"""Connections resolved through Airflow's own secrets backends, for code running in a DAG task.

Airflow is imported when a connection is asked for, so nothing outside a task pays for it.
"""

from __future__ import annotations

from connectors.connections import Connection


def airflow_connection(conn_id: str) -> Connection:
    """Resolve ``conn_id`` through Airflow (Connections UI, secrets backend, ``AIRFLOW_CONN_*``)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
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
