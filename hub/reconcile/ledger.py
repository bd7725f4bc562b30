"""The repair ledger: every repair fact seen from Credit China and GSXT, append-only.

Facts are matched to the platform's records by kind, decision document number and subject
(credit code, or ID number for natural persons); a fact whose record the platform does not hold
keeps ``record_key`` NULL and is matched again on later runs, when the record may have arrived.
From the ledger, ``system_status`` keeps each system's latest word on each record.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from connectors.repair_systems import FACT_COLUMNS
from hub.core import clock
from hub.core.model import RecordKind, RecordStatus
from hub.core.privacy import masked_id_sql
from hub.store.bulk import insert_frame
from hub.store.reconcile_schema import reconcile_pending, repair_fact, system_status
from hub.store.schema import RECORD_TABLES

REPAIRED, REVOKED = "repaired", "revoked"


def _staging(connection: sa.Connection) -> sa.Table:
    staging = sa.Table(
        "staging_repair_fact",
        sa.MetaData(),
        *(sa.Column(c, repair_fact.c[c].type) for c in FACT_COLUMNS),
        prefixes=["TEMPORARY"],
    )
    staging.drop(connection, checkfirst=True)
    staging.create(connection)
    return staging


def append_facts(connection: sa.Connection, facts: pd.DataFrame, run_id: int) -> None:
    """Append the facts not yet in the ledger, marked with ``run_id``.

    A fact is the same when its system, the system's id, the decision and its time are; fetching
    a feed again therefore appends nothing.
    """
    if facts.empty:
        return
    unknown = set(facts["decision"]) - {REPAIRED, REVOKED}
    if unknown:
        raise ValueError(f"repair facts with unknown decisions {sorted(unknown)}")
    facts = facts.drop_duplicates(["system", "external_id", "decision", "decided_at"])
    staging = _staging(connection)
    insert_frame(connection, staging, facts[list(FACT_COLUMNS)])
    known = sa.exists().where(
        repair_fact.c.system == staging.c.system,
        repair_fact.c.external_id == staging.c.external_id,
        repair_fact.c.decision == staging.c.decision,
        repair_fact.c.decided_at == staging.c.decided_at,
    )
    # Drop the known facts first: an INSERT searching its own target would rescan its new rows.
    connection.execute(staging.delete().where(known))
    new = sa.select(
        *staging.columns,
        sa.literal(clock.now(), type_=repair_fact.c.seen_at.type),
        sa.literal(run_id, type_=sa.Integer),
    )
    connection.execute(repair_fact.insert().from_select([*FACT_COLUMNS, "seen_at", "run_id"], new))
    staging.drop(connection)


def update_ledger(connection: sa.Connection) -> int:
    """Match unmatched facts to records, then refresh ``system_status`` for the records matched.

    Only a fact matched now can change a system's word on a record: the ledger is append-only
    and a fact, once matched, stays matched. The records matched are marked pending comparison.
    Returns how many facts stay unmatched.
    """
    pending = sa.Table(
        "pending_fact", sa.MetaData(), sa.Column("id", sa.BigInteger), prefixes=["TEMPORARY"]
    )
    pending.drop(connection, checkfirst=True)
    pending.create(connection)
    connection.execute(
        pending.insert().from_select(
            ["id"], sa.select(repair_fact.c.id).where(repair_fact.c.record_key.is_(None))
        )
    )
    unmatched = match_records(connection)
    matched = (
        sa.select(repair_fact.c.record_key)
        .join(pending, pending.c.id == repair_fact.c.id)
        .where(repair_fact.c.record_key.is_not(None))
    )
    refresh_system_status(connection, matched)
    mark_pending(connection, matched)
    pending.drop(connection)
    return unmatched


def _insert(connection: sa.Connection) -> type[postgresql.Insert] | type[sqlite.Insert]:
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def mark_pending(connection: sa.Connection, records: sa.Select) -> None:
    """Note records (a query of keys) whose comparison inputs changed, for the next comparison."""
    keys = records.subquery()
    key = next(iter(keys.c))
    # The WHERE also settles SQLite's reading of ``INSERT ... SELECT ... ON CONFLICT``.
    rows = sa.select(key).distinct().where(key.is_not(None))
    connection.execute(
        _insert(connection)(reconcile_pending)
        .from_select(["record_key"], rows)
        .on_conflict_do_nothing()
    )


def match_records(connection: sa.Connection) -> int:
    """Give unmatched facts the key of the record they name; return how many stay unmatched."""
    for kind in RecordKind:
        record = RECORD_TABLES[kind]
        # A natural person's ID number may come back masked: a repair the hub pushed, as the
        # other system serves it; with the document number it still names one record.
        same_person = sa.or_(
            record.c.id_number == repair_fact.c.id_number,
            masked_id_sql(record.c.id_number) == repair_fact.c.id_number,
        )
        same_subject = sa.or_(
            record.c.credit_code == repair_fact.c.credit_code,
            sa.and_(record.c.credit_code.is_(None), same_person),
        )
        key = (
            sa.select(record.c.record_key)
            .where(record.c.document_no == repair_fact.c.document_no, same_subject)
            .limit(1)
            .scalar_subquery()
        )
        connection.execute(
            repair_fact.update()
            .values(record_key=key)
            .where(repair_fact.c.record_key.is_(None), repair_fact.c.kind == str(kind))
        )
    unmatched = sa.select(sa.func.count()).where(repair_fact.c.record_key.is_(None))
    return int(connection.scalar(unmatched))


def refresh_system_status(connection: sa.Connection, records: sa.Select | None = None) -> None:
    """Set each system's status of each record to its latest fact (a revocation republishes).

    Args:
        connection: a connection in the caller's transaction.
        records: a query of the record keys to refresh (default: every record the ledger names).
    """
    named = repair_fact.c.record_key.is_not(None)
    if records is not None:
        named = repair_fact.c.record_key.in_(records)
    latest = (
        sa.select(
            repair_fact.c.system,
            repair_fact.c.record_key,
            repair_fact.c.decision,
            repair_fact.c.decided_at,
            repair_fact.c.id,
            sa.func.row_number()
            .over(
                partition_by=(repair_fact.c.system, repair_fact.c.record_key),
                order_by=(repair_fact.c.decided_at.desc(), repair_fact.c.id.desc()),
            )
            .label("rank"),
        )
        .where(named)
        .subquery()
    )
    status = sa.case(
        (latest.c.decision == REPAIRED, str(RecordStatus.REPAIRED)),
        else_=str(RecordStatus.PUBLISHED),
    )
    rows = sa.select(
        latest.c.system, latest.c.record_key, status, latest.c.decided_at, latest.c.id
    ).where(latest.c.rank == 1)
    statement = _insert(connection)(system_status).from_select(
        ["system", "record_key", "status", "decided_at", "fact_id"], rows
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[system_status.c.system, system_status.c.record_key],
            set_={
                "status": statement.excluded.status,
                "decided_at": statement.excluded.decided_at,
                "fact_id": statement.excluded.fact_id,
            },
            where=system_status.c.fact_id != statement.excluded.fact_id,
        )
    )
