"""A real loopback HTTP server whose answers each test scripts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest


@dataclass(frozen=True)
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] | None = None
    content_length: int | None = None  # to announce more than is sent

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers or {})
        if isinstance(self.body, bytes):
            body = self.body
        elif isinstance(self.body, str):
            body = self.body.encode()
        else:
            body = json.dumps(self.body).encode()
            headers.setdefault("Content-Type", "application/json")
        return body, headers


Route = Callable[[Seen], Answer]


class FakeApi:
    """Routes ``path -> function(Seen) -> Answer``; remembers every request it saw."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.url = ""
        self._lock = threading.Lock()

    def route(self, path: str) -> Callable[[Route], Route]:
        def register(function: Route) -> Route:
            self.routes[path] = function
            return function

        return register

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def answer(self, seen: Seen) -> Answer:
        with self._lock:
            self.seen.append(seen)
        route = self.routes.get(seen.path)
        return route(seen) if route else Answer(404, {"error": "not found"})


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                method=method,
                path=parts.path,
                query=dict(parse_qsl(parts.query)),
                headers=dict(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
            )
            answer = api.answer(seen)
            body, headers = answer.encoded()
            try:
                self.send_response(answer.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(answer.content_length or len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
