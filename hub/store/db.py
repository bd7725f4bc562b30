"""Opening the platform database and bringing its schema up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from hub.core.settings import PROJECT_ROOT, settings

MIGRATIONS_DIR = PROJECT_ROOT / "sql" / "migrations"


def make_engine(url: str | None = None) -> sa.Engine:
    """An engine for the platform database (``HUB_DATABASE_URL`` by default).

    For SQLite the file's folder is created, the connection waits for a writer instead of
    failing at once (the embedded default has one writer at a time), and it may be handed to the
    collection's writer thread (never used by two threads at once).
    """
    url = url or settings().database_url
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
    return sa.create_engine(url, pool_pre_ping=True)


def pairs(connection: sa.Connection, statement: sa.Select) -> dict[Any, Any]:
    """A two-column query's rows as a dict (first column → second)."""
    return dict(connection.execute(statement).all())


def alembic_config(url: str) -> Config:
    """The Alembic configuration for ``url``, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: sa.Engine) -> None:
    """Apply every migration not yet applied (``alembic upgrade head``)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


_STALE = sa.text(
    "SELECT relname FROM pg_stat_user_tables "
    "WHERE relname = ANY(:names) AND (last_analyze IS NULL AND last_autoanalyze IS NULL "
    "OR n_mod_since_analyze > 50 + 0.1 * n_live_tup)"
)


def analyze_stale(connection: sa.Connection, tables: list[sa.Table]) -> list[str]:
    """Refresh the planner's statistics of those ``tables`` that changed much since (PostgreSQL).

    A daily step that reads what the step before it just wrote cannot count on autovacuum
    (which may be off, or not have come round yet): without statistics the planner takes a
    table of a million rows for an empty one. Uses autovacuum's own threshold (50 rows plus 10 %
    changed since the last analysis); returns the tables analysed. SQLite: nothing to do.
    """
    if connection.dialect.name != "postgresql":
        return []
    stale = list(connection.scalars(_STALE, {"names": [table.name for table in tables]}))
    for name in stale:
        connection.exec_driver_sql(f'ANALYZE "{name}"')
    return stale
