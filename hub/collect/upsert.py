"""The set-based, idempotent upsert of canonical records.

One query finds which of a page's keys the table already holds. New records are bulk-loaded
straight into the table (COPY on PostgreSQL), the common case of a daily delivery. Known ones go
through a temporary staging table and three statements, whatever their number: count the changed
and unchanged, copy the versions about to be replaced into ``record_history``, and
``INSERT ... ON CONFLICT DO UPDATE`` only where the content changed. Re-sending the same records
therefore changes nothing, and a correction replaces its row while the previous version stays in
the history.

A version the record has already been corrected from (its content hash is in the record's
history) is *outdated*: an agency's export replaying old rows must not undo a correction, so it
is counted, logged with its source, batch and document number, and not applied (its raw row is
kept). An agency that truly wants the earlier content back sends it with a change of its own.

Two batches inserting the same new record at the same moment make the later one fail on the
primary key; its transaction rolls back whole and the retry finds the record known.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from hub.core.logs import get_logger
from hub.core.model import RecordKind, field_names
from hub.store.bulk import EncodedFrame, among, encode_frame, insert_encoded, insert_frame
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


def _known_keys(connection: sa.Connection, target: sa.Table, keys: list[str]) -> set[str]:
    """Which of ``keys`` the table holds, in one query."""
    key = target.c.record_key
    return set(connection.scalars(sa.select(key).where(among(connection, key, keys))))


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


def _count_changed(connection: sa.Connection, target: sa.Table, staging: sa.Table) -> UpsertCounts:
    joined = staging.join(target, target.c.record_key == staging.c.record_key)
    changed = sa.func.sum(sa.case((target.c.content_hash != staging.c.content_hash, 1), else_=0))
    row = connection.execute(sa.select(changed, sa.func.count()).select_from(joined)).one()
    updated, known = (int(v or 0) for v in row)
    return UpsertCounts(updated=updated, unchanged=known - updated)


def _json_of_row(connection: sa.Connection, target: sa.Table, kind: RecordKind) -> sa.Function:
    build = "json_build_object" if connection.dialect.name == "postgresql" else "json_object"
    pairs = []
    for name in field_names(kind):
        pairs += [sa.literal(name), target.c[name]]
    return getattr(sa.func, build)(*pairs)


def _keep_history(
    connection: sa.Connection, kind: RecordKind, target: sa.Table, staging: sa.Table
) -> None:
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
    connection.execute(
        record_history.insert().from_select([*columns, "superseded_by_batch"], changed)
    )


def _merge(connection: sa.Connection, target: sa.Table, staging: sa.Table) -> None:
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    columns = [c.name for c in staging.columns]
    # "WHERE true" keeps SQLite from reading ON CONFLICT as part of the SELECT's join.
    rows = sa.select(*staging.columns).where(sa.true())
    statement = dialect_insert(target).from_select(columns, rows)
    updates = {c: statement.excluded[c] for c in columns if c not in _KEPT_ON_UPDATE}
    updates["version"] = target.c.version + 1
    # A correction may change the decision date or categories: its period is computed anew.
    updates.update(dict.fromkeys(PUBLICITY_COLUMNS))
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[target.c.record_key],
            set_=updates,
            where=target.c.content_hash != statement.excluded.content_hash,
        )
    )


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

    ``encoded``, the rows already encoded in ``loaded_columns`` order, is written as it is when
    every record is new. Runs in the caller's transaction, so the caller commits the data with
    its cursor.
    """
    if records.empty:
        return UpsertCounts()
    target = RECORD_TABLES[kind]
    columns = loaded_columns(kind)
    known = records["record_key"].isin(
        _known_keys(connection, target, records["record_key"].tolist())
    )
    if not known.any():
        new_rows = encoded or encode_frame(connection.dialect.name, records[columns])
        insert_encoded(connection, target, new_rows)
        return UpsertCounts(inserted=len(records))
    insert_frame(connection, target, records.loc[~known, columns])
    counts = UpsertCounts(inserted=int((~known).sum()))
    staging = _staging_table(connection, target)
    insert_frame(connection, staging, records.loc[known, columns])
    counts += UpsertCounts(outdated=_set_aside_outdated(connection, target, staging))
    changes = _count_changed(connection, target, staging)
    if changes.updated:
        _keep_history(connection, kind, target, staging)
        _merge(connection, target, staging)
    staging.drop(connection)
    return counts + changes
