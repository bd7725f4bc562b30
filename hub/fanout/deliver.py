"""The delivery loop: send every due outbox message to its push target, in batches.

Each target gets ``target.concurrency`` worker threads (its concurrency limit), all targets at
once. A worker claims a batch of ``target.batch_size`` due rows (``hub.fanout.claims``), posts it
(``connectors.targets.PushClient``: retries with backoff and jitter, ``Retry-After`` honoured) and
records the outcome: acknowledged rows keep the receiver's receipt; rows the receiver rejected or
did not acknowledge count a failed attempt and wait their backoff (``RetrySchedule``); after the
target's ``max_attempts`` they become dead letters. A run makes one pass over each target's due
messages, in outbox order; what fails waits for a later run. A batch that fails as a whole (the
target is down, refuses the token, or its answers time out past every retry) stops delivery to
that target for this run, so a dead site costs one batch, not one per message; its other
messages stay pending, untouched, for the next run. Other targets go on.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
import sqlalchemy as sa

from connectors.connections import ConnectionResolver, MissingConnectionError, from_environment
from connectors.http_session import GaveUpError
from connectors.targets import PushAnswer, PushClient, PushRejectedError
from hub.core import clock
from hub.core.logs import get_logger
from hub.core.privacy import mask_text
from hub.core.targets import Target, push_targets
from hub.fanout.claims import Claimed, Failure, RetrySchedule, claim, record_outcomes, release
from hub.fanout.messages import build_message

log = get_logger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current instant in UTC (the outbox's timestamps are UTC)."""
    return clock.now()


@dataclass
class TargetDelivery:
    """What one run did for one target.

    Attributes:
        target_id: the target.
        delivered: messages acknowledged by the receiver in this run.
        duplicates: of those, the ones the receiver already had (sent by an earlier attempt
            whose answer was lost).
        failed: failed attempts at messages (each waits its backoff, or became a dead letter).
        dead: messages that became dead letters in this run.
        requests: batches posted.
        stopped: why delivery to the target stopped before its due messages were all sent.
    """

    target_id: str
    delivered: int = 0
    duplicates: int = 0
    failed: int = 0
    dead: int = 0
    requests: int = 0
    stopped: str | None = None


@dataclass
class DeliveryRun:
    """One run of the delivery loop.

    Attributes:
        holder: the run's id, stamped on the rows it claims.
        targets: what it did per target, by target id.
        seconds: how long it took.
    """

    holder: str
    targets: dict[str, TargetDelivery] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def delivered(self) -> int:
        """Messages acknowledged in this run, all targets."""
        return sum(t.delivered for t in self.targets.values())

    @property
    def problems(self) -> list[str]:
        """What needs a person: targets that stopped, and new dead letters."""
        found = [t.stopped for t in self.targets.values() if t.stopped]
        found += [
            f"{t.target_id}: {t.dead} messages became dead letters (hub fanout --retry-dead)"
            for t in self.targets.values()
            if t.dead
        ]
        return found


def _holder() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class _RunOptions:
    holder: str
    clock: Clock
    lease: timedelta
    schedule: RetrySchedule


class _TargetWorkers:
    """The workers of one target in one run: they share its figures and its stop signal."""

    def __init__(
        self,
        engine: sa.Engine,
        target: Target,
        client_factory: Callable[[], PushClient],
        options: _RunOptions,
        report: TargetDelivery,
    ) -> None:
        self.engine = engine
        self.target = target
        self.client_factory = client_factory
        self.options = options
        self.report = report
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.claimed_up_to = 0  # the run makes one pass over the target's rows, in id order
        self.log = log.bind(target=target.id, run=options.holder)

    def work(self) -> None:
        """Claim, send and record batches until none is due or the target is stopped."""
        client = self.client_factory()
        try:
            while not self.stop.is_set():
                batch = claim(
                    self.engine,
                    self.target.id,
                    self.options.holder,
                    self.target.batch_size,
                    self.options.clock(),
                    self.options.lease,
                    after=self.claimed_up_to,
                )
                if not batch:
                    return
                with self.lock:
                    self.claimed_up_to = max(self.claimed_up_to, batch[-1].outbox_id)
                self._deliver(client, batch)
        finally:
            client.close()

    def _deliver(self, client: PushClient, batch: list[Claimed]) -> None:
        try:
            messages = [build_message(c.change, self.target.id) for c in batch]
            try:
                answer = client.push(messages)
            except (GaveUpError, PushRejectedError, requests.RequestException) as exc:
                self._batch_failed(batch, f"{self.target.id}: {exc}")
                return
            self._answered(batch, [m["idempotency_key"] for m in messages], answer)
        except BaseException:
            release(self.engine, self.options.holder, [c.outbox_id for c in batch])
            raise

    def _batch_failed(self, batch: list[Claimed], error: str) -> None:
        error = mask_text(error)  # the receiver's words: stored, shown in hub status, in XCom
        failures = [Failure(c.outbox_id, c.attempts, error) for c in batch]
        dead = self._record({}, failures)
        self.stop.set()
        with self.lock:
            self.report.requests += 1
            self.report.failed += len(batch)
            self.report.dead += dead
            self.report.stopped = self.report.stopped or error
        self.log.warning(
            "delivery stopped for this run",
            batch=_ids(batch),
            failed=len(batch),
            dead=dead,
            reason=error,
        )

    def _answered(self, batch: list[Claimed], keys: list[str], answer: PushAnswer) -> None:
        receipts: dict[int, str] = {}
        failures: list[Failure] = []
        duplicates = 0
        for claimed, key in zip(batch, keys, strict=True):
            if key in answer.receipts:
                receipts[claimed.outbox_id] = answer.receipts[key]
                duplicates += key in answer.duplicates
            else:
                reason = answer.rejected.get(key, "the receiver did not acknowledge it")
                error = mask_text(f"{self.target.id}: rejected {key}: {reason}")
                failures.append(Failure(claimed.outbox_id, claimed.attempts, error))
        dead = self._record(receipts, failures)
        with self.lock:
            self.report.requests += 1
            self.report.delivered += len(receipts)
            self.report.duplicates += duplicates
            self.report.failed += len(failures)
            self.report.dead += dead
        fields = {"batch": _ids(batch), "delivered": len(receipts), "failed": len(failures)}
        if failures:
            self.log.warning(
                "messages not acknowledged", **fields, dead=dead, reason=failures[0].error
            )
        else:
            self.log.debug("batch delivered", **fields, duplicates=duplicates)

    def _record(self, receipts: dict[int, str], failures: list[Failure]) -> int:
        return record_outcomes(
            self.engine,
            self.options.holder,
            self.options.clock(),
            receipts,
            failures,
            self.target.max_attempts,
            self.options.schedule,
        )


def _ids(batch: list[Claimed]) -> str:
    """The outbox ids of a claimed batch, as the log names it: ``first-last``."""
    return f"{batch[0].outbox_id}-{batch[-1].outbox_id}"


def deliver(
    engine: sa.Engine,
    targets: Sequence[Target] | None = None,
    *,
    resolve: ConnectionResolver = from_environment,
    lease_seconds: float = 300.0,
    schedule: RetrySchedule | None = None,
    clock: Clock = utc_now,
) -> DeliveryRun:
    """Deliver every due outbox message of ``targets`` (default: every push target).

    Args:
        engine: the platform database.
        targets: the push targets to deliver to.
        resolve: how a target's Airflow Connection (base URL, token, HTTP options) is found.
        lease_seconds: how long a claimed batch is held before another run may take it; longer
            than one batch's worst case (timeout times retries).
        schedule: when a failed message is tried again.
        clock: the current instant (UTC); tests move it forward instead of waiting.

    Returns:
        What the run did per target. Delivery problems are reported there, not raised.
    """
    started = time.monotonic()
    run = DeliveryRun(_holder())
    options = _RunOptions(
        run.holder, clock, timedelta(seconds=lease_seconds), schedule or RetrySchedule()
    )
    targets = push_targets() if targets is None else targets
    groups: list[_TargetWorkers] = []
    for target in targets:
        report = run.targets[target.id] = TargetDelivery(target.id)
        try:
            assert target.connection is not None  # push targets always name one
            connection = resolve(target.connection)
        except MissingConnectionError as exc:
            report.stopped = f"{target.id}: {exc}"
            log.warning("no connection for target", target=target.id, reason=str(exc))
            continue

        def factory(target: Target = target, connection=connection) -> PushClient:
            return PushClient(target.id, connection, target.path)

        groups.append(_TargetWorkers(engine, target, factory, options, report))
    workers = sum(g.target.concurrency for g in groups)
    if workers:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fanout") as pool:
            futures = [pool.submit(g.work) for g in groups for _ in range(g.target.concurrency)]
            for future in futures:
                future.result()
    run.seconds = time.monotonic() - started
    for report in run.targets.values():
        log.info(
            "target done",
            target=report.target_id,
            run=run.holder,
            delivered=report.delivered,
            failed=report.failed,
            dead=report.dead,
            requests=report.requests,
        )
    return run
