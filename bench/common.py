"""What the benchmarks share: throwaway databases and peak memory."""

from __future__ import annotations

import os
import resource
import uuid
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def database_url(backend: str, workdir: Path) -> tuple[str, str | None]:
    """A fresh database: a SQLite file in ``workdir``, or a new PostgreSQL database (its name)."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'hub.db'}", None
    name = f"hub_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), name


def drop_database(name: str) -> None:
    """Drop a PostgreSQL database made by ``database_url``."""
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()
