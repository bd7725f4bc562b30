"""Serving a simulated system's ASGI app in a thread, for the duration of a block.

Every simulated system of the sandbox (agency APIs, Credit China and GSXT, the sites' receivers)
is served the same way: uvicorn in a daemon thread, on sockets bound before the server starts so
the ports are known at once. By default a socket is bound to a free loopback port (tests, the
demo); ``hub sandbox serve`` binds fixed ports on every interface for other containers, and gives
out URLs under the host name they reach it by (``url_of(sock, public_host)``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import uvicorn

STARTUP_TIMEOUT_SECONDS = 10.0


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: a free one), ready for ``serve_in_thread``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def url_of(sock: socket.socket, public_host: str | None = None) -> str:
    """The base URL (``http://host:port``) a bound socket serves.

    Args:
        sock: the bound socket.
        public_host: the host name clients reach it by (default: the address it is bound to;
            give one when that is a wildcard such as ``0.0.0.0``).
    """
    host, port = sock.getsockname()[:2]
    return f"http://{public_host or host}:{port}"


@contextlib.contextmanager
def serve_in_thread(
    app: Any, sockets: Sequence[socket.socket], what: str, **uvicorn_options: Any
) -> Iterator[None]:
    """Serve ``app`` on ``sockets`` in a daemon thread until the block ends, then close them.

    Args:
        app: the ASGI application.
        sockets: bound sockets (see ``bind``); closed when the block ends.
        what: the system's name, for the error raised when it does not start.
        **uvicorn_options: further ``uvicorn.Config`` options (e.g. ``backlog``).

    Raises:
        RuntimeError: the server did not start within ``STARTUP_TIMEOUT_SECONDS``.
    """
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            ws="none",
            access_log=False,
            **uvicorn_options,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": list(sockets)}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start")
            time.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        for sock in sockets:
            sock.close()
