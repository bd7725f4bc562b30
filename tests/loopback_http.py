"""A real HTTP server on loopback whose answers a test gives as a function of each request."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


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
    """What the server answers: a body of bytes, text or JSON data, and its headers."""

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


def _handler(answer: Callable[[Seen], Answer]) -> type[BaseHTTPRequestHandler]:
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
            answered = answer(seen)
            body, headers = answered.encoded()
            try:
                self.send_response(answered.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(answered.content_length or len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(answer: Callable[[Seen], Answer]) -> Iterator[str]:
    """Serve ``answer`` on a free loopback port for the block; yields the server's base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(answer))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
