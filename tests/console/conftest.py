"""The console under test: a sandbox run's platform, Airflow's API server with the plugins, and
headless Chromium logged in through Airflow's own login as a lead and as an operator.

Airflow gets its own home here before it is first imported, with the SimpleAuthManager and two
users: ``lead`` (Airflow's viewer role: a lead) and ``operator`` (op: an operator).
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.core.settings import PROJECT_ROOT
from tests.console.browser import Browser, Page, chromium
from tests.console.dom import Dom

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="hub-console-airflow-"))
PASSWORDS = {"lead": "lead-pass-1", "operator": "operator-pass-1"}
(_AIRFLOW_HOME / "passwords.json").write_text(json.dumps(PASSWORDS))
os.environ.update(
    AIRFLOW_HOME=str(_AIRFLOW_HOME),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__UNIT_TEST_MODE="True",
    AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT_ROOT / "plugins"),
    AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
    AIRFLOW__CORE__AUTH_MANAGER=(
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    ),
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="lead:viewer,operator:op",
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(_AIRFLOW_HOME / "passwords.json"),
    AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(64),  # shorter keys warn, warnings fail
)

DAYS = [date(2026, 11, 2), date(2026, 11, 3)]
"""Two working days of the sandbox province, run through the jobs of the daily cycle."""
PLANTED_DEPARTMENT = "省市场监管局"
"""The department the planted privacy cases are filed under."""
DOWN_TARGET = "zj_gov_service"
"""The push target whose receiver is down on the last day: its messages become dead letters."""
ARTEFACTS = PROJECT_ROOT / "tmp" / "artefacts" / "console"
"""Where the tests keep their screenshots."""


@dataclass(frozen=True)
class Run:
    """The platform after the sandbox run: its database and what was planted in it."""

    database_url: str
    engine: sa.Engine
    person_ids: list[str]


def _run_days(runtime, config, province, days: list[date]) -> None:
    """Each day's jobs in the DAGs' order; the receiver of ``DOWN_TARGET`` down on the last."""
    from hub import jobs
    from hub.core.settings import settings
    from quality.periods import Period
    from sandbox.cycle import clock_at
    from sandbox.deliver import deliver
    from sandbox.repair_scenario import decide_repairs

    zone = settings().timezone
    for day in days:
        deliver(config, day)
        decide_repairs(config, day)
        morning = day + timedelta(days=1)
        with clock_at(datetime.combine(morning, time(0, 5), tzinfo=zone)):
            jobs.collect(day, runtime)
            jobs.report(Period.parse(str(morning)), runtime)
        if day == days[-1]:
            province.receivers.set_faults(DOWN_TARGET, mode="down")
        with clock_at(datetime.combine(morning, time(1, 0), tzinfo=zone)):
            jobs.reconcile(day, runtime)
            jobs.fanout(runtime)
            jobs.publish(day, runtime)


def _targets_giving_up_at_once(folder: Path) -> Path:
    """The Zhejiang targets file, its push targets giving up after one attempt."""
    import yaml

    from hub.core.settings import MAPPINGS_DIR

    targets = yaml.safe_load((MAPPINGS_DIR / "targets" / "zhejiang.yaml").read_text("utf-8"))
    for entry in targets["targets"]:
        if entry["delivery"] == "push":
            entry["max_attempts"] = 1
    path = folder / "targets.yaml"
    path.write_text(yaml.safe_dump(targets, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="package")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Two days of the sandbox province through collect, report, reconcile, fanout and publish
    on a fresh PostgreSQL platform, with the privacy cases planted; the clock at the morning
    after, the hub's environment set, for the whole package."""
    from hub import jobs
    from hub.core.settings import settings
    from hub.store.db import make_engine, upgrade
    from hub.store.reference import load_reference
    from hub.store.schema import RECORD_TABLES
    from sandbox.config import SandboxConfig
    from sandbox.cycle import clock_at, environment
    from sandbox.deliver import init_sandbox
    from sandbox.services import serve_province
    from tests.conftest import POSTGRES_ADMIN_URL, throwaway_database
    from tests.core.planted import plant

    folder = tmp_path_factory.mktemp("console-run")
    databases = throwaway_database(POSTGRES_ADMIN_URL, "PostgreSQL")
    url = next(databases)
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        load_reference(connection)
    config = SandboxConfig(folder / "sandbox", seed=7)
    init_sandbox(config)
    hub_env = {
        "HUB_DATABASE_URL": url,
        "HUB_VAR_DIR": str(folder / "var"),
        "HUB_TARGETS_FILE": str(_targets_giving_up_at_once(folder)),
    }
    planted = plant(engine, "330106", effective=DAYS[0])
    with engine.begin() as connection:  # a department, as every record collected has one
        penalties = RECORD_TABLES["penalty"]
        connection.execute(
            penalties.update()
            .where(penalties.c.record_key.in_(planted.record_keys))
            .values(source_department=PLANTED_DEPARTMENT)
        )
    with environment(hub_env), serve_province(config) as province:
        with environment(province.connection_env()):
            _run_days(jobs.Runtime(), config, province, DAYS)
        morning = datetime.combine(DAYS[-1] + timedelta(days=1), time(9, 0))
        morning = morning.replace(tzinfo=settings().timezone)
        with clock_at(morning):
            yield Run(url, engine, planted.person_ids)
    engine.dispose()
    next(databases, None)


@pytest.fixture(scope="package")
def airflow_url(run: Run) -> Iterator[str]:
    """Airflow's API server (its core API, UI, auth manager and plugins), served on loopback."""
    from airflow.api_fastapi.app import create_app
    from airflow.utils import db

    from tests.publish.http import served

    db.initdb()
    with served(create_app(apps="core")) as url:
        yield url


@dataclass
class Session:
    """One person's browser tab, logged in through Airflow's login."""

    page: Page
    base: str
    name: str

    def open(self, path: str) -> tuple[int, Dom]:
        """Open a console page; its status and DOM."""
        status = self.page.open(f"{self.base}/credit-console{path}")
        return status, Dom(self.page.dom())

    def screenshot(self, name: str) -> Path:
        """Keep what the page shows now as ``<artefacts>/<name>.png``."""
        return self.page.screenshot(ARTEFACTS / f"{name}.png")


def _log_in(browser: Browser, base: str, name: str) -> Session:
    """Open the console, land on Airflow's login page, log in there, come back to the console."""
    page = browser.page()
    page.open(f"{base}/credit-console/")
    assert page.url.startswith(f"{base}/auth/login?next="), page.url
    page.wait_until("document.querySelector('input[name=password]')")
    page.type_into("input[name=username]", name)
    page.type_into("input[name=password]", PASSWORDS[name])
    page.click_and_wait("button[type=submit]")
    assert page.url == f"{base}/credit-console/", page.url
    return Session(page, base, name)


@pytest.fixture(scope="package")
def lead(airflow_url: str) -> Iterator[Session]:
    """A lead (Airflow's viewer role) logged in, in a browser of their own."""
    with chromium() as own:
        yield _log_in(own, airflow_url, "lead")


@pytest.fixture(scope="package")
def operator(airflow_url: str) -> Iterator[Session]:
    """An operator (Airflow's op role) logged in, in a browser of their own."""
    with chromium() as own:
        yield _log_in(own, airflow_url, "operator")
