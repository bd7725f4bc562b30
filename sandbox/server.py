"""The sandbox API server: the API agencies' endpoints, served from the API store.

Per agency: its pagination style, its authentication, ``updated_since`` / ``updated_until``
filtering (exclusive / inclusive, on the record's update timestamp) and stable order (update
timestamp, then row key). Faults are injected per agency with the server's own seeded ``Random``
and can be changed while it runs (``PUT /_admin/faults/<source_id>``, or the handle of
``serve_in_thread``); ``GET /_admin/stats`` counts requests per agency.

Run ``python -m sandbox.server --dir <sandbox dir>`` for a foreground server; the CLI starts it in
the background with ``start_background``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import random
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from hub.core.settings import PROJECT_ROOT
from sandbox import loopback
from sandbox.agencies import Agency, ApiChannel, Faults, api_agencies
from sandbox.config import API_LOGIN, SandboxConfig, api_password, api_token
from sandbox.store import ApiStore

LOCAL = timezone(timedelta(hours=8))
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
PID_FILE = "server.pid"
LOG_FILE = "server.log"
_HTML_PAGE = (
    "<html><head><title>系统维护</title></head><body>系统维护中，请稍后再试。</body></html>"
)


@dataclass
class _AgencyState:
    agency: Agency
    faults: Faults
    requests: int = 0
    tokens: set[str] = field(default_factory=set)


class SandboxApi:
    """The server's run-time state: per-agency faults, request counts and issued tokens."""

    def __init__(
        self, config: SandboxConfig, faults: dict[str, Faults] | None = None, fault_seed: int = 0
    ) -> None:
        self.config = config
        self.store = ApiStore(config.store_path)
        self.rng = random.Random(f"{config.seed}|faults|{fault_seed}")
        self.lock = threading.Lock()
        self.agencies: dict[str, _AgencyState] = {}
        for agency in api_agencies():
            assert isinstance(agency.channel, ApiChannel)
            default = replace(agency.channel.faults)
            chosen = (faults or {}).get(agency.source_id, default)
            self.agencies[agency.source_id] = _AgencyState(agency, chosen)

    def set_faults(self, source_id: str, **changes: Any) -> Faults:
        """Change some of ``source_id``'s fault settings; returns them all."""
        with self.lock:
            state = self.agencies[source_id]
            state.faults = replace(state.faults, **changes)
            return state.faults

    def request_counts(self) -> dict[str, int]:
        """Requests received per agency (data and token endpoints) since start or reset."""
        with self.lock:
            return {sid: s.requests for sid, s in self.agencies.items()}

    def reset_counts(self) -> None:
        """Set every request count back to zero."""
        with self.lock:
            for state in self.agencies.values():
                state.requests = 0

    def _count_and_draw(self, source_id: str) -> tuple[Faults, float]:
        with self.lock:
            state = self.agencies[source_id]
            state.requests += 1
            return state.faults, self.rng.random()


def _fault_response(api: SandboxApi, source_id: str) -> Response | None:
    """The fault answer to this request, if it gets one (a slow answer sleeps, then proceeds)."""
    faults, draw = api._count_and_draw(source_id)
    if faults.mode == "down":
        return JSONResponse({"error": "service unavailable"}, status_code=503)
    if faults.mode == "html":
        return HTMLResponse(_HTML_PAGE, status_code=200)
    if draw < faults.fail_rate:
        status = 503 if draw < faults.fail_rate / 2 else 500
        return JSONResponse({"error": "upstream failure"}, status_code=status)
    draw -= faults.fail_rate
    if draw < faults.rate_limit_rate:
        return JSONResponse(
            {"error": "too many requests"}, status_code=429, headers={"Retry-After": "1"}
        )
    draw -= faults.rate_limit_rate
    if draw < faults.slow_rate:
        time.sleep(faults.slow_seconds)
    return None


def _normalised_time(value: str | None) -> str | None:
    """A query timestamp in the store's form (ISO, +08:00); naive values are local time."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    moment = moment.replace(tzinfo=LOCAL) if moment.tzinfo is None else moment.astimezone(LOCAL)
    return moment.isoformat(timespec="seconds")


def _encode_cursor(position: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[str, str]:
    updated_at, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    return updated_at, row_id


def _authorised(api: SandboxApi, state: _AgencyState, request: Request) -> bool:
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else ""
    assert isinstance(state.agency.channel, ApiChannel)
    if state.agency.channel.auth == "bearer":
        return secrets.compare_digest(token, api_token(api.config.seed, state.agency.source_id))
    return token in state.tokens


def _int_param(request: Request, name: str, default: int) -> int:
    return int(request.query_params.get(name, default))


def _page(api: SandboxApi, channel: ApiChannel, source_id: str, request: Request) -> dict:
    """One page of records in the agency's pagination style."""
    params = request.query_params
    window = {
        "since": _normalised_time(params.get("updated_since")),
        "until": _normalised_time(params.get("updated_until")),
    }
    if channel.pagination == "page_number":
        page = max(1, _int_param(request, "page", 1))
        size = min(MAX_PAGE_SIZE, _int_param(request, "page_size", DEFAULT_PAGE_SIZE))
        records, total, _ = api.store.query(
            source_id, **window, offset=(page - 1) * size, limit=size
        )
        pages = math.ceil(total / size)
        return {"code": 0, "page": page, "page_size": size, "total": total, "total_pages": pages,
                channel.records_key: records}  # fmt: skip
    if channel.pagination == "offset":
        offset = max(0, _int_param(request, "offset", 0))
        limit = min(MAX_PAGE_SIZE, _int_param(request, "limit", DEFAULT_PAGE_SIZE))
        records, total, _ = api.store.query(source_id, **window, offset=offset, limit=limit)
        return {"total": total, "offset": offset, "limit": limit, channel.records_key: records}
    limit = min(MAX_PAGE_SIZE, _int_param(request, "limit", DEFAULT_PAGE_SIZE))
    cursor = params.get("cursor")
    after = _decode_cursor(cursor) if cursor else None
    records, _, last = api.store.query(source_id, **window, after=after, limit=limit)
    next_cursor = _encode_cursor(last) if last and len(records) == limit else None
    return {channel.records_key: records, "next_cursor": next_cursor}


def _records_endpoint(api: SandboxApi, source_id: str) -> Callable[[Request], Response]:
    state = api.agencies[source_id]
    channel = state.agency.channel
    assert isinstance(channel, ApiChannel)

    def records(request: Request) -> Response:
        fault = _fault_response(api, source_id)
        if fault is not None:
            return fault
        if not _authorised(api, state, request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        try:
            return JSONResponse(_page(api, channel, source_id, request))
        except ValueError as exc:
            return JSONResponse({"error": f"bad parameter: {exc}"}, status_code=400)

    return records


def _token_endpoint(api: SandboxApi, source_id: str) -> Callable[[Request], Any]:
    state = api.agencies[source_id]

    async def token(request: Request) -> Response:
        with api.lock:
            state.requests += 1
        body = await request.json()
        password = api_password(api.config.seed, source_id)
        if body.get("username") != API_LOGIN or body.get("password") != password:
            return JSONResponse({"error": "invalid credentials"}, status_code=401)
        issued = secrets.token_hex(16)
        with api.lock:
            state.tokens.add(issued)
        return JSONResponse({"access_token": issued, "token_type": "bearer", "expires_in": 3600})

    return token


def create_app(
    config: SandboxConfig, faults: dict[str, Faults] | None = None, fault_seed: int = 0
) -> FastAPI:
    """The sandbox API app; its ``SandboxApi`` state is ``app.state.sandbox``.

    Args:
        config: the sandbox whose API store is served.
        faults: per-agency fault settings replacing the catalogue's defaults.
        fault_seed: seeds the fault draws (with the sandbox seed).
    """
    app = FastAPI(title="信用平台沙箱：部门接口", openapi_url=None, docs_url=None, redoc_url=None)
    api = SandboxApi(config, faults, fault_seed)
    app.state.sandbox = api
    for source_id, state in api.agencies.items():
        channel = state.agency.channel
        assert isinstance(channel, ApiChannel)
        app.add_api_route(f"/{channel.prefix}{channel.path}", _records_endpoint(api, source_id))
        if channel.auth == "token_endpoint":
            token = _token_endpoint(api, source_id)
            app.add_api_route(f"/{channel.prefix}/auth/token", token, methods=["POST"])

    @app.get("/_admin/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/_admin/stats")
    def stats() -> dict[str, Any]:
        return {"requests": api.request_counts()}

    @app.put("/_admin/faults/{source_id}")
    def put_faults(source_id: str, changes: dict[str, Any]) -> Response:
        if source_id not in api.agencies:
            return JSONResponse({"error": f"no API agency {source_id}"}, status_code=404)
        try:
            return JSONResponse(asdict(api.set_faults(source_id, **changes)))
        except TypeError as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)

    @app.post("/_admin/reset")
    def reset() -> dict[str, str]:
        api.reset_counts()
        return {"status": "ok"}

    return app


@dataclass(frozen=True)
class ServerHandle:
    """A running in-thread server: its base URL and its state (faults, request counts)."""

    base_url: str
    api: SandboxApi

    def set_faults(self, source_id: str, **changes: Any) -> Faults:
        """Change ``source_id``'s faults (``fail_rate=0.5``, ``mode="html"``...)."""
        return self.api.set_faults(source_id, **changes)

    def request_counts(self) -> dict[str, int]:
        """Requests received per agency."""
        return self.api.request_counts()


@contextlib.contextmanager
def serve_in_thread(
    config: SandboxConfig,
    faults: dict[str, Faults] | None = None,
    fault_seed: int = 0,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    public_host: str | None = None,
) -> Iterator[ServerHandle]:
    """Serve the sandbox API in a thread, for the duration of the block.

    Args:
        config: the sandbox whose API store is served.
        faults: per-agency faults replacing the catalogue's defaults (``{}``: the defaults).
        fault_seed: seeds the fault draws.
        host: the address to listen on (default: loopback).
        port: the port to listen on (default 0: a free one).
        public_host: the host name in ``base_url`` (default: ``host``).

    Yields:
        The handle: ``base_url`` (``http://127.0.0.1:<port>`` by default) and fault controls.
    """
    app = create_app(config, faults, fault_seed)
    sock = loopback.bind(host, port)
    with loopback.serve_in_thread(app, [sock], "sandbox server"):
        yield ServerHandle(loopback.url_of(sock, public_host), app.state.sandbox)


def _read_pid(config: SandboxConfig) -> int | None:
    path = config.dir / PID_FILE
    if not path.exists():
        return None
    pid = int(path.read_text().strip())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink()
        return None
    return pid


def background_status(config: SandboxConfig) -> dict[str, Any] | None:
    """The background server's pid, URL and request counts; ``None`` when it is not running."""
    pid = _read_pid(config)
    if pid is None:
        return None
    status: dict[str, Any] = {"pid": pid, "url": config.api_base_url}
    try:
        answer = requests.get(f"{config.api_base_url}/_admin/stats", timeout=2)
        status["requests"] = answer.json()["requests"]
    except requests.RequestException as exc:
        status["error"] = str(exc)
    return status


def start_background(config: SandboxConfig, timeout: float = 15.0) -> int:
    """Start the server as a background process (pid in ``server.pid``); returns its pid."""
    running = _read_pid(config)
    if running is not None:
        return running
    config.dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    argv = [sys.executable, "-m", "sandbox.server", "--dir", str(config.dir)]
    log = str(config.dir / LOG_FILE)
    pid = os.posix_spawn(
        sys.executable,
        argv,
        env,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    (config.dir / PID_FILE).write_text(f"{pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{config.api_base_url}/_admin/health", timeout=1).ok:
                return pid
        if _reaped(pid):
            break
        time.sleep(0.1)
    stop_background(config)
    raise RuntimeError(f"sandbox server did not start; see {log}")


def _reaped(pid: int) -> bool:
    """Whether ``pid`` has exited (reaping it when it is our child)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == pid
    except ChildProcessError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def stop_background(config: SandboxConfig, timeout: float = 10.0) -> bool:
    """Stop the background server; ``False`` when none was running."""
    pid = _read_pid(config)
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while not _reaped(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    (config.dir / PID_FILE).unlink(missing_ok=True)
    return True


def main(argv: list[str] | None = None) -> None:
    """Serve the sandbox in ``--dir`` on its configured port (foreground)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    config = SandboxConfig.load(args.dir)
    uvicorn.run(create_app(config), host="127.0.0.1", port=config.port, log_level="warning")


if __name__ == "__main__":
    main()
