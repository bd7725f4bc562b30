"""The sandbox's receivers and the push client, over real loopback HTTP, without a database."""

from __future__ import annotations

import json

import pytest
import requests

from connectors.connections import Connection
from connectors.http_session import GaveUpError
from connectors.targets import PushClient, PushRejectedError
from hub.core.targets import push_targets
from sandbox.receivers import ReceiversHandle

pytestmark = pytest.mark.integration


def _message(change_id: int, target_id: str = "hangzhou", **fields: object) -> dict:
    return {
        "idempotency_key": f"{target_id}:{change_id}",
        "change_id": change_id,
        "record_key": f"{change_id:032d}",
        "kind": "penalty",
        "previous_status": "published",
        "new_status": "repaired",
        "effective_date": "2026-11-19",
        "document_no": f"杭市监罚〔2026〕{change_id}号",
        "subject_name": "杭州鑫源科技有限公司",
        **fields,
    }


def _client(handle: ReceiversHandle, target_id: str, token: str | None = None) -> PushClient:
    receiver = handle.receivers[target_id]
    connection = Connection(
        conn_id=f"hub_target_{target_id}",
        password=receiver.token if token is None else token,
        extra={"base_url": handle.base_urls[target_id], "max_retries": 2, "backoff_seconds": 0.01},
    )
    return PushClient(target_id, connection, receiver.target.path)


def test_a_resent_message_is_taken_once_and_answered_with_its_first_receipt(
    receivers: ReceiversHandle,
) -> None:
    client = _client(receivers, "hangzhou")
    first = client.push([_message(1), _message(2)])
    again = client.push([_message(2), _message(3)])
    client.close()

    assert first.duplicates == frozenset()
    assert again.duplicates == {"hangzhou:2"}
    assert again.receipts["hangzhou:2"] == first.receipts["hangzhou:2"]
    assert len({*first.receipts.values(), *again.receipts.values()}) == 3
    stats = receivers.stats()["hangzhou"]
    assert (stats["requests"], stats["messages"], stats["copies"], stats["most_copies"]) == (
        2,
        3,
        4,
        2,
    )
    assert receivers.stats()["ningbo"]["requests"] == 0


def test_the_site_keeps_the_status_of_the_latest_change_whatever_the_order(
    receivers: ReceiversHandle,
) -> None:
    client = _client(receivers, "hangzhou")
    key = "9" * 32
    client.push([_message(8, record_key=key, new_status="published")])
    client.push([_message(5, record_key=key, new_status="repaired")])
    client.close()
    assert receivers.receivers["hangzhou"].status[key] == (8, "published")


def test_bad_messages_are_rejected_one_by_one_naming_the_field_and_rule(
    receivers: ReceiversHandle,
) -> None:
    client = _client(receivers, "ningbo")
    incomplete = _message(7, "ningbo", document_no="")
    unknown = _message(8, "ningbo", new_status="deleted")
    answer = client.push([_message(6, "ningbo"), incomplete, unknown])
    client.close()

    assert set(answer.receipts) == {"ningbo:6"}
    assert answer.rejected == {
        "ningbo:7": "message 1: missing document_no (rule: required_field)",
        "ningbo:8": "message 2: new_status 'deleted' is not a record status (rule: status)",
    }
    assert receivers.stats()["ningbo"]["messages"] == 1


def test_who_is_asking_and_where_it_is_addressed_are_checked(receivers: ReceiversHandle) -> None:
    wrong_token = _client(receivers, "huzhou", token="not-the-token")
    with pytest.raises(PushRejectedError, match=r"huzhou: 401 .*missing or wrong bearer token"):
        wrong_token.push([_message(1, "huzhou")])
    wrong_token.close()

    receiver = receivers.receivers["huzhou"]
    headers = {"Authorization": f"Bearer {receiver.token}"}
    url = receivers.base_urls["huzhou"] + receiver.target.path
    misaddressed = requests.post(
        url, json={"target": "jinhua", "messages": []}, headers=headers, timeout=5
    )
    not_json = requests.post(url, data=b"{messages", headers=headers, timeout=5)
    stats = requests.get(receivers.base_urls["huzhou"] + "/_admin/stats", timeout=5)

    assert misaddressed.status_code == 400
    assert misaddressed.json()["error"] == (
        "huzhou: body is addressed to 'jinhua', this is 'huzhou' (rule: target)"
    )
    assert not_json.status_code == 400 and "body is not JSON" in not_json.json()["error"]
    assert stats.status_code == 401
    assert receiver.messages == {}


def test_a_receiver_told_to_go_down_answers_503_until_told_otherwise(
    receivers: ReceiversHandle,
) -> None:
    receiver = receivers.receivers["jinhua"]
    admin = {"Authorization": f"Bearer {receiver.token}"}
    base = receivers.base_urls["jinhua"]
    put = requests.put(
        f"{base}/_admin/faults", data=json.dumps({"mode": "down"}), headers=admin, timeout=5
    )
    assert put.json()["mode"] == "down"

    client = _client(receivers, "jinhua")
    with pytest.raises(GaveUpError, match=r"gave up after 3 attempts: 503 Service Unavailable"):
        client.push([_message(1, "jinhua")])
    requests.put(
        f"{base}/_admin/faults", data=json.dumps({"mode": "normal"}), headers=admin, timeout=5
    )
    answer = client.push([_message(1, "jinhua")])
    client.close()

    assert answer.duplicates == frozenset() and set(answer.receipts) == {"jinhua:1"}
    stats = requests.get(f"{base}/_admin/stats", headers=admin, timeout=5).json()
    assert (stats["requests"], stats["messages"]) == (4, 1)


def test_every_push_target_has_a_receiver_of_its_own(receivers: ReceiversHandle) -> None:
    targets = push_targets()
    assert sorted(receivers.receivers) == [t.id for t in targets]
    assert len(set(receivers.base_urls.values())) == len(targets)
    assert len({r.token for r in receivers.receivers.values()}) == len(targets)
