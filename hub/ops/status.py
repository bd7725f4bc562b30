"""Where the platform stands, read from its own tables: what ``hub status`` shows.

Per source the last batch and its figures, failures in a row and the days since the last
success; per push target the outbox; per pull site the last set published and the last pull; per
DAG the last thing its pipeline step recorded (so it works without Airflow); the working-day
calendar's coverage. Every figure is a plain dataclass (``platform_status``) or plain JSON
(``as_json``); ``problems`` lists, as sentences, what needs a person.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hub.collect.sources import enabled_sources
from hub.core.privacy import mask_document
from hub.core.settings import settings
from hub.core.targets import pull_targets, push_targets
from hub.core.workdays import calendar
from hub.fanout.status import outbox_figures
from hub.store.db import alembic_config
from hub.store.outbox_schema import outbox
from hub.store.publish_schema import delta_file, delta_manifest, pull_log
from hub.store.reconcile_schema import reconcile_run
from hub.store.schema import ingest_batch, quarantine

STALE_PULL_DAYS = 3
"""A site with sets waiting that has not pulled for more days than this has stopped pulling."""
_SUCCEEDED = ("succeeded", "partial")  # partial: a file was rejected, the rest loaded


@dataclass(frozen=True)
class SourceStatus:
    """One source's last batch and its record.

    Attributes:
        source_id: the source.
        enabled: whether the registry (``mappings/sources/``) has it enabled.
        batch_id: its last batch (``None``: never collected).
        day: the logical day of that batch.
        finished_at: when it finished (``None`` while running).
        status: ``succeeded``, ``partial``, ``failed`` or ``running``.
        read, loaded, quarantined, files_rejected: that batch's figures (loaded: new, updated,
            already known unchanged, and outdated versions not applied).
        error: that batch's error (a failure's reason, or the rejected files').
        drift: columns the source added or renamed, as that batch found them.
        failures_in_row: failed batches since the last successful one.
        last_success_at: when the last successful (or partial) batch finished.
        days_since_success: whole days from then to now.
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


@dataclass(frozen=True)
class QuarantineCount:
    """Unresolved quarantined records of a source by the rule they failed."""

    source_id: str
    rule: str
    records: int


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


@dataclass(frozen=True)
class DagStatus:
    """The last thing a DAG's pipeline step recorded.

    Attributes:
        dag_id: the Airflow DAG.
        step: the ``hub`` command that runs the same step by hand.
        last: what was last done: a day, a period (``None``: nothing yet).
        at: when.
        state: how it went, in a few words.
        error: what went wrong, if anything.
        read_from: where this was read.
    """

    dag_id: str
    step: str
    last: str | None
    at: datetime | None
    state: str
    error: str | None
    read_from: str


@dataclass(frozen=True)
class CalendarStatus:
    """Which of this year and the next the working-day calendar lacks a schedule for."""

    checked: list[int]
    missing: list[int]


@dataclass(frozen=True)
class PlatformStatus:
    """Everything ``hub status`` shows."""

    now: datetime
    database: str
    schema_revision: str | None
    schema_head: str | None
    sources: list[SourceStatus] = field(default_factory=list)
    recent_batches: list[BatchStatus] = field(default_factory=list)
    quarantine: list[QuarantineCount] = field(default_factory=list)
    targets: list[TargetStatus] = field(default_factory=list)
    sites: list[SiteStatus] = field(default_factory=list)
    dags: list[DagStatus] = field(default_factory=list)
    calendar: CalendarStatus | None = None
    problems: list[str] = field(default_factory=list)


def _utc(value: datetime | None) -> datetime | None:
    """An instant as stored, made aware (SQLite hands back naive UTC)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _days(since: datetime | None, now: datetime) -> int | None:
    return None if since is None else int((now - _utc(since)).total_seconds() // 86400)


def schema_revisions(engine: sa.Engine) -> tuple[str | None, str | None]:
    """The platform database's migration revision and the one this code needs."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision(), head


def _sources(connection: sa.Connection, now: datetime) -> list[SourceStatus]:
    b = ingest_batch.c
    ranked = sa.select(
        ingest_batch,
        sa.func.row_number().over(partition_by=b.source_id, order_by=b.id.desc()).label("n"),
    ).subquery()
    last = {r.source_id: r for r in connection.execute(sa.select(ranked).where(ranked.c.n == 1))}
    ok = (
        sa.select(
            b.source_id, sa.func.max(b.id).label("id"), sa.func.max(b.finished_at).label("at")
        )
        .where(b.status.in_(_SUCCEEDED))
        .group_by(b.source_id)
        .subquery()
    )
    succeeded = {r.source_id: r for r in connection.execute(sa.select(ok))}
    failures = _pairs(
        connection,
        sa.select(b.source_id, sa.func.count())
        .select_from(ingest_batch.outerjoin(ok, ok.c.source_id == b.source_id))
        .where(b.status == "failed", b.id > sa.func.coalesce(ok.c.id, 0))
        .group_by(b.source_id),
    )
    enabled = {s.id for s in enabled_sources()}
    statuses = []
    for source_id in sorted(enabled | set(last)):
        row, good = last.get(source_id), succeeded.get(source_id)
        success_at = _utc(good.at) if good is not None else None
        common = {
            "source_id": source_id,
            "enabled": source_id in enabled,
            "failures_in_row": failures.get(source_id, 0),
            "last_success_at": success_at,
            "days_since_success": _days(success_at, now),
        }
        if row is None:
            statuses.append(SourceStatus(**common))
            continue
        statuses.append(
            SourceStatus(
                **common,
                batch_id=row.id,
                day=row.logical_date,
                finished_at=_utc(row.finished_at),
                status=row.status,
                read=row.n_read,
                loaded=row.n_inserted + row.n_updated + row.n_unchanged + row.n_outdated,
                quarantined=row.n_quarantined,
                files_rejected=row.n_files_rejected,
                error=row.error,
                drift=json.loads(row.schema_drift) if row.schema_drift else [],
            )
        )
    return statuses


def _recent_batches(connection: sa.Connection, limit: int) -> list[BatchStatus]:
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
    return [
        BatchStatus(
            r.source_id,
            r.id,
            r.logical_date,
            r.status,
            _utc(r.finished_at),
            r.n_read,
            r.n_inserted,
            r.n_updated,
            r.n_unchanged,
            r.n_outdated,
            r.n_quarantined,
            r.error,
        )
        for r in rows
    ]


def _quarantine(connection: sa.Connection) -> list[QuarantineCount]:
    q = quarantine.c
    by_rule = (
        sa.select(q.source_id, q.rule, sa.func.count().label("n"))
        .where(q.resolved_at.is_(None))
        .group_by(q.source_id, q.rule)
        .order_by(q.source_id, sa.desc("n"), q.rule)
    )
    return [QuarantineCount(s, rule, n) for s, rule, n in connection.execute(by_rule)]


def _targets(connection: sa.Connection, now: datetime) -> list[TargetStatus]:
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
                oldest_pending=_utc(f.oldest_pending) if f else None,
                last_delivered_at=_utc(delivered_at),
                last_attempt_at=_utc(attempted_at),
                last_error=f.last_error if f else None,
            )
        )
    return statuses


def _pairs(connection: sa.Connection, statement: sa.Select) -> dict[Any, Any]:
    """A two-column query's rows as a dict."""
    return dict(connection.execute(statement).all())


def _sites(connection: sa.Connection, now: datetime, stale_days: int) -> list[SiteStatus]:
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
    first = _pairs(connection, sa.select(m.site_id, sa.func.min(m.created_at)).group_by(m.site_id))
    p = pull_log.c
    answered = p.status == 200
    pulls = _pairs(
        connection,
        sa.select(p.site_id, sa.func.max(p.requested_at)).where(answered).group_by(p.site_id),
    )
    downloaded = _pairs(
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
        pulled_at = _utc(pulls.get(site_id))
        waited = _days(pulled_at or first.get(site_id), now)
        waiting_sets = last is not None and (pulled_at is None or _utc(last.created_at) > pulled_at)
        statuses.append(
            SiteStatus(
                site_id,
                last_sequence=last.sequence if last else None,
                last_day=last.day if last else None,
                published_at=_utc(last.created_at) if last else None,
                last_pull_at=pulled_at,
                pulled_sequence=downloaded.get(site_id),
                days_since_pull=waited,
                stopped_pulling=waiting_sets and waited is not None and waited > stale_days,
            )
        )
    return statuses


def _reports_dir() -> Path:
    """Where ``hub.report.run.report_folder`` writes each period's report."""
    return settings().var_dir / "reports" / "quality"


def _last_report(folder: Path) -> dict[str, Any] | None:
    documents = []
    for path in folder.glob("*/report.json"):
        try:
            documents.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return max(documents, key=lambda d: d.get("generated_at", ""), default=None)


def _dags(
    connection: sa.Connection,
    sources: list[SourceStatus],
    targets: list[TargetStatus],
    sites: list[SiteStatus],
    reports_dir: Path,
) -> list[DagStatus]:
    return [
        _collect_dag(sources),
        _quality_dag(reports_dir),
        _reconcile_dag(connection),
        _fanout_dag(targets),
        _publish_dag(sites),
    ]


def _collect_dag(sources: list[SourceStatus]) -> DagStatus:
    ran = [s for s in sources if s.batch_id is not None]
    last_day = max((s.day for s in ran if s.day), default=None)
    of_day = [s for s in ran if s.day == last_day]
    states: dict[str, int] = {}
    for s in of_day:
        states[str(s.status)] = states.get(str(s.status), 0) + 1
    failed = [s.source_id for s in of_day if s.status == "failed"]
    return DagStatus(
        "collect_credit_records",
        "hub collect --date D",
        last_day.isoformat() if last_day else None,
        max((s.finished_at for s in of_day if s.finished_at), default=None),
        ", ".join(f"{n} {state}" for state, n in sorted(states.items())) or "never run",
        f"failed: {', '.join(failed)}" if failed else None,
        "ingest_batch",
    )


def _quality_dag(reports_dir: Path) -> DagStatus:
    report = _last_report(reports_dir)
    where = f"{reports_dir}/*/report.json (no table records report runs)"
    if report is None:
        return DagStatus("quality_report", "hub report --period P", None, None, "none", None, where)
    warnings = report.get("warnings") or []
    return DagStatus(
        "quality_report",
        "hub report --period P",
        report.get("period"),
        datetime.fromisoformat(report["generated_at"]) if report.get("generated_at") else None,
        f"{len(report.get('departments') or [])} departments",
        "; ".join(warnings) or None,
        where,
    )


def _reconcile_dag(connection: sa.Connection) -> DagStatus:
    run = connection.execute(
        sa.select(reconcile_run).order_by(reconcile_run.c.id.desc()).limit(1)
    ).first()
    if run is None:
        return DagStatus(
            "reconcile_repairs", "hub reconcile --date D", None, None, "never run", None,
            "reconcile_run",
        )  # fmt: skip
    figures = json.loads(run.figures) if run.figures else {}
    found = sum((figures.get("findings_by_class") or {}).values())
    still_open = (figures.get("findings") or {}).get("open")
    state = f"{run.status}, {found} findings"
    if still_open is not None:
        state += f" ({still_open} open)"
    return DagStatus(
        "reconcile_repairs",
        "hub reconcile --date D",
        run.run_date.isoformat(),
        _utc(run.finished_at or run.started_at),
        state,
        run.error,
        "reconcile_run",
    )


def _fanout_dag(targets: list[TargetStatus]) -> DagStatus:
    attempted = max((t.last_attempt_at for t in targets if t.last_attempt_at), default=None)
    dead = sum(t.dead for t in targets)
    pending = sum(t.pending for t in targets)
    delivered = sum(t.delivered for t in targets)
    errors = [f"{t.target_id}: {t.last_error}" for t in targets if t.last_error]
    return DagStatus(
        "fanout_removals",
        "hub fanout",
        None if attempted is None else "last delivery attempt",
        attempted,
        f"{delivered} delivered, {pending} pending, {dead} dead letters",
        "; ".join(errors) or None,
        "outbox",
    )


def _publish_dag(sites: list[SiteStatus]) -> DagStatus:
    days = [s.last_day for s in sites if s.last_day]
    last_day = max(days, default=None)
    behind = [s.site_id for s in sites if s.last_day != last_day]
    return DagStatus(
        "publish_deltas",
        "hub publish --date D",
        last_day.isoformat() if last_day else None,
        max((s.published_at for s in sites if s.published_at), default=None),
        f"{len(sites) - len(behind)} of {len(sites)} sites at the last day" if last_day else "none",
        f"not published to the last day: {', '.join(behind)}" if last_day and behind else None,
        "delta_manifest",
    )


def _calendar(today: date) -> CalendarStatus:
    checked = [today.year, today.year + 1]
    return CalendarStatus(checked, calendar().uncovered_years(checked))


def _problems(status: PlatformStatus, today: date, stale_days: int) -> Iterable[str]:
    for s in status.sources:
        if s.status == "failed":
            yield (
                f"source {s.source_id}: batch {s.batch_id} failed ({s.failures_in_row} in a row; "
                f"last success {_ago(s.days_since_success)}): {s.error}"
            )
        elif s.status == "partial":
            yield f"source {s.source_id}: batch {s.batch_id} rejected files: {s.error}"
        if s.drift:
            yield f"source {s.source_id}: schema drift: {'; '.join(s.drift)}"
    for t in status.targets:
        if t.dead:
            yield (
                f"target {t.target_id}: {t.dead} dead letters "
                f"(hub fanout --retry-dead --target {t.target_id})"
            )
    for site in status.sites:
        if site.stopped_pulling:
            yield (
                f"site {site.site_id}: no pull for {site.days_since_pull} days (more than "
                f"{stale_days}); published up to set {site.last_sequence}, downloaded up to "
                f"{site.pulled_sequence if site.pulled_sequence is not None else 'none'}"
            )
    for dag in status.dags:
        if dag.dag_id == "reconcile_repairs" and dag.error:
            yield f"reconciliation of {dag.last}: {dag.state}: {dag.error}"
    if status.calendar is not None:
        for year in status.calendar.missing:
            # The State Council publishes next year's schedule in November or December.
            if year == today.year or today.month == 12:
                yield (
                    f"working-day calendar: no State Council schedule for {year}; add "
                    f"mappings/calendar/{year}.yaml"
                )


def _ago(days: int | None) -> str:
    return "never" if days is None else f"{days} days ago"


def platform_status(
    engine: sa.Engine,
    now: datetime,
    *,
    recent: int = 3,
    stale_pull_days: int = STALE_PULL_DAYS,
    reports_dir: Path | None = None,
) -> PlatformStatus:
    """Read where the platform stands at ``now``.

    Args:
        engine: the platform database.
        now: the instant the ages are counted to (aware).
        recent: batches listed per source.
        stale_pull_days: days without a pull after which a site with sets waiting is flagged.
        reports_dir: where the quality reports are (``<var>/reports/quality`` by default).

    Returns:
        The status; only the schema revisions and a problem when the database is not migrated
        to the revision this code needs (``hub init-db``).
    """
    url = engine.url.render_as_string(hide_password=True)
    revision, head = schema_revisions(engine)
    if revision != head:
        return PlatformStatus(
            now,
            url,
            revision,
            head,
            problems=[
                f"platform database at migration {revision or 'none'}, this code needs {head}: "
                "run hub init-db"
            ],
        )
    today = now.astimezone(settings().timezone).date()
    with engine.connect() as connection:
        sources = _sources(connection, now)
        targets = _targets(connection, now)
        sites = _sites(connection, now, stale_pull_days)
        status = PlatformStatus(
            now,
            url,
            revision,
            head,
            sources=sources,
            recent_batches=_recent_batches(connection, recent),
            quarantine=_quarantine(connection),
            targets=targets,
            sites=sites,
            dags=_dags(connection, sources, targets, sites, reports_dir or _reports_dir()),
            calendar=_calendar(today),
        )
    status.problems.extend(_problems(status, today, stale_pull_days))
    return status


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(settings().timezone).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def as_json(status: PlatformStatus) -> str:
    """``status`` as a JSON document; instants in the platform's time zone, ISO 8601.

    Errors quote what sources and receivers said: the document goes through the privacy policy.
    """
    document = mask_document(asdict(status))
    return json.dumps(document, default=_plain, ensure_ascii=False, indent=2)
