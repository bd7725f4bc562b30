"""Status changes of canonical records: the one way a record's status moves.

A change (repaired, expired, withdrawn, or published again) updates the record's ``status`` and
appends one row to ``status_change`` in the caller's transaction. That log is what leaves the
platform: the fan-out delivers it to the targets that take pushes (one ``outbox`` row per change and
push target, written in the same transaction), and the delta files carry it to the sites that
pull. Each row keeps a snapshot of what a downstream site needs to find the record
(document number, subject, deciding authority), with a natural person's ID number already masked
(``hub.core.privacy.masked_id_sql``).

Everything is set-based: the changes are staged in a temporary table and applied with a handful
of statements, whatever their number. A change to the status a record already has is skipped, so
applying the same changes twice writes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from hub.core import clock
from hub.core.model import RecordKind, RecordStatus
from hub.core.privacy import masked_id_sql
from hub.reconcile.outbox import enqueue_changes
from hub.store.bulk import insert_frame
from hub.store.schema import RECORD_TABLES, RecordKey, status_change

CHANGE_COLUMNS = ("record_key", "kind", "new_status", "reason", "decided_by", "effective_date")
"""The columns ``apply_status_changes`` expects, one row per record."""


@dataclass(frozen=True)
class AppliedChanges:
    """The ``status_change`` rows one call wrote: ids ``first_id``..``last_id``, ``count`` rows."""

    count: int
    first_id: int | None
    last_id: int | None


def _check(changes: pd.DataFrame) -> None:
    missing = [c for c in CHANGE_COLUMNS if c not in changes.columns]
    if missing:
        raise ValueError(f"status changes lack the columns {missing}")
    if changes["record_key"].duplicated().any():
        duplicated = changes.loc[changes["record_key"].duplicated(), "record_key"].iloc[0]
        raise ValueError(f"one change per record per call; {duplicated} appears twice")
    unknown = set(changes["new_status"]) - set(RecordStatus)
    if unknown:
        raise ValueError(f"unknown record status {sorted(unknown)}")
    kinds = set(changes["kind"]) - set(RecordKind)
    if kinds:
        raise ValueError(f"unknown record kind {sorted(kinds)}")


def change_staging(connection: sa.Connection) -> sa.Table:
    """A new, empty temporary table for status changes (``CHANGE_COLUMNS``), one row per record.

    Fill it (``INSERT ... SELECT`` or a frame) and hand it to ``apply_staged_changes``; it lives
    as long as the connection.
    """
    staging = sa.Table(
        "staging_status_change",
        sa.MetaData(),
        sa.Column("record_key", RecordKey, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("new_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        prefixes=["TEMPORARY"],
    )
    staging.drop(connection, checkfirst=True)
    staging.create(connection)
    return staging


def analyze(connection: sa.Connection, table: sa.Table) -> None:
    """Give the planner the statistics of a filled temporary table.

    PostgreSQL's autovacuum never analyses temporary tables; without statistics the planner
    guesses their size and may read ten million records for a few thousand changes, or probe
    them one by one for a million.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ANALYZE {table.name}")


def _check_staged(connection: sa.Connection, staging: sa.Table) -> None:
    for column, known in (("new_status", RecordStatus), ("kind", RecordKind)):
        values = {str(v) for v in known}
        unknown = connection.scalars(
            sa.select(staging.c[column]).where(staging.c[column].not_in(values)).distinct()
        ).all()
        if unknown:
            raise ValueError(f"unknown record {column.replace('new_', '')} {sorted(unknown)}")


def _apply_kind(
    connection: sa.Connection, kind: RecordKind, staging: sa.Table, run_id: int | None
) -> None:
    record = RECORD_TABLES[kind]
    joined = staging.join(record, record.c.record_key == staging.c.record_key)
    person = record.c.credit_code.is_(None)
    snapshot = sa.select(
        record.c.record_key,
        sa.literal(str(kind)),
        record.c.status,
        staging.c.new_status,
        staging.c.reason,
        staging.c.decided_by,
        staging.c.effective_date,
        sa.case(
            (person, sa.func.substr(record.c.id_number, 1, 6)),
            else_=sa.func.substr(record.c.credit_code, 3, 6),
        ),
        record.c.subject_name,
        sa.case((person, masked_id_sql(record.c.id_number)), else_=record.c.credit_code),
        record.c.document_no,
        record.c.authority_name,
        record.c.decision_date,
        sa.literal(clock.now(), type_=status_change.c.changed_at.type),
        sa.literal(run_id, type_=sa.Integer),
    ).select_from(joined)
    of_kind = staging.c.kind == str(kind)
    moving = snapshot.where(of_kind, record.c.status != staging.c.new_status).order_by(
        record.c.record_key
    )
    columns = [c for c in status_change.columns if c.name != "id"]
    connection.execute(status_change.insert().from_select(columns, moving))
    connection.execute(
        record.update()
        .values(status=staging.c.new_status)
        .where(record.c.record_key == staging.c.record_key, of_kind)
        .where(record.c.status != staging.c.new_status)
    )


def apply_staged_changes(
    connection: sa.Connection, staging: sa.Table, run_id: int | None = None
) -> AppliedChanges:
    """``apply_status_changes`` for changes already in a ``change_staging`` table.

    For callers that compute their changes in SQL: nothing passes through Python.

    Raises:
        ValueError: a status or kind in ``staging`` is unknown.
    """
    _check_staged(connection, staging)
    analyze(connection, staging)
    before = connection.scalar(sa.select(sa.func.max(status_change.c.id)))
    for kind in RecordKind:
        _apply_kind(connection, kind, staging, run_id)
    after = connection.scalar(sa.select(sa.func.max(status_change.c.id)))
    if after is None or after == before:
        return AppliedChanges(0, None, None)
    first = (before or 0) + 1
    enqueue_changes(connection, first, after)
    count = connection.scalar(
        sa.select(sa.func.count()).where(status_change.c.id.between(first, after))
    )
    return AppliedChanges(int(count), first, after)


def apply_status_changes(
    connection: sa.Connection, changes: pd.DataFrame, run_id: int | None = None
) -> AppliedChanges:
    """Move records to a new status and log each move in ``status_change``, in one transaction.

    Args:
        connection: a connection inside the caller's transaction; the changes commit with it.
        changes: one row per record with the columns of ``CHANGE_COLUMNS``; ``decided_by`` is the
            system or department that decided the change, ``effective_date`` when it took effect.
        run_id: the reconciliation run that found the changes, if any.

    Each row written also gets its outbox rows, one per push target covering its region
    (``hub.reconcile.outbox``), in the same transaction.

    Returns:
        The ids of the ``status_change`` rows written; keys the platform does not hold and
        records already in the new status write none.

    Raises:
        ValueError: a column is missing, a record appears twice, or a status or kind is unknown.
    """
    _check(changes)
    staging = change_staging(connection)
    insert_frame(connection, staging, changes[list(CHANGE_COLUMNS)])
    applied = apply_staged_changes(connection, staging, run_id)
    staging.drop(connection)
    return applied
