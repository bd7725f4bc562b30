"""Headless Chromium driven over the DevTools protocol: open a page, type, click, read the DOM.

Only what the console tests need: one browser per test module with its own profile (so each
login has its own cookies), pages opened by URL, the DOM after load, a screenshot, a form filled
as a person types, and the status of the last document loaded. The protocol runs over the
``websockets`` client the lock already holds (uvicorn's).
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

_TIMEOUT = 30


class Page:
    """One tab of the browser, attached over its own DevTools socket."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []
        self.call("Page.enable")
        self.call("Network.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (events met meanwhile are kept)."""
        ident = next(self._ids)
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=_TIMEOUT))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._events.append(message)

    def _next_event(self) -> dict[str, Any]:
        if self._events:
            return self._events.pop(0)
        return json.loads(self._socket.recv(timeout=_TIMEOUT))

    def open(self, url: str) -> int:
        """Load ``url`` (following redirects); the HTTP status of the document shown."""
        self._events.clear()
        self.call("Page.navigate", url=url)
        return self._loaded()

    def _loaded(self) -> int:
        status = 0
        deadline = time.monotonic() + _TIMEOUT
        while True:
            message = self._next_event()
            method, params = message.get("method"), message.get("params", {})
            if method == "Network.responseReceived" and params.get("type") == "Document":
                status = params["response"]["status"]
            if method == "Page.loadEventFired":
                return status
            assert time.monotonic() < deadline, "the page did not load"

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited if a promise)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        return result["result"].get("value")

    def wait_until(self, expression: str) -> None:
        """Wait until a JavaScript expression is true in the page (a client-rendered page)."""
        deadline = time.monotonic() + _TIMEOUT
        while not self.evaluate(f"!!({expression})"):
            assert time.monotonic() < deadline, f"never true: {expression}"
            time.sleep(0.1)

    @property
    def url(self) -> str:
        """Where the page is now."""
        return self.evaluate("location.href")

    def dom(self) -> str:
        """The document as the browser holds it now."""
        return self.evaluate("document.documentElement.outerHTML")

    def type_into(self, selector: str, text: str) -> None:
        """Focus the element of ``selector`` and type ``text`` into it, as a keyboard would."""
        focused = self.evaluate(
            f"(e => {{ if (!e) return false; e.focus(); return true; }})"
            f"(document.querySelector({json.dumps(selector)}))"
        )
        assert focused, f"no {selector} on {self.url}"
        self.call("Input.insertText", text=text)

    def click_and_wait(self, selector: str) -> int:
        """Click the element of ``selector`` and wait for the document it leads to."""
        self._events.clear()
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        return self._loaded()

    def screenshot(self, path: Path) -> Path:
        """The whole page as a PNG at ``path``."""
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


class Browser:
    """A headless Chromium of its own profile; ``page()`` opens a new tab."""

    def __init__(self, port: int) -> None:
        self._port = port

    def page(self) -> Page:
        """A new blank tab."""
        with connect(self._browser_url(), max_size=None) as browser:
            browser.send(
                json.dumps(
                    {"id": 1, "method": "Target.createTarget", "params": {"url": "about:blank"}}
                )
            )
            while True:
                answer = json.loads(browser.recv(timeout=_TIMEOUT))
                if answer.get("id") == 1:
                    target = answer["result"]["targetId"]
                    break
        socket = connect(f"ws://127.0.0.1:{self._port}/devtools/page/{target}", max_size=None)
        return Page(socket)

    def _browser_url(self) -> str:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self._port}/json/version") as answer:
            return json.load(answer)["webSocketDebuggerUrl"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium with a fresh profile, stopped afterwards."""
    executable = shutil.which("chromium")
    assert executable, "Chromium is needed for the console tests (.ci/run installs it)"
    profile = Path(tempfile.mkdtemp(prefix="console-chromium-"))
    process = subprocess.Popen(
        [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1366,900",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + _TIMEOUT
        while not port_file.exists() or not port_file.read_text().strip():
            assert process.poll() is None, "Chromium exited at start"
            assert time.monotonic() < deadline, "Chromium did not open its DevTools port"
            time.sleep(0.05)
        yield Browser(int(port_file.read_text().split()[0]))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)
