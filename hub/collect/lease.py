"""Telling a running batch from one whose process died (``kill -9``, a lost host, a DB outage).

A batch is written ``running`` with its owner (host, process id, process start time) and a lease.
While it runs, a heartbeat renews the lease on its own connection (PostgreSQL; on SQLite the batch's
transaction holds the database's one write lock, so no renewal could be written, and SQLite never
has a batch on another host). A running batch has died when:

- its owner is a process of this host and that process is gone (exact, whatever the lease), or
- its owner is on another host (or unknown, as for batches older than leases) and its lease has
  expired: that host's heartbeat stopped renewing it.

The next run of the source marks such a batch failed (``reap``); ``hub status`` shows it as failed
before then.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import psutil
import sqlalchemy as sa

from hub.core import clock
from hub.core.logs import get_logger
from hub.store.schema import ingest_batch

LEASE = timedelta(minutes=10)
"""How long a batch on another host is taken as alive after its last renewal."""
RENEW_EVERY = LEASE / 5

log = get_logger(__name__)


@dataclass(frozen=True)
class Owner:
    """A process that runs batches: its host, id and start time (whole seconds since the epoch)."""

    host: str
    pid: int
    started: int

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.started}"

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        """The owner written as ``host:pid:started``; ``None`` for anything else."""
        host, _, rest = (text or "").rpartition(":")
        host, _, pid = host.rpartition(":")
        if not (host and pid.isdigit() and rest.isdigit()):
            return None
        return cls(host, int(pid), int(rest))

    def gone(self) -> bool:
        """Whether this process (of this host) no longer runs; a reused process id is not it."""
        try:
            return int(psutil.Process(self.pid).create_time()) != self.started
        except psutil.NoSuchProcess:
            return True


def this_process() -> Owner:
    """The owner a batch opened by this process records."""
    process = psutil.Process()
    return Owner(socket.gethostname(), process.pid, int(process.create_time()))


def death(batch: sa.Row, now: datetime, *, renewed: bool) -> str | None:
    """Why a ``running`` batch (its ``ingest_batch`` row) is known to have died at ``now``.

    ``None`` while it may be alive. ``renewed``: the database admits heartbeats (not SQLite), so
    an expired lease means death even for a live process of this host (its batch ended in an
    outage the process could not record).
    """
    known = Owner.parse(batch.owner)
    expires = batch.lease_expires_at or batch.started_at + LEASE
    lapsed = f"its lease expired at {expires.isoformat(timespec='seconds')} with no heartbeat"
    if known is not None and known.host == socket.gethostname():
        if known.gone():
            return f"its process {known.pid} on {known.host} is gone"
        return lapsed if renewed and expires < now else None
    if expires >= now:
        return None
    return lapsed + (f" from {known.host}" if known is not None else "")


def died_message(source_id: str, batch_id: int, day: str, reason: str) -> str:
    """What an operator reads about a batch that died: what happened and what to do."""
    return (
        f"source {source_id}: batch {batch_id} of {day} died while running ({reason}); nothing "
        f"of it was loaded: collect the day again (hub collect --date {day} --source {source_id})"
    )


def reap(engine: sa.Engine, source_id: str) -> list[str]:
    """Mark failed the running batches of ``source_id`` that died; say what was found, per batch."""
    b = ingest_batch.c
    now = clock.now()
    with engine.begin() as connection:
        running = connection.execute(
            sa.select(ingest_batch).where(b.source_id == source_id, b.status == "running")
        ).all()
        renewed = heartbeats(engine)
        found = []
        for row in running:
            reason = death(row, now, renewed=renewed)
            if reason is None:
                continue
            message = died_message(source_id, row.id, row.logical_date.isoformat(), reason)
            connection.execute(
                ingest_batch.update()
                .where(b.id == row.id, b.status == "running")
                .values(status="failed", finished_at=now, error=message, lease_expires_at=None)
            )
            log.warning(
                "batch died while running; marked failed",
                source=source_id,
                batch=row.id,
                reason=reason,
            )
            found.append(message)
    return found


def heartbeats(engine: sa.Engine | sa.Connection) -> bool:
    """Whether running batches renew their lease on this database (all but SQLite)."""
    return engine.dialect.name != "sqlite"


class Heartbeat:
    """Renews a running batch's lease every ``RENEW_EVERY`` on a connection of its own.

    Use as a context manager around the batch's work. A renewal that fails (the database is
    unreachable) is logged and tried again; the batch's own work decides its fate.
    """

    def __init__(self, engine: sa.Engine, batch_id: int) -> None:
        self.engine = engine
        self.batch_id = batch_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{batch_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        if heartbeats(self.engine):
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def renew(self) -> None:
        """Push the lease to ``LEASE`` from now, in a transaction of its own.

        On PostgreSQL it does not wait on the batch's transaction while that loads records: the
        raw rows only share-lock the batch row's key, and the lease is not part of it.
        """
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    ingest_batch.update()
                    .where(ingest_batch.c.id == self.batch_id, ingest_batch.c.status == "running")
                    .values(lease_expires_at=clock.now() + LEASE)
                )
        except sa.exc.SQLAlchemyError as exc:
            log.warning(
                "could not renew the batch's lease",
                batch=self.batch_id,
                reason=str(exc).splitlines()[0],
            )

    def _run(self) -> None:
        while not self._stop.wait(RENEW_EVERY.total_seconds()):
            self.renew()
