"""Fault 8: a bad file is named with the line that broke it; a huge field costs one record only.

An agency's drop holds, beside good files: a CSV with a 1 MB field in one record, a CSV cut short
in its 3rd line, a CSV without a mandatory column, a GBK CSV with a byte that is not GBK in its
4th line; and a JSON Lines file without a mandatory key and one with a 1 MB value. Every good file
loads, every bad one is rejected naming the file and the line or column, the huge fields
quarantine their records alone; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.collect.run import collect_source
from hub.core.settings import settings
from hub.store.db import make_engine
from hub.store.schema import RECORD_TABLES, quarantine, raw_record, source_file
from sandbox.drops import _csv_bytes
from tests.faults.conftest import DAY, SOURCE, clean_rows, drop_folder, write_jsonl

pytestmark = pytest.mark.integration

CSV_SOURCE = "zj_sthjt_penalty_file"
HUGE = "超" * (1 << 20)  # one million characters, 3 MB in UTF-8


def _csv(path: Path, rows: list[dict], header: list[str] | None = None) -> Path:
    header = header or list(rows[0])
    path.write_bytes(_csv_bytes(header, rows, "gbk", DAY))
    return path


def _figures(engine: sa.Engine, source_id: str) -> dict:
    with engine.connect() as connection:
        reasons = dict(
            connection.execute(
                sa.select(source_file.c.file_name, source_file.c.reason).where(
                    source_file.c.source_id == source_id, source_file.c.status == "rejected"
                )
            ).all()
        )
        rules = connection.execute(
            sa.select(quarantine.c.rule, quarantine.c.field).where(
                quarantine.c.source_id == source_id
            )
        ).all()
        raw = connection.scalar(
            sa.select(sa.func.count())
            .select_from(raw_record)
            .where(raw_record.c.source_id == source_id)
        )
        stored = connection.scalar(
            sa.select(sa.func.count())
            .select_from(RECORD_TABLES["penalty"])
            .where(RECORD_TABLES["penalty"].c.source_id == source_id)
        )
    return {"reasons": reasons, "rules": rules, "raw": raw, "stored": stored}


def test_bad_csv_files_are_named_with_their_line_and_the_good_ones_load(
    tmp_path: Path, platform_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = drop_folder(CSV_SOURCE, tmp_path / "drop", monkeypatch)
    rows = clean_rows(DAY, 12, CSV_SOURCE)
    rows[0]["违法事实"] = HUGE
    _csv(folder / "sthjt_xzcf_20261101.csv", rows[:3])
    cut = _csv(folder / "sthjt_xzcf_20261102.csv", rows[3:6])
    lines = cut.read_bytes().split(b"\r\n")
    lines[2] = lines[2][: lines[2].index(b",")]  # the 3rd line ends after its first field
    cut.write_bytes(b"\r\n".join(lines))
    header = [c for c in rows[0] if c != "处罚决定日期"]
    _csv(folder / "sthjt_xzcf_20261103.csv", rows[6:8], header)
    _csv(folder / "sthjt_xzcf_20261104.csv", rows[8:10])
    bad_byte = _csv(folder / "sthjt_xzcf_20261105.csv", rows[10:12])
    bad_byte.write_bytes(bad_byte.read_bytes() + "浙环罚".encode("gbk") + b"\x80,x\r\n")

    engine = make_engine(settings().database_url)
    try:
        summary = collect_source(CSV_SOURCE, DAY, engine=engine)
        figures = _figures(engine, CSV_SOURCE)
    finally:
        engine.dispose()

    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "partial",
        5,
        4,
        1,
    )
    assert summary.files_rejected == 3
    assert figures["rules"] == [("max_length", "violation_facts")]
    assert (figures["raw"], figures["stored"]) == (5, 4)
    reasons = figures["reasons"]
    assert sorted(reasons) == [
        "sthjt_xzcf_20261102.csv",
        "sthjt_xzcf_20261103.csv",
        "sthjt_xzcf_20261105.csv",
    ]
    assert reasons["sthjt_xzcf_20261102.csv"] == (
        f"line 3: expected 19 columns, got 1: {rows[4]['行政处罚决定书文号']}"
    )
    assert reasons["sthjt_xzcf_20261103.csv"] == (
        "column '处罚决定日期' (mapped to mandatory field decision_date) is missing from the file"
    )
    assert reasons["sthjt_xzcf_20261105.csv"].startswith("line 4: not valid gbk text: ")
    assert [e.split(": ")[0] for e in summary.errors] == sorted(reasons)
    assert sorted(p.name for p in (folder / "archive" / DAY.isoformat()).iterdir()) == [
        "sthjt_xzcf_20261101.csv",
        "sthjt_xzcf_20261104.csv",
    ]
    reason_file = folder / "rejected" / "sthjt_xzcf_20261103.csv.reason.txt"
    assert reason_file.read_text("utf-8").strip() == reasons["sthjt_xzcf_20261103.csv"]


def test_bad_json_lines_files_are_named_and_a_huge_value_costs_its_record(
    drop: Path, engine: sa.Engine
) -> None:
    rows = clean_rows(DAY, 7)
    rows[1]["illegal_facts"] = HUGE
    write_jsonl(drop / "jtt_xzcf_20261101.jsonl", rows[:3])
    without = [{k: v for k, v in row.items() if k != "decision_no"} for row in rows[3:5]]
    write_jsonl(drop / "jtt_xzcf_20261102.jsonl", without)
    write_jsonl(drop / "jtt_xzcf_20261103.jsonl", rows[5:])

    summary = collect_source(SOURCE, DAY, engine=engine)
    figures = _figures(engine, SOURCE)

    assert (summary.status, summary.read, summary.loaded, summary.quarantined) == (
        "partial",
        5,
        4,
        1,
    )
    assert figures["rules"] == [("max_length", "violation_facts")]
    assert figures["reasons"] == {
        "jtt_xzcf_20261102.jsonl": "column 'decision_no' (mapped to mandatory field "
        "document_no) is missing from the file"
    }
    assert summary.errors == [
        f"jtt_xzcf_20261102.jsonl: {figures['reasons']['jtt_xzcf_20261102.jsonl']}"
    ]
    assert json.loads(json.dumps(summary.as_dict()))["files_rejected"] == 1
