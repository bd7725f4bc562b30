"""The set-based, idempotent upsert of canonical records.

A page is copied into a temporary staging table (COPY on PostgreSQL), then written into the
record table by one ``INSERT ... SELECT ... ON CONFLICT (record_key) DO UPDATE ... WHERE`` the
content changed, whatever the number of records. A record the table already holds with the same
content hash is left out of the SELECT, so a re-sent unchanged page writes no canonical row (not
even a row lock). A correction replaces its row, and the version it replaces is copied into
``record_history`` by the same statement on PostgreSQL (a data-modifying CTE: both read the
table as it was before the statement).

A version the record has already been corrected from (its content hash is in the record's
history) is *outdated*: an agency's export replaying old rows must not undo a correction, so it
is counted, logged with its source, batch and document number, and not applied (its raw row is
kept). An agency that truly wants the earlier content back sends it with a change of its own.

Two batches inserting the same new record at the same moment: the later one waits on the
earlier's row and, once it commits, updates it where the content differs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from hub.core.logs import get_logger
from hub.core.model import RecordKind, field_names
from hub.store.bulk import EncodedFrame, encode_frame, insert_encoded
from hub.store.schema import (
    LIFECYCLE_COLUMNS,
    LOADED_OUTCOMES,
    PUBLICITY_COLUMNS,
    RECORD_TABLES,
    record_history,
)

log = get_logger(__name__)

# Columns an update leaves alone: the identity, when the record was first received, its status.
_KEPT_ON_UPDATE = {"record_key", "received_at", "status", "version"}


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert did with the rows it was given."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    outdated: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.outdated + other.outdated,
        )

    @property
    def loaded(self) -> int:
        """Records that passed the rules (``hub.store.schema.LOADED_OUTCOMES``)."""
        return sum(getattr(self, outcome) for outcome in LOADED_OUTCOMES)


def _staging_table(connection: sa.Connection, target: sa.Table) -> sa.Table:
    """A temporary table with ``target``'s columns and no constraints."""
    staging = sa.Table(
        f"staging_{target.name}",
        sa.MetaData(),
        *(sa.Column(c.name, c.type) for c in target.columns if c.name not in LIFECYCLE_COLUMNS),
        prefixes=["TEMPORARY"],
    )
    staging.drop(connection, checkfirst=True)
    staging.create(connection)
    return staging


def _set_aside_outdated(connection: sa.Connection, target: sa.Table, staging: sa.Table) -> int:
    """Delete from ``staging`` the versions older than the records' current ones; say how many.

    A staged version is older when the record was corrected from it (its content hash is in the
    history) or when the agency exported it before the current version (``exported_on``).
    """
    current = target.alias("current")
    differs = sa.select(current.c.record_key).where(
        current.c.record_key == staging.c.record_key,
        current.c.content_hash != staging.c.content_hash,
    )
    superseded = sa.select(record_history.c.id).where(
        record_history.c.record_key == staging.c.record_key,
        record_history.c.content_hash == staging.c.content_hash,
    )
    exported_before = sa.select(current.c.record_key).where(
        current.c.record_key == staging.c.record_key,
        staging.c.exported_on < current.c.exported_on,
    )
    outdated = connection.execute(
        staging.delete()
        .where(sa.exists(differs), sa.or_(sa.exists(superseded), sa.exists(exported_before)))
        .returning(
            staging.c.source_id, staging.c.batch_id, staging.c.raw_seq, staging.c.document_no
        )
    ).all()
    for row in outdated:
        log.warning(
            "outdated version not applied: the record was corrected since",
            source=row.source_id,
            batch=row.batch_id,
            seq=row.raw_seq,
            document_no=row.document_no,
        )
    return len(outdated)


def _json_of_row(connection: sa.Connection, target: sa.Table, kind: RecordKind) -> sa.Function:
    build = "json_build_object" if connection.dialect.name == "postgresql" else "json_object"
    pairs = []
    for name in field_names(kind):
        pairs += [sa.literal(name), target.c[name]]
    return getattr(sa.func, build)(*pairs)


def _history_of_changed(
    connection: sa.Connection, kind: RecordKind, target: sa.Table, staging: sa.Table
) -> sa.Insert:
    """Copy into ``record_history`` the current versions that ``staging`` changes."""
    changed = (
        sa.select(
            target.c.record_key,
            sa.literal(kind.value),
            target.c.version,
            target.c.content_hash,
            sa.cast(_json_of_row(connection, target, kind), sa.Text),
            target.c.batch_id,
            staging.c.batch_id,
        )
        .select_from(target.join(staging, target.c.record_key == staging.c.record_key))
        .where(target.c.content_hash != staging.c.content_hash)
    )
    columns = ["record_key", "kind", "version", "content_hash", "data", "batch_id"]
    return record_history.insert().from_select([*columns, "superseded_by_batch"], changed)


def _upsert(connection: sa.Connection, target: sa.Table, staging: sa.Table) -> sa.Insert:
    """The one write into ``target``: new records inserted, changed ones updated.

    Records held with the same content are not selected, so they are neither written nor
    locked; the ``WHERE`` of the update keeps a row committed meanwhile with that content as is.
    """
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    columns = [c.name for c in staging.columns]
    same = sa.select(target.c.record_key).where(
        target.c.record_key == staging.c.record_key,
        target.c.content_hash == staging.c.content_hash,
    )
    rows = sa.select(*staging.columns).where(~sa.exists(same))
    statement = dialect_insert(target).from_select(columns, rows)
    updates = {c: statement.excluded[c] for c in columns if c not in _KEPT_ON_UPDATE}
    updates["version"] = target.c.version + 1
    # A correction may change the decision date or categories: its period is computed anew.
    updates.update(dict.fromkeys(PUBLICITY_COLUMNS))
    return statement.on_conflict_do_update(
        index_elements=[target.c.record_key],
        set_=updates,
        where=target.c.content_hash.is_distinct_from(statement.excluded.content_hash),
    )


def _write(
    connection: sa.Connection, kind: RecordKind, target: sa.Table, staging: sa.Table
) -> tuple[int, int]:
    """Write ``staging`` into ``target`` keeping replaced versions; (written, updated) rows."""
    history = _history_of_changed(connection, kind, target, staging)
    upsert = _upsert(connection, target, staging)
    if connection.dialect.name != "postgresql":
        updated = connection.execute(history).rowcount
        return connection.execute(upsert).rowcount, updated
    # One statement: both CTEs read the record table as it was before it.
    kept = history.returning(record_history.c.id).cte("kept")
    written = upsert.returning(target.c.record_key).cte("written")
    count = sa.func.count()
    both = sa.select(
        sa.select(count).select_from(written).scalar_subquery(),
        sa.select(count).select_from(kept).scalar_subquery(),
    )
    row = connection.execute(both).one()
    return int(row[0]), int(row[1])


def loaded_columns(kind: RecordKind) -> list[str]:
    """The columns of ``kind``'s table that a load writes, in table order."""
    return [c.name for c in RECORD_TABLES[kind].columns if c.name not in LIFECYCLE_COLUMNS]


def upsert_records(
    connection: sa.Connection,
    kind: RecordKind,
    records: pd.DataFrame,
    encoded: EncodedFrame | None = None,
) -> UpsertCounts:
    """Upsert canonical rows of ``kind`` (one per ``record_key``, with lineage columns set).

    ``encoded``, the rows already encoded in ``loaded_columns`` order, is staged as it is.
    Runs in the caller's transaction, so the caller commits the data with its cursor.
    """
    if records.empty:
        return UpsertCounts()
    target = RECORD_TABLES[kind]
    staging = _staging_table(connection, target)
    rows = encoded or encode_frame(connection.dialect.name, records[loaded_columns(kind)])
    insert_encoded(connection, staging, rows)
    outdated = _set_aside_outdated(connection, target, staging)
    written, updated = _write(connection, kind, target, staging)
    staging.drop(connection)
    inserted = written - updated
    unchanged = len(records) - outdated - written
    return UpsertCounts(inserted, updated, unchanged, outdated)
