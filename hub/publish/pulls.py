"""The pull log: one row per request to the pull API, whatever its answer, method or headers.

Every text is cut to its column (a 40-letter method, a 300-character forwarded address), and a
database that cannot take the row costs the request nothing: the request is answered, and the pull
is written to the error log instead, with every field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from hub.core.logs import get_logger
from hub.store.publish_schema import pull_log

log = get_logger(__name__)
_TEXT_COLUMNS = ("site_id", "method", "path", "client")


@dataclass(frozen=True)
class Pull:
    """One request: who asked (``None`` without a valid token), for what, and the answer."""

    requested_at: datetime
    site_id: str | None
    method: str
    path: str
    file_id: int | None
    status: int
    bytes: int | None
    client: str | None


def _fitted(pull: Pull) -> dict:
    values = vars(pull).copy()
    for name in _TEXT_COLUMNS:
        if values[name] is not None:
            values[name] = values[name][: pull_log.c[name].type.length]
    return values


def record_pull(engine: sa.Engine, pull: Pull) -> None:
    """Append ``pull`` to the log in its own transaction, each text cut to fit its column.

    Never raises for the database: a row it cannot write is logged as an error instead.
    """
    values = _fitted(pull)
    try:
        with engine.begin() as connection:
            connection.execute(pull_log.insert().values(**values))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        log.error("pull not recorded in pull_log", reason=reason, **values)
