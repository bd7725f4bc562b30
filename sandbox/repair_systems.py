"""Credit China (信用中国) and GSXT (国家企业信用信息公示系统), simulated over loopback HTTP.

One server, two systems under their own base URLs (``/creditchina``, ``/gsxt``), each with its
own bearer token, field names, codes, time format, pagination and answer envelope
(``sandbox.repair_vocab``):

- the repair-result feed: every decision the system holds (its own repairs and revocations, and
  those synced from the other system), in the order it took them in; incremental from a feed
  position (Credit China ``qsxh`` with page numbers, GSXT ``sinceSeq`` with a page cursor);
- the push endpoint, where the hub tells it of repairs decided in the other system: each item is
  checked, accepted once per idempotency key (a repeat is answered ``duplicate`` and changes
  nothing), recorded (``handle.pushed``) and, once accepted, served in the feed as synced.

Faults are injected per system as for the agencies (``sandbox.agencies.Faults``), on both
endpoints. What the systems decide comes from ``sandbox.repair_scenario``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from connectors.connections import env_var_name
from connectors.repair_systems import repair_system
from sandbox import loopback
from sandbox.agencies import Faults
from sandbox.config import SandboxConfig, api_token
from sandbox.repair_scenario import (
    RecordRef,
    RepairScenario,
    decide,
    decide_repairs,
    delivered_records,
    read_repair_truth,
)
from sandbox.repair_store import SHANGHAI, Decision, PushedItem, RepairStore
from sandbox.repair_vocab import (
    CREDIT_CHINA,
    GSXT,
    REJECTED,
    SYSTEMS,
    Vocabulary,
    decode_decision,
    decode_kind,
    decode_system,
    vocabulary,
)

__all__ = [
    "SYSTEMS",
    "RecordRef",
    "RepairScenario",
    "RepairSystemsHandle",
    "create_app",
    "decide",
    "decide_repairs",
    "delivered_records",
    "read_repair_truth",
    "repair_connection_env",
    "serve_repair_systems",
]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_PUSH_ITEMS = 500
_HTML_PAGE = "<html><head><title>系统维护</title></head><body>系统升级维护中。</body></html>"


def repair_connection_env(base_url: str, seed: int) -> dict[str, str]:
    """The ``AIRFLOW_CONN_*`` variables (JSON form) of both systems on a server at ``base_url``.

    Each is the connection the hub's declaration of the system names
    (``mappings/repair_systems/``), pointed at this sandbox's twin of it.

    Args:
        base_url: where the repair-systems server listens, e.g. ``http://127.0.0.1:8766``.
        seed: the sandbox seed the systems' tokens derive from.
    """
    env = {}
    for system in SYSTEMS:
        vocab = vocabulary(system)
        conn = {
            "conn_type": "http",
            "password": api_token(seed, system),
            "extra": {"base_url": f"{base_url.rstrip('/')}/{vocab.prefix}"},
        }
        env[env_var_name(repair_system(system).connection)] = json.dumps(conn)
    return env


class RepairSystemsApi:
    """The server's run-time state: the store, per-system faults and request counts."""

    def __init__(
        self, config: SandboxConfig, faults: dict[str, Faults] | None = None, fault_seed: int = 0
    ) -> None:
        self.config = config
        self.store = RepairStore(config.repair_store_path)
        self.store.create()
        self.rng = random.Random(f"{config.seed}|repair faults|{fault_seed}")
        self.lock = threading.Lock()
        self.faults = {system: (faults or {}).get(system, Faults()) for system in SYSTEMS}
        self.requests = dict.fromkeys(SYSTEMS, 0)

    def set_faults(self, system: str, faults: Faults) -> None:
        """Replace ``system``'s faults."""
        vocabulary(system)
        with self.lock:
            self.faults[system] = faults

    def request_counts(self) -> dict[str, int]:
        """Requests received per system since start."""
        with self.lock:
            return dict(self.requests)

    def count_and_draw(self, system: str) -> tuple[Faults, float]:
        """Count a request to ``system``; its faults and a draw deciding which one strikes."""
        with self.lock:
            self.requests[system] += 1
            return self.faults[system], self.rng.random()


@dataclass(frozen=True)
class _Dialect:
    """What differs in how the two systems answer: envelopes and feed paging."""

    page: Callable[[RepairStore, Vocabulary, Request], dict[str, Any]]
    ok: Callable[[Any], dict[str, Any]]
    error: Callable[[int, str], dict[str, Any]]
    result: Callable[[Vocabulary, str | None, str, str | None], dict[str, Any]]


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name) or default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number") from None


def _credit_china_page(store: RepairStore, vocab: Vocabulary, request: Request) -> dict:
    after = _int_param(request, "qsxh", 0)
    page = max(1, _int_param(request, "pageNo", 1))
    size = min(MAX_PAGE_SIZE, max(1, _int_param(request, "pageSize", DEFAULT_PAGE_SIZE)))
    decisions, total = store.feed(vocab.system, after, offset=(page - 1) * size, limit=size)
    return {
        "total": total,
        "pages": math.ceil(total / size),
        "pageNo": page,
        "pageSize": size,
        "list": [render(vocab, d) for d in decisions],
    }


def _gsxt_page(store: RepairStore, vocab: Vocabulary, request: Request) -> dict:
    after = max(_int_param(request, "sinceSeq", 0), _int_param(request, "pageCursor", 0))
    size = min(MAX_PAGE_SIZE, max(1, _int_param(request, "pageSize", DEFAULT_PAGE_SIZE)))
    decisions, _ = store.feed(vocab.system, after, limit=size)
    full = len(decisions) == size
    return {
        "items": [render(vocab, d) for d in decisions],
        "nextPageCursor": vocab.cursor(decisions[-1].seq) if full else None,
    }


_DIALECTS = {
    CREDIT_CHINA: _Dialect(
        page=_credit_china_page,
        ok=lambda data: {"code": "200", "msg": "操作成功", "data": data},
        error=lambda status, message: {"code": str(status), "msg": message, "data": None},
        result=lambda vocab, key, outcome, reason: {
            vocab.sync_key_field: key,
            "jg": vocab.outcome_codes[outcome],
            "yy": reason or "",
        },
    ),
    GSXT: _Dialect(
        page=_gsxt_page,
        ok=lambda data: {"status": "0", "message": "success", "result": data},
        error=lambda status, message: {"status": str(status), "message": message},
        result=lambda vocab, key, outcome, reason: {
            vocab.sync_key_field: key,
            "code": vocab.outcome_codes[outcome],
            "msg": reason or "ok",
        },
    ),
}
_UNAUTHORISED = {CREDIT_CHINA: "令牌无效或已过期", GSXT: "invalid access token"}


def render(vocab: Vocabulary, decision: Decision) -> dict[str, Any]:
    """A decision as ``vocab``'s system writes it in its feed."""
    assert decision.seq is not None
    values = asdict(decision) | {
        "seq": vocab.cursor(decision.seq),
        "kind": vocab.kind_codes[decision.kind],
        "decision": vocab.decision_codes[decision.decision],
        "decided_at": decision.decided_at.strftime(vocab.time_format),
        "origin_system": vocab.system_codes[decision.origin_system],
    }
    return {field: values[name] for name, field in vocab.fields.items()}


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def parse_push_item(vocab: Vocabulary, item: Any) -> PushedItem:
    """A pushed item checked against ``vocab``'s rules: its decision, or why it is refused."""
    item = item if isinstance(item, dict) else {"item": item}
    fields, messages = vocab.fields, vocab.messages
    key = _text(item.get(vocab.sync_key_field))

    def refused(rule: str, value: Any = None) -> PushedItem:
        return PushedItem(key, item, None, messages[rule].format(value=value))

    values = {name: _text(item.get(field)) for name, field in fields.items()}
    if key is None:
        return refused("no_key")
    if values["document_no"] is None:
        return refused("no_document")
    if values["subject_name"] is None:
        return refused("no_name")
    if values["credit_code"] is None and values["id_number"] is None:
        return refused("no_subject")
    kind = decode_kind(vocab, values["kind"])
    if kind is None:
        return refused("bad_kind", values["kind"])
    decision = decode_decision(vocab, values["decision"])
    if decision is None:
        return refused("bad_decision", values["decision"])
    try:
        decided_at = datetime.strptime(values["decided_at"] or "", vocab.time_format)
    except ValueError:
        return refused("bad_time", values["decided_at"])
    origin = decode_system(vocab, values["origin_system"])
    if origin is None or origin == vocab.system:
        return refused("bad_origin", values["origin_system"])
    return PushedItem(
        key,
        item,
        Decision(
            system=vocab.system,
            kind=kind,
            document_no=values["document_no"],
            subject_name=values["subject_name"],
            credit_code=values["credit_code"],
            id_number=values["id_number"],
            authority_name=values["authority_name"],
            decision=decision,
            decided_at=decided_at.replace(tzinfo=SHANGHAI),
            origin_system=origin,
            origin_id=values["origin_id"],
            channel="pushed",
        ),
        None,
    )


def _fault(api: RepairSystemsApi, system: str, dialect: _Dialect) -> Response | float:
    """The fault answer this request gets, or how long to stall before answering (0: none)."""
    faults, draw = api.count_and_draw(system)
    if faults.mode == "down":
        return JSONResponse(dialect.error(503, "service unavailable"), status_code=503)
    if faults.mode == "html":
        return HTMLResponse(_HTML_PAGE, status_code=200)
    if draw < faults.fail_rate:
        status = 503 if draw < faults.fail_rate / 2 else 500
        return JSONResponse(dialect.error(status, "upstream failure"), status_code=status)
    draw -= faults.fail_rate
    if draw < faults.rate_limit_rate:
        return JSONResponse(
            dialect.error(429, "too many requests"), status_code=429, headers={"Retry-After": "1"}
        )
    draw -= faults.rate_limit_rate
    return faults.slow_seconds if draw < faults.slow_rate else 0.0


Handler = Callable[[Request, bytes], Any]


def _guarded(api: RepairSystemsApi, system: str, handler: Handler) -> Callable[[Request], Any]:
    """``handler`` behind the system's faults, its token check and its error envelope.

    The handler runs on the thread pool (it reads and writes the store), so that a slow answer
    or a busy store never stalls the server's other requests.
    """
    dialect = _DIALECTS[system]
    token = api_token(api.config.seed, system)

    async def endpoint(request: Request) -> Response:
        fault = _fault(api, system, dialect)
        if isinstance(fault, Response):
            return fault
        await asyncio.sleep(fault)
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else ""
        if not secrets.compare_digest(given, token):
            return JSONResponse(dialect.error(401, _UNAUTHORISED[system]), status_code=401)
        body = await request.body()
        try:
            return JSONResponse(dialect.ok(await run_in_threadpool(handler, request, body)))
        except ValueError as exc:
            return JSONResponse(dialect.error(400, f"bad request: {exc}"), status_code=400)

    return endpoint


def _feed_handler(api: RepairSystemsApi, vocab: Vocabulary) -> Handler:
    def feed(request: Request, body: bytes) -> dict[str, Any]:
        return _DIALECTS[vocab.system].page(api.store, vocab, request)

    return feed


def _push_handler(api: RepairSystemsApi, vocab: Vocabulary) -> Handler:
    dialect = _DIALECTS[vocab.system]

    def push(request: Request, body: bytes) -> list[dict[str, Any]]:
        try:
            data = json.loads(body)
        except ValueError:
            raise ValueError("the body is not JSON") from None
        items = data.get(vocab.push_items_key) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ValueError(f"the body has no {vocab.push_items_key!r} list")
        if len(items) > MAX_PUSH_ITEMS:
            raise ValueError(f"at most {MAX_PUSH_ITEMS} items per request, got {len(items)}")
        checked = [parse_push_item(vocab, item) for item in items]
        outcomes = api.store.receive_push(vocab.system, checked)
        return [
            dialect.result(vocab, item.key, outcome, detail if outcome == REJECTED else None)
            for item, (outcome, detail) in zip(checked, outcomes, strict=True)
        ]

    return push


def create_app(
    config: SandboxConfig, faults: dict[str, Faults] | None = None, fault_seed: int = 0
) -> FastAPI:
    """The repair-systems app; its ``RepairSystemsApi`` state is ``app.state.repair_systems``.

    Args:
        config: the sandbox whose repair store is served.
        faults: per-system faults (default: none).
        fault_seed: seeds the fault draws (with the sandbox seed).
    """
    app = FastAPI(title="信用平台沙箱：信用中国与公示系统", openapi_url=None, docs_url=None)
    api = RepairSystemsApi(config, faults, fault_seed)
    app.state.repair_systems = api
    for system in SYSTEMS:
        vocab = vocabulary(system)
        feed = _guarded(api, system, _feed_handler(api, vocab))
        push = _guarded(api, system, _push_handler(api, vocab))
        app.add_api_route(f"/{vocab.prefix}{vocab.feed_path}", feed, methods=["GET"])
        app.add_api_route(f"/{vocab.prefix}{vocab.push_path}", push, methods=["POST"])

    @app.get("/_admin/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.put("/_admin/faults/{system}")
    def put_faults(system: str, changes: dict[str, Any]) -> Response:
        if system not in SYSTEMS:
            return JSONResponse({"error": f"no repair system {system}"}, status_code=404)
        try:
            faults = replace(api.faults[system], **changes)
        except TypeError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        api.set_faults(system, faults)
        return JSONResponse(asdict(faults))

    return app


@dataclass(frozen=True)
class RepairSystemsHandle:
    """A running repair-systems server: where each system is, what it received, its faults."""

    base_url: str
    api: RepairSystemsApi

    def url(self, system: str) -> str:
        """The base URL of ``system`` (``credit_china`` or ``gsxt``)."""
        return f"{self.base_url}/{vocabulary(system).prefix}"

    def pushed(self, system: str) -> list[dict[str, Any]]:
        """Every pushed item ``system`` received, in order (see ``RepairStore.pushed``)."""
        return self.api.store.pushed(system)

    def set_faults(self, system: str, faults: Faults) -> None:
        """Replace ``system``'s faults, e.g. ``Faults(mode="down")``."""
        self.api.set_faults(system, faults)

    def request_counts(self) -> dict[str, int]:
        """Requests received per system."""
        return self.api.request_counts()

    def connection_env(self) -> dict[str, str]:
        """The ``AIRFLOW_CONN_*`` variables of both systems on this server."""
        return repair_connection_env(self.base_url, self.api.config.seed)


@contextlib.contextmanager
def serve_repair_systems(
    config: SandboxConfig,
    faults: dict[str, Faults] | None = None,
    fault_seed: int = 0,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    public_host: str | None = None,
) -> Iterator[RepairSystemsHandle]:
    """Serve both systems on one port in a thread, for the duration of the block.

    Args:
        config: the sandbox whose repair store is served.
        faults: per-system faults (default: none).
        fault_seed: seeds the fault draws.
        host: the address to listen on (default: loopback).
        port: the port to listen on (default 0: a free one).
        public_host: the host name in the systems' URLs (default: ``host``).

    Yields:
        The handle: ``url(system)``, ``pushed(system)``, ``set_faults(system, faults)``.
    """
    app = create_app(config, faults, fault_seed)
    sock = loopback.bind(host, port)
    with loopback.serve_in_thread(app, [sock], "repair-systems server"):
        yield RepairSystemsHandle(loopback.url_of(sock, public_host), app.state.repair_systems)
