"""Where each pull site stands, for ``hub status``: the last set published, the last pull."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from hub.core.clock import whole_days
from hub.core.targets import pull_targets
from hub.store.db import pairs
from hub.store.publish_schema import delta_day, delta_file, delta_manifest, pull_log

STALE_PULL_DAYS = 3
"""A site with sets waiting that has not pulled for more days than this has stopped pulling."""


@dataclass(frozen=True)
class SiteStatus:
    """One pull site: its delta files and its pulls (``pull_log``).

    Attributes:
        site_id: the site.
        last_sequence: the last set published for it.
        last_day: that set's day.
        published_at: when that set was first published.
        last_pull_at: its last request the pull API answered 200.
        pulled_sequence: the highest set it downloaded a file of.
        days_since_pull: whole days since its last pull; never pulled: since its first set.
        stopped_pulling: sets wait for it and ``days_since_pull`` is past the threshold.
    """

    site_id: str
    last_sequence: int | None = None
    last_day: date | None = None
    published_at: datetime | None = None
    last_pull_at: datetime | None = None
    pulled_sequence: int | None = None
    days_since_pull: int | None = None
    stopped_pulling: bool = False


def site_statuses(connection: sa.Connection, now: datetime, stale_days: int) -> list[SiteStatus]:
    """Every pull site: its last set, its last pull, whether it stopped pulling."""
    m = delta_manifest.c
    latest = sa.select(m.site_id, sa.func.max(m.sequence).label("sequence")).group_by(m.site_id)
    latest = latest.subquery()
    published = {
        r.site_id: r
        for r in connection.execute(
            sa.select(m.site_id, m.sequence, m.day, m.created_at).join(
                latest, (latest.c.site_id == m.site_id) & (latest.c.sequence == m.sequence)
            )
        )
    }
    first = pairs(connection, sa.select(m.site_id, sa.func.min(m.created_at)).group_by(m.site_id))
    p = pull_log.c
    answered = p.status == 200
    pulls = pairs(
        connection,
        sa.select(p.site_id, sa.func.max(p.requested_at)).where(answered).group_by(p.site_id),
    )
    downloaded = pairs(
        connection,
        sa.select(p.site_id, sa.func.max(m.sequence))
        .select_from(
            pull_log.join(delta_file, delta_file.c.id == p.file_id).join(
                delta_manifest, m.id == delta_file.c.manifest_id
            )
        )
        .where(answered)
        .group_by(p.site_id),
    )
    statuses = []
    for site_id in sorted({t.id for t in pull_targets()} | set(published)):
        last = published.get(site_id)
        pulled_at = pulls.get(site_id)
        waited = whole_days(pulled_at or first.get(site_id), now)
        waiting_sets = last is not None and (pulled_at is None or (last.created_at) > pulled_at)
        statuses.append(
            SiteStatus(
                site_id,
                last_sequence=last.sequence if last else None,
                last_day=last.day if last else None,
                published_at=(last.created_at) if last else None,
                last_pull_at=pulled_at,
                pulled_sequence=downloaded.get(site_id),
                days_since_pull=waited,
                stopped_pulling=waiting_sets and waited is not None and waited > stale_days,
            )
        )
    return statuses


def site_problems(sites: list[SiteStatus], stale_days: int) -> Iterator[str]:
    """What needs a person about the pull sites: those that stopped pulling."""
    for site in sites:
        if site.stopped_pulling:
            yield (
                f"site {site.site_id}: no pull for {site.days_since_pull} days (more than "
                f"{stale_days}); published up to set {site.last_sequence}, downloaded up to "
                f"{site.pulled_sequence if site.pulled_sequence is not None else 'none'}"
            )


def unfinished_days(connection: sa.Connection) -> list[date]:
    """Days whose publication started (range fixed) but stopped before their sets were recorded."""
    c = delta_day.c
    return list(
        connection.scalars(sa.select(c.day).where(c.published_at.is_(None)).order_by(c.day))
    )


def publication_problems(days: list[date]) -> Iterator[str]:
    """What needs a person about publishing: a day left unfinished by a failed publication."""
    for day in days:
        yield (
            f"delta files of {day.isoformat()}: the publication stopped before the sets were "
            f"recorded; no site has them yet: run hub publish --date {day.isoformat()} (it "
            "finishes the day first, and says what stops it if it fails again)"
        )
