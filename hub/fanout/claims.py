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
from hub.store.schema import Timestamp, status_change


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


# The statements are built once: a batch then costs only their parameters, not their
# construction (which, per batch of a hundred messages, outweighed the rest of the bookkeeping).
_NOW = sa.bindparam("p_now", type_=Timestamp)
_DUE = (
    sa.select(outbox.c.id)
    .where(
        outbox.c.target_id == sa.bindparam("p_target"),
        outbox.c.id > sa.bindparam("p_after"),
        outbox.c.acknowledged_at.is_(None),
        outbox.c.dead_at.is_(None),
        outbox.c.next_attempt_at <= _NOW,
        sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= _NOW),
    )
    .order_by(outbox.c.id)
    .limit(sa.bindparam("p_limit"))
    .with_for_update(skip_locked=True)
)
_STAMP = {
    "claimed_by": sa.bindparam("p_holder"),
    "claimed_until": sa.bindparam("p_until", type_=Timestamp),
}
_CLAIMED = (outbox.c.id.label("outbox_id"), outbox.c.attempts, *status_change.c)
# PostgreSQL: one statement; the LIMITed claim drives primary-key look-ups of the changes,
# whatever the planner's statistics (a fresh backlog of 200,000 rows has none yet).
_CLAIM_WITH_CHANGES = (
    outbox.update()
    .where(outbox.c.id.in_(_DUE), outbox.c.status_change_id == status_change.c.id)
    .values(_STAMP)
    .returning(*_CLAIMED)
)
# SQLite's RETURNING sees only the updated table: the changes are read after.
_CLAIM = outbox.update().where(outbox.c.id.in_(_DUE)).values(_STAMP).returning(outbox.c.id)
_CHANGES_OF = (
    sa.select(*_CLAIMED)
    .join_from(outbox, status_change, outbox.c.status_change_id == status_change.c.id)
    .where(outbox.c.id.in_(sa.bindparam("p_ids", expanding=True)))
)


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
    params = {
        "p_target": target_id,
        "p_after": after,
        "p_now": now,
        "p_limit": limit,
        "p_holder": holder,
        "p_until": now + lease,
    }
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            result = connection.execute(_CLAIM_WITH_CHANGES, params)
        else:
            ids = connection.scalars(_CLAIM, params).all()
            if not ids:
                return []
            result = connection.execute(_CHANGES_OF, {"p_ids": ids})
        names = list(result.keys())
        rows = result.all()
    claimed = [Claimed(row[0], row[1], dict(zip(names, row, strict=True))) for row in rows]
    return sorted(claimed, key=lambda c: c.outbox_id)


def _acknowledge(dialect: str) -> sa.Update:
    """Acknowledge a batch in one statement: its receipts as one JSON object {id: receipt}."""
    document = sa.bindparam("p_receipts", type_=sa.Text())
    if dialect == "postgresql":
        pairs = sa.func.json_each_text(sa.cast(document, sa.JSON))
    else:
        pairs = sa.func.json_each(document)
    pair = pairs.table_valued("key", "value").alias("pair")
    return (
        outbox.update()
        .where(outbox.c.id == sa.cast(pair.c.key, outbox.c.id.type))
        .where(outbox.c.acknowledged_at.is_(None))
        .values(
            acknowledged_at=_NOW,
            receipt=pair.c.value,
            attempts=outbox.c.attempts + 1,
            last_attempt_at=_NOW,
            last_error=None,
            claimed_by=None,
            claimed_until=None,
        )
    )


_ACKNOWLEDGE = {"postgresql": _acknowledge("postgresql"), "sqlite": _acknowledge("sqlite")}
_FAIL = (
    outbox.update()
    .where(
        outbox.c.id == sa.bindparam("p_id"),
        outbox.c.claimed_by == sa.bindparam("p_holder"),
        outbox.c.acknowledged_at.is_(None),
    )
    .values(
        attempts=outbox.c.attempts + 1,
        last_attempt_at=_NOW,
        last_error=sa.bindparam("p_error"),
        next_attempt_at=sa.bindparam("p_next", type_=Timestamp),
        dead_at=sa.bindparam("p_dead", type_=Timestamp),
        claimed_by=None,
        claimed_until=None,
    )
)


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
    failed_rows = [
        {
            "p_id": f.outbox_id,
            "p_holder": holder,
            "p_now": now,
            "p_error": f.error,
            "p_next": schedule.next_attempt(f.attempts + 1, now),
            "p_dead": now if f.attempts + 1 >= max_attempts else None,
        }
        for f in failures
    ]
    with engine.begin() as connection:
        if receipts:
            document = json.dumps({str(i): r for i, r in receipts.items()})
            acknowledge = _ACKNOWLEDGE[connection.dialect.name]
            connection.execute(acknowledge, {"p_receipts": document, "p_now": now})
        if failed_rows:
            connection.execute(_FAIL, failed_rows)
    return sum(row["p_dead"] is not None for row in failed_rows)


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
