"""Shared fixtures: throwaway databases on the real servers, and an isolated hub home.

PostgreSQL and MariaDB are named by ``HUB_TEST_POSTGRES_URL`` and ``HUB_TEST_MARIADB_URL``
(defaults: the local servers with trust / empty-password auth). Each test that asks for one gets a
fresh database, dropped afterwards. Where a server does not answer, its tests are skipped with the
reason; CI runs with ``HUB_REQUIRE_SERVERS=1``, which turns such a skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

POSTGRES_ADMIN_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MARIADB_ADMIN_URL = os.environ.get("HUB_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")


def _unavailable(what: str, exc: Exception) -> None:
    reason = f"{what} not reachable: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
    if os.environ.get("HUB_REQUIRE_SERVERS") == "1":
        pytest.fail(reason + " (HUB_REQUIRE_SERVERS=1)")
    pytest.skip(reason)


def throwaway_database(admin_url: str, what: str, template: str | None = None) -> Iterator[str]:
    """A fresh database on the server of ``admin_url`` (its URL), dropped afterwards.

    With ``template`` (PostgreSQL), the new database is a copy of that database.
    """
    name = f"hub_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    copied = f" TEMPLATE {template}" if template else ""
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}{copied}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _unavailable(what, exc)
    url = sa.make_url(admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if admin.dialect.name == "postgresql":
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL, psycopg 3 driver)."""
    yield from throwaway_database(POSTGRES_ADMIN_URL, "PostgreSQL")


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database (SQLAlchemy URL, PyMySQL driver)."""
    yield from throwaway_database(MARIADB_ADMIN_URL, "MariaDB")


def _migrate(url: str) -> None:
    """Bring the platform database at ``url`` to the schema's head, with its reference data."""
    from hub.store.db import make_engine, upgrade
    from hub.store.reference import load_reference

    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        load_reference(connection)
    engine.dispose()


class _PlatformTemplates:
    """A migrated platform database per backend, made once per test process and copied per test.

    Migrating costs a second or two; a copy (a file copy, or PostgreSQL's ``CREATE DATABASE …
    TEMPLATE``) a fraction of it, and every test still gets a database of its own.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._sqlite: Path | None = None
        self._postgresql: str | None = None
        self._stack = ExitStack()

    def sqlite(self, destination: Path) -> str:
        """A copy of the SQLite template at ``destination``; its URL."""
        if self._sqlite is None:
            template = self._folder / "template.db"
            _migrate(f"sqlite:///{template}")
            self._sqlite = template
        shutil.copyfile(self._sqlite, destination)
        return f"sqlite:///{destination}"

    def postgresql(self) -> Iterator[str]:
        """A copy of the PostgreSQL template (its URL), dropped afterwards."""
        if self._postgresql is None:
            url = self._stack.enter_context(
                contextmanager(throwaway_database)(POSTGRES_ADMIN_URL, "PostgreSQL")
            )
            _migrate(url)
            self._postgresql = sa.make_url(url).database
        yield from throwaway_database(POSTGRES_ADMIN_URL, "PostgreSQL", self._postgresql)

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def _platform_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_PlatformTemplates]:
    templates = _PlatformTemplates(tmp_path_factory.mktemp("platform-templates"))
    yield templates
    templates.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def platform_url(
    request: pytest.FixtureRequest, tmp_path: Path, _platform_templates: _PlatformTemplates
) -> Iterator[str]:
    """A migrated, empty platform database with reference data: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        yield _platform_templates.sqlite(tmp_path / "hub.db")
    else:
        yield from _platform_templates.postgresql()


@pytest.fixture
def platform_engine(platform_url: str) -> Iterator[sa.Engine]:
    """An engine on ``platform_url``, disposed afterwards."""
    from hub.store.db import make_engine

    engine = make_engine(platform_url)
    yield engine
    engine.dispose()


@pytest.fixture
def hub_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A hub of its own in ``tmp_path``: the project's source files copied to ``sources/`` (add
    or edit some there), ``var/``, and a SQLite platform made by ``hub init-db``."""
    from typer.testing import CliRunner

    from hub.cli.main import app
    from hub.core.settings import MAPPINGS_DIR, settings

    sources = tmp_path / "sources"
    shutil.copytree(MAPPINGS_DIR / "sources", sources)
    monkeypatch.setenv("HUB_SOURCES_DIR", str(sources))
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    settings.cache_clear()
    try:
        assert CliRunner().invoke(app, ["init-db"]).exit_code == 0
        yield tmp_path
    finally:
        settings.cache_clear()


@contextmanager
def sandbox_in_environment(
    config, monkeypatch: pytest.MonkeyPatch, database_url: str | None = None
) -> Iterator:
    """Serve ``config``'s agency APIs without random faults, with every sandbox connection (and,
    if given, the hub's database) in the environment; yields the server handle."""
    from hub.collect.sources import enabled_sources
    from hub.core.settings import settings
    from sandbox.agencies import Faults
    from sandbox.config import connection_env
    from sandbox.server import serve_in_thread

    faults = {source.id: Faults() for source in enabled_sources()}
    with serve_in_thread(config, faults=faults) as server:
        env = connection_env(config.dir, server.base_url, config.exchange_database_url)
        if database_url:
            env["HUB_DATABASE_URL"] = database_url
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings.cache_clear()
        try:
            yield server
        finally:
            settings.cache_clear()


_SERVER_FIXTURES = {"postgres_url", "mariadb_url"}
_SERVER_PARAMS = {"postgresql", "postgres", "mysql", "mariadb"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help="The fast tier: only tests that need no database server, Airflow or loopback "
        "service (deselects the integration and dag marks and the PostgreSQL parameters).",
    )


def _needs_a_server(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    on_a_server = callspec is not None and bool(
        _SERVER_PARAMS & set(map(str, callspec.params.values()))
    )
    return (
        on_a_server
        or item.get_closest_marker("integration") is not None
        or item.get_closest_marker("dag") is not None
        or bool(_SERVER_FIXTURES & set(item.fixturenames))
    )


_PACKAGE_UNITS = ("tests/console/",)
"""Packages whose tests share package fixtures (an Airflow API server, a sandbox run): one unit."""


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist loadscope``, with each package of ``_PACKAGE_UNITS`` one unit of work."""
    from xdist.scheduler import LoadScopeScheduling

    class _Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            for package in _PACKAGE_UNITS:
                if nodeid.startswith(package):
                    return package
            return super()._split_scope(nodeid)

    return _Scheduling(config, log)


_FIRST = ("tests/dags/test_cycle.py",)
"""The longest units of work (the fortnight, one class per backend): the workers start with them."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fast tier (``--fast``); the longest tests first, so the workers end together.

    ``./dev test`` runs ``--dist loadscope --no-loadscope-reorder``: each module (or class) is
    one unit of work on one worker, so its fixtures are made once, handed out in this order.
    """
    if config.getoption("--fast"):
        slow = [item for item in items if _needs_a_server(item)]
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not _needs_a_server(item)]
    items.sort(key=lambda item: not item.nodeid.startswith(_FIRST))
