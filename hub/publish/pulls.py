"""The pull log: one row per request to the pull API, whatever its answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from hub.store.publish_schema import pull_log

_PATH_LENGTH = pull_log.c.path.type.length


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


def record_pull(engine: sa.Engine, pull: Pull) -> None:
    """Append ``pull`` to the log (its own transaction; a long path is cut to fit)."""
    values = vars(pull) | {"path": pull.path[:_PATH_LENGTH]}
    with engine.begin() as connection:
        connection.execute(pull_log.insert().values(**values))
