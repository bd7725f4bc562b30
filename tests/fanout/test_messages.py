"""Push messages: a change's snapshot, its idempotency key, and no ID number in the clear."""

from __future__ import annotations

from datetime import date, datetime

from hub.fanout.messages import build_message, scrub_id_numbers
from tests.fanout.conftest import unmasked_id_numbers

PERSON = "330106198503124213"  # right check character, born 1985-03-12


def test_id_numbers_in_free_text_are_masked_and_nothing_else_is() -> None:
    text = (
        f"当事人{PERSON}；统一社会信用代码91330106MA2KXXXX1L；"
        "案卷号33010619850312421X（校验位不对）；编号1330106198503124219X"
    )
    scrubbed = scrub_id_numbers(text)
    assert scrubbed == text.replace(PERSON, "330106********4213")
    assert unmasked_id_numbers(text.encode()) == [PERSON]
    assert unmasked_id_numbers(scrubbed.encode()) == []


def test_a_message_carries_the_snapshot_a_key_of_its_own_and_utc_times() -> None:
    change = {
        "id": 41,
        "record_key": "a" * 32,
        "kind": "penalty",
        "previous_status": "published",
        "new_status": "repaired",
        "reason": f"{PERSON}已完成整改",
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
    }
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
