"""Push delivery end to end: outbox on SQLite and PostgreSQL, receivers over loopback HTTP.

Counted at the receivers: every target must hold every change that concerns it exactly once,
whatever failed on the way; a message sent twice must have been kept once.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.connections import Connection
from hub.core.targets import all_targets
from hub.fanout.deliver import DeliveryRun, deliver, utc_now
from hub.store.db import make_engine
from hub.store.outbox_schema import outbox
from hub.store.schema import status_change
from sandbox.receivers import ReceiversHandle
from tests.core.planted import plant
from tests.core.privacy_cases import CASES, PLANTED, PLANTED_MASKED, assert_masked
from tests.fanout.conftest import (
    FAST_HTTP,
    GOV,
    change,
    expected_keys,
    insert_records,
    make_subjects,
    received_keys,
    unmasked_id_numbers,
    write_targets,
)

pytestmark = pytest.mark.integration
HANGZHOU = "330106"  # a county of a city whose site takes pushes


def _later(hours: float) -> object:
    """A clock ``hours`` ahead: the retries' backoff has passed without the test waiting."""
    return lambda: utc_now() + timedelta(hours=hours)


def _outbox(engine: sa.Engine) -> list:
    query = sa.select(outbox, status_change.c.record_key).join(
        status_change, outbox.c.status_change_id == status_change.c.id
    )
    with engine.connect() as connection:
        return connection.execute(query.order_by(outbox.c.id)).mappings().all()


def _copies(handle: ReceiversHandle) -> dict[tuple[str, int], int]:
    """How many copies each receiver took of each message, by (target, change id)."""
    with handle.lock:
        return {
            (target_id, r.messages[key]["change_id"]): n
            for target_id, r in handle.receivers.items()
            for key, n in r.copies.items()
        }


def _assert_every_target_has_every_change_once(engine: sa.Engine, handle, subjects) -> None:
    """Each target took exactly its changes; the outbox holds the receipt each one answered."""
    assert received_keys(handle) == expected_keys(subjects)
    rows = _outbox(engine)
    assert all(r["acknowledged_at"] is not None and r["dead_at"] is None for r in rows)
    with handle.lock:
        receipts = {
            (target_id, r.messages[key]["change_id"]): receipt
            for target_id, r in handle.receivers.items()
            for key, receipt in r.receipts.items()
        }
    assert {(r["target_id"], r["status_change_id"]): r["receipt"] for r in rows} == receipts


def test_every_change_reaches_every_target_covering_it_once_with_no_id_number_in_the_clear(
    platform_engine: sa.Engine,
    receivers: ReceiversHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_targets(tmp_path, monkeypatch, batch_size=5)
    subjects = make_subjects(60)
    person = next(s for s in subjects if s.id_number)
    insert_records(platform_engine, subjects)
    reason = f"当事人（身份证号{person.id_number}）已履行处罚并完成信用修复"
    assert unmasked_id_numbers(reason.encode()) == [person.id_number]  # the scan finds one
    change(platform_engine, subjects, reason=reason)
    # Slow answers keep requests open long enough to see the per-target concurrency limit.
    receivers.set_faults(slow_rate=1.0, slow_seconds=0.1)

    run = deliver(platform_engine)

    expected = expected_keys(subjects)
    assert run.delivered == sum(len(keys) for keys in expected.values())
    assert {t: r.delivered for t, r in run.targets.items()} == {
        t: len(keys) for t, keys in expected.items()
    }
    assert run.problems == []
    _assert_every_target_has_every_change_once(platform_engine, receivers, subjects)
    assert set(_copies(receivers).values()) == {1}
    stats = receivers.stats()
    assert 1 < stats[GOV]["max_in_flight"] <= 4  # its concurrency: 11 batches, up to 4 at once
    assert all(s["max_in_flight"] <= 2 for t, s in stats.items() if t != GOV)

    with receivers.lock:
        bodies = [b for r in receivers.receivers.values() for b in r.bodies]
        person_message = receivers.receivers[GOV].messages[
            next(k for k, m in receivers.receivers[GOV].messages.items() if "*" in m["subject_id"])
        ]
    assert [unmasked_id_numbers(body) for body in bodies] == [[]] * len(bodies)
    assert person_message["reason"] == (
        f"当事人（身份证号{person.id_number[:6]}********{person.id_number[-4:]}）"
        "已履行处罚并完成信用修复"
    )

    again = deliver(platform_engine)
    assert (again.delivered, sum(t.requests for t in again.targets.values())) == (0, 0)
    assert sum(s["requests"] for s in receivers.stats().values()) == sum(
        s["requests"] for s in stats.values()
    )


def test_failing_and_down_receivers_catch_up_after_recovery_exactly_once(
    platform_engine: sa.Engine,
    receivers: ReceiversHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_targets(tmp_path, monkeypatch, batch_size=10)
    subjects = make_subjects(240)
    insert_records(platform_engine, subjects)
    change(platform_engine, subjects)
    receivers.set_faults(fail_rate=0.2)
    receivers.set_faults("ningbo", mode="down")

    first = deliver(platform_engine)

    assert received_keys(receivers)["ningbo"] == set()
    assert first.targets["ningbo"].stopped.startswith(
        "ningbo: gave up after 4 attempts: 503 Service Unavailable from http://127.0.0.1:"
    )
    ningbo = [r for r in _outbox(platform_engine) if r["target_id"] == "ningbo"]
    tried = [r for r in ningbo if r["attempts"]]
    # One batch per worker failed, then the run left the target alone; nothing else was touched.
    assert 0 < len(tried) <= 2 * 10
    assert {(r["attempts"], r["last_error"].split(" from ")[0]) for r in tried} == {
        (1, "ningbo: gave up after 4 attempts: 503 Service Unavailable")
    }
    assert all(r["acknowledged_at"] is None and r["dead_at"] is None for r in ningbo)
    assert first.delivered > 0

    receivers.set_faults(fail_rate=0.0, mode="normal")
    second = deliver(platform_engine, clock=_later(2))

    assert second.problems == []
    assert first.delivered + second.delivered == len(_outbox(platform_engine))
    _assert_every_target_has_every_change_once(platform_engine, receivers, subjects)
    # 5xx answers come before a receiver takes anything: no message went twice.
    assert set(_copies(receivers).values()) == {1}


def test_answers_lost_to_timeouts_are_resent_and_kept_once(
    platform_engine: sa.Engine,
    receivers: ReceiversHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_targets(tmp_path, monkeypatch, batch_size=4)
    for name, value in receivers.connection_env(**{**FAST_HTTP, "timeout_seconds": 0.3}).items():
        monkeypatch.setenv(name, value)
    subjects = make_subjects(48)
    insert_records(platform_engine, subjects)
    change(platform_engine, subjects)
    receivers.set_faults(timeout_rate=0.5, timeout_seconds=0.6)

    runs: list[DeliveryRun] = [deliver(platform_engine)]
    receivers.set_faults(timeout_rate=0.0)
    runs.append(deliver(platform_engine, clock=_later(2)))

    _assert_every_target_has_every_change_once(platform_engine, receivers, subjects)
    copies = _copies(receivers)
    resent = {key for key, n in copies.items() if n > 1}
    assert resent  # the receivers took messages whose answers were lost...
    assert sum(s["resent_requests"] for s in receivers.stats().values()) > 0
    # ...and every one of them was acknowledged in the end as a copy they already had.
    assert sum(t.duplicates for run in runs for t in run.targets.values()) == len(resent)


def test_two_runs_at_once_never_send_a_message_twice(
    platform_url: str,
    platform_engine: sa.Engine,
    receivers: ReceiversHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_targets(tmp_path, monkeypatch, batch_size=5)
    subjects = make_subjects(120)
    insert_records(platform_engine, subjects)
    change(platform_engine, subjects)
    receivers.set_faults(slow_rate=1.0, slow_seconds=0.02)
    engines = [make_engine(platform_url), make_engine(platform_url)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(deliver, engines))
    for engine in engines:
        engine.dispose()

    assert all(run.delivered > 0 for run in runs)  # both runs took part
    assert sum(run.delivered for run in runs) == len(_outbox(platform_engine))
    _assert_every_target_has_every_change_once(platform_engine, receivers, subjects)
    assert set(_copies(receivers).values()) == {1}


def _deliver(url: str) -> None:
    deliver(make_engine(url))


def test_a_run_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    platform_url: str,
    platform_engine: sa.Engine,
    receivers: ReceiversHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_targets(tmp_path, monkeypatch, batch_size=5)
    subjects = make_subjects(96)
    insert_records(platform_engine, subjects)
    change(platform_engine, subjects)
    receivers.set_faults(slow_rate=1.0, slow_seconds=0.05)
    # A forked process starts at once with everything imported (a fresh interpreter takes
    # seconds here); it runs the delivery loop of `hub fanout` until SIGKILL.
    killed = multiprocessing.get_context("fork").Process(target=_deliver, args=(platform_url,))
    killed.start()
    deadline = time.monotonic() + 60
    while sum(s["messages"] for s in receivers.stats().values()) < 30:
        assert killed.is_alive() and time.monotonic() < deadline
        time.sleep(0.01)
    killed.kill()
    killed.join()
    assert killed.exitcode == -signal.SIGKILL

    taken = set(_copies(receivers))
    recorded = {
        (r["target_id"], r["status_change_id"])
        for r in _outbox(platform_engine)
        if r["acknowledged_at"] is not None
    }
    taken_not_recorded = taken - recorded
    assert taken_not_recorded  # the kill came between a receiver taking a batch and its record
    assert len(recorded) < len(_outbox(platform_engine))

    receivers.set_faults(slow_rate=0.0)
    # The killed run's claims lapse after their lease (300 s): a clock past it.
    rerun = deliver(platform_engine, clock=_later(0.1))

    assert rerun.problems == []
    _assert_every_target_has_every_change_once(platform_engine, receivers, subjects)
    copies = _copies(receivers)
    assert {key for key, n in copies.items() if n > 1} == taken_not_recorded
    assert max(copies.values()) == 2
    assert sum(t.duplicates for t in rerun.targets.values()) == len(taken_not_recorded)


def test_every_privacy_case_reaches_the_receivers_masked_and_the_keys_whole(
    platform_engine: sa.Engine, receivers: ReceiversHandle
) -> None:
    planted = plant(platform_engine, HANGZHOU)

    run = deliver(platform_engine)

    assert run.problems == []
    with receivers.lock:
        bodies = {t: list(r.bodies) for t, r in receivers.receivers.items()}
        taken = {t: dict(r.messages) for t, r in receivers.receivers.items()}
    for target in ("hangzhou", GOV):
        assert {m["record_key"] for m in taken[target].values()} == set(planted.record_keys)
        assert_masked(b"\n".join(bodies[target]))
        for case in CASES:
            [message] = [
                m for m in taken[target].values() if m["subject_name"].startswith(case.label)
            ]
            assert message["subject_name"] == f"{case.label}{case.masked}"
            assert message["reason"] == PLANTED_MASKED
    everything = b"\n".join(b for found in bodies.values() for b in found).decode()
    assert [n for n in planted.person_ids if n in everything] == []


class _Quoting(BaseHTTPRequestHandler):
    """A receiver that refuses every message, quoting the cases; or the batch, with ``status``."""

    status = 200

    def do_POST(self) -> None:
        messages = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["messages"]
        refused = [{"idempotency_key": m["idempotency_key"], "error": PLANTED} for m in messages]
        body = {"acknowledged": [], "rejected": refused} if self.status == 200 else PLANTED
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.mark.parametrize("status", [200, 400])
def test_a_receivers_words_are_stored_and_reported_masked(
    platform_engine: sa.Engine, status: int
) -> None:
    plant(platform_engine, HANGZHOU)
    handler = type("Handler", (_Quoting,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    connection = Connection("hangzhou", password="t", extra={"base_url": url, **FAST_HTTP})
    try:
        run = deliver(platform_engine, [all_targets()["hangzhou"]], resolve=lambda _: connection)
    finally:
        server.shutdown()
        server.server_close()

    errors = [r["last_error"] for r in _outbox(platform_engine) if r["last_error"]]
    assert errors
    assert_masked("\n".join(errors))
    # What hub fanout prints and the DAG hands XCom.
    assert_masked(json.dumps(asdict(run.targets["hangzhou"]), ensure_ascii=False) + str(errors))
    if status != 200:  # the whole batch refused: delivery stopped, saying why
        assert_masked("\n".join(run.problems))
