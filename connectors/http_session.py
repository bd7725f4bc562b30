"""The project's one HTTP policy: retries with capped, jittered backoff, and a rate limiter.

Every peer the hub calls over HTTP (agency APIs, Credit China and GSXT, the push targets, the
alert webhook, a site's pull client) is called under an ``HttpPolicy``: its timeout, retries,
backoff and rate. Sources and repair systems declare theirs in their YAML files, push targets in
their connection's extras; each kind of peer has its defaults here (``SOURCE_POLICY``,
``PUSH_POLICY``, ``PULL_POLICY``, ``ALERT_POLICY``). Callers build their sessions with
``build_session`` and send with ``send_request``, so that every HTTP call of the hub retries the
same way and gives up with the
same kind of message: ``gave up after 6 attempts: 503 Service Unavailable from <url>``. Each retry
is logged as a warning naming the request and whose it is (``log_fields``, e.g. the source):
``retrying GET http://.../penalties?page=3 after 503 Service Unavailable (retry 1 of 5)
[source=zj_scjg_penalty_api]``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, Self

import requests
from pydantic import BaseModel, ConfigDict, Field
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from hub.core.logs import masked_logger

log = masked_logger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE"})


class HttpPolicy(BaseModel):
    """How a peer is called over HTTP; the same fields wherever a policy is declared.

    Attributes:
        timeout_seconds: per request, to connect and to read.
        max_retries: retries of a request after a connection error, a timeout, a 429 or a
            500/502/503/504 answer (``0``: one attempt).
        backoff_seconds: the base of the exponential backoff, and the jitter's range.
        max_backoff_seconds: the longest single wait, ``Retry-After`` included.
        rate_limit_per_second: requests a second at most (``None``: no limit).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    backoff_seconds: float = Field(default=0.5, ge=0)
    max_backoff_seconds: float = Field(default=30.0, ge=0)
    rate_limit_per_second: float | None = Field(default=None, gt=0)

    def with_extras(self, extra: Mapping[str, Any]) -> HttpPolicy:
        """This policy with any of its fields that a connection's ``extra`` gives overridden."""
        given = {name: extra[name] for name in type(self).model_fields if name in extra}
        return self.model_validate({**self.model_dump(), **given})


SOURCE_POLICY = HttpPolicy()
"""Agency APIs and the repair systems: a run may wait out a peer's bad minute."""
PUSH_POLICY = HttpPolicy(timeout_seconds=10, max_retries=3, max_backoff_seconds=10)
"""Push targets: the outbox retries a message across runs, so one request gives up sooner."""
PULL_POLICY = HttpPolicy(timeout_seconds=60, max_retries=3, max_backoff_seconds=10)
"""A site's pull client: a delta file may take a while to download."""
ALERT_POLICY = HttpPolicy(timeout_seconds=10, max_retries=2, max_backoff_seconds=5)
"""Alert webhooks: a failing webhook must not hold up the callback that posts to it."""


class GaveUpError(Exception):
    """Every attempt of a request failed; the message says how often, why, and where."""

    def __init__(self, attempts: int, cause: str, url: str) -> None:
        super().__init__(f"gave up after {attempts} attempts: {cause} from {url}")
        self.attempts = attempts
        self.cause = cause
        self.url = url


class _CappedRetry(Retry):
    """A ``Retry`` whose ``Retry-After`` waits never exceed ``backoff_max``, logging each retry.

    A server's ``Retry-After: 86400`` (or an unparsable value) must not stall a whole run.
    """

    def __init__(self, *args: Any, log_fields: Mapping[str, Any] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.log_fields = dict(log_fields or {})

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry.log_fields = self.log_fields  # urllib3 copies only its own parameters
        return retry

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: Any = None,
    ) -> Self:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        cause = (
            f"{response.status} {response.reason}"
            if response is not None and error is None
            else _describe_failure(error)
        )
        where = f"{_pool.scheme}://{_pool.host}:{_pool.port}{url}" if _pool is not None else url
        fields = {**self.log_fields, "url": where, "retry": len(retry.history)}
        context = " ".join(f"{k}={v}" for k, v in self.log_fields.items())
        log.warning(
            "retrying %s %s after %s (retry %d of %s)%s",
            method,
            where,
            cause,
            len(retry.history),
            len(retry.history) + (retry.total or 0),
            f" [{context}]" if context else "",
            extra=fields,
        )
        return retry

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        try:
            retry_after = super().get_retry_after(response)
        except InvalidHeader:
            return None
        return None if retry_after is None else min(retry_after, self.backoff_max)


def build_session(
    policy: HttpPolicy, log_fields: Mapping[str, Any] | None = None
) -> requests.Session:
    """A session that retries connect errors, read timeouts and 429/500/502/503/504 answers.

    The wait before retry ``n`` is about ``backoff_seconds * 2**(n-1)`` plus up to
    ``backoff_seconds`` of jitter, never more than ``max_backoff_seconds``; a ``Retry-After``
    header is honoured up to the same cap. Close the session when done. (The policy's timeout is
    given to ``send_request``, its rate to a ``RateLimiter``.)

    Args:
        policy: the retries and backoff.
        log_fields: what the retry warnings name (``{"source": ...}``, ``{"target": ...}``),
            as text in the message and as ``extra`` fields of the record.
    """
    retry = _CappedRetry(
        total=policy.max_retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=RETRY_METHODS,
        backoff_factor=policy.backoff_seconds,
        backoff_jitter=policy.backoff_seconds,
        backoff_max=policy.max_backoff_seconds,
        respect_retry_after_header=True,
        # Hand back the last answer instead of raising, so send_request can name its status.
        raise_on_status=False,
        log_fields=log_fields,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def send_request(
    session: requests.Session, method: str, url: str, **kwargs: Any
) -> requests.Response:
    """Send a request through ``session``; raise ``GaveUpError`` once its retries are spent.

    Args:
        session: a session from ``build_session``.
        method: the HTTP method.
        url: the URL, without its query (``params`` go in ``kwargs``).
        **kwargs: passed to ``requests.Session.request`` (``params``, ``json``, ``timeout``...).

    Returns:
        The answer, whatever its status, unless it is a retryable status that persisted.

    Raises:
        GaveUpError: every attempt failed to connect, timed out, or answered a retryable status.
    """
    try:
        response = session.request(method, url, **kwargs)
    except requests.ConnectionError as exc:
        max_retry = exc.args[0] if exc.args and isinstance(exc.args[0], MaxRetryError) else None
        if max_retry is None:
            raise
        attempts = _max_retries(session, url) + 1
        raise GaveUpError(attempts, _describe_failure(max_retry.reason), _url_of(exc, url)) from exc
    if response.status_code in RETRY_STATUSES:
        retries = response.raw.retries if response.raw is not None else None
        attempts = len(retries.history) + 1 if retries is not None else 1
        cause = f"{response.status_code} {response.reason}"
        response.close()
        raise GaveUpError(attempts, cause, response.url)
    return response


def _max_retries(session: requests.Session, url: str) -> int:
    adapter = session.get_adapter(url)
    retry = adapter.max_retries if isinstance(adapter, HTTPAdapter) else None
    return int(retry.total or 0) if retry is not None else 0


def _describe_failure(reason: Exception | None) -> str:
    if isinstance(reason, ReadTimeoutError):
        return "read timed out"
    if isinstance(reason, NewConnectionError):
        return f"could not connect ({str(reason).rsplit(': ', 1)[-1]})"
    if isinstance(reason, ConnectTimeoutError):
        return "connect timed out"
    return f"{type(reason).__name__}: {reason}"


def _url_of(exc: requests.RequestException, fallback: str) -> str:
    return exc.request.url if exc.request is not None and exc.request.url else fallback


class RateLimiter:
    """At most ``per_second`` requests a second, shared safely between threads.

    Call ``wait()`` before each request; it sleeps until the request's slot comes.
    ``per_second=None`` means no limit.
    """

    def __init__(self, per_second: float | None) -> None:
        if per_second is not None and per_second <= 0:
            raise ValueError(f"rate limit must be positive, got {per_second}")
        self._interval = 1.0 / per_second if per_second else 0.0
        self._next_slot = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may be sent."""
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > now:
            time.sleep(slot - now)
