"""A deadline alert is posted and logged by the privacy policy, whatever its run carries."""

from __future__ import annotations

import json
import logging

import pytest

from connectors.connections import Connection
from hub_airflow.alerts import reconcile_deadline_missed
from tests.core.privacy_cases import PLANTED, assert_masked


def test_every_case_in_a_run_is_masked_in_the_alert_posted_logged_and_returned(
    webhook: tuple[str, list[dict]], caplog: pytest.LogCaptureFixture
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

    [posted] = received
    body = posted["raw"]
    assert_masked(body)
    assert_masked(caplog.text)
    assert_masked(json.dumps(result, ensure_ascii=False))
    assert json.loads(body)["run_id"] == result["run_id"]
