"""Shared fixtures: throwaway databases on the real servers, and an isolated hub home.

PostgreSQL and MariaDB are named by ``HUB_TEST_POSTGRES_URL`` and ``HUB_TEST_MARIADB_URL``
(defaults: the local servers with trust / empty-password auth). Each test that asks for one gets a
fresh database, dropped afterwards. Where a server does not answer, its tests are skipped with the
reason; CI runs with ``HUB_REQUIRE_SERVERS=1``, which turns such a skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

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


def throwaway_database(admin_url: str, what: str) -> Iterator[str]:
    """A fresh database on the server of ``admin_url`` (its URL), dropped afterwards."""
    name = f"hub_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
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


@pytest.fixture(params=["sqlite", "postgresql"])
def platform_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A migrated, empty platform database with reference data: a SQLite file, then PostgreSQL."""
    from hub.store.db import make_engine, upgrade
    from hub.store.reference import load_reference

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        load_reference(connection)
    engine.dispose()
    return url


@pytest.fixture
def platform_engine(platform_url: str) -> Iterator[sa.Engine]:
    """An engine on ``platform_url``, disposed afterwards."""
    from hub.store.db import make_engine

    engine = make_engine(platform_url)
    yield engine
    engine.dispose()


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
