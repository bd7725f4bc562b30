"""Writing the outbox rows of new status changes, in the transaction that logs them."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from hub.core import clock
from hub.core.targets import Target, push_targets
from hub.store.outbox_schema import outbox
from hub.store.schema import status_change


def _push_regions(targets: Sequence[Target]) -> sa.Subquery:
    """The push targets' region prefixes as a small derived table (``target_id``, ``prefix``).

    A ``UNION ALL`` of literal rows rather than ``VALUES``: SQLite cannot name the columns of a
    ``VALUES`` list in ``FROM``.
    """
    rows = [
        sa.select(sa.literal(t.id).label("target_id"), sa.literal(prefix).label("prefix"))
        for t in targets
        for prefix in _widest(t.regions)
    ]
    return sa.union_all(*rows).subquery("push_region")


def _widest(prefixes: Sequence[str]) -> list[str]:
    """``prefixes`` without those another one covers (``33`` covers ``3301``).

    So that no change matches one target twice.
    """
    return sorted(p for p in set(prefixes) if not any(p != q and p.startswith(q) for q in prefixes))


def enqueue_changes(
    connection: sa.Connection,
    first_id: int,
    last_id: int,
    targets: Sequence[Target] | None = None,
) -> None:
    """Write one outbox row per (status change ``first_id..last_id``, push target covering it).

    A target covers a change when one of its region prefixes starts the change's region code;
    a change without a region, or outside every prefix, gets no row. Set-based: one
    ``INSERT ... SELECT`` whatever the number of changes.

    Args:
        connection: a connection inside the transaction that wrote the changes.
        first_id: the first ``status_change.id`` to enqueue.
        last_id: the last one (inclusive).
        targets: the push targets (default: those of the targets file).
    """
    targets = push_targets() if targets is None else targets
    if not targets:
        return
    region = _push_regions(targets)
    now = sa.literal(clock.now(), type_=outbox.c.created_at.type)
    covered = (
        sa.select(status_change.c.id, region.c.target_id, now, now)
        .join(
            region,
            sa.func.substr(status_change.c.region_code, 1, sa.func.length(region.c.prefix))
            == region.c.prefix,
        )
        .where(status_change.c.id.between(first_id, last_id))
        .order_by(status_change.c.id, region.c.target_id)
    )
    columns = ["status_change_id", "target_id", "created_at", "next_attempt_at"]
    connection.execute(outbox.insert().from_select(columns, covered))
