"""Which status changes belong to a day: the day's watermark range, fixed once.

Day D's range is ``(from, to]`` of ``status_change.id``: ``to`` is the highest id whose
``changed_at`` falls before D+1 00:00 in the platform's time zone, taken when D is first
published; ``from`` is the previous day's ``to`` (for the very first day published: the highest id
before D 00:00). The range is stored in ``delta_day`` and never recomputed, so publishing D again,
however many changes came since, reads exactly the same rows. ``delta_day.published_at`` is set
when D's sets are recorded; until then D is unfinished, and publishing any later day finishes D
first, from its stored range and with the sequence numbers it was to have.

On PostgreSQL the range is taken under ``LOCK TABLE status_change IN SHARE MODE``: the lock waits
for every transaction still inserting changes to commit, so no id below ``to`` can appear after
the range is fixed. (A change whose transaction was waiting for the lock gets an id above ``to``
and lands in the next day's range.) SQLite has one writer at a time, which commits before the next
can insert, so ids are visible in order there anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from hub.core import clock
from hub.store.publish_schema import delta_day
from hub.store.schema import status_change


@dataclass(frozen=True)
class DayRange:
    """A published day's range of change ids, ``(watermark_from, watermark_to]``."""

    day: date
    watermark_from: int
    watermark_to: int
    n_changes: int


class DayOrderError(ValueError):
    """A day cannot be published: it has not ended, or it lies before the first published day."""


def day_start(day: date, timezone: ZoneInfo) -> datetime:
    """``day`` 00:00 in ``timezone``, as a UTC instant."""
    return datetime.combine(day, time(), tzinfo=timezone).astimezone(UTC)


def _last_id_before(connection: sa.Connection, moment: datetime) -> int:
    """The highest change id logged before ``moment``; 0 when there is none.

    Scanning ids downwards stops at the first match: the cost follows the changes logged since
    ``moment``, not the size of the log.
    """
    statement = (
        sa.select(status_change.c.id)
        .where(status_change.c.changed_at < moment)
        .order_by(status_change.c.id.desc())
        .limit(1)
    )
    return connection.scalar(statement) or 0


def days_to_publish(
    connection: sa.Connection, day: date, start_day: date | None = None
) -> list[date]:
    """The days a publication of ``day`` covers, in order.

    Every day from the first one not yet published (an unfinished day, or the day after the last
    published one) up to ``day``, so a missed or failed day is never skipped; ``day`` alone when
    it lies before that (published again). When nothing was ever fixed: every day from
    ``start_day`` (the deployment's first day, ``HUB_PUBLISH_START_DAY``) up to ``day``, or ``day``
    alone without one.

    Raises:
        DayOrderError: ``day`` lies before the first published day, or before ``start_day`` when
            nothing was published yet.
    """
    c = delta_day.c
    first, last = connection.execute(sa.select(sa.func.min(c.day), sa.func.max(c.day))).one()
    if first is not None and day < first:
        raise DayOrderError(
            f"{day} lies before {first}, the first day published: the sites' sequences start there"
        )
    if first is None and start_day is not None:
        if day < start_day:
            raise DayOrderError(
                f"{day} lies before {start_day}, the first day to publish "
                "(HUB_PUBLISH_START_DAY): the sites' sequences start there"
            )
        return [start_day + timedelta(days=n) for n in range((day - start_day).days + 1)]
    unfinished = connection.scalar(sa.select(sa.func.min(c.day)).where(c.published_at.is_(None)))
    pending = unfinished or (last + timedelta(days=1) if last else None)
    if pending is None or day < pending:
        return [day]
    return [pending + timedelta(days=n) for n in range((day - pending).days + 1)]


def _stored(connection: sa.Connection, day: date) -> DayRange | None:
    row = connection.execute(sa.select(delta_day).where(delta_day.c.day == day)).first()
    if row is None:
        return None
    return DayRange(row.day, row.watermark_from, row.watermark_to, row.n_changes)


def _measure(connection: sa.Connection, day: date, timezone: ZoneInfo) -> DayRange:
    previous = _stored(connection, day - timedelta(days=1))
    start = day_start(day, timezone)
    low = previous.watermark_to if previous else _last_id_before(connection, start)
    high = max(low, _last_id_before(connection, day_start(day + timedelta(days=1), timezone)))
    count = connection.scalar(
        sa.select(sa.func.count()).where(status_change.c.id > low, status_change.c.id <= high)
    )
    return DayRange(day, low, high, int(count))


def fix_day_range(engine: sa.Engine, day: date, timezone: ZoneInfo) -> DayRange:
    """The range of ``day``: the stored one, or fixed now and stored (committed at once).

    Raises:
        DayOrderError: ``day`` is not stored and has not ended yet.
    """
    with engine.connect() as connection:
        stored = _stored(connection, day)
    if stored is not None:
        return stored
    end = day_start(day + timedelta(days=1), timezone)
    if end > clock.now():
        raise DayOrderError(f"{day} has not ended yet in {timezone.key}: publish it after it ends")
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("LOCK TABLE status_change IN SHARE MODE"))
            fixed = _measure(connection, day, timezone)
            connection.execute(
                delta_day.insert().values(
                    day=day,
                    watermark_from=fixed.watermark_from,
                    watermark_to=fixed.watermark_to,
                    n_changes=fixed.n_changes,
                    fixed_at=clock.now(),
                )
            )
    except sa.exc.IntegrityError:
        # Another publisher fixed the day first: its range stands.
        with engine.connect() as connection:
            stored = _stored(connection, day)
        if stored is None:
            raise
        return stored
    return fixed
