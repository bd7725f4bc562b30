"""Mapping and collection rules on pages built in memory (no I/O)."""

from __future__ import annotations

import pandas as pd
import pytest

from hub.collect.mapping import MissingColumnError, map_page
from hub.collect.sources import SourceSpec
from hub.collect.validate import validate
from hub.core.model import RecordKind

SPEC = SourceSpec.model_validate(
    {
        "id": "test_penalty_csv",
        "name": "test",
        "department": "省生态环境厅",
        "kind": "penalty",
        "connector": {"type": "file", "connection": "drop", "folder": "x", "format": "csv"},
        "mapping": {
            "fields": {
                "document_no": "文号",
                "subject_name": "名称",
                "subject_category": "类别",
                "credit_code": "信用代码",
                "id_number": "证件号码",
                "violation_type": "违法行为类型",
                "violation_facts": "违法事实",
                "legal_basis": "依据",
                "penalty_categories": "处罚类别",
                "penalty_content": "内容",
                "fine_amount": {"column": "罚款金额（元）", "unit": "yuan"},
                "decision_date": "决定日期",
                "valid_until": "有效期",
                "authority_name": {"value": "浙江省生态环境厅"},
                "authority_code": {"value": "11330000002482410Y"},
                "source_department": {"value": "浙江省生态环境厅"},
                "source_department_code": {"value": "11330000002482410Y"},
            },
            "codes": {"subject_category": {"01": "法人及非法人组织", "02": "自然人"}},
            "ignore": ["内部编号"],
        },
    }
)

GOOD = {
    "文号": "浙环罚〔２０２６〕12号 ",
    "名称": "杭州某某化工有限公司",
    "类别": "01",
    "信用代码": "91310110666007217T",
    "证件号码": "",
    "违法行为类型": "超标排放",
    "违法事实": "废水超标",
    "依据": "《水污染防治法》第八十三条",
    "处罚类别": "0;1",
    "内容": "警告，罚款贰仟元",
    "罚款金额（元）": "2000",
    "决定日期": "2026年11月3日",
    "有效期": "46329",
    "内部编号": "A-1",
}


def page(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{**GOOD, **row} for row in rows], dtype="str")


def problems_of(frame: pd.DataFrame) -> list[tuple[int, str, str]]:
    mapped = map_page(SPEC, frame)
    found = pd.concat(
        [mapped.problems, *validate(RecordKind.PENALTY, mapped.records, mapped.problems)]
    )
    return sorted(zip(found["row"], found["rule"], found["field"], strict=True))


def test_a_good_record_maps_to_canonical_values() -> None:
    mapped = map_page(SPEC, page({}))
    record = mapped.records.iloc[0]
    assert record["document_no"] == "浙环罚〔2026〕12号"  # full-width digits, trailing space
    assert record["subject_category"] == "法人及非法人组织"  # per-source code
    assert record["penalty_categories"] == "警告;罚款"  # legacy codes 0 and 1
    assert record["fine_amount"] == pytest.approx(0.2)  # 2,000 yuan is 0.2 万元
    assert record["decision_date"] == pd.Timestamp("2026-11-03")
    assert record["valid_until"] == pd.Timestamp("2026-11-03")  # Excel serial 46329
    assert record["id_number"] is None or pd.isna(record["id_number"])
    assert mapped.problems.empty
    assert problems_of(page({})) == []


def test_each_defect_is_a_problem_of_its_record_with_the_rule_name() -> None:
    frame = page(
        {},
        {"决定日期": "2026-13-45"},
        {"处罚类别": "9"},
        {"信用代码": "91310110666007217X"},
        {"违法事实": "  "},
        {"罚款金额（元）": "-5"},
        {"类别": "02", "信用代码": "", "证件号码": "11010519491231002X"},
        {"类别": "02", "信用代码": "", "证件号码": "110105194912310021"},
        {"类别": "02", "信用代码": "", "证件号码": ""},
        {"处罚类别": "罚款", "罚款金额（元）": ""},
    )
    assert problems_of(frame) == [
        (1, "date_format", "decision_date"),
        (2, "code_table", "penalty_categories"),
        (3, "credit_code_check", "credit_code"),
        (4, "mandatory", "violation_facts"),
        (5, "amount_range", "fine_amount"),
        (7, "id_number_check", "id_number"),
        (8, "mandatory", "id_number"),
        (9, "mandatory", "fine_amount"),
    ]


def test_problem_messages_name_the_field_and_value_and_mask_id_numbers() -> None:
    frame = page({"决定日期": "2026-13-45"}, {"类别": "02", "证件号码": "110105194912310021"})
    mapped = map_page(SPEC, frame)
    found = pd.concat(
        [mapped.problems, *validate(RecordKind.PENALTY, mapped.records, mapped.problems)]
    )
    messages = dict(zip(found["rule"], found["message"], strict=True))
    assert messages["date_format"] == "决定日期 (decision_date) '2026-13-45' is not a date"
    assert "110105********0021" in messages["id_number_check"]
    assert "110105194912310021" not in messages["id_number_check"]


def test_unknown_columns_are_drift_and_a_missing_mandatory_column_fails() -> None:
    mapped = map_page(SPEC, page({"新增字段": "x"}))
    assert mapped.drift == ["unknown column '新增字段'"]
    with pytest.raises(MissingColumnError, match=r"column '决定日期'.*decision_date"):
        map_page(SPEC, page({}).drop(columns=["决定日期"]))


def test_a_missing_optional_column_is_drift_not_failure() -> None:
    mapped = map_page(SPEC, page({}).drop(columns=["证件号码"]))
    assert mapped.drift == ["missing column '证件号码' (mapped to id_number)"]
