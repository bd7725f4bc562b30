"""Closing quarantine rows once the agency has delivered the record again, good this time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from hub.store.bulk import among
from hub.store.schema import quarantine


def resolve_quarantined(
    connection: sa.Connection, source_id: str, loaded_documents: Iterable[str], at: datetime
) -> int:
    """Mark resolved at ``at`` the open quarantine rows of ``source_id`` whose document has loaded.

    A quarantine row stays open until a record of the same source with the same document number
    loads; one without a document number stays open until someone closes it. Returns the rows
    resolved. Runs in the caller's transaction, with the load that resolved them; costs one
    probe of the open rows' index per loaded document, however many rows are open.
    """
    q = quarantine.c
    return connection.execute(
        quarantine.update()
        .where(
            q.source_id == source_id,
            q.resolved_at.is_(None),
            among(connection, q.document_no, loaded_documents),
        )
        .values(resolved_at=at)
    ).rowcount
