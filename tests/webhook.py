"""A webhook on loopback for the deadline-alert tests: what each POST to it carried."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any


@contextmanager
def loopback_webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook at ``http://127.0.0.1:<port>/hooks/oncall``, served for the block.

    Yields its URL and the list of what was posted, each as ``{"raw": the bytes, "body": them
    parsed as JSON, "auth": the Authorization header}``; it answers 204.
    """
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            auth = self.headers.get("Authorization")
            received.append({"raw": raw, "body": json.loads(raw), "auth": auth})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/oncall", received
    finally:
        server.shutdown()
        server.server_close()
