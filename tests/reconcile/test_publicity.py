"""Publicity periods: the rule set by decision date, the class, the one-year domains."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from hub.core.model import RecordKind
from hub.reconcile.publicity import publicity_of

OLD, NEW = "before_2023_05_01", "ndrc_repair_2026"


def _penalty(decided: date, categories: str, violation: str = "未按规定公示年度报告", **more):
    record = {
        "decision_date": decided,
        "penalty_categories": categories,
        "violation_type": violation,
        "legal_basis": "《中华人民共和国行政处罚法》",
        "authority_name": "杭州市生态环境局",
        "source_department": "省生态环境厅",
    }
    return {**record, **more}


def _one(kind: RecordKind, record: dict) -> dict:
    result = publicity_of(kind, pd.DataFrame([record])).iloc[0]
    return {
        "min": result["publicity_min_end"].date(),
        "max": result["publicity_max_end"].date(),
        "rule": result["publicity_rule"],
        "system": result["responsible_system"],
    }


@pytest.mark.parametrize(
    ("decided", "categories", "expected"),
    [
        # Before 2023-05-01: general 3 months to 1 year, serious 6 months to 3 years.
        (date(2023, 4, 30), "罚款", (date(2023, 7, 30), date(2024, 4, 30), f"{OLD}/general")),
        (
            date(2023, 4, 30),
            "吊销许可证件",
            (date(2023, 10, 30), date(2026, 4, 30), f"{OLD}/serious"),
        ),
        # Order No. 58 from 2023-05-01: every penalty 3 months to 3 years.
        (date(2023, 5, 1), "罚款", (date(2023, 8, 1), date(2026, 5, 1), "ndrc_order_58/general")),
        (date(2026, 3, 31), "警告", (date(2026, 6, 30), date(2029, 3, 31), "ndrc_order_58/minor")),
        # From 2026-04-01: minor at most 3 months, general 3 months to 1 year, serious 1 to 3 years.
        (date(2026, 4, 1), "警告", (date(2026, 4, 1), date(2026, 7, 1), f"{NEW}/minor")),
        (date(2026, 4, 1), "罚款", (date(2026, 7, 1), date(2027, 4, 1), f"{NEW}/general")),
        # Several categories: the most severe class (the longest period) applies.
        (
            date(2026, 4, 1),
            "警告;罚款;责令停产停业",
            (date(2027, 4, 1), date(2029, 4, 1), f"{NEW}/serious"),
        ),
        # Month ends are clipped: 31 August plus 6 months is the end of February.
        (date(2022, 8, 31), "行政拘留", (date(2023, 2, 28), date(2025, 8, 31), f"{OLD}/serious")),
    ],
)
def test_the_rule_set_in_force_on_the_decision_date_applies(decided, categories, expected) -> None:
    result = _one(RecordKind.PENALTY, _penalty(decided, categories))
    assert (result["min"], result["max"], result["rule"]) == expected


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("violation_type", "销售不符合食品安全标准的食品"),
        ("legal_basis", "《中华人民共和国药品管理法》第一百一十七条"),
        ("violation_type", "使用未经定期检验的特种设备"),
        ("authority_name", "杭州市应急管理局"),
        ("violation_type", "消防设施未保持完好有效"),
    ],
)
def test_one_year_domains_have_a_one_year_minimum_under_order_58(field, text) -> None:
    decided = date(2024, 6, 15)
    inside = _one(RecordKind.PENALTY, _penalty(decided, "罚款", **{field: text}))
    assert (inside["min"], inside["max"]) == (date(2025, 6, 15), date(2027, 6, 15))
    # The same record outside order No. 58's years keeps its class's minimum.
    before = _one(RecordKind.PENALTY, _penalty(date(2023, 4, 15), "罚款", **{field: text}))
    assert before["min"] == date(2023, 7, 15)
    after = _one(RecordKind.PENALTY, _penalty(date(2026, 6, 15), "罚款", **{field: text}))
    assert after["min"] == date(2026, 9, 15)


def test_an_ordinary_penalty_has_no_one_year_minimum() -> None:
    assert _one(RecordKind.PENALTY, _penalty(date(2024, 6, 15), "罚款"))["min"] == date(2024, 9, 15)


def test_lists_take_their_class_and_the_repairing_system_follows_the_decider() -> None:
    listed = date(2026, 5, 6)
    abnormal = _one(
        RecordKind.ABNORMAL,
        {"decision_date": listed, "authority_name": "宁波市奉化区市场监督管理局"},
    )
    assert (abnormal["min"], abnormal["max"], abnormal["system"]) == (
        date(2026, 8, 6),
        date(2027, 5, 6),
        "gsxt",
    )
    serious = _one(
        RecordKind.SERIOUS, {"decision_date": listed, "authority_name": "国家税务总局浙江省税务局"}
    )
    assert (serious["min"], serious["max"], serious["system"]) == (
        date(2027, 5, 6),
        date(2029, 5, 6),
        "credit_china",
    )
    market = _one(
        RecordKind.PENALTY, _penalty(listed, "罚款", authority_name="温州市市场监督管理局")
    )
    assert market["system"] == "gsxt"
    assert _one(RecordKind.PENALTY, _penalty(date(2026, 5, 6), "罚款"))["system"] == "credit_china"


def test_a_missing_decision_date_gives_no_period() -> None:
    frame = pd.DataFrame([_penalty(None, "罚款")])
    result = publicity_of(RecordKind.PENALTY, frame).iloc[0]
    assert pd.isna(result["publicity_min_end"]) and pd.isna(result["publicity_rule"])
