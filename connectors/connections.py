"""Airflow-style Connections, resolved without importing Airflow.

A connection ``agency_x`` is read from the environment variable ``AIRFLOW_CONN_AGENCY_X`` in
either of Airflow's two forms: a URI (``http://user:secret@host:8080/path?timeout=5``) or JSON
(``{"conn_type": "http", "host": "...", "password": "...", "extra": {...}}``). Inside Airflow the
DAGs pass a resolver backed by Airflow's own secrets backends instead
(``hub_airflow.connections``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from hub.core.errors import ConfigurationError


@dataclass(frozen=True)
class Connection:
    """The parts of a connection the connectors use. ``password`` never appears in a repr."""

    conn_id: str
    conn_type: str = ""
    host: str = ""
    port: int | None = None
    login: str = ""
    password: str = field(default="", repr=False)
    schema: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def base_url(self) -> str:
        """The HTTP base URL: ``extra.base_url`` or ``scheme://host[:port][/schema]``."""
        if self.extra.get("base_url"):
            return str(self.extra["base_url"]).rstrip("/")
        scheme = self.conn_type if self.conn_type in ("http", "https") else "http"
        port = f":{self.port}" if self.port else ""
        path = f"/{self.schema.strip('/')}" if self.schema else ""
        return f"{scheme}://{self.host}{port}{path}"


ConnectionResolver = Callable[[str], Connection]


class MissingConnectionError(ConfigurationError, LookupError):
    """No connection of that id is configured."""


class ConnectionFormatError(ConfigurationError, ValueError):
    """A connection's variable holds neither a URI nor Airflow's JSON form; the message names it."""


def env_var_name(conn_id: str) -> str:
    """The environment variable Airflow reads connection ``conn_id`` from."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def from_environment(conn_id: str) -> Connection:
    """Resolve ``conn_id`` from ``AIRFLOW_CONN_<ID>`` (URI or JSON form)."""
    value = os.environ.get(env_var_name(conn_id))
    if not value:
        raise MissingConnectionError(
            f"connection {conn_id!r} is not configured: set {env_var_name(conn_id)} "
            "or define it as an Airflow Connection"
        )
    value = value.strip()
    try:
        if value.startswith("{"):
            return _from_json(conn_id, json.loads(value))
        return _from_uri(conn_id, value)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ConnectionFormatError(
            f"{env_var_name(conn_id)} is not a connection: {exc}; use a URI "
            "(http://login:password@host:8080/path) or Airflow's JSON form "
            '({"conn_type": "http", "host": ..., "password": ..., "extra": {...}})'
        ) from None


def _from_json(conn_id: str, data: dict[str, Any]) -> Connection:
    extra = data.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra)
    return Connection(
        conn_id=conn_id,
        conn_type=data.get("conn_type", ""),
        host=data.get("host") or "",
        port=int(data["port"]) if data.get("port") else None,
        login=data.get("login") or "",
        password=data.get("password") or "",
        schema=data.get("schema") or "",
        extra=extra,
    )


def _from_uri(conn_id: str, uri: str) -> Connection:
    parts = urlsplit(uri)
    extra = dict(parse_qsl(parts.query))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    return Connection(
        conn_id=conn_id,
        conn_type=parts.scheme.replace("-", "_"),
        host=unquote(parts.hostname or ""),
        port=parts.port,
        login=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        schema=unquote(parts.path.lstrip("/")),
        extra=extra,
    )
