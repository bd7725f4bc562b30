"""The privacy policy itself: every flavour of ``hub.core.privacy`` against the table of cases."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from hub.core.privacy import (
    MACHINE_IDENTIFIERS,
    mask_document,
    mask_frame,
    mask_id_number,
    mask_subject_id,
    mask_table,
    mask_text,
    masked_id_sql,
)
from tests.core.privacy_cases import (
    CASES,
    PLANTED,
    PLANTED_MASKED,
    RECORD_KEY_CASE,
    PrivacyCase,
    assert_masked,
)

VALID_CREDIT_CODE = "91310110666007217T"
ALL_DIGIT_CREDIT_CODE = "123300004700519006"  # a valid legal person's code with no letter


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_each_case_alone_and_in_free_text(case: PrivacyCase) -> None:
    assert mask_text(case.text) == case.masked
    assert mask_text(f"备注：{case.text}。") == f"备注：{case.masked}。"


def test_all_cases_in_one_text() -> None:
    assert mask_text(PLANTED) == PLANTED_MASKED
    assert_masked(mask_text(PLANTED))


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("1" + "110105194912310021", "1110105194912310021"),  # a digit before: 19 long
        ("1" + "11010519491231002X", "111010********1002X"),  # 18 digits, then a letter X
        ("11010519491231002X" + "7", "11010519491231002X7"),  # a digit after the X
        ("330106850320031" + "9", "3301068503200319"),  # 16 digits
        ("ab330106199001014211", "ab330106********4211"),  # letters, not hex-word length
        ("身份证号:330106199001014211,", "身份证号:330106********4211,"),
        ("330106199001014211330302198503120031", "330106199001014211330302198503120031"),
        ("330106199001014211、330302198503120031", "330106********4211、330302********0031"),
        ("３３０１０６8503200３1", "３３０１０６*****00３1"),  # full-width and ASCII mixed
        ("sha256:" + "0" * 14 + "330106199001014211" + "ab" * 16, None),  # 64 hex: a digest
        ("key " + "0" * 14 + "330106199001014211", "key " + "0" * 14 + "330106199001014211"),
    ],
)
def test_boundaries(text: str, masked: str | None) -> None:
    assert mask_text(text) == (text if masked is None else masked)


def test_a_subject_id_stands_only_as_a_valid_credit_code() -> None:
    assert mask_subject_id(ALL_DIGIT_CREDIT_CODE) == ALL_DIGIT_CREDIT_CODE
    assert mask_subject_id("91330000000000000X") == "913300********000X"  # check fails
    assert mask_subject_id("11010519491231002X") == "110105********002X"


def test_a_value_known_to_be_an_id_number_keeps_its_first_six_and_last_four() -> None:
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("330106850320031") == "330106*****0031"
    assert mask_id_number("12345") == "*****"


def _table() -> pa.Table:
    return pa.table(
        {
            "record_key": [RECORD_KEY_CASE.text, "0" * 14 + "11010519491231002X", "k3"],
            "subject_id": [VALID_CREDIT_CODE, "11010519491231002X", ALL_DIGIT_CREDIT_CODE],
            "reason": [PLANTED, None, "信用中国已修复"],
            "count": [1, 2, 3],
        }
    )


def test_the_arrow_flavour_masks_text_columns_and_leaves_keys_and_valid_credit_codes() -> None:
    table = _table()
    masked = mask_table(table, keep=MACHINE_IDENTIFIERS, credit_codes=("subject_id",))
    assert masked.column("record_key").to_pylist() == table.column("record_key").to_pylist()
    assert masked.column("subject_id").to_pylist() == [
        VALID_CREDIT_CODE,
        "110105********002X",
        ALL_DIGIT_CREDIT_CODE,
    ]
    assert masked.column("reason").to_pylist() == [PLANTED_MASKED, None, "信用中国已修复"]
    assert masked.column("count").to_pylist() == [1, 2, 3]
    assert masked.schema == table.schema
    untouched = table.select(["count"])
    assert mask_table(untouched) is untouched


def test_the_arrow_flavour_works_over_chunks_and_large_strings() -> None:
    chunked = pa.chunked_array([["a", PLANTED], [None, "330106199001014211"]], pa.large_string())
    table = pa.table({"reason": chunked})
    masked = mask_table(table)
    assert masked.column("reason").to_pylist() == [
        "a",
        PLANTED_MASKED,
        None,
        "330106********4211",
    ]
    assert masked.schema == table.schema


def test_without_keep_a_key_column_is_text_like_any_other() -> None:
    table = pa.table({"record_key": ["0" * 14 + "11010519491231002X"]})
    assert mask_table(table).column(0).to_pylist() == [table.column(0)[0].as_py()]  # 32 chars
    table = pa.table({"credit_code": [ALL_DIGIT_CREDIT_CODE]})
    assert mask_table(table).column(0).to_pylist() == ["123300********9006"]


def test_the_pandas_flavour_masks_text_cells_and_the_index() -> None:
    frame = _table().to_pandas().set_index(pd.Index(["甲", "330106199001014211", "丙"]))
    masked = mask_frame(frame, keep=MACHINE_IDENTIFIERS, credit_codes=("subject_id",))
    assert list(masked.index) == ["甲", "330106********4211", "丙"]
    assert masked["reason"].tolist()[0] == PLANTED_MASKED
    assert masked["subject_id"].tolist() == [
        VALID_CREDIT_CODE,
        "110105********002X",
        ALL_DIGIT_CREDIT_CODE,
    ]
    assert masked["record_key"].tolist() == frame["record_key"].tolist()
    assert frame["reason"].tolist()[0] == PLANTED  # the caller's frame is left as it was
    plain = pd.DataFrame({"n": [1, 2]})
    assert mask_frame(plain) is plain


@dataclasses.dataclass(frozen=True)
class _Summary:
    name: str
    errors: list[str]
    frame: pd.DataFrame
    path: Path


def test_the_document_flavour_walks_dicts_lists_dataclasses_and_frames() -> None:
    document = {
        "record_key": RECORD_KEY_CASE.text,
        "idempotency_key": "hangzhou:41:330106199001",
        "subject_id": VALID_CREDIT_CODE,
        "reason": PLANTED,
        "330106199001014211": ("a", PLANTED),
        "count": 3,
        "nested": [{"detail": PLANTED, "when": None}],
        "summary": _Summary(
            PLANTED, [PLANTED], pd.DataFrame({"reason": [PLANTED]}), Path("/tmp/x")
        ),
    }
    masked = mask_document(document, keep=MACHINE_IDENTIFIERS, credit_codes={"subject_id"})
    assert masked["record_key"] == RECORD_KEY_CASE.text
    assert masked["idempotency_key"] == document["idempotency_key"]
    assert masked["subject_id"] == VALID_CREDIT_CODE
    assert masked["reason"] == PLANTED_MASKED
    assert masked["330106********4211"] == ("a", PLANTED_MASKED)
    assert masked["count"] == 3
    assert masked["nested"] == [{"detail": PLANTED_MASKED, "when": None}]
    summary = masked["summary"]
    assert (summary.name, summary.errors) == (PLANTED_MASKED, [PLANTED_MASKED])
    assert summary.frame["reason"].tolist() == [PLANTED_MASKED]
    assert summary.path == Path("/tmp/x")
    assert document["reason"] == PLANTED  # the caller's document is left as it was


def test_the_sql_flavour_gives_what_mask_id_number_gives(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    numbers = ["11010519491231002X", "330106850320031", "12345"]
    with engine.connect() as connection:
        shown = [
            connection.scalar(sa.select(masked_id_sql(sa.literal(n, sa.String)))) for n in numbers
        ]
    engine.dispose()
    assert shown == [mask_id_number(n) for n in numbers]


def test_ten_thousand_clean_rows_cost_one_pass() -> None:
    reasons = pa.array(["信用中国已修复，文号浙罚〔2026〕12号"] * 10_000)
    table = pa.table({"reason": reasons})
    assert mask_table(table) is table
