"""Push messages: a change's snapshot, its idempotency key, and no ID number in the clear."""

from __future__ import annotations

import json
from datetime import date, datetime

from hub.fanout.messages import build_message
from tests.core.privacy_cases import PLANTED, PLANTED_MASKED, RECORD_KEY_CASE, assert_masked

PERSON = "330106198503124213"  # right check character, born 1985-03-12
TEXT_FIELDS = ("reason", "decided_by", "subject_name", "document_no", "authority_name")


def _change(**fields: object) -> dict:
    return {
        "id": 41,
        "record_key": "a" * 32,
        "kind": "penalty",
        "previous_status": "published",
        "new_status": "repaired",
        "reason": "信用中国已修复",
        "decided_by": "credit_china",
        "effective_date": date(2026, 11, 19),
        "region_code": "330106",
        "subject_name": "张伟",
        "subject_id": "330106********4213",
        "document_no": "杭市监罚〔2026〕12号",
        "authority_name": "杭州市市场监督管理局",
        "decision_date": date(2026, 3, 2),
        "changed_at": datetime(2026, 11, 20, 2, 0),  # naive UTC, as SQLite hands it back
        "run_id": 7,
        **fields,
    }


def test_every_case_in_every_text_field_is_masked_by_the_policy_and_keys_stand() -> None:
    change = _change(record_key=RECORD_KEY_CASE.text, **dict.fromkeys(TEXT_FIELDS, PLANTED))
    message = build_message(change, "hangzhou")
    assert {name: message[name] for name in TEXT_FIELDS} == dict.fromkeys(
        TEXT_FIELDS, PLANTED_MASKED
    )
    assert message["record_key"] == RECORD_KEY_CASE.text
    assert_masked(json.dumps(message, ensure_ascii=False))


def test_a_legal_persons_credit_code_stands_and_a_stray_id_number_does_not() -> None:
    assert build_message(_change(subject_id="91310110666007217T"), "x")["subject_id"] == (
        "91310110666007217T"
    )
    assert build_message(_change(subject_id=PERSON), "x")["subject_id"] == "330106********4213"


def test_a_message_carries_the_snapshot_a_key_of_its_own_and_utc_times() -> None:
    change = _change(reason=f"{PERSON}已完成整改")
    message = build_message(change, "hangzhou")
    assert message["idempotency_key"].startswith("hangzhou:41:")
    assert build_message(dict(change), "hangzhou")["idempotency_key"] == message["idempotency_key"]
    # The same id for another change (the log started again in a rebuilt database): another key.
    reborn = build_message({**change, "changed_at": datetime(2027, 1, 5, 9, 0)}, "hangzhou")
    assert reborn["idempotency_key"].startswith("hangzhou:41:")
    assert reborn["idempotency_key"] != message["idempotency_key"]
    assert message["change_id"] == 41
    assert message["reason"] == "330106********4213已完成整改"
    assert (message["effective_date"], message["decision_date"]) == ("2026-11-19", "2026-03-02")
    assert message["changed_at"] == "2026-11-20T02:00:00+00:00"
    assert "run_id" not in message
