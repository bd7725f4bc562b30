"""Closing quarantine rows once the agency has delivered the record again, good this time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from hub.store.schema import quarantine

_CHUNK = 5_000
"""Document numbers per ``IN (...)``: well under SQLite's limit of bound parameters."""


def resolve_quarantined(
    connection: sa.Connection, source_id: str, loaded_documents: Iterable[str], at: datetime
) -> int:
    """Mark resolved at ``at`` the open quarantine rows of ``source_id`` whose document has loaded.

    A quarantine row stays open until a record of the same source with the same document number
    loads; one without a document number stays open until someone closes it. Returns the rows
    resolved. Runs in the caller's transaction, with the load that resolved them.
    """
    q = quarantine.c
    still_open = set(
        connection.scalars(
            sa.select(q.document_no)
            .distinct()
            .where(q.source_id == source_id, q.resolved_at.is_(None), q.document_no.is_not(None))
        )
    )
    fixed = sorted(still_open.intersection(loaded_documents))
    resolved = 0
    for start in range(0, len(fixed), _CHUNK):
        resolved += connection.execute(
            quarantine.update()
            .where(
                q.source_id == source_id,
                q.resolved_at.is_(None),
                q.document_no.in_(fixed[start : start + _CHUNK]),
            )
            .values(resolved_at=at)
        ).rowcount
    return resolved
