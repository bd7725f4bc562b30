"""Where the outbox stands per push target: delivered, pending, waiting, dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from rich.table import Table

from hub.core.settings import settings
from hub.core.targets import push_targets
from hub.store.outbox_schema import outbox


@dataclass(frozen=True)
class OutboxFigures:
    """One target's outbox.

    Attributes:
        target_id: the target.
        delivered: messages acknowledged.
        pending: messages still to deliver (``waiting`` of them in their retry backoff).
        waiting: pending messages whose next attempt is not yet due.
        dead: dead letters (``hub fanout --retry-dead`` revives them).
        oldest_pending: when the oldest pending message was enqueued.
        last_error: the error of the most recent failed attempt at an undelivered message.
    """

    target_id: str
    delivered: int
    pending: int
    waiting: int
    dead: int
    oldest_pending: datetime | None
    last_error: str | None


def outbox_figures(connection: sa.Connection, now: datetime) -> list[OutboxFigures]:
    """Every target's outbox figures at ``now``, in target order."""
    pending = sa.and_(outbox.c.acknowledged_at.is_(None), outbox.c.dead_at.is_(None))
    counts = (
        sa.select(
            outbox.c.target_id,
            sa.func.count(outbox.c.acknowledged_at),
            sa.func.count(sa.case((pending, 1))),
            sa.func.count(sa.case((sa.and_(pending, outbox.c.next_attempt_at > now), 1))),
            sa.func.count(sa.case((outbox.c.dead_at.is_not(None), 1))),
            sa.func.min(sa.case((pending, outbox.c.created_at))),
        )
        .group_by(outbox.c.target_id)
        .order_by(outbox.c.target_id)
    )
    latest = (
        sa.select(
            outbox.c.target_id,
            outbox.c.last_error,
            sa.func.row_number()
            .over(partition_by=outbox.c.target_id, order_by=outbox.c.last_attempt_at.desc())
            .label("recency"),
        )
        .where(outbox.c.acknowledged_at.is_(None), outbox.c.last_error.is_not(None))
        .subquery()
    )
    errors = dict(
        connection.execute(
            sa.select(latest.c.target_id, latest.c.last_error).where(latest.c.recency == 1)
        ).all()
    )
    return [
        OutboxFigures(target_id, delivered, n_pending, waiting, dead, oldest, errors.get(target_id))
        for target_id, delivered, n_pending, waiting, dead, oldest in connection.execute(counts)
    ]


@dataclass(frozen=True)
class TargetStatus:
    """One push target's outbox.

    Attributes:
        target_id: the target.
        pending, waiting, delivered, dead: messages to deliver (``waiting`` of them in their retry
            backoff), acknowledged, and dead letters.
        oldest_pending: when the oldest pending message was enqueued.
        last_delivered_at: the receiver's last acknowledgement.
        last_attempt_at: the last attempt at any message.
        last_error: the error of the last failed attempt at an undelivered message.
    """

    target_id: str
    pending: int = 0
    waiting: int = 0
    delivered: int = 0
    dead: int = 0
    oldest_pending: datetime | None = None
    last_delivered_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None


def target_statuses(connection: sa.Connection, now: datetime) -> list[TargetStatus]:
    """Every push target's outbox, and its last acknowledgement and attempt."""
    figures = {f.target_id: f for f in outbox_figures(connection, now)}
    o = outbox.c
    latest = {
        target_id: (delivered, attempted)
        for target_id, delivered, attempted in connection.execute(
            sa.select(
                o.target_id, sa.func.max(o.acknowledged_at), sa.func.max(o.last_attempt_at)
            ).group_by(o.target_id)
        )
    }
    statuses = []
    for target_id in sorted({t.id for t in push_targets()} | set(figures)):
        f = figures.get(target_id)
        delivered_at, attempted_at = latest.get(target_id, (None, None))
        statuses.append(
            TargetStatus(
                target_id,
                pending=f.pending if f else 0,
                waiting=f.waiting if f else 0,
                delivered=f.delivered if f else 0,
                dead=f.dead if f else 0,
                oldest_pending=(f.oldest_pending) if f else None,
                last_delivered_at=(delivered_at),
                last_attempt_at=(attempted_at),
                last_error=f.last_error if f else None,
            )
        )
    return statuses


def target_problems(targets: list[TargetStatus]) -> Iterator[str]:
    """What needs a person about the push targets: dead letters."""
    for t in targets:
        if t.dead:
            yield (
                f"target {t.target_id}: {t.dead} dead letters "
                f"(hub fanout --retry-dead --target {t.target_id})"
            )


def _local(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(settings().timezone).strftime("%Y-%m-%d %H:%M:%S")


def outbox_table(figures: list[OutboxFigures]) -> Table:
    """The outbox figures as a table for people."""
    table = Table(title="push delivery outbox")
    for header in (
        "target",
        "delivered",
        "pending",
        "waiting retry",
        "dead letters",
        f"oldest pending ({settings().timezone.key})",
        "last error",
    ):
        table.add_column(header)
    for f in figures:
        table.add_row(
            f.target_id,
            str(f.delivered),
            str(f.pending),
            str(f.waiting),
            f"[red]{f.dead}[/]" if f.dead else "0",
            _local(f.oldest_pending),
            (f.last_error or "")[:160],
        )
    if any(f.dead for f in figures):
        table.caption = "revive dead letters with: hub fanout --retry-dead [--target T]"
    return table
