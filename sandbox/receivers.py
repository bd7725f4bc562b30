"""The downstream sites as loopback HTTP receivers of pushed status changes.

One receiver per push target (the city credit sites and the government-service platform), each
on its own loopback port, all served by one uvicorn server with a minimal ASGI app (no framework:
the delivery benchmark measures the hub, not the receiver). A receiver checks the bearer token,
validates each message, keeps the first copy of every message by its idempotency key, counts
every copy it was sent (so a test sees redeliveries the key made harmless) and keeps every request
body as received (so a test can scan the bytes that left the platform). It acknowledges each
message with a receipt; a message sent again gets its first receipt back, marked ``duplicate``.
Each record's status at the site follows the message with the highest ``change_id``, whatever
order the messages arrive in.

Faults are injected per receiver with a seeded ``Random`` and can be changed while it runs
(``ReceiversHandle.set_faults`` or ``PUT /_admin/faults``): 5xx answers, answers that come only
after the sender's timeout (the messages were taken: the answer is what gets lost), slow answers,
429 with ``Retry-After``, and ``down`` (503 to everything). ``GET /_admin/stats`` gives the counts.

Run ``python -m sandbox.receivers --ready-file F`` for a foreground process serving every push
target of the targets file; it writes the receivers' URLs to ``F`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import secrets
import signal
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from connectors.connections import env_var_name
from hub.core.targets import Target, push_targets
from sandbox import loopback
from sandbox.config import DEFAULT_SEED, api_token

REQUIRED_FIELDS = (
    "idempotency_key",
    "change_id",
    "record_key",
    "kind",
    "previous_status",
    "new_status",
    "effective_date",
    "document_no",
    "subject_name",
)
"""What a site needs of each message to find the record and move it."""
STATUSES = frozenset({"published", "repaired", "expired", "withdrawn"})


@dataclass(frozen=True)
class ReceiverFaults:
    """How a receiver misbehaves; changeable while it runs. Rates are shares of push requests.

    Attributes:
        fail_rate: answered 503 or 500 before anything is taken.
        timeout_rate: taken, then answered only after ``timeout_seconds`` (past the sender's
            timeout, so the sender sees a timeout and sends the messages again).
        timeout_seconds: the delay of such an answer.
        slow_rate: taken and answered after ``slow_seconds``.
        slow_seconds: the delay of a slow answer.
        rate_limit_rate: answered 429 with ``Retry-After: <retry_after_seconds>``.
        retry_after_seconds: the ``Retry-After`` of a 429.
        mode: ``normal``, or ``down``: every request answered 503.
    """

    fail_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_seconds: float = 2.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.2
    rate_limit_rate: float = 0.0
    retry_after_seconds: int = 1
    mode: Literal["normal", "down"] = "normal"


@dataclass
class Receiver:
    """One site: what it was sent, what it took, and how it misbehaves.

    Attributes:
        target: the push target it stands for.
        token: the bearer token it accepts.
        faults: its current faults.
        messages: the first copy of every message taken, by idempotency key.
        receipts: the receipt given for each key.
        copies: how many copies of each key were taken (1 for a message sent once).
        request_keys: how often each request's ``Idempotency-Key`` header was seen.
        bodies: every push request body, as received.
        status: each record's status at the site (from its highest ``change_id``).
        requests: push requests received, whatever the answer.
        max_in_flight: the most push requests it was answering at once.
    """

    target: Target
    token: str
    faults: ReceiverFaults
    messages: dict[str, dict] = field(default_factory=dict)
    receipts: dict[str, str] = field(default_factory=dict)
    copies: Counter[str] = field(default_factory=Counter)
    request_keys: Counter[str] = field(default_factory=Counter)
    bodies: list[bytes] = field(default_factory=list)
    status: dict[str, tuple[int, str]] = field(default_factory=dict)
    requests: int = 0
    max_in_flight: int = 0
    in_flight: int = 0

    def take(self, payload: Any) -> dict[str, list]:
        """Validate and take a push body; the acknowledgements and rejections to answer.

        Raises:
            ValueError: the body as a whole is unusable (the message names the rule).
        """
        if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
            raise ValueError("body must be a JSON object with a 'messages' list (rule: shape)")
        if payload.get("target") != self.target.id:
            raise ValueError(
                f"body is addressed to {payload.get('target')!r}, this is {self.target.id!r} "
                "(rule: target)"
            )
        acknowledged, rejected = [], []
        for position, message in enumerate(payload["messages"]):
            problem = _problem(message)
            if problem:
                key = message.get("idempotency_key") if isinstance(message, dict) else None
                rejected.append({"idempotency_key": key, "error": f"message {position}: {problem}"})
                continue
            acknowledged.append(self._take_message(message))
        return {"acknowledged": acknowledged, "rejected": rejected}

    def _take_message(self, message: dict) -> dict:
        key = message["idempotency_key"]
        self.copies[key] += 1
        duplicate = key in self.receipts
        if not duplicate:
            self.messages[key] = message
            self.receipts[key] = f"{self.target.id}-{len(self.receipts) + 1:08d}"
            seen = self.status.get(message["record_key"])
            if seen is None or seen[0] < message["change_id"]:
                self.status[message["record_key"]] = (message["change_id"], message["new_status"])
        return {"idempotency_key": key, "receipt": self.receipts[key], "duplicate": duplicate}

    def stats(self) -> dict[str, Any]:
        """The counts: requests, messages taken once, copies, the most copies of one message."""
        return {
            "target": self.target.id,
            "requests": self.requests,
            "messages": len(self.messages),
            "copies": sum(self.copies.values()),
            "most_copies": max(self.copies.values(), default=0),
            "resent_requests": sum(n - 1 for n in self.request_keys.values()),
            "max_in_flight": self.max_in_flight,
            "faults": asdict(self.faults),
        }


def _problem(message: Any) -> str | None:
    """Why a message cannot be taken (naming the field and the rule), or ``None``."""
    if not isinstance(message, dict):
        return "not a JSON object (rule: shape)"
    missing = [name for name in REQUIRED_FIELDS if message.get(name) in (None, "")]
    if missing:
        return f"missing {', '.join(missing)} (rule: required_field)"
    if not isinstance(message["change_id"], int):
        return f"change_id {message['change_id']!r} is not an integer (rule: change_id)"
    if message["new_status"] not in STATUSES:
        return f"new_status {message['new_status']!r} is not a record status (rule: status)"
    return None


class _ReceiverApp:
    """The ASGI app of every receiver; the port a request came in on says which receiver."""

    def __init__(self, by_port: dict[int, Receiver], seed: int) -> None:
        self.by_port = by_port
        self.lock = threading.Lock()
        self.rng = random.Random(f"receivers|{seed}")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        receiver = self.by_port[scope["server"][1]]
        body = await _read_body(receive)
        status, answer, headers = await self._answer(receiver, scope, body)
        payload = json.dumps(answer, ensure_ascii=False).encode()
        raw_headers = [(b"content-type", b"application/json; charset=utf-8")]
        raw_headers += [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})

    async def _answer(
        self, receiver: Receiver, scope: dict, body: bytes
    ) -> tuple[int, dict, dict[str, str]]:
        path, method = scope["path"], scope["method"]
        if not self._authorised(receiver, scope):
            return 401, {"error": f"{receiver.target.id}: missing or wrong bearer token"}, {}
        if path == "/_admin/stats" and method == "GET":
            with self.lock:
                return 200, receiver.stats(), {}
        if path == "/_admin/faults" and method == "PUT":
            return self._put_faults(receiver, body)
        if path != receiver.target.path:
            return 404, {"error": f"{receiver.target.id}: no endpoint {path}"}, {}
        if method != "POST":
            return 405, {"error": f"{receiver.target.id}: {path} takes POST"}, {}
        with self.lock:
            receiver.in_flight += 1
            receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
        try:
            return await self._push(receiver, scope, body)
        finally:
            with self.lock:
                receiver.in_flight -= 1

    def _authorised(self, receiver: Receiver, scope: dict) -> bool:
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        return secrets.compare_digest(token, receiver.token)

    def _put_faults(self, receiver: Receiver, body: bytes) -> tuple[int, dict, dict[str, str]]:
        try:
            changes = json.loads(body)
            with self.lock:
                receiver.faults = replace(receiver.faults, **changes)
                return 200, asdict(receiver.faults), {}
        except (ValueError, TypeError) as exc:
            return 422, {"error": f"{receiver.target.id}: bad faults: {exc}"}, {}

    async def _push(
        self, receiver: Receiver, scope: dict, body: bytes
    ) -> tuple[int, dict, dict[str, str]]:
        request_key = dict(scope["headers"]).get(b"idempotency-key", b"").decode("latin-1")
        with self.lock:
            receiver.requests += 1
            faults, draw = receiver.faults, self.rng.random()
        if faults.mode == "down":
            return 503, {"error": f"{receiver.target.id} is down"}, {}
        if draw < faults.fail_rate:
            status = 503 if draw < faults.fail_rate / 2 else 500
            return status, {"error": f"{receiver.target.id}: upstream failure"}, {}
        draw -= faults.fail_rate
        if draw < faults.rate_limit_rate:
            retry_after = {"Retry-After": str(faults.retry_after_seconds)}
            return 429, {"error": f"{receiver.target.id}: too many requests"}, retry_after
        draw -= faults.rate_limit_rate
        try:
            payload = json.loads(body)
        except ValueError as exc:
            return 400, {"error": f"{receiver.target.id}: body is not JSON: {exc}"}, {}
        with self.lock:
            receiver.bodies.append(body)
            receiver.request_keys[request_key] += 1
            try:
                answer = receiver.take(payload)
            except ValueError as exc:
                return 400, {"error": f"{receiver.target.id}: {exc}"}, {}
        if draw < faults.timeout_rate:
            await asyncio.sleep(faults.timeout_seconds)
        elif draw - faults.timeout_rate < faults.slow_rate:
            await asyncio.sleep(faults.slow_seconds)
        return 200, answer, {}


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


@dataclass
class ReceiversHandle:
    """Running receivers: their URLs and state, and fault controls.

    Attributes:
        receivers: each receiver by target id.
        base_urls: each receiver's base URL (``http://127.0.0.1:<port>``) by target id.
        lock: held while the server changes a receiver's state; hold it to read a consistent view.
    """

    receivers: dict[str, Receiver]
    base_urls: dict[str, str]
    lock: threading.Lock

    def set_faults(self, target_id: str | None = None, **changes: Any) -> None:
        """Change the faults of one receiver (or of all: ``target_id=None``)."""
        with self.lock:
            for receiver in self.receivers.values():
                if target_id in (None, receiver.target.id):
                    receiver.faults = replace(receiver.faults, **changes)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Every receiver's counts by target id."""
        with self.lock:
            return {target_id: r.stats() for target_id, r in self.receivers.items()}

    def connection_env(self, **extra: Any) -> dict[str, str]:
        """The ``AIRFLOW_CONN_*`` variables (JSON form) pointing each push target here.

        Args:
            **extra: connection extras for the push client (``timeout_seconds``, ``max_retries``,
                ``backoff_seconds``...).
        """
        env = {}
        for target_id, receiver in self.receivers.items():
            conn_id = receiver.target.connection
            assert conn_id is not None  # push targets always name one
            conn = {
                "conn_type": "http",
                "password": receiver.token,
                "extra": {"base_url": self.base_urls[target_id], **extra},
            }
            env[env_var_name(conn_id)] = json.dumps(conn)
        return env


@contextlib.contextmanager
def serve_receivers(
    targets: Sequence[Target] | None = None,
    *,
    seed: int = DEFAULT_SEED,
    faults: ReceiverFaults | None = None,
    host: str = "127.0.0.1",
    first_port: int = 0,
    public_host: str | None = None,
) -> Iterator[ReceiversHandle]:
    """Serve one receiver per push target, each on its own port, in a thread, for the block.

    Args:
        targets: the push targets to receive for (default: those of the targets file).
        seed: what the tokens and the fault draws derive from.
        faults: every receiver's initial faults (default: none).
        host: the address to listen on (default: loopback).
        first_port: the first receiver's port, the others' following it in the targets' order
            (default 0: free ports).
        public_host: the host name in the receivers' URLs (default: ``host``).

    Yields:
        The handle: URLs, state, fault controls and the connections pointing at them.
    """
    targets = push_targets() if targets is None else targets
    sockets, by_port, urls = [], {}, {}
    for index, target in enumerate(targets):
        sock = loopback.bind(host, first_port + index if first_port else 0)
        sockets.append(sock)
        by_port[sock.getsockname()[1]] = Receiver(
            target, api_token(seed, target.id), faults or ReceiverFaults()
        )
        urls[target.id] = loopback.url_of(sock, public_host)
    app = _ReceiverApp(by_port, seed)
    with loopback.serve_in_thread(app, sockets, "sandbox receivers", backlog=512):
        receivers = {r.target.id: r for r in by_port.values()}
        yield ReceiversHandle(receivers, urls, app.lock)


def main(argv: list[str] | None = None) -> None:
    """Serve a receiver per push target until SIGTERM; write their URLs to ``--ready-file``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with serve_receivers(seed=args.seed) as handle:
        ready = {"base_urls": handle.base_urls, "env": handle.connection_env()}
        args.ready_file.write_text(json.dumps(ready), encoding="utf-8")
        stop.wait()


if __name__ == "__main__":
    main()
