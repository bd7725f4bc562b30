"""The outbox: one row per (status change, push target), written with the change.

``hub.reconcile.changes.apply_status_changes`` inserts the rows in the transaction that logs the
change, so a change is never logged without its deliveries nor delivered without being logged. The
fan-out (``hub.fanout``) claims due rows, posts them and records what the receiver answered. A row
is in one of three states, read from its columns:

- pending: neither ``acknowledged_at`` nor ``dead_at`` (due once ``next_attempt_at`` has passed,
  unless a run holds it: ``claimed_by`` until ``claimed_until``);
- delivered: ``acknowledged_at`` and the receiver's ``receipt``;
- dead letter: ``dead_at``, after the target's ``max_attempts`` failed attempts, with
  ``last_error``; ``hub fanout --retry-dead`` makes it pending again.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.base import BigId, Timestamp, metadata

_PENDING = "acknowledged_at IS NULL AND dead_at IS NULL"

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # No foreign key: rows are only ever written by one INSERT ... SELECT from the append-only
    # status_change, and the per-row check was 45 % of enqueuing 200,000 rows on PostgreSQL.
    sa.Column("status_change_id", BigId, nullable=False),
    sa.Column("target_id", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Timestamp, nullable=False),
    sa.Column("last_attempt_at", Timestamp),
    sa.Column("last_error", sa.Text),
    sa.Column("claimed_by", sa.String(64), comment="the delivery run holding the row"),
    sa.Column("claimed_until", Timestamp, comment="when an unfinished claim lapses"),
    sa.Column("acknowledged_at", Timestamp),
    sa.Column("receipt", sa.String(128), comment="the receiver's acknowledgement"),
    sa.Column("dead_at", Timestamp),
    sa.UniqueConstraint("status_change_id", "target_id"),
    # Only rows still to deliver, in change order per target: what every claim scans.
    sa.Index(
        "ix_outbox_pending",
        "target_id",
        "id",
        postgresql_where=sa.text(_PENDING),
        sqlite_where=sa.text(_PENDING),
    ),
    comment="One row per status change and push target: attempts, next try, acknowledgement, "
    "dead letter. Written in the transaction of the change.",
)
