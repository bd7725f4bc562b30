"""The job seam: each of the hub's jobs as one call, the same for the command line and the DAGs.

``collect(day, runtime)``, ``reconcile(day, runtime)``, ``fanout(runtime)``, ``publish(day,
runtime)`` and ``report(period, runtime)`` each open the platform database through the
``Runtime``, run their stage and return an outcome: the figures, the files written and the
``problems`` a person must act on. What to do about problems is the caller's: the command line
prints them and exits non-zero, an Airflow task raises (``hub_airflow.tasks``).

The ``Runtime`` holds what differs between the two callers: how connections are found (the
environment, or Airflow's secrets backends), where thresholds come from (environment variables and
defaults, or Airflow Variables first), and which platform database is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from connectors.connections import ConnectionResolver, from_environment
from hub.collect import preview
from hub.collect.preview import SourceCheck
from hub.collect.run import BatchSummary, CollectError, collect_source
from hub.collect.sources import SourceConfigError, enabled_source_ids
from hub.core import clock
from hub.core.settings import Settings, local_day, settings
from hub.core.targets import Target, push_targets
from hub.core.thresholds import (
    DELTA_RETENTION_DAYS,
    FANOUT_LEASE_SECONDS,
    FANOUT_RETRY_BASE_SECONDS,
    FANOUT_RETRY_MAX_SECONDS,
    REMINDER_DAYS,
    Threshold,
    VariableGetter,
)
from hub.fanout.claims import RetrySchedule, retry_dead
from hub.fanout.deliver import DeliveryRun, deliver
from hub.fanout.status import OutboxFigures, outbox_figures
from hub.ops.case import case_of
from hub.ops.status import STALE_PULL_DAYS, PlatformStatus, platform_status
from hub.publish.config import PublishSettings, publish_settings
from hub.publish.publisher import DayOutcome
from hub.publish.publisher import publish as publish_days
from hub.publish.retention import ExpiredSet, expire_old_files
from hub.reconcile import report as reconcile_report
from hub.reconcile.report import ReconcileReport, build_report
from hub.reconcile.run import ReconcileSummary, reconcile_day
from hub.reconcile.systems import RepairSystems
from hub.report.run import ReportFiles, report_folder, write_data_docs, write_report
from hub.store.db import make_engine, upgrade
from hub.store.reference import load_reference
from quality.periods import Period


@dataclass(frozen=True)
class Runtime:
    """What a job runs with.

    Attributes:
        resolve: finds a connection by id (``AIRFLOW_CONN_<ID>`` by default; Airflow's
            Connections inside a task).
        variables: Airflow's ``Variable.get`` inside a task, else ``None``: thresholds then come
            from their environment variables and defaults.
        database_url: the platform database (default: ``HUB_DATABASE_URL``).
    """

    resolve: ConnectionResolver = from_environment
    variables: VariableGetter | None = None
    database_url: str | None = None

    @property
    def settings(self) -> Settings:
        """The settings in force (``hub.core.settings``)."""
        return settings()

    @property
    def timezone(self) -> ZoneInfo:
        """The platform's time zone, whose days the jobs work in."""
        return self.settings.timezone

    @property
    def reports_dir(self) -> Path:
        """Where the jobs write their reports: ``<var>/reports``."""
        return self.settings.var_dir / "reports"

    def threshold(self, threshold: Threshold) -> int:
        """The value of ``threshold`` in force for this runtime."""
        return threshold.value_from(self.variables)

    @contextmanager
    def engine(self) -> Iterator[sa.Engine]:
        """The platform database, disposed of when the job is done."""
        engine = make_engine(self.database_url)
        try:
            yield engine
        finally:
            engine.dispose()


EXIT_FAILED = 1
"""``hub collect``'s exit code when a source's batch failed: nothing of it loaded."""
EXIT_PARTIAL = 3
"""``hub collect``'s exit code when none failed but a delivered file was rejected."""


@dataclass
class CollectOutcome:
    """What collecting a day did, source by source.

    Attributes:
        day: the logical day collected.
        batches: the batch of every source that could be read (succeeded or partial).
        failures: source id → why its batch failed (nothing of it was loaded).
    """

    day: date
    batches: list[BatchSummary] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Failed sources and rejected files, one sentence each."""
        failed = [f"source {source}: {error}" for source, error in self.failures.items()]
        rejected = [
            f"source {b.source_id}: batch {b.batch_id} partial: {'; '.join(b.errors)}"
            for b in self.batches
            if b.status == "partial"
        ]
        return failed + rejected

    @property
    def exit_code(self) -> int:
        """``EXIT_FAILED`` if a source failed, else ``EXIT_PARTIAL`` if a file was rejected."""
        if self.failures:
            return EXIT_FAILED
        return EXIT_PARTIAL if any(b.status == "partial" for b in self.batches) else 0

    def as_dict(self) -> dict:
        """Plain figures (XCom, JSON)."""
        return {
            "day": self.day.isoformat(),
            "batches": [b.as_dict() for b in self.batches],
            "failures": dict(self.failures),
            "warnings": list(self.warnings),
        }


def collect(
    day: date,
    runtime: Runtime,
    *,
    sources: Sequence[str] | None = None,
    received_at: datetime | None = None,
    on_source: Callable[[str], None] | None = None,
) -> CollectOutcome:
    """Collect ``sources`` (default: every enabled source) for logical day ``day``, one by one.

    A source that fails, or whose file cannot be read, is recorded and the others go on. An
    earlier batch of a source found to have died while running is marked failed and named in
    the warnings (the day's data it would have loaded is read by this batch).

    Args:
        day: the logical day: nothing updated after its end is read.
        runtime: connections, database.
        sources: source ids; each must be declared.
        received_at: the receipt instant stamped on the records (default: now).
        on_source: called with each source id before it is collected (progress display).
    """
    source_ids = list(sources) if sources else enabled_source_ids()
    outcome = CollectOutcome(day, warnings=receipt_warnings(day, received_at))
    with runtime.engine() as engine:
        for source_id in source_ids:
            if on_source is not None:
                on_source(source_id)
            try:
                batch = collect_source(
                    source_id,
                    day,
                    engine=engine,
                    resolve=runtime.resolve,
                    received_at=received_at,
                )
            except (CollectError, SourceConfigError) as exc:
                outcome.failures[source_id] = str(exc)
                continue
            outcome.batches.append(batch)
            outcome.warnings.extend(batch.died_before)
    return outcome


def receipt_warnings(day: date, received_at: datetime | None) -> list[str]:
    """Why the receipt stamped on ``day``'s records may be wrong for their timeliness.

    A delivery of day D arrives on D or in the night after it; collecting an older day stamps it
    as received now (``received_at`` is not given) or on another day than the collected one.
    """
    receipt = received_at or clock.now()
    receipt_day = local_day(receipt)
    if receipt_day in (day, day + timedelta(days=1)):
        return []
    given = "given" if received_at else "now, as no --received-at was given"
    return [
        f"collecting {day} with its records stamped received on {receipt_day} ({given}): "
        f"their timeliness counts to {receipt_day}; to replay a delivery's arrival, pass the "
        "instant it arrived (hub collect --received-at, or the DAG run's conf received_at)"
    ]


@dataclass
class ReconcileOutcome:
    """A day's reconciliation, its report and where the report was written."""

    summary: ReconcileSummary
    report: ReconcileReport
    files: dict[str, Path]
    reminder_days: int

    @property
    def problems(self) -> list[str]:
        """Systems that could not be read or pushed to (the rest was done)."""
        return [f"reconciliation of {self.summary.day}: {e}" for e in self.summary.errors]

    def as_dict(self) -> dict:
        """Plain figures (XCom, JSON)."""
        return {**self.summary.as_dict(), "reports": {k: str(p) for k, p in self.files.items()}}


def reconcile(day: date, runtime: Runtime) -> ReconcileOutcome:
    """Reconcile repairs between the platform, Credit China and GSXT for ``day``; report it."""
    reminder_days = runtime.threshold(REMINDER_DAYS)
    with runtime.engine() as engine:
        summary = reconcile_day(day, engine=engine, systems=RepairSystems(resolve=runtime.resolve))
        with engine.connect() as connection:
            report = build_report(connection, day, reminder_days)
    files = reconcile_report.write_report(report, runtime.reports_dir / "reconcile")
    return ReconcileOutcome(summary, report, files, reminder_days)


@dataclass
class FanoutOutcome:
    """A delivery run and the outbox after it."""

    run: DeliveryRun
    outbox: list[OutboxFigures]
    revived: int = 0

    @property
    def problems(self) -> list[str]:
        """Targets that could not be delivered to, and messages that became dead letters."""
        return self.run.problems

    def as_dict(self) -> dict:
        """Plain figures (XCom, JSON)."""
        return {
            "revived": self.revived,
            "targets": {target_id: vars(t) for target_id, t in self.run.targets.items()},
        }


def fanout(
    runtime: Runtime,
    *,
    targets: Sequence[Target] | None = None,
    retry_dead_letters: bool = False,
    lease_seconds: float | None = None,
) -> FanoutOutcome:
    """Deliver every due outbox message to ``targets`` (default: every push target).

    Args:
        runtime: connections, thresholds (lease and retry backoff), database.
        targets: the push targets to deliver to.
        retry_dead_letters: first make the targets' dead letters pending again.
        lease_seconds: how long a claimed batch is held (default: the threshold).
    """
    chosen = list(targets) if targets is not None else push_targets()
    schedule = RetrySchedule(
        base_seconds=runtime.threshold(FANOUT_RETRY_BASE_SECONDS),
        max_seconds=runtime.threshold(FANOUT_RETRY_MAX_SECONDS),
    )
    with runtime.engine() as engine:
        revived = (
            retry_dead(engine, [t.id for t in chosen], clock.now()) if retry_dead_letters else 0
        )
        run = deliver(
            engine,
            chosen,
            resolve=runtime.resolve,
            lease_seconds=lease_seconds or runtime.threshold(FANOUT_LEASE_SECONDS),
            schedule=schedule,
        )
        with engine.connect() as connection:
            figures = outbox_figures(connection, clock.now())
    chosen_ids = {t.id for t in chosen}
    return FanoutOutcome(run, [f for f in figures if f.target_id in chosen_ids], revived)


@dataclass
class PublishOutcome:
    """The days published for every pull site, and the sets the retention expired."""

    days: list[DayOutcome]
    expired: list[ExpiredSet]
    config: PublishSettings

    @property
    def problems(self) -> list[str]:
        """None: a publication that cannot be done raises (``DayOrderError``, ``PublishError``)."""
        return []

    def as_dict(self) -> dict:
        """Plain figures (XCom, JSON)."""
        return {
            "days": [
                {
                    "day": str(outcome.range.day),
                    "changes": outcome.range.n_changes,
                    "watermark": [outcome.range.watermark_from, outcome.range.watermark_to],
                    "sites": {s.site_id: [s.sequence, s.row_count, s.state] for s in outcome.sites},
                }
                for outcome in self.days
            ],
            "expired": [
                {"site": e.site_id, "sequence": e.sequence, "day": str(e.day)} for e in self.expired
            ],
        }


def publish(day: date, runtime: Runtime) -> PublishOutcome:
    """Publish ``day``'s delta files (and any unpublished day before it), then apply the retention.

    Raises:
        hub.publish.ranges.DayOrderError: the day has not ended, or lies before the first
            published day.
        hub.publish.publisher.PublishError: a set published before would now come out different,
            or a file or the database failed half-way (the next publication finishes the day).
    """
    config = publish_settings(runtime.threshold(DELTA_RETENTION_DAYS))
    with runtime.engine() as engine:
        days = publish_days(day, engine, config)
        expired = expire_old_files(engine, day, config)
    return PublishOutcome(days, expired, config)


def data_docs(period: Period, runtime: Runtime, folder: Path | None = None) -> int:
    """Run the GE checkpoint of every department on ``period`` and build its Data Docs.

    Seconds per checkpoint (Great Expectations is imported); the report of the period links the
    Data Docs of its folder (default: ``<var>/reports/quality/<period>``). Returns the number of
    checkpoints run.
    """
    with runtime.engine() as engine:
        return len(write_data_docs(period, folder or report_folder(period), engine))


def report(period: Period, runtime: Runtime, folder: Path | None = None) -> ReportFiles:
    """Write ``period``'s data-quality report (HTML, XLSX, JSON) into ``folder``.

    The folder defaults to ``<var>/reports/quality/<period>``.
    """
    with runtime.engine() as engine:
        return write_report(period, folder or report_folder(period), engine)


def check_source(source_id: str, runtime: Runtime, records: int = 20) -> SourceCheck:
    """Check a source before it runs: its file, its connection, its first page read, not loaded."""
    return preview.check_source(source_id, runtime.resolve, records)


def init_db(runtime: Runtime) -> dict[str, int]:
    """Create or migrate the platform database and load the reference data; rows per table."""
    with runtime.engine() as engine:
        upgrade(engine)
        with engine.begin() as connection:
            return load_reference(connection)


def status(
    runtime: Runtime, *, recent: int = 3, stale_pull_days: int = STALE_PULL_DAYS
) -> PlatformStatus:
    """Where the platform stands now (``hub.ops.status``)."""
    with runtime.engine() as engine:
        return platform_status(engine, clock.now(), recent=recent, stale_pull_days=stale_pull_days)


def case(subject: str, runtime: Runtime) -> dict:
    """The whole repair case of a subject, by credit code or ID number (``hub.ops.case``)."""
    with runtime.engine() as engine, engine.connect() as connection:
        return case_of(connection, subject)
