"""The Airflow REST API of a running stack, as a test (or an operator's script) uses it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

TERMINAL = {"success", "failed"}


class AirflowApi:
    """``/api/v2`` of the api-server at ``base_url``, with a JWT."""

    def __init__(self, base_url: str, token: str) -> None:
        """Talk to ``base_url`` with ``token`` (from ``POST /auth/token``)."""
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request to ``/api/v2<path>``."""
        return self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request that must succeed; its JSON body."""
        response = self.call(method, path, **kwargs)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json()

    def trigger(self, dag_id: str, logical_date: datetime, conf: dict | None = None) -> dict:
        """A manual run with ``logical_date`` (its interval: the last whole one before it)."""
        body = {"logical_date": logical_date.isoformat(), "conf": conf or {}}
        return self.json("POST", f"/dags/{dag_id}/dagRuns", json=body)

    def runs(self, dag_id: str) -> list[dict]:
        """Every run of ``dag_id``, oldest first."""
        path = f"/dags/{dag_id}/dagRuns?order_by=run_after&limit=100"
        return self.json("GET", path)["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """The task instances of one run."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100"
        return self.json("GET", path)["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """What ``task_id`` of the run returned."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        return self.json("GET", path)["value"]

    def failures(self, dag_id: str, run: dict) -> list[str]:
        """The tasks of a run that did not succeed, with their states (for a failure message)."""
        return [
            f"{ti['task_id']}[{ti['map_index']}]: {ti['state']}"
            for ti in self.task_instances(dag_id, run["dag_run_id"])
            if ti["state"] not in ("success", "skipped")
        ]


def wait_for(what: str, ready: Callable[[], Any], seconds: float, every: float = 2) -> Any:
    """Poll ``ready`` until it returns something true (returned), for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        found = ready()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s")
        time.sleep(every)
