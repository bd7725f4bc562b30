"""Retention: delete old delta files, keep their manifest rows (marked expired) for the record.

The files of day d are kept while ``as_of - d < retention_days``; older ones are deleted and their
``delta_manifest`` row gets ``expired_at``. The pull API then lists the set as expired and answers
410 Gone for its files. ``as_of`` is the day being published, not the clock, so running an old day
again never deletes files a newer day still keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from hub.core import clock
from hub.core.logs import get_logger
from hub.publish.config import PublishSettings
from hub.store.publish_schema import delta_file, delta_manifest

log = get_logger(__name__)


@dataclass(frozen=True)
class ExpiredSet:
    """A site's set whose files were deleted."""

    site_id: str
    sequence: int
    day: date
    files_deleted: int


def expire_old_files(engine: sa.Engine, as_of: date, config: PublishSettings) -> list[ExpiredSet]:
    """Delete the files of every set older than the retention, as of ``as_of``.

    Args:
        engine: the platform database.
        as_of: the day counted from (normally the day just published).
        config: the publishing settings (folder and retention).

    Returns:
        The sets expired now, in site and sequence order.
    """
    cutoff = as_of - timedelta(days=config.retention_days - 1)
    due = (
        sa.select(
            delta_manifest.c.id,
            delta_manifest.c.site_id,
            delta_manifest.c.sequence,
            delta_manifest.c.day,
        )
        .where(delta_manifest.c.day < cutoff, delta_manifest.c.expired_at.is_(None))
        .order_by(delta_manifest.c.site_id, delta_manifest.c.sequence)
    )
    expired = []
    with engine.begin() as connection:
        for manifest_id, site_id, sequence, day in connection.execute(due).all():
            names = connection.scalars(
                sa.select(delta_file.c.name).where(delta_file.c.manifest_id == manifest_id)
            ).all()
            deleted = 0
            for name in names:
                path = config.delta_dir / site_id / name
                if path.exists():
                    path.unlink()
                    deleted += 1
            connection.execute(
                delta_manifest.update()
                .where(delta_manifest.c.id == manifest_id)
                .values(expired_at=clock.now())
            )
            expired.append(ExpiredSet(site_id, sequence, day, deleted))
            log.info(
                "delta set expired",
                site=site_id,
                sequence=sequence,
                day=day.isoformat(),
                files_deleted=deleted,
            )
    return expired
