"""A deadline alert is posted and logged by the privacy policy, whatever its run carries."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from connectors.connections import Connection
from hub_airflow.alerts import reconcile_deadline_missed
from tests.core.privacy_cases import PLANTED, assert_masked


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback webhook keeping the bytes posted to it."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/oncall", received
    server.shutdown()
    server.server_close()


def test_every_case_in_a_run_is_masked_in_the_alert_posted_logged_and_returned(
    webhook: tuple[str, list[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    url, received = webhook
    context = {
        "dag_run": {
            "dag_id": "reconcile_repairs",
            "dag_run_id": f"manual__{PLANTED}",
            "state": PLANTED,
        },
        "deadline": {"deadline_time": "2026-11-04T08:00:00+08:00"},
    }
    connection = Connection(conn_id="hub_alerts", extra={"base_url": url})
    with caplog.at_level(logging.ERROR, logger="hub_airflow.alerts"):
        result = reconcile_deadline_missed(context, resolve=lambda conn_id: connection)

    [body] = received
    assert_masked(body)
    assert_masked(caplog.text)
    assert_masked(json.dumps(result, ensure_ascii=False))
    assert json.loads(body)["run_id"] == result["run_id"]
