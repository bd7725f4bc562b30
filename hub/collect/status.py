"""Where each source stands, for ``hub status``: its last batch, its record, open quarantine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from hub.collect.lease import death, died_message, heartbeats
from hub.collect.sources import broken_sources, enabled_sources
from hub.core.clock import whole_days
from hub.core.departments import departments
from hub.store.db import pairs
from hub.store.schema import (
    LOADED_IN_BATCH,
    RECORD_TABLES,
    ingest_batch,
    quarantine,
    source_file,
)

SUCCEEDED = ("succeeded", "partial")  # partial: a file was rejected, the rest loaded


@dataclass(frozen=True)
class SourceStatus:
    """One source's last batch and its record.

    Attributes:
        source_id: the source.
        enabled: whether the registry (``mappings/sources/``) has it enabled.
        batch_id: its last batch (``None``: never collected).
        day: the logical day of that batch.
        finished_at: when it finished (``None`` while running).
        status: ``succeeded``, ``partial``, ``failed`` or ``running`` (a running batch whose
            process died is shown ``failed``, its error saying so: ``hub.collect.lease``).
        read, loaded, quarantined, files_rejected: that batch's figures (loaded: new, updated,
            already known unchanged, and outdated versions not applied).
        error: that batch's error (a failure's reason, or the rejected files').
        drift: columns the source added or renamed, as that batch found them.
        failures_in_row: failed batches since the last successful one.
        last_success_at: when the last successful (or partial) batch finished.
        days_since_success: whole days from then to now.
        broken: why its source file cannot be used (``None``: it can).
    """

    source_id: str
    enabled: bool
    batch_id: int | None = None
    day: date | None = None
    finished_at: datetime | None = None
    status: str | None = None
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    files_rejected: int = 0
    error: str | None = None
    drift: list[str] = field(default_factory=list)
    failures_in_row: int = 0
    last_success_at: datetime | None = None
    days_since_success: int | None = None
    broken: str | None = None


@dataclass(frozen=True)
class BatchStatus:
    """One recent batch as ``ingest_batch`` holds it."""

    source_id: str
    batch_id: int
    day: date
    status: str
    finished_at: datetime | None
    read: int
    inserted: int
    updated: int
    unchanged: int
    outdated: int
    quarantined: int
    error: str | None
    reread: int


@dataclass(frozen=True)
class RejectedFile:
    """A dropped file the platform rejected and whose complete delivery has not loaded since."""

    source_id: str
    file_name: str
    batch_id: int
    day: date
    reason: str | None


@dataclass(frozen=True)
class QuarantineCount:
    """Unresolved quarantined records of a source by the rule they failed."""

    source_id: str
    rule: str
    records: int


def source_statuses(connection: sa.Connection, now: datetime) -> list[SourceStatus]:
    """Every enabled source, and every source that ever ran, with its last batch."""
    b = ingest_batch.c
    ranked = sa.select(
        ingest_batch,
        LOADED_IN_BATCH.label("n_loaded"),
        sa.func.row_number().over(partition_by=b.source_id, order_by=b.id.desc()).label("n"),
    ).subquery()
    last = {r.source_id: r for r in connection.execute(sa.select(ranked).where(ranked.c.n == 1))}
    ok = (
        sa.select(
            b.source_id, sa.func.max(b.id).label("id"), sa.func.max(b.finished_at).label("at")
        )
        .where(b.status.in_(SUCCEEDED))
        .group_by(b.source_id)
        .subquery()
    )
    succeeded = {r.source_id: r for r in connection.execute(sa.select(ok))}
    failures = pairs(
        connection,
        sa.select(b.source_id, sa.func.count())
        .select_from(ingest_batch.outerjoin(ok, ok.c.source_id == b.source_id))
        .where(b.status == "failed", b.id > sa.func.coalesce(ok.c.id, 0))
        .group_by(b.source_id),
    )
    enabled = {s.id for s in enabled_sources()}
    broken = {stem: str(error) for stem, error in broken_sources().items()}
    renewed = heartbeats(connection)
    statuses = []
    for source_id in sorted(enabled | set(broken) | set(last)):
        row, good = last.get(source_id), succeeded.get(source_id)
        success_at = (good.at) if good is not None else None
        common = {
            "source_id": source_id,
            "enabled": source_id in enabled or source_id in broken,
            "broken": broken.get(source_id),
            "failures_in_row": failures.get(source_id, 0),
            "last_success_at": success_at,
            "days_since_success": whole_days(success_at, now),
        }
        if row is None:
            statuses.append(SourceStatus(**common))
            continue
        state, error = _as_seen(row, now, renewed=renewed)
        if state == "failed" and row.status == "running":
            common["failures_in_row"] += 1
        statuses.append(
            SourceStatus(
                **common,
                batch_id=row.id,
                day=row.logical_date,
                finished_at=(row.finished_at),
                status=state,
                read=row.n_read,
                loaded=row.n_loaded,
                quarantined=row.n_quarantined,
                files_rejected=row.n_files_rejected,
                error=error,
                drift=json.loads(row.schema_drift) if row.schema_drift else [],
            )
        )
    return statuses


def _as_seen(batch: sa.Row, now: datetime, *, renewed: bool) -> tuple[str, str | None]:
    """A batch's status and error as an operator must see them: one that died is failed."""
    if batch.status != "running":
        return batch.status, batch.error
    reason = death(batch, now, renewed=renewed)
    if reason is None:
        return batch.status, batch.error
    return "failed", died_message(batch.source_id, batch.id, batch.logical_date.isoformat(), reason)


def recent_batches(connection: sa.Connection, limit: int, now: datetime) -> list[BatchStatus]:
    """The last ``limit`` batches of every source, newest first (seen at ``now``)."""
    b = ingest_batch.c
    ranked = sa.select(
        ingest_batch,
        sa.func.row_number().over(partition_by=b.source_id, order_by=b.id.desc()).label("n"),
    ).subquery()
    rows = connection.execute(
        sa.select(ranked)
        .where(ranked.c.n <= limit)
        .order_by(ranked.c.source_id, ranked.c.id.desc())
    )
    renewed = heartbeats(connection)
    batches = []
    for r in rows:
        state, error = _as_seen(r, now, renewed=renewed)
        batches.append(
            BatchStatus(
                r.source_id,
                r.id,
                r.logical_date,
                state,
                r.finished_at,
                r.n_read,
                r.n_inserted,
                r.n_updated,
                r.n_unchanged,
                r.n_outdated,
                r.n_quarantined,
                error,
                r.n_reread,
            )
        )
    return batches


def outstanding_rejections(connection: sa.Connection) -> list[RejectedFile]:
    """Rejected files not followed by a processed file of the same source and name.

    A delivery the platform could not read stays missing, whatever later batches do, until the
    agency drops it again, readable, under the same name.
    """
    rejected, again = source_file.alias("rejected"), source_file.alias("again")
    delivered_again = sa.exists().where(
        again.c.source_id == rejected.c.source_id,
        again.c.file_name == rejected.c.file_name,
        again.c.status == "processed",
        again.c.batch_id > rejected.c.batch_id,
    )
    rows = connection.execute(
        sa.select(
            rejected.c.source_id,
            rejected.c.file_name,
            rejected.c.batch_id,
            ingest_batch.c.logical_date,
            rejected.c.reason,
        )
        .join(ingest_batch, ingest_batch.c.id == rejected.c.batch_id)
        .where(rejected.c.status == "rejected", ~delivered_again)
        .order_by(rejected.c.source_id, rejected.c.batch_id, rejected.c.file_name)
    )
    return [RejectedFile(*row) for row in rows]


def rejection_problems(rejected: list[RejectedFile]) -> Iterator[str]:
    """One sentence per rejected delivery still missing, with what to do."""
    for f in rejected:
        yield (
            f"source {f.source_id}: file {f.file_name} of {f.day.isoformat()} was rejected by "
            f"batch {f.batch_id} and has not been delivered again: {f.reason}; send the agency "
            "the reason (rejected/<file>.reason.txt); once it drops the file again under the "
            "same name the next collection loads it "
            f"(hub collect --date {f.day.isoformat()} --source {f.source_id})"
        )


def quarantine_counts(connection: sa.Connection) -> list[QuarantineCount]:
    """Unresolved quarantined records per source and rule."""
    q = quarantine.c
    by_rule = (
        sa.select(q.source_id, q.rule, sa.func.count().label("n"))
        .where(q.resolved_at.is_(None))
        .group_by(q.source_id, q.rule)
        .order_by(q.source_id, sa.desc("n"), q.rule)
    )
    return [QuarantineCount(s, rule, n) for s, rule, n in connection.execute(by_rule)]


def source_problems(sources: list[SourceStatus]) -> Iterator[str]:
    """What needs a person about the sources, one sentence each."""
    for s in sources:
        if s.broken:
            yield f"source {s.source_id}: its source file cannot be used: {s.broken}"
        if s.status == "failed":
            last_success = (
                "never" if s.days_since_success is None else (f"{s.days_since_success} days ago")
            )
            yield (
                f"source {s.source_id}: batch {s.batch_id} failed ({s.failures_in_row} in a row; "
                f"last success {last_success}): {s.error}"
            )
        if s.drift:
            yield f"source {s.source_id}: schema drift: {'; '.join(s.drift)}"


def unregistered_departments(connection: sa.Connection) -> dict[str, int]:
    """Departments records name that the registry does not know → their records."""
    registry = departments()
    counts: dict[str, int] = {}
    for table in RECORD_TABLES.values():
        column = table.c.source_department
        for name, records in connection.execute(
            sa.select(column, sa.func.count()).group_by(column)
        ):
            if name is not None and registry.canonical(name) is None:
                counts[name] = counts.get(name, 0) + records
    return dict(sorted(counts.items()))


def department_problems(unregistered: dict[str, int]) -> Iterator[str]:
    """What needs a person about department names: those the registry does not know."""
    if unregistered:
        listed = ", ".join(f"{name} ({n} records)" for name, n in unregistered.items())
        yield (
            f"records name departments the registry does not know: {listed}; add them, or an "
            "alias, to mappings/reference/departments.yaml"
        )
