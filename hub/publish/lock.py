"""One publisher at a time: a publication holds this lock from its first step to its last.

Publishing writes a day's files before it records them (so the pull API never lists a set whose
files are not there yet), and first removes the files a failed publication left unrecorded. Both
are safe only if no other publication is writing at the same time: the lock makes a second
publisher (a retried task overlapping a manual ``hub publish``) wait, then find the days done.

On PostgreSQL it is a transaction-level advisory lock on a connection of its own, released when
the publication ends or its process dies. SQLite serves one host: an exclusive ``flock`` on a file
beside the database file (a lock in the process for an in-memory database).
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

PUBLICATION_LOCK = 0x4855_4250_5542  # "HUBPUB": the advisory lock's key
_in_memory = threading.Lock()


@contextmanager
def one_publisher(engine: sa.Engine) -> Iterator[None]:
    """Hold the publication lock of ``engine``'s database for the ``with`` block (waits for it)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(PUBLICATION_LOCK)))
            yield
            connection.rollback()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        with _in_memory:
            yield
        return
    with Path(f"{database}.publish-lock").open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
