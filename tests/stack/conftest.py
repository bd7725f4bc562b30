"""A real stack (``./dev stack up``) and two sandbox days run through its scheduler.

The module's stack starts once per executor (``--fresh``: its databases ``stack_test_airflow`` and
``stack_test_credit`` are dropped and made again on the PostgreSQL server of
``HUB_TEST_POSTGRES_URL``), in a temporary folder, on
``HUB_STACK_TEST_PORT`` (default 18180) and the ports after it; ``./dev stack down`` stops it
afterwards. Two past days are run as an operator back-filling them would: every DAG unpaused,
collection triggered over the REST API with a JWT, the rest following on their Assets, publishing
triggered, each wait bounded. (A run across midnight in Shanghai, 16:00 UTC, would let the
scheduler start the new day's scheduled runs in the middle of the back-fill.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa

from hub.core import clock
from hub_airflow import stack
from hub_airflow.collect import worker_queues
from tests.conftest import POSTGRES_ADMIN_URL
from tests.stack.api import TERMINAL, AirflowApi, wait_for
from tests.webhook import loopback_webhook

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
PORT = int(os.environ.get("HUB_STACK_TEST_PORT", "18180"))
STEP_SECONDS = 300
"""The longest any one DAG run (or the alert) may take before the test gives up."""
PARKED = ("collect_credit_records", "reconcile_repairs", "publish_deltas", "quality_report")
"""The DAGs a clock schedules: unpaused with catchup off, each would at once run its latest
interval (yesterday, last month), which is not a day of the back-fill."""
ALERT_TOKEN = "oncall-token"
DATABASE_PREFIX = "stack_test_"
"""The test's databases: ``stack_test_airflow`` and ``stack_test_credit``, never a server's own."""


@dataclass
class Stack:
    """A running stack: where it lives, its components' environment, its API."""

    layout: stack.Layout
    environment: dict[str, str]
    api: AirflowApi
    alerts: list[dict]
    executor: str
    second_host_log: Path | None = None
    _engine: sa.Engine | None = None

    def hub(self, *argv: str) -> str:
        """Run a ``hub`` command against the stack (its settings); its output."""
        done = subprocess.run(
            [str(PROJECT_ROOT / ".venv" / "bin" / "hub"), *argv],
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])
        return done.stdout

    def engine(self) -> sa.Engine:
        """The platform database (one engine, disposed of when the stack stops)."""
        if self._engine is None:
            self._engine = sa.create_engine(self.environment["HUB_DATABASE_URL"])
        return self._engine

    def connections(self) -> dict[str, dict]:
        """The sandbox's connections, as Airflow reads them."""
        path = Path(self.environment["AIRFLOW__SECRETS__BACKEND_KWARG__CONNECTIONS_FILE_PATH"])
        return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Day:
    """One back-filled day: its runs, by DAG."""

    day: date
    runs: dict[str, list[dict]] = field(default_factory=dict)


@dataclass
class TwoDays:
    """What the two days left: the stack, the days' runs, the alert's run, the seconds taken."""

    stack: Stack
    days: list[Day]
    deadline_run: dict
    received: dict[str, dict[str, Any]]
    seconds: float


def days_to_run() -> list[date]:
    """Two consecutive past days whose runs' logical dates (D+1 00:00) differ from the parked
    runs' (yesterday 00:00)."""
    today = datetime.now(SHANGHAI).date()
    return [today - timedelta(days=4), today - timedelta(days=3)]


def start_stack(folder: Path, executor: str, settings: dict[str, str]) -> Stack:
    """``./dev stack up --fresh`` in ``folder``; the stack, or a failure with its output."""
    server = sa.make_url(POSTGRES_ADMIN_URL)
    environment = os.environ | {
        "HUB_STACK_DIR": str(folder),
        "HUB_STACK_PORT": str(PORT),
        "HUB_STACK_POSTGRES": f"{server.host}:{server.port or 5432}",
        "HUB_STACK_POSTGRES_ADMIN_URL": POSTGRES_ADMIN_URL,
        "HUB_STACK_DB_PREFIX": DATABASE_PREFIX,
        **settings,
    }
    for name in ("HUB_CLOCK_OFFSET_SECONDS", "HUB_DATABASE_URL", "HUB_VAR_DIR", "AIRFLOW_HOME"):
        environment.pop(name, None)
    done = subprocess.run(
        [str(PROJECT_ROOT / "dev"), "stack", "up", "--fresh", "--executor", executor],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            patch.delenv(name)
        for name, value in environment.items():
            patch.setenv(name, value)
        layout = stack.Layout.from_environment()
        processes = stack.process_environment(layout, executor)
        values = stack.stack_values(layout, executor)
    api = AirflowApi(layout.base_url, stack.token(layout, values))
    return Stack(layout, processes, api, [], executor)


NAMESPACE = "hubworker"
HOST_ADDRESS, WORKER_ADDRESS = "10.231.0.1", "10.231.0.2"
SECOND_HOST_QUEUE = "collect_scjg"
"""The one agency group the second host collects: the stack's own worker leaves its queue alone,
as ``AIRFLOW_WORKER_QUEUES`` splits the queues between hosts (docs/deployment.md)."""


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=30)


@contextmanager
def second_host(running: Stack) -> Iterator[Path]:
    """A second Celery worker in its own network namespace: another host on this machine, taking
    one agency group's queue (``SECOND_HOST_QUEUE``).

    A veth pair joins it to the host; it reaches, through two port relays (``forward.py``), only
    PostgreSQL, Redis, the api-server (its Execution API) and the sandbox's systems (the agencies,
    Credit China and GSXT, the sites, which stand for machines outside), on the same addresses as
    the other components, so it runs with the stack's settings unchanged. The files are shared
    (``HUB_VAR_DIR``, the shared storage). Yields the worker's log.
    """
    server = sa.make_url(POSTGRES_ADMIN_URL)
    layout = running.layout
    ports = [server.port or 5432, 6379, layout.port]
    ports += [layout.sandbox_port + n for n in range(7)]
    started: list[subprocess.Popen] = []
    log = layout.folder / "logs" / "second-host-worker.log"
    forward = [sys.executable, str(Path(__file__).with_name("forward.py"))]
    in_namespace = ["ip", "netns", "exec", NAMESPACE]
    _ip("netns", "add", NAMESPACE)
    try:
        _ip("link", "add", "hubw-host", "type", "veth", "peer", "name", "hubw-ns")
        _ip("link", "set", "hubw-ns", "netns", NAMESPACE)
        _ip("addr", "add", f"{HOST_ADDRESS}/30", "dev", "hubw-host")
        _ip("link", "set", "hubw-host", "up")
        for argv in (
            ("addr", "add", f"{WORKER_ADDRESS}/30", "dev", "hubw-ns"),
            ("link", "set", "hubw-ns", "up"),
            ("link", "set", "lo", "up"),
        ):
            _ip("netns", "exec", NAMESPACE, "ip", *argv)
        relays = [
            [*forward, HOST_ADDRESS, "127.0.0.1", *map(str, ports)],
            [*in_namespace, *forward, "127.0.0.1", HOST_ADDRESS, *map(str, ports)],
        ]
        worker = [
            *in_namespace,
            str(PROJECT_ROOT / ".venv" / "bin" / "airflow"),
            "celery",
            "worker",
            "--queues",
            SECOND_HOST_QUEUE,
        ]
        worker += ["--celery-hostname", f"second-host@{WORKER_ADDRESS}"]
        environment = running.environment | {
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(layout.port + 5)
        }
        with log.open("ab") as output:
            for argv in [*relays, worker]:
                started.append(
                    subprocess.Popen(
                        argv,
                        env=environment,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
                time.sleep(1)  # each relay listens before the next needs it
        ping = [str(PROJECT_ROOT / ".venv" / "bin" / "celery"), *stack.CELERY_PING[1:]]
        ping += ["-d", f"second-host@{WORKER_ADDRESS}"]

        def answers() -> bool:
            done = subprocess.run(ping, env=environment, capture_output=True, timeout=60)
            return done.returncode == 0

        wait_for("the second host's worker answers through the broker", answers, 120, every=3)
        yield log
    finally:
        for process in reversed(started):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        subprocess.run(["ip", "link", "delete", "hubw-host"], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "delete", NAMESPACE], capture_output=True, check=False)


def stop_stack(folder: Path) -> None:
    """``./dev stack down`` for the stack in ``folder``, then drop the test's databases."""
    environment = os.environ | {"HUB_STACK_DIR": str(folder), "HUB_STACK_PORT": str(PORT)}
    subprocess.run(
        [str(PROJECT_ROOT / "dev"), "stack", "down"], env=environment, timeout=180, check=False
    )
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in ("airflow", "credit"):
            connection.execute(
                sa.text(f"DROP DATABASE IF EXISTS {DATABASE_PREFIX}{name} WITH (FORCE)")
            )
    admin.dispose()


def park_schedules(api: AirflowApi) -> None:
    """Give each clock-scheduled DAG's next scheduled run a finished stand-in, so unpausing it
    does not start its latest interval (the scheduler skips a run whose logical date exists)."""
    for dag_id in PARKED:
        logical_date = api.json("GET", f"/dags/{dag_id}")["next_dagrun_logical_date"]
        body = {"logical_date": logical_date, "note": "stands in for the scheduled run"}
        run = api.json("POST", f"/dags/{dag_id}/dagRuns", json=body)
        api.json("PATCH", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}", json={"state": "success"})


def _finished(api: AirflowApi, dag_id: str, run: dict) -> dict:
    """The run once it has finished; a failure naming its failed tasks otherwise."""
    path = f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}"
    done = wait_for(
        f"{dag_id} run {run['dag_run_id']}",
        lambda: (found := api.json("GET", path))["state"] in TERMINAL and found,
        STEP_SECONDS,
    )
    assert done["state"] == "success", (dag_id, done["dag_run_id"], api.failures(dag_id, done))
    return done


def _asset_runs(api: AirflowApi, dag_id: str, count: int) -> list[dict]:
    """The first ``count`` Asset-triggered runs of ``dag_id``, once all of them have finished."""

    def finished() -> list[dict] | None:
        runs = [r for r in api.runs(dag_id) if r["run_type"] == "asset_triggered"]
        return runs if len(runs) >= count and all(r["state"] in TERMINAL for r in runs) else None

    runs = wait_for(f"{count} Asset-triggered runs of {dag_id}", finished, STEP_SECONDS)
    for run in runs:
        assert run["state"] == "success", (dag_id, run["dag_run_id"], api.failures(dag_id, run))
    return runs[:count]


def at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """``day`` at a time of day in Shanghai."""
    return datetime.combine(day, clock_time(hour, minute), tzinfo=SHANGHAI)


def run_days(running: Stack, days: list[date]) -> list[Day]:
    """Back-fill ``days`` through the scheduler, each as its night would run it."""
    api = running.api
    park_schedules(api)
    for dag in api.json("GET", "/dags?limit=100")["dags"]:
        api.json("PATCH", f"/dags/{dag['dag_id']}", json={"is_paused": False})
    clock_file = Path(running.environment[clock.OFFSET_FILE_VARIABLE])
    done = []
    for number, day in enumerate(days, start=1):
        night = day + timedelta(days=1)
        clock.write_offset(clock_file, at(night, 0, 5))
        running.hub("sandbox", "deliver", "--date", day.isoformat())
        running.hub("sandbox", "repairs", "decide", "--date", day.isoformat())
        result = Day(day)
        collect = api.trigger("collect_credit_records", at(night))
        result.runs["collect_credit_records"] = [_finished(api, "collect_credit_records", collect)]
        for dag_id in ("quality_report", "reconcile_repairs", "fanout_removals"):
            result.runs[dag_id] = _asset_runs(api, dag_id, number)[-1:]
        publish = api.trigger("publish_deltas", at(night))
        result.runs["publish_deltas"] = [_finished(api, "publish_deltas", publish)]
        done.append(result)
    return done


def settle(api: AirflowApi) -> None:
    """Wait until no run of any DAG is queued or running."""

    def quiet() -> bool:
        runs = api.json("GET", "/dags/~/dagRuns?state=queued&state=running&limit=100")
        return runs["total_entries"] == 0

    wait_for("every run finished", quiet, STEP_SECONDS)


def receivers(running: Stack) -> dict[str, dict[str, Any]]:
    """Each push target's counts, from its simulated receiver."""
    counts = {}
    for conn_id, connection in running.connections().items():
        if conn_id.startswith("hub_target_"):
            url = connection["extra"]["base_url"].rstrip("/")
            headers = {"Authorization": f"Bearer {connection['password']}"}
            answer = requests.get(f"{url}/_admin/stats", headers=headers, timeout=10)
            answer.raise_for_status()
            counts[answer.json()["target"]] = answer.json()
    return counts


def two_days_through(folder: Path, executor: str) -> Iterator[TwoDays]:
    """Start a stack in ``folder``, run two days and the late reconciliation, stop it after."""
    with loopback_webhook() as (url, alerts):
        days = days_to_run()
        settings = {
            "AIRFLOW_CONN_HUB_ALERTS": json.dumps(
                {"conn_type": "http", "password": ALERT_TOKEN, "extra": {"base_url": url}}
            ),
            "HUB_PUBLISH_START_DAY": days[0].isoformat(),
        }
        if executor == "celery":  # the second host takes its queue (this shell's over stack.env)
            queues = [queue for queue in worker_queues() if queue != SECOND_HOST_QUEUE]
            settings["AIRFLOW_WORKER_QUEUES"] = ",".join(queues)
        began = time.monotonic()
        running = None
        try:
            running = start_stack(folder, executor, settings)
            running.alerts = alerts
            with ExitStack() as hosts:
                if executor == "celery":
                    running.second_host_log = hosts.enter_context(second_host(running))
                ran = run_days(running, days)
            # The reconciliation of the last day run again now, long after its deadline (D+1 08:00
            # counted from the logical date D+1 00:00: D+2 08:00): the scheduler must alert.
            late = running.api.trigger("reconcile_repairs", at(days[-1] + timedelta(days=1)))
            wait_for("the deadline alert", lambda: alerts, STEP_SECONDS)
            late = _finished(running.api, "reconcile_repairs", late)
            settle(running.api)
            yield TwoDays(running, ran, late, receivers(running), time.monotonic() - began)
        finally:
            if running is not None and running._engine is not None:
                running._engine.dispose()
            stop_stack(folder)


EXECUTORS = [
    name.strip() for name in os.environ.get("HUB_STACK_EXECUTORS", "local,celery").split(",")
]
"""The executors the stack tests run with (``HUB_STACK_EXECUTORS``, default both)."""


@pytest.fixture(scope="module", params=EXECUTORS)
def two_days(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TwoDays]:
    """Two sandbox days through a stack whose tasks run on the LocalExecutor, then on Celery."""
    yield from two_days_through(tmp_path_factory.mktemp(f"stack-{request.param}"), request.param)
