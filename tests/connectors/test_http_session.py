from __future__ import annotations

import threading
import time

import pytest

from connectors.http_session import (
    GaveUpError,
    HttpPolicy,
    RateLimiter,
    build_session,
    send_request,
)
from tests.connectors.conftest import FakeApi
from tests.loopback_http import Answer, Seen


def test_post_is_retried_and_gives_up_with_the_attempts_and_status(fake_api: FakeApi) -> None:
    fake_api.route("/deliver")(lambda seen: Answer(502, "bad gateway"))

    with (
        build_session(
            HttpPolicy(max_retries=3, backoff_seconds=0.01, max_backoff_seconds=0.02)
        ) as session,
        pytest.raises(GaveUpError) as raised,
    ):
        send_request(session, "POST", f"{fake_api.url}/deliver", json={"a": 1}, timeout=2)

    assert (
        str(raised.value)
        == f"gave up after 4 attempts: 502 Bad Gateway from {fake_api.url}/deliver"
    )
    assert [s.json() for s in fake_api.seen] == [{"a": 1}] * 4


def test_unparsable_retry_after_falls_back_to_the_backoff(fake_api: FakeApi) -> None:
    calls: list[Seen] = []

    @fake_api.route("/x")
    def busy_once(seen: Seen) -> Answer:
        calls.append(seen)
        if len(calls) == 1:
            return Answer(503, "busy", headers={"Retry-After": "soon"})
        return Answer(body={"ok": True})

    with build_session(
        HttpPolicy(max_retries=2, backoff_seconds=0.01, max_backoff_seconds=0.02)
    ) as session:
        response = send_request(session, "GET", f"{fake_api.url}/x", timeout=2)
        body = response.json()

    assert body == {"ok": True}
    assert len(calls) == 2


def test_other_statuses_are_returned_not_retried(fake_api: FakeApi) -> None:
    fake_api.route("/x")(lambda seen: Answer(404, {"error": "no"}))

    with build_session(HttpPolicy(max_retries=3, backoff_seconds=0.01)) as session:
        status = send_request(session, "GET", f"{fake_api.url}/x", timeout=2).status_code

    assert status == 404
    assert len(fake_api.seen) == 1


def test_rate_limiter_spaces_requests_across_threads() -> None:
    limiter = RateLimiter(per_second=50)
    stamps: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            limiter.wait()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Twenty requests at 50 a second take at least 19 intervals, however the threads interleave
    # (a busy machine can only make them later).
    stamps.sort()
    assert len(stamps) == 20
    assert stamps[-1] - stamps[0] >= 19 * 0.02 * 0.9


def test_rate_limiter_without_a_limit_does_not_wait() -> None:
    limiter = RateLimiter(per_second=None)

    started = time.monotonic()
    for _ in range(1000):
        limiter.wait()

    assert time.monotonic() - started < 0.5
