"""The sandbox province's daily cycle through the real DAGs, run as the scheduler would run them.

For each day D of a run:

1. the agencies deliver D, on the working days of the State Council calendar (a holiday brings
   nothing, a make-up Saturday brings a working day's records), and Credit China and GSXT
   decide D's repairs;
2. on D+1 the DAGs run in the order their schedules and Assets chain them, each as one whole
   ``dag.test()`` run (every task, with its retries, XComs and Asset events, through Airflow's
   metadata database, without a scheduler process): ``collect_credit_records``, the
   ``quality_report`` of the day the records arrived, ``reconcile_repairs``, ``fanout_removals``
   and ``publish_deltas``.

The platform's clock (``hub.core.clock``) reads, during each run, the time the scheduler would have
started it, so receipt times, status changes and delta-file days fall on the simulated days.
Airflow itself is imported only once its home is set (``AirflowRunner``), which keeps its
metadata database and logs under the run's folder instead of ``~/airflow``.
"""

from __future__ import annotations

import os
import time as timer
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from hub.core import clock
from hub.core.settings import PROJECT_ROOT, settings
from hub.core.workdays import WorkCalendar
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver
from sandbox.repair_scenario import RepairScenario, decide_repairs
from sandbox.services import serve_province

DAGS_FOLDER = PROJECT_ROOT / "dags"
PLUGINS_FOLDER = PROJECT_ROOT / "plugins"

DAILY_RUNS: tuple[tuple[str, time], ...] = (
    ("collect_credit_records", time(0, 5)),
    ("quality_report", time(0, 30)),
    ("reconcile_repairs", time(1, 0)),
    ("fanout_removals", time(1, 30)),
    ("publish_deltas", time(2, 0)),
)
"""Each DAG of the cycle and the local time on D+1 at which the platform sees it start."""


@dataclass(frozen=True)
class DagRunResult:
    """One DAG run of the cycle: its day, final state, wall-clock seconds and failed tasks."""

    dag_id: str
    day: date
    state: str
    seconds: float
    failed_tasks: tuple[str, ...] = ()


@dataclass
class CycleResult:
    """What a cycle ran: the days delivered, every DAG run in order, what the sites received.

    Attributes:
        days: the days run.
        delivery_days: the days the agencies delivered (the working days).
        runs: every DAG run, in order.
        received: each push target's receiver counts at the end (``Receiver.stats``).
    """

    days: list[date]
    delivery_days: list[date] = field(default_factory=list)
    runs: list[DagRunResult] = field(default_factory=list)
    received: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def failed_runs(self) -> list[DagRunResult]:
        """The runs that did not succeed."""
        return [run for run in self.runs if run.state != "success"]


def airflowenvironment(home: Path) -> dict[str, str]:
    """The environment giving Airflow its own home, metadata database and quiet logs in ``home``."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }


class AirflowRunner:
    """Runs the DAGs of ``dags/`` with ``dag.test()`` against Airflow's metadata database."""

    def __init__(self, dagbag: Any) -> None:
        """Run the DAGs of ``dagbag``, in an Airflow already configured and migrated."""
        if dagbag.import_errors:
            raise RuntimeError(f"DAG files failed to import: {dagbag.import_errors}")
        self._dagbag = dagbag

    @classmethod
    def in_home(cls, home: Path) -> AirflowRunner:
        """An Airflow of its own in ``home``, migrated and prepared (``hub_airflow.testing``).

        Its agency pools are made. Call it before anything imports
        Airflow in this process: Airflow reads its home once.
        """
        home.mkdir(parents=True, exist_ok=True)
        os.environ.update(airflowenvironment(home))
        # Airflow's in-process execution API uses Starlette's test client, which warns about httpx.
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from airflow.dag_processing.dagbag import DagBag
        from airflow.utils import db

        from hub_airflow.testing import prepare_local_airflow

        db.initdb()
        prepare_local_airflow()
        return cls(DagBag(dag_folder=str(DAGS_FOLDER)))

    def run(
        self, dag_id: str, logical_date: datetime, conf: Mapping[str, Any] | None = None
    ) -> tuple[str, tuple[str, ...]]:
        """Run ``dag_id`` once for ``logical_date``; its final state and the tasks that failed."""
        dag = self._dagbag.get_dag(dag_id)
        if dag is None:
            raise KeyError(f"no DAG {dag_id!r} in {DAGS_FOLDER}")
        run = dag.test(logical_date=logical_date, run_conf=dict(conf) if conf else None)
        failed = tuple(
            sorted(
                ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
                for ti in run.get_task_instances()
                if ti.state not in ("success", "skipped")
            )
        )
        return str(run.state), failed


def clock_at(instant: datetime) -> AbstractContextManager[None]:
    """Make the platform's clock read ``instant`` (and run on) for the block."""
    return environment(clock.offset_to(instant))


def _run_conf(dag_id: str, day: date) -> dict[str, Any] | None:
    # Collection's Asset starts the quality report of the day the platform received the records.
    if dag_id == "quality_report":
        return {"period": (day + timedelta(days=1)).isoformat()}
    return None


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then put back what was there.

    The hub's settings are read again on both sides, as they come from the environment.
    """
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings.cache_clear()


def _run_dags(
    runner: AirflowRunner,
    day: date,
    clock_for: Callable[[time], datetime],
    result: CycleResult,
    on_run: Callable[[DagRunResult], None],
) -> None:
    """Run the cycle's DAGs for ``day``, the platform's clock at ``clock_for(start)`` for each."""
    next_day = day + timedelta(days=1)
    logical_date = datetime.combine(next_day, time(), tzinfo=settings().timezone)
    for dag_id, start in DAILY_RUNS:
        began = timer.monotonic()
        with clock_at(clock_for(start)):
            state, failed = runner.run(dag_id, logical_date, _run_conf(dag_id, day))
        outcome = DagRunResult(dag_id, day, state, timer.monotonic() - began, failed)
        result.runs.append(outcome)
        on_run(outcome)


def run_cycle(
    runner: AirflowRunner,
    config: SandboxConfig,
    days: list[date],
    scenario: RepairScenario | None = None,
    on_run: Callable[[DagRunResult], None] = lambda _: None,
) -> CycleResult:
    """Serve the province and, for each of ``days`` in order, deliver, decide and run the DAGs.

    The platform database (``HUB_DATABASE_URL``) must be migrated with its reference data; the
    province's connections are put in the environment for the run and the systems stopped
    after it, also when it fails.

    Args:
        runner: the Airflow the DAGs run in.
        config: the sandbox province (made by ``sandbox.deliver.init_sandbox``).
        days: consecutive days to run.
        scenario: how Credit China and GSXT decide repairs (default: ``RepairScenario()``).
        on_run: called after every DAG run (progress display).
    """
    calendar = WorkCalendar.load()
    timezone = settings().timezone
    result = CycleResult(days=list(days))
    with serve_province(config) as province, environment(province.connection_env()):
        for day in days:
            if calendar.is_workday(day):
                deliver(config, day)
                result.delivery_days.append(day)
            decide_repairs(config, day, scenario)
            next_day = day + timedelta(days=1)
            _run_dags(
                runner,
                day,
                lambda start, d=next_day: datetime.combine(d, start, tzinfo=timezone),
                result,
                on_run,
            )
        result.received = province.receivers.stats()
    return result


def backfill(
    runner: AirflowRunner,
    config: SandboxConfig,
    days: list[date],
    at: datetime,
    on_run: Callable[[DagRunResult], None] = lambda _: None,
) -> CycleResult:
    """Run the DAGs again for past ``days``, as ``airflow backfill create`` would, at ``at``.

    Nothing new arrives: the agencies deliver nothing and Credit China and GSXT decide nothing;
    the platform's clock reads ``at`` (the backfill runs today, not on the days it covers). What
    the sites receive during the backfill is in the result.
    """
    result = CycleResult(days=list(days))
    with serve_province(config) as province, environment(province.connection_env()):
        for day in days:
            _run_dags(runner, day, lambda _: at, result, on_run)
        result.received = province.receivers.stats()
    return result
