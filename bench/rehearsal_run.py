"""The rehearsal's machinery: a province at scale, run day by day as a scheduler would, with faults.

Each day D, with the platform clock (``hub.core.clock``) set to D+1 01:00 Asia/Shanghai, when the
daily DAGs start: the sandbox delivers D, Credit China and GSXT decide D's repairs, every source
is collected for D (one after the other: on the shared two cores, worker processes were
slower), the repairs are reconciled, the outbox is pushed to the loopback receivers and D's delta
files are published. The quality scorecard is not run per day (it is a report over the store,
run by the caller at the end).
After the last day comes one more morning: the fan-out runs again and the day after the last is
published, so every change of the last reconciliation is in a delta file.

The faults (``FaultPlan``) fall on fixed days, placed by the run's length: a source down for
three days, a receiver down for a day, a file cut off in transfer (dropped again whole two days
later), and a month re-sent into the exchange database.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.collect.run import CollectError, collect_source
from hub.collect.sources import enabled_sources
from hub.core import clock
from hub.core.settings import settings
from hub.fanout.deliver import deliver as fan_out
from hub.publish.config import PublishSettings, publish_settings
from hub.publish.publisher import publish
from hub.reconcile.run import reconcile_day
from hub.reconcile.systems import RepairSystems
from hub.store.db import make_engine, upgrade
from hub.store.reference import load_reference
from sandbox.agencies import AGENCIES, Agency, Faults
from sandbox.config import SandboxConfig
from sandbox.cycle import environment
from sandbox.deliver import deliver, init_sandbox
from sandbox.province import Province
from sandbox.repair_scenario import decide_repairs
from sandbox.scale import drop_again, province_agencies, registered, resend_rows, truncate_drop
from sandbox.scale import write_source_files as write_scale_sources
from sandbox.services import ProvinceServices, serve_province

STEPS = ("deliver", "decide", "collect", "reconcile", "fanout", "publish")
DOWN_SOURCE = "prov_health_penalty_api"
TRUNCATED_SOURCE = "prov_transport_penalty_file"
RESENT_SOURCE = "prov_penalty_exchange_db"
RUN_HOUR = clock_time(1, 0)
"""When the daily DAGs start, local time, on the day after the day they cover."""


@dataclass(frozen=True)
class Options:
    """What to rehearse.

    Attributes:
        days: how many days, from ``start``.
        departments: how many departments (``sandbox.scale.DEPARTMENT_ORDER``).
        records_per_day: new records per calendar day, on average.
        seed: the sandbox seed.
        start: the first day.
        down_receiver: the push target that is down for a day.
        retry_backoff_seconds: the HTTP retry backoff of the API sources and the push targets
            (``None``: their own settings; tests shorten the down days' waits with it).
    """

    days: int = 365
    departments: int = 40
    records_per_day: int = 5500
    seed: int = 20260101
    start: date = date(2026, 1, 1)
    down_receiver: str = "hangzhou"
    retry_backoff_seconds: float | None = None


@dataclass(frozen=True)
class FaultPlan:
    """Which fault falls on which day (indexes from the first day)."""

    source_down: tuple[int, ...]
    receiver_down: int
    truncated: int
    dropped_again: int
    resend_on: int
    resent_from: date
    resent_to: date

    @classmethod
    def for_run(cls, options: Options) -> FaultPlan:
        """The faults of a run, spread over its length (at least 8 days)."""
        n = options.days
        if n < 8:
            raise ValueError(f"a rehearsal with its faults needs at least 8 days, not {n}")
        first_down, truncated, resend_on = max(1, n // 4), max(2, n * 2 // 5), n * 3 // 4
        month_end = (options.start.replace(day=28) + timedelta(days=4)).replace(day=1)
        resent_to = min(month_end - timedelta(days=1), options.start + timedelta(resend_on - 1))
        return cls(
            source_down=tuple(range(first_down, first_down + 3)),
            receiver_down=n // 2,
            truncated=truncated,
            dropped_again=truncated + 2,
            resend_on=resend_on,
            resent_from=options.start,
            resent_to=resent_to,
        )

    def as_dict(self, start: date, down_receiver: str) -> dict[str, Any]:
        """The plan with dates, for the figures."""

        def on(index: int) -> str:
            return (start + timedelta(days=index)).isoformat()

        return {
            "source_down": {"source": DOWN_SOURCE, "days": [on(i) for i in self.source_down]},
            "receiver_down": {"target": down_receiver, "day": on(self.receiver_down)},
            "truncated_file": {
                "source": TRUNCATED_SOURCE,
                "day": on(self.truncated),
                "dropped_again": on(self.dropped_again),
            },
            "resent_month": {
                "source": RESENT_SOURCE,
                "on": on(self.resend_on),
                "from": self.resent_from.isoformat(),
                "to": self.resent_to.isoformat(),
            },
        }


@dataclass
class DayFigures:
    """What one day did and how long each step took."""

    day: date
    seconds: dict[str, float] = field(default_factory=dict)
    records: int = 0
    rows: int = 0
    batches: list[dict[str, Any]] = field(default_factory=list)
    collect_failures: dict[str, str] = field(default_factory=dict)
    source_seconds: dict[str, float] = field(default_factory=dict)
    reconcile: dict[str, Any] = field(default_factory=dict)
    deliveries: int = 0
    delivery_problems: list[str] = field(default_factory=list)
    store_records: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready figures."""
        return {
            "day": self.day.isoformat(),
            "seconds": self.seconds,
            "total_seconds": round(sum(self.seconds.values()), 3),
            "records": self.records,
            "rows": self.rows,
            "store_records": self.store_records,
            "collect_failures": self.collect_failures,
            "source_seconds": self.source_seconds,
            "reconcile_status": self.reconcile.get("status"),
            "reconcile_seconds": self.reconcile.get("seconds", {}),
            "status_changes": sum(self.reconcile.get("status_changes", {}).values()),
            "deliveries": self.deliveries,
            "delivery_problems": self.delivery_problems,
        }


@dataclass
class FaultLog:
    """What the injected faults did, for the audit."""

    resent_rows: int = 0
    truncated_file: str | None = None
    dropped_again_file: str | None = None


def prepare_database(url: str) -> sa.Engine:
    """Migrate the platform database at ``url`` and load the reference data."""
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        load_reference(connection)
    return engine


class Rehearsal:
    """A province served on loopback and the platform working on it, day by day.

    Use as a context manager: it sets the hub's environment (var dir, source registry, platform
    database, connections, clock), registers and serves the province, and undoes all of it.
    """

    def __init__(self, options: Options, database_url: str, workdir: Path) -> None:
        self.options = options
        self.plan = FaultPlan.for_run(options)
        self.workdir = workdir
        self.database_url = database_url
        self.agencies = province_agencies(options.departments, options.records_per_day)
        self.config = SandboxConfig(workdir / "sandbox", seed=options.seed)
        self.faults = FaultLog()
        self.days: list[DayFigures] = []
        self.closing: dict[str, Any] = {}
        self._whole_file: bytes | None = None
        self._stack = contextlib.ExitStack()
        self._province = Province(options.seed)
        self.engine: sa.Engine
        self.province: ProvinceServices
        self.publishing: PublishSettings

    def __enter__(self) -> Rehearsal:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def _start(self) -> None:
        sources_dir = self.workdir / "sources"
        backoff = self.options.retry_backoff_seconds
        retry = {} if backoff is None else {"backoff_seconds": backoff}
        write_scale_sources(self.agencies, sources_dir, retry)
        base = {
            "HUB_VAR_DIR": str(self.workdir / "var"),
            "HUB_SOURCES_DIR": str(sources_dir),
            "HUB_DATABASE_URL": self.database_url,
            clock.OFFSET_VARIABLE: "0",  # moved day by day, put back afterwards
        }
        self._stack.enter_context(environment(base))
        self._stack.enter_context(registered(self.agencies))
        init_sandbox(self.config)
        self.engine = prepare_database(self.database_url)
        self._stack.callback(self.engine.dispose)
        no_random_faults = {a.source_id: Faults() for a in AGENCIES.values()}
        self.province = self._stack.enter_context(
            serve_province(self.config, agency_faults=no_random_faults)
        )
        connections = self.province.connection_env() | self.province.receivers.connection_env(
            **retry
        )
        self._stack.enter_context(environment(connections))
        retention = self.options.days + 2  # every set stays on disk for the audit
        self.publishing = replace(publish_settings(), retention_days=retention)

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    @property
    def source_ids(self) -> list[str]:
        """The sources the platform collects."""
        return [s.id for s in enabled_sources()]

    def agency(self, source_id: str) -> Agency:
        """The scaled agency delivering ``source_id``."""
        return next(a for a in self.agencies if a.source_id == source_id)

    def run(self, progress: Any = None) -> None:
        """Run every day, then the closing morning; ``progress(figures)`` after each day."""
        for index in range(self.options.days):
            figures = self.run_day(index)
            if progress:
                progress(figures)
        self.close()

    def run_day(self, index: int) -> DayFigures:
        """Run the day ``index`` (0: the first) through every step, faults included."""
        day = self.options.start + timedelta(days=index)
        figures = DayFigures(day)
        self._set_clock(day + timedelta(days=1))
        with _timed(figures, "deliver"):
            self._deliver(index, day, figures)
        with _timed(figures, "decide"):
            decide_repairs(self.config, day)
        with _timed(figures, "collect"):
            self._collect(index, day, figures)
        with _timed(figures, "reconcile"):
            figures.reconcile = reconcile_day(
                day, engine=self.engine, systems=RepairSystems()
            ).as_dict()
        with _timed(figures, "fanout"):
            self._fan_out(index, figures)
        with _timed(figures, "publish"):
            publish(day, engine=self.engine, config=self.publishing)
        previous = self.days[-1].store_records if self.days else 0
        figures.store_records = previous + sum(b["inserted"] for b in figures.batches)
        self.days.append(figures)
        return figures

    def close(self) -> None:
        """The morning after the last day: push what is due, publish the day after the last."""
        after = self.options.start + timedelta(days=self.options.days)
        self._set_clock(after + timedelta(days=1))
        started = time.perf_counter()
        run = fan_out(self.engine)
        publish(after, engine=self.engine, config=self.publishing)
        self.closing = {
            "day": after.isoformat(),
            "deliveries": run.delivered,
            "problems": run.problems,
            "seconds": round(time.perf_counter() - started, 3),
        }

    def _set_clock(self, day: date) -> None:
        instant = datetime.combine(day, RUN_HOUR, tzinfo=settings().timezone)
        os.environ.update(clock.offset_to(instant))

    def _deliver(self, index: int, day: date, figures: DayFigures) -> None:
        source_ids = [a.source_id for a in self.agencies]
        deliveries = deliver(self.config, day, source_ids, province=self._province)
        figures.records = sum(d.truth["records"] for d in deliveries)
        figures.rows = sum(d.truth["rows"] for d in deliveries)
        plan, truncated_agency = self.plan, self.agency(TRUNCATED_SOURCE)
        if index == plan.truncated:
            self._whole_file = truncate_drop(self.config, truncated_agency, day)
            self.faults.truncated_file = f"{truncated_agency.channel.file_name(f'{day:%Y%m%d}')}"
        if index == plan.dropped_again and self._whole_file is not None:
            cut_day = self.options.start + timedelta(days=plan.truncated)
            again = drop_again(self.config, truncated_agency, cut_day, self._whole_file, "whole")
            self.faults.dropped_again_file = again.name
        if index == plan.resend_on:
            agency = self.agency(RESENT_SOURCE)
            self.faults.resent_rows = resend_rows(
                self.config, agency, plan.resent_from, plan.resent_to, day
            )

    def _collect(self, index: int, day: date, figures: DayFigures) -> None:
        down = index in self.plan.source_down
        self.province.agencies.set_faults(DOWN_SOURCE, mode="down" if down else "normal")
        outcomes = [_collect_one(s, day, self.engine) for s in self.source_ids]
        for source_id, (outcome, seconds) in zip(self.source_ids, outcomes, strict=True):
            figures.source_seconds[source_id] = seconds
            if isinstance(outcome, str):
                figures.collect_failures[source_id] = outcome
            else:
                figures.batches.append(outcome)

    def _fan_out(self, index: int, figures: DayFigures) -> None:
        receivers = self.province.receivers
        down = index == self.plan.receiver_down
        target = self.options.down_receiver
        receivers.set_faults(target, mode="down" if down else "normal")
        run = fan_out(self.engine)
        receivers.set_faults(target, mode="normal")
        figures.deliveries = run.delivered
        figures.delivery_problems = run.problems
        with receivers.lock:  # the rehearsal reads counts, not the request bodies kept for tests
            for receiver in receivers.receivers.values():
                receiver.bodies.clear()


def _collect_one(source_id: str, day: date, engine: sa.Engine) -> tuple[dict | str, float]:
    """A source's batch figures (its error when it failed) and how long it took."""
    started = time.perf_counter()
    try:
        outcome: dict | str = collect_source(source_id, day, engine=engine).as_dict()
    except CollectError as exc:
        outcome = str(exc)
    return outcome, round(time.perf_counter() - started, 3)


@contextlib.contextmanager
def _timed(figures: DayFigures, step: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        figures.seconds[step] = round(time.perf_counter() - started, 3)
