"""A real loopback HTTP server whose answers each test scripts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from tests.loopback_http import Answer, Seen, serving

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


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi()
    with serving(api.answer) as url:
        api.url = url
        yield api
