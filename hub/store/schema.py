"""The collection's and the records' tables (SQLAlchemy 2 Core), for SQLite and PostgreSQL alike.

The other stages' tables are in the sibling ``*_schema`` modules; ``hub.store.tables`` gathers them
all. The canonical record tables are generated from ``hub.core.model`` so a field is declared once.
The migrations under ``sql/migrations`` are generated from this metadata and reviewed by hand.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.core.model import Field, FieldType, RecordKind, fields_of
from hub.store.base import BigId, RecordKey, Timestamp, metadata

department = sa.Table(
    "department",
    metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("credit_code", sa.String(18)),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False),
    comment="Departments that deliver records, decide them and repair them.",
)

repair_responsibility = sa.Table(
    "repair_responsibility",
    metadata,
    sa.Column("province", sa.String(32), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("unit", sa.String(100), primary_key=True),
    sa.Column("item", sa.String(100), nullable=False),
    sa.Column("record_kind", sa.String(16), nullable=False),
    sa.Column("list_type", sa.String(64)),
    comment="Who repairs which kind of record (谁认定、谁修复), one row per responsible unit.",
)

ingest_batch = sa.Table(
    "ingest_batch",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_id", sa.String(100), nullable=False, index=True),
    sa.Column("logical_date", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.Column("cursor_before", sa.String(64)),
    sa.Column("cursor_after", sa.String(64)),
    sa.Column("n_read", sa.Integer, nullable=False, default=0),
    sa.Column("n_inserted", sa.Integer, nullable=False, default=0),
    sa.Column("n_updated", sa.Integer, nullable=False, default=0),
    sa.Column("n_unchanged", sa.Integer, nullable=False, default=0),
    sa.Column(
        "n_outdated",
        sa.Integer,
        nullable=False,
        default=0,
        server_default="0",
        comment="earlier versions re-sent after a correction: kept raw, not applied",
    ),
    sa.Column("n_quarantined", sa.Integer, nullable=False, default=0),
    sa.Column("n_files_rejected", sa.Integer, nullable=False, default=0),
    sa.Column(
        "n_reread",
        sa.Integer,
        nullable=False,
        default=0,
        server_default="0",
        comment="rows the look-back read again exactly as landed before: skipped",
    ),
    sa.Column("schema_drift", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column(
        "owner",
        sa.String(255),
        comment="the process running the batch: host:pid:process start (epoch seconds)",
    ),
    sa.Column(
        "lease_expires_at",
        Timestamp,
        comment="while running: when the batch is taken to have died unless its heartbeat "
        "renews this",
    ),
    comment="One run of one source: what it read, loaded and quarantined, and why it failed.",
)

LOADED_OUTCOMES = ("inserted", "updated", "unchanged", "outdated")
"""What may become of a record that passed the rules: the one definition of *loaded*.

New, corrected, already known unchanged, or an earlier version kept raw but not applied
(``outdated``); a batch's raw records are its loaded plus its quarantined ones.
"""
LOADED_IN_BATCH = sum(
    (ingest_batch.c[f"n_{outcome}"] for outcome in LOADED_OUTCOMES[1:]),
    start=ingest_batch.c[f"n_{LOADED_OUTCOMES[0]}"],
)
"""A batch's loaded records (``LOADED_OUTCOMES``), as SQL."""

source_cursor = sa.Table(
    "source_cursor",
    metadata,
    sa.Column("source_id", sa.String(100), primary_key=True),
    sa.Column("cursor", sa.String(64), nullable=False),
    sa.Column("batch_id", sa.ForeignKey("ingest_batch.id"), nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    comment="Where each incremental source stands; committed with the data it covers.",
)

source_file = sa.Table(
    "source_file",
    metadata,
    sa.Column("source_id", sa.String(100), primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("batch_id", sa.ForeignKey("ingest_batch.id"), nullable=False),
    comment="Every dropped file seen, by content: processed once, or rejected with the reason.",
)

rejected_file_subject = sa.Table(
    "rejected_file_subject",
    metadata,
    sa.Column("source_id", sa.String(100), primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("subject_id", sa.String(18), primary_key=True),
    sa.ForeignKeyConstraint(
        ["source_id", "sha256"], ["source_file.source_id", "source_file.sha256"]
    ),
    # The case view looks a subject up.
    sa.Index("ix_rejected_file_subject_subject_id", "subject_id"),
    comment="The credit codes and ID numbers a rejected file names: its subjects' cases show it.",
)

raw_record = sa.Table(
    "raw_record",
    metadata,
    sa.Column("batch_id", sa.ForeignKey("ingest_batch.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("source_id", sa.String(100), nullable=False),
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("payload_sha256", sa.String(64), nullable=False),
    sa.Column("received_at", Timestamp, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    # A row read again by a source's look-back is skipped when its payload has landed before.
    sa.Index("ix_raw_record_source_id_payload_sha256", "source_id", "payload_sha256"),
    comment="Every record exactly as received (JSON), and whether it was loaded or quarantined.",
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.Integer, nullable=False),
    sa.Column("raw_seq", sa.Integer, nullable=False),
    sa.Column("source_id", sa.String(100), nullable=False, index=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("field", sa.String(64)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("department", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("document_no", sa.String(128), comment="as delivered, when the record had one"),
    sa.Column(
        "subject_id",
        sa.String(64),
        index=True,  # the case view looks a subject up
        comment="the record's credit code, else its ID number, in the one written form",
    ),
    sa.Column(
        "resolved_at",
        Timestamp,
        comment="when a record of the same source and document number loaded after it",
    ),
    sa.ForeignKeyConstraint(["batch_id", "raw_seq"], ["raw_record.batch_id", "raw_record.seq"]),
    # Only the open ones: each page a source loads is checked against them.
    sa.Index(
        "ix_quarantine_open_document_no",
        "source_id",
        "document_no",
        postgresql_where=sa.text("resolved_at IS NULL"),
        sqlite_where=sa.text("resolved_at IS NULL"),
    ),
    comment="One row per rule a raw record failed, with the department that must fix it.",
)

record_history = sa.Table(
    "record_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_key", RecordKey, nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(32), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("batch_id", sa.Integer, nullable=False),
    sa.Column("superseded_by_batch", sa.Integer, nullable=False),
    comment="Earlier versions of canonical records, as JSON, kept when a correction arrives.",
)

status_change = sa.Table(
    "status_change",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("record_key", RecordKey, nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("previous_status", sa.String(16), nullable=False),
    sa.Column("new_status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("decided_by", sa.String(200), nullable=False),
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("region_code", sa.String(6), index=True),
    sa.Column("subject_name", sa.String(200), nullable=False),
    sa.Column("subject_id", sa.String(64)),
    sa.Column("document_no", sa.String(128), nullable=False),
    sa.Column("authority_name", sa.String(200), nullable=False),
    sa.Column("decision_date", sa.Date, nullable=False),
    sa.Column("changed_at", Timestamp, nullable=False),
    sa.Column("run_id", sa.Integer),
    comment="Every status change that must leave the platform, in order (id is the watermark); "
    "subject_id is the credit code or the masked ID number, as published.",
)


def _column(field: Field) -> sa.Column:
    column_type: sa.types.TypeEngine = {
        FieldType.TEXT: sa.String(field.max_length) if field.max_length else sa.Text(),
        FieldType.CODE: sa.String(field.max_length or 64),
        FieldType.DATE: sa.Date(),
        FieldType.AMOUNT: sa.Numeric(18, 6),
    }[field.type]
    return sa.Column(field.name, column_type, comment=f"{field.label} {field.code or ''}".strip())


def _record_table(kind: RecordKind) -> sa.Table:
    return sa.Table(
        f"{kind}_record",
        metadata,
        sa.Column("record_key", RecordKey, primary_key=True),
        *(_column(f) for f in fields_of(kind)),
        sa.Column("status", sa.String(16), nullable=False, server_default="published"),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("raw_seq", sa.Integer, nullable=False),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column(
            "exported_on",
            sa.Date,
            comment="the agency's export date of this version, where its delivery says it",
        ),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("publicity_start", sa.Date, comment="公示起始日"),
        sa.Column("publicity_min_end", sa.Date, comment="最短公示期满，可申请信用修复"),
        sa.Column("publicity_max_end", sa.Date, comment="最长公示期满，到期自动停止公示"),
        sa.Column("publicity_rule", sa.String(64), comment="rule set and class applied"),
        sa.Column("responsible_system", sa.String(16), comment="gsxt or credit_china repairs it"),
        sa.Index(f"ix_{kind}_record_credit_code", "credit_code"),
        sa.Index(f"ix_{kind}_record_source_department", "source_department"),
        sa.Index(f"ix_{kind}_record_document_no", "document_no"),
        # Only the few records that have left publicity; the daily reconciliation starts there.
        sa.Index(
            f"ix_{kind}_record_unpublished",
            "status",
            postgresql_where=sa.text("status <> 'published'"),
            sqlite_where=sa.text("status <> 'published'"),
        ),
        sa.Index(
            f"ix_{kind}_record_publicity_max_end",
            "publicity_max_end",
            postgresql_where=sa.text("status = 'published'"),
            sqlite_where=sa.text("status = 'published'"),
        ),
        # Only records still without a publicity period (new or corrected): the reconciliation
        # computes theirs every day without reading the others.
        sa.Index(
            f"ix_{kind}_record_without_period",
            "record_key",
            postgresql_where=sa.text("publicity_rule IS NULL"),
            sqlite_where=sa.text("publicity_rule IS NULL"),
        ),
        comment=f"Canonical {kind} records, one row per identity (kind, authority, document, "
        "subject); received_at is the first receipt, for timeliness.",
    )


RECORD_TABLES: dict[RecordKind, sa.Table] = {kind: _record_table(kind) for kind in RecordKind}
PUBLICITY_COLUMNS = (
    "publicity_start",
    "publicity_min_end",
    "publicity_max_end",
    "publicity_rule",
    "responsible_system",
)
"""Record columns the reconciliation computes; a correction clears them for recomputing."""
LIFECYCLE_COLUMNS = ("status", *PUBLICITY_COLUMNS)
"""Record columns that collection never loads."""
