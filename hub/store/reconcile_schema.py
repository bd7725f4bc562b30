"""Tables of the daily reconciliation: the repair ledger, each system's status, runs, findings."""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.base import BigId, RecordKey, Timestamp, metadata

repair_fact = sa.Table(
    "repair_fact",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("system", sa.String(16), nullable=False),
    sa.Column("external_id", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("document_no", sa.String(128), nullable=False),
    sa.Column("credit_code", sa.String(18)),
    sa.Column("id_number", sa.String(64)),
    sa.Column("subject_name", sa.String(200), nullable=False),
    sa.Column("authority_name", sa.String(200)),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("decided_at", Timestamp, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("record_key", RecordKey, index=True),
    sa.Column("seen_at", Timestamp, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.UniqueConstraint("system", "external_id", "decision", "decided_at"),
    comment="The repair ledger: every repair fact seen, append-only; record_key is NULL for a "
    "record the platform does not hold.",
)

system_status = sa.Table(
    "system_status",
    metadata,
    sa.Column("system", sa.String(16), primary_key=True),
    sa.Column("record_key", RecordKey, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("decided_at", Timestamp, nullable=False),
    sa.Column("fact_id", sa.BigInteger, nullable=False),
    comment="Each outside system's latest word on a record (repaired, or published again).",
)

repair_feed_cursor = sa.Table(
    "repair_feed_cursor",
    metadata,
    sa.Column("system", sa.String(16), primary_key=True),
    sa.Column("cursor", sa.String(200), nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    comment="Where each system's repair feed stands; committed with the facts it covers.",
)

repair_push = sa.Table(
    "repair_push",
    metadata,
    sa.Column("fact_id", sa.BigInteger, primary_key=True),
    sa.Column("target_system", sa.String(16), primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("pushed_at", Timestamp, nullable=False),
    sa.Column("accepted", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text),
    comment="Repairs pushed to the system that lagged, so none is pushed twice.",
)

reconcile_run = sa.Table(
    "reconcile_run",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_date", sa.Date, nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.Column("figures", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column(
        "status_change_watermark",
        sa.BigInteger,
        comment="the last status_change id the run took into account; NULL if it did not finish",
    ),
    comment="One daily reconciliation: its figures (JSON) or why it failed.",
)

reconcile_pending = sa.Table(
    "reconcile_pending",
    metadata,
    sa.Column("record_key", RecordKey, primary_key=True),
    comment="Records whose system status or publicity period changed since the last finished "
    "comparison; the next run compares them and empties the table.",
)

reconcile_finding = sa.Table(
    "reconcile_finding",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("finding_key", sa.String(80), nullable=False),
    sa.Column("finding_class", sa.String(40), nullable=False),
    sa.Column("record_key", RecordKey),
    sa.Column("fact_id", sa.BigInteger),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("document_no", sa.String(128), nullable=False),
    sa.Column("subject_name", sa.String(200), nullable=False),
    sa.Column("subject_id", sa.String(64)),
    sa.Column("responsible", sa.String(200), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("action", sa.Text),
    sa.Column("first_seen", sa.Date, nullable=False),
    sa.Column(
        "last_changed",
        sa.Date,
        nullable=False,
        comment="the day its content (whose move, detail, action) last changed; an open finding "
        "seen again unchanged is not written, its age is counted from first_seen when read",
    ),
    sa.Column("resolved_on", sa.Date),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Index("ix_reconcile_finding_open", "finding_key", "resolved_on"),
    sa.Index(
        "ix_reconcile_finding_open_record",
        "record_key",
        postgresql_where=sa.text("resolved_on IS NULL"),
        sqlite_where=sa.text("resolved_on IS NULL"),
    ),
    comment="What the reconciliation found, whose move it is, and since when; one open row per "
    "finding_key (class and record or fact) until it is resolved.",
)
