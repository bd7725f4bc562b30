"""The outbox's state changes: claim due rows, record what the receiver said, revive dead letters.

Two delivery runs at once never hold the same row. A claim is one short transaction around a
single ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING`` that stamps the rows with the
run's id and a lease. On PostgreSQL the inner select locks its rows ``FOR UPDATE SKIP LOCKED``, so
a concurrent claim passes over them instead of waiting; on SQLite the statement is a write, and
SQLite admits one writer at a time, so claims are serialised whole (the single-writer rule). Once
a claim commits, every other run sees the lease and leaves the rows alone until it lapses. The
messages are sent outside any transaction; the outcome is recorded in a second short one.

A run killed after its claim leaves rows that come back when the lease lapses; a receiver that
already took them recognises them by their idempotency key.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from hub.store.outbox_schema import outbox
from hub.store.schema import status_change


@dataclass(frozen=True)
class RetrySchedule:
    """When a message whose attempt failed is tried again: exponential backoff with jitter.

    The wait after attempt ``n`` is ``base_seconds * 2**(n-1)``, at most ``max_seconds``, plus up
    to ``base_seconds`` of jitter so that messages failed together do not return together.
    """

    base_seconds: float = 60.0
    max_seconds: float = 3600.0

    def next_attempt(self, attempts: int, now: datetime) -> datetime:
        """When to try again after ``attempts`` failed attempts."""
        wait = min(self.max_seconds, self.base_seconds * 2 ** (attempts - 1))
        return now + timedelta(seconds=wait + random.uniform(0, self.base_seconds))


@dataclass(frozen=True)
class Claimed:
    """One outbox row held by a run, with its change.

    Attributes:
        outbox_id: the outbox row.
        attempts: attempts made before this one.
        change: the ``status_change`` row (its columns by name).
    """

    outbox_id: int
    attempts: int
    change: Mapping[str, Any]


@dataclass(frozen=True)
class Failure:
    """A failed attempt at one claimed row: why, and how many attempts it has had before."""

    outbox_id: int
    attempts: int
    error: str


def _pending() -> sa.ColumnElement[bool]:
    return sa.and_(outbox.c.acknowledged_at.is_(None), outbox.c.dead_at.is_(None))


def claim(
    engine: sa.Engine,
    target_id: str,
    holder: str,
    limit: int,
    now: datetime,
    lease: timedelta,
    after: int = 0,
) -> list[Claimed]:
    """Claim up to ``limit`` due rows of ``target_id`` for ``holder``, oldest first.

    Due: pending, ``next_attempt_at`` passed, and not held by an unexpired claim.

    Args:
        engine: the platform database.
        target_id: the target whose rows to claim.
        holder: the run claiming them.
        limit: the most rows to claim (the target's batch size).
        now: the current instant.
        lease: how long the claim holds.
        after: claim only rows above this outbox id. A run passes the highest id it has
            claimed so far, so a claim never rescans the rows delivered before it (on
            PostgreSQL their index entries stay until the next vacuum).

    Returns:
        The rows claimed with their changes (none when nothing is due).
    """
    due = (
        sa.select(outbox.c.id)
        .where(
            outbox.c.target_id == target_id,
            outbox.c.id > after,
            _pending(),
            outbox.c.next_attempt_at <= now,
            sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
        )
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stamp = {"claimed_by": holder, "claimed_until": now + lease}
    columns = (outbox.c.id.label("outbox_id"), outbox.c.attempts, *status_change.c)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # One statement: the LIMITed claim drives primary-key look-ups of the changes,
            # whatever the planner's statistics (a fresh backlog of 200,000 rows has none yet).
            rows = connection.execute(
                outbox.update()
                .where(outbox.c.id.in_(due), outbox.c.status_change_id == status_change.c.id)
                .values(stamp)
                .returning(*columns)
            ).all()
        else:  # SQLite's RETURNING sees only the updated table
            ids = connection.scalars(
                outbox.update().where(outbox.c.id.in_(due)).values(stamp).returning(outbox.c.id)
            ).all()
            rows = connection.execute(
                sa.select(*columns)
                .join_from(outbox, status_change, outbox.c.status_change_id == status_change.c.id)
                .where(outbox.c.id.in_(ids))
            ).all()
    claimed = [Claimed(row.outbox_id, row.attempts, row._mapping) for row in rows]
    return sorted(claimed, key=lambda c: c.outbox_id)


def _json_pairs(dialect: str, document: str) -> sa.TableValuedAlias:
    """The members of a JSON object as rows (``key``, ``value`` as text)."""
    text = sa.literal(document, sa.Text())
    if dialect == "postgresql":
        pairs = sa.func.json_each_text(sa.cast(text, sa.JSON))
    else:
        pairs = sa.func.json_each(text)
    return pairs.table_valued("key", "value").alias("pair")


def record_outcomes(
    engine: sa.Engine,
    holder: str,
    now: datetime,
    receipts: dict[int, str],
    failures: Sequence[Failure],
    max_attempts: int,
    schedule: RetrySchedule,
) -> int:
    """Record one batch's outcome and release its claim, in one transaction.

    Args:
        engine: the platform database.
        holder: the run that claimed the rows.
        now: when the attempt ended.
        receipts: the receiver's receipt per acknowledged outbox row.
        failures: the rows whose attempt failed.
        max_attempts: attempts after which a failed row becomes a dead letter.
        schedule: when a failed row that is not dead is tried again.

    Returns:
        How many rows became dead letters.
    """
    # One statement for the whole batch: the receipts travel as one JSON object {id: receipt}.
    acks = _json_pairs(engine.dialect.name, json.dumps({str(i): r for i, r in receipts.items()}))
    acknowledge = (
        outbox.update()
        .where(
            outbox.c.id == sa.cast(acks.c.key, outbox.c.id.type),
            outbox.c.acknowledged_at.is_(None),
        )
        .values(
            acknowledged_at=now,
            receipt=acks.c.value,
            attempts=outbox.c.attempts + 1,
            last_attempt_at=now,
            last_error=None,
            claimed_by=None,
            claimed_until=None,
        )
    )
    fail = (
        outbox.update()
        .where(
            outbox.c.id == sa.bindparam("row_id"),
            outbox.c.claimed_by == holder,
            outbox.c.acknowledged_at.is_(None),
        )
        .values(
            attempts=outbox.c.attempts + 1,
            last_attempt_at=now,
            last_error=sa.bindparam("row_error"),
            next_attempt_at=sa.bindparam("row_next"),
            dead_at=sa.bindparam("row_dead"),
            claimed_by=None,
            claimed_until=None,
        )
    )
    failed_rows = [
        {
            "row_id": f.outbox_id,
            "row_error": f.error,
            "row_next": schedule.next_attempt(f.attempts + 1, now),
            "row_dead": now if f.attempts + 1 >= max_attempts else None,
        }
        for f in failures
    ]
    with engine.begin() as connection:
        if receipts:
            connection.execute(acknowledge)
        if failed_rows:
            connection.execute(fail, failed_rows)
    return sum(row["row_dead"] is not None for row in failed_rows)


def release(engine: sa.Engine, holder: str, outbox_ids: Iterable[int]) -> None:
    """Give claimed rows back untouched (the run could not attempt them)."""
    ids = list(outbox_ids)
    with engine.begin() as connection:
        connection.execute(
            outbox.update()
            .where(outbox.c.id.in_(ids), outbox.c.claimed_by == holder)
            .values(claimed_by=None, claimed_until=None)
        )


def retry_dead(engine: sa.Engine, target_ids: Sequence[str], now: datetime) -> int:
    """Make the dead letters of ``target_ids`` pending again, due at once, with fresh attempts.

    ``last_error`` is kept until the next attempt, to show why they died.

    Returns:
        How many dead letters were revived.
    """
    with engine.begin() as connection:
        return connection.execute(
            outbox.update()
            .where(
                outbox.c.target_id.in_(list(target_ids)),
                outbox.c.dead_at.is_not(None),
                outbox.c.acknowledged_at.is_(None),
            )
            .values(dead_at=None, attempts=0, next_attempt_at=now)
        ).rowcount
