"""Publishing a day: one delta file set per site, numbered, written, and vouched for.

For each site that gets delta files, day D yields one set (Parquet, CSV, manifest) with the next
number of the site's sequence, even when the site had no change that day (an empty file keeps the
sequence gap-free). A site's set starts where its previous set ended (``watermark_from`` is the
previous ``watermark_to``) and ends at the day's ``watermark_to`` (``hub.publish.ranges``); a site
new to the targets file starts at the day's own range.

A day's files are written first, then its sets are recorded, all sites in one transaction, and
the day marked published (``delta_day.published_at``): the pull API lists only recorded sets, so
a site sees a day's range and its files together or not at all. A publication that fails between
the two (a full disk, a lost database, a kill) leaves the day unfinished; the next publication,
whatever day it is asked for, first removes the unrecorded files and finishes that day, with the
same range and sequence numbers, so no day is skipped and no sequence number names two sets.

Publishing a day again rebuilds each site's set from the same range and compares it, byte for
byte, with what was published: equal files missing from disk are restored; different bytes are
refused (``PublishError``), never silently replaced, since a site may already hold the first ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import sqlalchemy as sa

from hub.core import clock
from hub.core.logs import get_logger
from hub.core.privacy import MACHINE_IDENTIFIERS, mask_table
from hub.core.settings import settings
from hub.core.targets import Target, all_targets
from hub.publish.config import PublishSettings, publish_settings
from hub.publish.delta import SCHEMA_VERSION, read_changes, rows_for_site
from hub.publish.encode import (
    EncodedFile,
    csv_bytes,
    file_names,
    manifest_bytes,
    parquet_bytes,
)
from hub.publish.lock import one_publisher
from hub.publish.orphans import remove_orphans
from hub.publish.ranges import DayRange, days_to_publish, fix_day_range
from hub.store.publish_schema import delta_day, delta_file, delta_manifest

log = get_logger(__name__)


class PublishError(RuntimeError):
    """A day could not be published; the message names the site, the day and the reason."""


@dataclass(frozen=True)
class SiteOutcome:
    """What publishing a day did for one site.

    ``state``: ``published`` (a new set), ``unchanged`` (published before, identical, on disk),
    ``restored`` (published before, identical, rewritten to disk), ``expired`` (its files were
    deleted by the retention rule; left alone) or ``not a site then`` (the site joined later).
    """

    site_id: str
    state: str
    sequence: int | None = None
    row_count: int | None = None


@dataclass(frozen=True)
class DayOutcome:
    """What publishing one day did: its range and each site's outcome."""

    range: DayRange
    sites: list[SiteOutcome]


@dataclass(frozen=True)
class _Plan:
    """One site's set for the day: new, or as published before."""

    site: Target
    sequence: int
    watermark_from: int
    watermark_to: int
    created_at: datetime
    manifest_id: int | None = None
    expired: bool = False
    shas: dict[str, str] | None = None


_Built = tuple[_Plan, int, list[EncodedFile]]
"""A site's set for the day: the plan, its row count and its encoded files."""


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _published(connection: sa.Connection, day: date) -> dict[str, _Plan]:
    """The sets already published for ``day``, by site id, with their files' SHA-256."""
    rows = connection.execute(sa.select(delta_manifest).where(delta_manifest.c.day == day)).all()
    shas: dict[int, dict[str, str]] = {}
    files = sa.select(delta_file.c.manifest_id, delta_file.c.format, delta_file.c.sha256)
    for manifest_id, file_format, sha in connection.execute(
        files.where(delta_file.c.manifest_id.in_([row.id for row in rows]))
    ):
        shas.setdefault(manifest_id, {})[file_format] = sha
    sites = {site.id: site for site in all_targets().values()}
    return {
        row.site_id: _Plan(
            sites[row.site_id],
            row.sequence,
            row.watermark_from,
            row.watermark_to,
            _utc(row.created_at),
            row.id,
            row.expired_at is not None,
            shas.get(row.id, {}),
        )
        for row in rows
        if row.site_id in sites
    }


def _latest(connection: sa.Connection) -> dict[str, sa.Row]:
    """Each site's latest set (highest sequence), by site id."""
    latest = (
        sa.select(
            delta_manifest.c.site_id, sa.func.max(delta_manifest.c.sequence).label("sequence")
        )
        .group_by(delta_manifest.c.site_id)
        .subquery()
    )
    joined = delta_manifest.join(
        latest,
        (delta_manifest.c.site_id == latest.c.site_id)
        & (delta_manifest.c.sequence == latest.c.sequence),
    )
    return {
        row.site_id: row
        for row in connection.execute(sa.select(delta_manifest).select_from(joined))
    }


def _plans(connection: sa.Connection, day: DayRange, sites: tuple[Target, ...]) -> list[_Plan]:
    """Each site's set for ``day``; none for a site whose sequence is already past the day."""
    published = _published(connection, day.day)
    latest = _latest(connection)
    now = clock.now()
    plans = []
    for site in sites:
        last = latest.get(site.id)
        if site.id in published:
            plans.append(published[site.id])
        elif last is None:
            plans.append(_Plan(site, 1, day.watermark_from, day.watermark_to, now))
        elif last.day < day.day:
            plans.append(_Plan(site, last.sequence + 1, last.watermark_to, day.watermark_to, now))
    return plans


def _encode(
    plan: _Plan, day: date, table: pa.Table, timezone: ZoneInfo
) -> tuple[list[EncodedFile], int]:
    names = file_names(plan.site.id, day, plan.sequence)
    data = [
        EncodedFile("parquet", names["parquet"], parquet_bytes(table)),
        EncodedFile("csv", names["csv"], csv_bytes(table)),
    ]
    manifest = manifest_bytes(
        site_id=plan.site.id,
        site_name=plan.site.name,
        sequence=plan.sequence,
        day=day,
        watermark=(plan.watermark_from, plan.watermark_to),
        created_at=plan.created_at.astimezone(timezone),
        table=table,
        files=data,
    )
    return [*data, EncodedFile("manifest", names["manifest"], manifest)], len(table)


def _masked(rows: pa.Table, plan: _Plan, day: date) -> pa.Table:
    """``rows`` by the privacy policy (``hub.core.privacy``): the last guard before the files.

    ``status_change`` holds a natural person's ID number masked already, but free text (a reason,
    a name typed into the wrong field) may carry one; a legal person's credit code stands.
    """
    masked = mask_table(rows, keep=MACHINE_IDENTIFIERS, credit_codes=("subject_id",))
    if masked is not rows:
        log.warning("ID numbers masked in a delta set", site=plan.site.id, day=day.isoformat())
    return masked


def _write(folder: Path, encoded: EncodedFile) -> bool:
    """Write ``encoded`` atomically unless the same bytes are there; whether it wrote."""
    path = folder / encoded.name
    if path.exists() and path.read_bytes() == encoded.data:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{encoded.name}.{os.getpid()}.partial"
    partial.write_bytes(encoded.data)
    partial.replace(path)
    return True


def _check_same(plan: _Plan, day: date, files: list[EncodedFile]) -> None:
    for encoded in files:
        stored = (plan.shas or {}).get(encoded.format)
        if stored != encoded.sha256:
            log.error(
                "republished set differs from the published one",
                site=plan.site.id,
                sequence=plan.sequence,
                day=day.isoformat(),
                file=encoded.name,
            )
            raise PublishError(
                f"site {plan.site.id}, day {day}, sequence {plan.sequence}: the rebuilt "
                f"{encoded.format} file {encoded.name} has SHA-256 {encoded.sha256}, but "
                f"{stored} was published; the published file stands (was the change log "
                "altered inside the published range, or the writer library upgraded?)"
            )


def _record(
    connection: sa.Connection, plan: _Plan, day: date, rows: int, files: list[EncodedFile]
) -> None:
    manifest_id = connection.execute(
        delta_manifest.insert().values(
            site_id=plan.site.id,
            sequence=plan.sequence,
            day=day,
            watermark_from=plan.watermark_from,
            watermark_to=plan.watermark_to,
            row_count=rows,
            schema_version=SCHEMA_VERSION,
            created_at=plan.created_at,
        )
    ).inserted_primary_key[0]
    connection.execute(
        delta_file.insert(),
        [
            {
                "manifest_id": manifest_id,
                "format": f.format,
                "name": f.name,
                "sha256": f.sha256,
                "bytes": len(f.data),
            }
            for f in files
        ],
    )


def record_sets(engine: sa.Engine, day: date, built: list[_Built]) -> None:
    """Record the day's new sets, whose files are written, and mark the day published.

    One transaction: the sites see a day's sets (the pull API lists recorded sets only) all
    together, and only once their files are on disk.
    """
    with engine.begin() as connection:
        for plan, count, files in built:
            if plan.manifest_id is None:
                _record(connection, plan, day, count, files)
        connection.execute(
            delta_day.update()
            .where(delta_day.c.day == day, delta_day.c.published_at.is_(None))
            .values(published_at=clock.now())
        )


def _publish_range(engine: sa.Engine, day: DayRange, config: PublishSettings) -> DayOutcome:
    timezone = settings().timezone
    with engine.connect() as connection:
        plans = _plans(connection, day, config.sites)
        live = [p for p in plans if not p.expired]
        low = min((p.watermark_from for p in live), default=day.watermark_to)
        changes = read_changes(connection, low, day.watermark_to, timezone.key)
    built: list[_Built] = []
    for plan in plans:
        if plan.expired:
            continue
        rows = _masked(rows_for_site(changes, plan.site, plan.watermark_from), plan, day.day)
        files, count = _encode(plan, day.day, rows, timezone)
        if plan.manifest_id is not None:
            _check_same(plan, day.day, files)
        built.append((plan, count, files))
    outcomes = [SiteOutcome(p.site.id, "expired", p.sequence) for p in plans if p.expired]
    states = {}
    for plan, _, files in built:
        # Data files first, the manifest last: a manifest on disk vouches for written files.
        wrote = [_write(config.delta_dir / plan.site.id, f) for f in files]
        state = "restored" if any(wrote) else "unchanged"
        states[plan.site.id] = "published" if plan.manifest_id is None else state
    record_sets(engine, day.day, built)
    for plan, count, _ in built:
        state = states[plan.site.id]
        outcomes.append(SiteOutcome(plan.site.id, state, plan.sequence, count))
        log.info(
            f"delta set {state}",
            site=plan.site.id,
            sequence=plan.sequence,
            day=day.day.isoformat(),
            rows=count,
        )
    published = {p.site.id for p in plans}
    skipped = [SiteOutcome(s.id, "not a site then") for s in config.sites if s.id not in published]
    return DayOutcome(day, sorted(outcomes + skipped, key=lambda o: o.site_id))


def _stopped(day: date, exc: OSError | sa.exc.SQLAlchemyError) -> PublishError:
    if isinstance(exc, OSError):
        where = str(exc.filename) if exc.filename else "the delta folder"
        reason = exc.strerror or str(exc)
    else:
        where, reason = "the platform database", str(getattr(exc, "orig", None) or exc)
    log.error("publication stopped", day=day.isoformat(), at=where, reason=reason)
    return PublishError(
        f"day {day}: the publication stopped at {where}: {reason.splitlines()[0]}; no site sees "
        "any file of the day until it is finished, and publishing any day again finishes it first"
    )


def publish(
    day: date, engine: sa.Engine, config: PublishSettings | None = None
) -> list[DayOutcome]:
    """Publish ``day``'s delta files for every site (and first any unpublished earlier day).

    One publication at a time (``hub.publish.lock``); files an earlier failed one left unrecorded
    are removed first (``hub.publish.orphans``).

    Args:
        day: the day, in the platform's time zone; it must have ended.
        engine: the platform database.
        config: the publishing settings (from the environment by default).

    Returns:
        One outcome per day published, in day order.

    Raises:
        DayOrderError: the day has not ended, or lies before the first published day (or, when
            nothing was published yet, before the configured start day).
        PublishError: a set published before would now come out different, or a file or the
            database failed (the day stays unfinished, and is finished first next time).
    """
    config = config or publish_settings()
    timezone = settings().timezone
    outcomes = []
    with one_publisher(engine):
        with engine.connect() as connection:
            days = days_to_publish(connection, day, config.start_day)
        for each in days:
            try:
                with engine.connect() as connection:
                    remove_orphans(connection, config.delta_dir)
                fixed = fix_day_range(engine, each, timezone)
                outcomes.append(_publish_range(engine, fixed, config))
            except (OSError, sa.exc.SQLAlchemyError) as exc:
                raise _stopped(each, exc) from exc
    return outcomes
