"""Fault 2: text PostgreSQL cannot store (U+0000, a lone surrogate) quarantines its record only.

An agency's JSON Lines file carries U+0000 in a subject name and in a document number and a lone
surrogate in the facts; the batch goes on, the other records and the source's other file load, and
the three records are quarantined under their own rule, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from hub.collect.payloads import json_lines
from hub.collect.run import collect_source
from hub.store.schema import RECORD_TABLES, quarantine, raw_record
from tests.faults.conftest import DAY, SOURCE, clean_rows, write_jsonl

pytestmark = pytest.mark.integration


def test_unstorable_characters_quarantine_their_records_and_the_rest_loads(
    drop: Path, engine: sa.Engine
) -> None:
    rows = clean_rows(DAY, 8)
    rows[0]["party_name"] = "宁波\x00机械有限公司"
    rows[1]["decision_no"] = "浙交执罚\x00〔2026〕1号"
    rows[2]["illegal_facts"] = "超限\ud800运输"
    write_jsonl(drop / "jtt_xzcf_20261102.jsonl", rows[:5], escaped=True)
    write_jsonl(drop / "jtt_xzcf_20261103.jsonl", rows[5:])

    summary = collect_source(SOURCE, DAY, engine=engine)

    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "succeeded",
        8,
        5,
        3,
    )
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(quarantine.c.raw_seq, quarantine.c.rule, quarantine.c.field)
            .where(quarantine.c.rule == "unstorable_text")
            .order_by(quarantine.c.raw_seq)
        ).all()
        messages = connection.scalars(
            sa.select(quarantine.c.message).where(quarantine.c.rule == "unstorable_text")
        ).all()
        payloads = connection.scalars(sa.select(raw_record.c.payload).order_by(raw_record.c.seq))
        received = [json.loads(p) for p in payloads]
        stored = connection.scalar(sa.select(sa.func.count()).select_from(RECORD_TABLES["penalty"]))
    assert found == [
        (0, "unstorable_text", "subject_name"),
        (1, "unstorable_text", "document_no"),
        (2, "unstorable_text", "violation_facts"),
    ]
    assert any("column 'party_name' holds U+0000 at character 3" in m for m in messages)
    assert any("column 'illegal_facts' holds U+D800 at character 3" in m for m in messages)
    # The raw record keeps what the agency sent, character for character.
    assert [r["party_name"] for r in received[:1]] == ["宁波\x00机械有限公司"]
    assert received[2]["illegal_facts"] == "超限\ud800运输"
    assert len(received) == 8
    assert stored == 5
    assert not (drop / "rejected").exists()
    assert sorted(p.name for p in (drop / "archive" / DAY.isoformat()).iterdir()) == [
        "jtt_xzcf_20261102.jsonl",
        "jtt_xzcf_20261103.jsonl",
    ]


def test_a_rows_payload_is_the_same_beside_a_lone_surrogate_or_not() -> None:
    page = pd.DataFrame(
        {"名称": ["超限\ud800运输", "宁波机械", "杭州"], "金额": [None, 12, 3.5]}, dtype=object
    )

    lines = json_lines(page)

    assert lines[1:] == json_lines(page.iloc[1:])
    assert lines[0] == '{"名称":"超限\\ud800运输","金额":null}'
    assert [json.loads(line)["名称"] for line in lines] == ["超限\ud800运输", "宁波机械", "杭州"]
    assert all(line.encode("utf-8") for line in lines)
