"""Keep the findings table in step with what a day's comparison found.

A finding stays open, one row per ``finding_key``, from the first day it is seen until the first
day it is no longer seen; findings settled by the day's own action are written already resolved.
An open finding seen again is written only when its content changed (``last_changed``): a day
that brings nothing new about it writes nothing, and its age is counted from ``first_seen`` when
read. Writing the same day's findings again changes nothing.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from hub.reconcile.compare import FINDING_COLUMNS
from hub.store.reconcile_schema import reconcile_finding

_STAGED = tuple(c for c in FINDING_COLUMNS if c != "resolved")
# What a finding says, beyond what it is about (its key, class, record and fact).
_CONTENT = tuple(
    c for c in _STAGED if c not in ("finding_key", "finding_class", "record_key", "fact_id")
)


def record_findings(
    connection: sa.Connection,
    staging: sa.Table,
    day: date,
    run_id: int,
    compared: sa.Table | None = None,
) -> dict[str, int]:
    """Open, update and resolve findings for ``day``; return what moved.

    Args:
        connection: a connection in the caller's transaction.
        staging: the day's findings (``Comparison.findings``); those already recorded are
            deleted from it.
        day: the day compared.
        run_id: the run that found them.
        compared: the keys of the records compared (``Comparison.compared``); the open findings
            of the others still stand and are seen again. None: every record was compared.

    Returns:
        ``opened`` (new findings still open), ``settled`` (found and settled by today's action),
        ``resolved`` (open findings no longer seen) and ``open`` (open after today).
    """
    f = reconcile_finding
    is_open = f.c.resolved_on.is_(None)
    seen = sa.exists().where(staging.c.finding_key == f.c.finding_key)
    if compared is not None:
        not_compared = ~sa.exists().where(compared.c.record_key == f.c.record_key)
        seen = sa.or_(seen, sa.and_(f.c.record_key.is_not(None), not_compared))
    changed = sa.or_(*(f.c[c].is_distinct_from(staging.c[c]) for c in _CONTENT))
    connection.execute(
        f.update()
        .values({c: staging.c[c] for c in _CONTENT} | {"last_changed": day})
        .where(is_open, f.c.first_seen <= day, staging.c.finding_key == f.c.finding_key, changed)
    )
    gone = connection.execute(
        f.update().values(resolved_on=day).where(is_open, f.c.first_seen <= day, ~seen)
    ).rowcount
    # Drop what is already recorded, then insert the rest: an INSERT whose own target is
    # searched row by row would rescan the rows it is writing.
    already = sa.exists().where(
        f.c.finding_key == staging.c.finding_key,
        sa.or_(f.c.resolved_on.is_(None), f.c.first_seen == day),
    )
    connection.execute(staging.delete().where(already))
    new = sa.select(
        *(staging.c[c] for c in _STAGED),
        sa.literal(day, type_=sa.Date),
        sa.literal(day, type_=sa.Date),
        sa.case((staging.c.resolved, sa.literal(day, type_=sa.Date)), else_=sa.null()),
        sa.literal(run_id, type_=sa.Integer),
    )
    columns = [*_STAGED, "first_seen", "last_changed", "resolved_on", "run_id"]
    connection.execute(f.insert().from_select(columns, new))
    this_run = sa.select(sa.func.count()).where(f.c.run_id == run_id, f.c.first_seen == day)
    return {
        "opened": int(connection.scalar(this_run.where(is_open))),
        "settled": int(connection.scalar(this_run.where(f.c.resolved_on == day))),
        "resolved": gone,
        "open": int(connection.scalar(sa.select(sa.func.count()).where(is_open))),
    }
