"""The suites as collection applies them: quarantine rule names, messages, the allow-list."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from hub.collect.mapping import map_page
from hub.collect.sources import SourceSpec
from hub.collect.validate import validate
from hub.core.model import RecordKind
from hub.core.settings import MAPPINGS_DIR

SPEC = SourceSpec.model_validate(
    {
        "id": "rules_penalty_csv",
        "name": "rules",
        "department": "省生态环境厅",
        "kind": "penalty",
        "connector": {"type": "file", "connection": "drop", "folder": "x", "format": "csv"},
        "mapping": {
            "fields": {
                "document_no": "文号",
                "subject_name": "名称",
                "subject_category": "类别",
                "credit_code": "信用代码",
                "violation_type": "违法行为类型",
                "violation_facts": "违法事实",
                "legal_basis": "依据",
                "penalty_categories": "处罚类别",
                "penalty_content": "内容",
                "fine_amount": {"column": "罚款（元）", "unit": "yuan"},
                "decision_date": "决定日期",
                "valid_until": "有效期",
                "publicity_deadline": "公示截止期",
                "authority_name": {"value": "浙江省生态环境厅"},
                "authority_code": {"value": "11330000002482410Y"},
                "source_department": {"value": "浙江省生态环境厅"},
                "source_department_code": {"value": "11330000002482410Y"},
            },
            # A typo in a source's own code list: the suite, not the mapping, catches it.
            "codes": {"subject_category": {"01": "法人及非法人组织", "09": "法人及非法人组识"}},
        },
    }
)
GOOD = {
    "文号": "浙环罚〔2026〕12号",
    "名称": "杭州某某化工有限公司",
    "类别": "01",
    "信用代码": "91310110666007217T",
    "违法行为类型": "超标排放",
    "违法事实": "废水超标",
    "依据": "《水污染防治法》第八十三条",
    "处罚类别": "罚款",
    "内容": "罚款贰仟元",
    "罚款（元）": "2000",
    "决定日期": "2026-11-03",
    "有效期": "2027-11-03",
    "公示截止期": "2029-11-03",
}


def found(*rows: dict) -> list[tuple[int, str, str, str]]:
    frame = pd.DataFrame([{**GOOD, **row} for row in rows], dtype="str")
    mapped = map_page(SPEC, frame)
    problems = pd.concat(
        [mapped.problems, *validate(RecordKind.PENALTY, mapped.records, mapped.problems)]
    )
    columns = (problems[c] for c in ("row", "rule", "field", "message"))
    return sorted(zip(*columns, strict=True))


def test_the_rules_beyond_the_mapping_name_the_value() -> None:
    assert found(
        {},
        {"罚款（元）": "1e13"},
        {"有效期": "2026-11-02"},
        {"公示截止期": "2027-01-01"},
        {"有效期": "2099-12-31", "公示截止期": "2029-11-03"},
        {"类别": "09"},
        {"违法行为类型": "超" * 2001},
    ) == [
        (1, "amount_range", "fine_amount", "罚款金额（万元） (fine_amount) 1000000000.0 is outside"
         " [0, 10000000] 万元"),
        (2, "date_order", "valid_until", "处罚有效期 (valid_until) 2026-11-02 is earlier than "
         "decision_date 2026-11-03"),
        (3, "date_order", "publicity_deadline", "公示截止期 (publicity_deadline) 2027-01-01 is "
         "earlier than valid_until 2027-11-03"),
        (5, "code_table", "subject_category", "行政相对人类别 (subject_category) "
         "'法人及非法人组识' is not a label of its code table"),
        (6, "max_length", "violation_type", "违法行为类型 (violation_type) is longer than 2000"),
    ]  # fmt: skip


def test_a_pilot_code_is_quarantined_until_it_is_on_the_allow_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pilot = {"信用代码": "91350211M00013FA1N"}
    other = {"信用代码": "91350211M00013FA1X"}
    quality_dir = tmp_path / "quality"
    shutil.copytree(MAPPINGS_DIR / "quality", quality_dir)
    (quality_dir / "credit_code_allow_list.yaml").write_text("codes: []\n", encoding="utf-8")
    monkeypatch.setenv("HUB_QUALITY_DIR", str(quality_dir))
    assert [(r, rule) for r, rule, *_ in found(pilot, other)] == [
        (0, "credit_code_check"),
        (1, "credit_code_check"),
    ]
    monkeypatch.delenv("HUB_QUALITY_DIR")  # the project's list accepts the pilot code
    assert [(r, rule) for r, rule, *_ in found(pilot, other)] == [(1, "credit_code_check")]
