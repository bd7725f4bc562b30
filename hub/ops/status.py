"""Where the platform stands, read from its own tables: what ``hub status`` shows.

Composed from what each stage exports about itself: per source the last batch and its record
(``hub.collect.status``), per push target the outbox (``hub.fanout.status``), per pull site the
last set and pull (``hub.publish.status``), the last reconciliation (``hub.reconcile.status``)
and quality report (``hub.report.status``); per DAG the last thing its step recorded (so it works
without Airflow); the working-day calendar's coverage. Every figure is a plain dataclass
(``platform_status``) or plain JSON (``as_json``); ``problems`` lists, as sentences, what needs a
person.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hub.collect.status import (
    BatchStatus,
    QuarantineCount,
    RejectedFile,
    SourceStatus,
    department_problems,
    outstanding_rejections,
    quarantine_counts,
    recent_batches,
    rejection_problems,
    source_problems,
    source_statuses,
    unregistered_departments,
)
from hub.core.privacy import mask_document
from hub.core.settings import settings
from hub.core.workdays import calendar
from hub.fanout.status import TargetStatus, target_problems, target_statuses
from hub.publish.status import (
    STALE_PULL_DAYS,
    SiteStatus,
    publication_problems,
    site_problems,
    site_statuses,
    unfinished_days,
)
from hub.reconcile.status import LastRun, last_run
from hub.report.status import last_report, reports_dir
from hub.store.db import alembic_config

__all__ = ["STALE_PULL_DAYS", "DagStatus", "PlatformStatus", "as_json", "platform_status"]


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
    rejected_files: list[RejectedFile] = field(default_factory=list)
    targets: list[TargetStatus] = field(default_factory=list)
    sites: list[SiteStatus] = field(default_factory=list)
    dags: list[DagStatus] = field(default_factory=list)
    calendar: CalendarStatus | None = None
    problems: list[str] = field(default_factory=list)


def schema_revisions(engine: sa.Engine) -> tuple[str | None, str | None]:
    """The platform database's migration revision and the one this code needs."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision(), head


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


def _quality_dag(folder: Path) -> DagStatus:
    report = last_report(folder)
    where = f"{folder}/*/report.json (no table records report runs)"
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


def _reconcile_dag(run: LastRun | None) -> DagStatus:
    step = ("reconcile_repairs", "hub reconcile --date D")
    if run is None:
        return DagStatus(*step, None, None, "never run", None, "reconcile_run")
    state = f"{run.status}, {run.findings} findings"
    if run.still_open is not None:
        state += f" ({run.still_open} open)"
    return DagStatus(*step, run.day.isoformat(), run.at, state, run.error, "reconcile_run")


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


def _calendar_problems(status: CalendarStatus, today: date) -> Iterator[str]:
    for year in status.missing:
        # The State Council publishes next year's schedule in November or December.
        if year == today.year or today.month == 12:
            yield (
                f"working-day calendar: no State Council schedule for {year}; add "
                f"mappings/calendar/{year}.yaml"
            )


def platform_status(
    engine: sa.Engine,
    now: datetime,
    *,
    recent: int = 3,
    stale_pull_days: int = STALE_PULL_DAYS,
    reports_folder: Path | None = None,
) -> PlatformStatus:
    """Read where the platform stands at ``now``.

    Args:
        engine: the platform database.
        now: the instant the ages are counted to (aware).
        recent: batches listed per source.
        stale_pull_days: days without a pull after which a site with sets waiting is flagged.
        reports_folder: where the quality reports are (``<var>/reports/quality`` by default).

    Returns:
        The status; only the schema revisions and a problem when the database is not migrated
        to the revision this code needs (``hub init-db``).
    """
    url = engine.url.render_as_string(hide_password=True)
    revision, head = schema_revisions(engine)
    if revision != head:
        problem = (
            f"platform database at migration {revision or 'none'}, this code needs {head}: "
            "run hub init-db"
        )
        return PlatformStatus(now, url, revision, head, problems=[problem])
    today = now.astimezone(settings().timezone).date()
    with engine.connect() as connection:
        sources = source_statuses(connection, now)
        targets = target_statuses(connection, now)
        sites = site_statuses(connection, now, stale_pull_days)
        reconciliation = last_run(connection)
        unregistered = unregistered_departments(connection)
        unfinished = unfinished_days(connection)
        status = PlatformStatus(
            now,
            url,
            revision,
            head,
            sources=sources,
            recent_batches=recent_batches(connection, recent, now),
            quarantine=quarantine_counts(connection),
            rejected_files=outstanding_rejections(connection),
            targets=targets,
            sites=sites,
            dags=[
                _collect_dag(sources),
                _quality_dag(reports_folder or reports_dir()),
                _reconcile_dag(reconciliation),
                _fanout_dag(targets),
                _publish_dag(sites),
            ],
            calendar=_calendar(today),
        )
    status.problems.extend(source_problems(sources))
    status.problems.extend(rejection_problems(status.rejected_files))
    status.problems.extend(department_problems(unregistered))
    status.problems.extend(target_problems(targets))
    status.problems.extend(site_problems(sites, stale_pull_days))
    status.problems.extend(publication_problems(unfinished))
    if reconciliation is not None and reconciliation.error:
        status.problems.append(
            f"reconciliation of {reconciliation.day.isoformat()}: "
            f"{_reconcile_dag(reconciliation).state}: {reconciliation.error}"
        )
    if status.calendar is not None:
        status.problems.extend(_calendar_problems(status.calendar, today))
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
