"""Talking to the outside: source readers and (later) delivery targets."""

from __future__ import annotations

from connectors.base import Reader, SourceError
from connectors.connections import ConnectionResolver, MissingConnectionError, from_environment
from connectors.specs import Connector, FileConnector, HttpConnector, SqlConnector


def open_reader(
    source_id: str, spec: Connector, resolve: ConnectionResolver = from_environment
) -> Reader:
    """The reader for a source's connector, its connection resolved through ``resolve``.

    Args:
        source_id: the source, named in every error the reader raises.
        spec: the source's ``connector:`` settings.
        resolve: finds a connection by id (default: ``AIRFLOW_CONN_<ID>`` variables).

    Raises:
        SourceError: the connection is not configured (the message names the variable).
    """
    try:
        connection = resolve(spec.connection)
    except MissingConnectionError as exc:
        raise SourceError(source_id, str(exc)) from None
    # Imported here so that importing ``connectors`` (e.g. while Airflow parses DAG files) does
    # not load requests, SQLAlchemy and pyarrow.
    if isinstance(spec, HttpConnector):
        from connectors.http import HttpReader

        return HttpReader(source_id, spec, connection)
    if isinstance(spec, SqlConnector):
        from connectors.sql import SqlReader

        return SqlReader(source_id, spec, connection)
    if isinstance(spec, FileConnector):
        from connectors.files import FileReader

        return FileReader(source_id, spec, connection)
    raise TypeError(f"no reader for connector {type(spec).__name__}")
