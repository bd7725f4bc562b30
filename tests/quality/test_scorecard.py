"""Scorecards recover, per department, exactly the defect and lateness the sandbox injected."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from hub.collect.sources import enabled_sources, get_source
from hub.core.settings import MAPPINGS_DIR, settings
from hub.core.workdays import calendar
from hub.report.scorecard import Scorecard, allow_listed_codes, compute_scorecard, with_changes
from quality.config import quality_settings
from quality.periods import Period
from sandbox.deliver import read_truth
from tests.quality.conftest import DAY, CollectedProvince

pytestmark = pytest.mark.integration


def scorecard(province: CollectedProvince, period: str) -> Scorecard:
    with province.engine.connect() as connection:
        return compute_scorecard(
            connection,
            Period.parse(period),
            timezone=settings().timezone,
            calendar=calendar(),
            settings=quality_settings(),
        )


def test_each_department_gets_the_rates_the_sandbox_injected(province: CollectedProvince) -> None:
    province.deliver_and_collect(DAY)
    expected = province.expected(DAY)
    received = DAY + timedelta(days=1)

    card = scorecard(province, received.isoformat())
    rows = card.departments.set_index("department")
    assert sorted(rows.index) == sorted(expected)
    for department, truth in expected.items():
        row = rows.loc[department]
        assert row["delivered"] == truth.rows
        assert row["quarantined"] == truth.quarantined
        assert row["incomplete"] == truth.defects["mandatory"]
        assert row["duplicates"] == truth.duplicates
        assert (row["timed"], row["late"]) == (truth.timed, truth.late)
        assert row["complete_pct"] == 1 - truth.defects["mandatory"] / truth.rows
        assert row["valid_pct"] == 1 - truth.quarantined / truth.rows
        assert row["on_time_pct"] == 1 - truth.late / truth.timed
        found = card.by_rule[card.by_rule["department"] == department]
        assert dict(zip(found["rule"], found["records"], strict=True)) == dict(truth.defects)
    assert sum(t.late for t in expected.values()) > 0
    assert sum(t.quarantined for t in expected.values()) > 0
    # Late records were decided 20-40 calendar days before delivery, timely ones 1-5.
    assert rows["max_delay"].max() > 7
    assert (rows["median_delay"] <= 5).all()
    assert card.calendar_years == []

    # A month is the sum of its days; a day without receipts has nothing.
    month = scorecard(province, "2026-11").departments.set_index("department")
    assert month[["delivered", "quarantined", "late"]].equals(
        rows[["delivered", "quarantined", "late"]]
    )
    assert scorecard(province, DAY.isoformat()).departments.empty


def test_departments_are_ranked_by_score_and_compared_with_the_previous_period(
    province: CollectedProvince,
) -> None:
    province.deliver_and_collect(DAY)
    province.deliver_and_collect(DAY + timedelta(days=1))
    first = scorecard(province, (DAY + timedelta(days=1)).isoformat())
    second = scorecard(province, (DAY + timedelta(days=2)).isoformat())

    ranked = second.departments
    assert list(ranked["rank"]) == sorted(ranked["rank"])
    assert ranked["score"].is_monotonic_decreasing
    weights = quality_settings().weights
    mean = sum(ranked[f"{k}_pct"] * w for k, w in weights.items()) / sum(weights.values())
    assert (ranked["score"] - mean).abs().max() < 1e-12

    changes = with_changes(second, first).set_index("department")
    before = first.departments.set_index("department")
    after = second.departments.set_index("department")
    for department in after.index:
        assert changes.loc[department, "previous_valid_pct"] == before.loc[department, "valid_pct"]
        assert changes.loc[department, "valid_pct_change"] == pytest.approx(
            after.loc[department, "valid_pct"] - before.loc[department, "valid_pct"]
        )
        assert changes.loc[department, "delivered_change"] == (
            after.loc[department, "delivered"] - before.loc[department, "delivered"]
        )
        assert changes.loc[department, "rank_change"] == (
            before.loc[department, "rank"] - after.loc[department, "rank"]
        )
    assert pd.api.types.is_integer_dtype(changes["rank_change"])


def test_an_allow_listed_code_is_loaded_and_counted_as_an_accepted_exception(
    province: CollectedProvince, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    province.deliver(DAY)
    defects = [
        (source.id, defect)
        for source in enabled_sources()
        for defect in read_truth(province.config, DAY, source.id)["details"]["defects"]
        if defect["rule"] == "credit_code_check"
    ]
    source_id, accepted = defects[0]
    quality_dir = tmp_path / "quality"
    shutil.copytree(MAPPINGS_DIR / "quality", quality_dir)
    (quality_dir / "credit_code_allow_list.yaml").write_text(
        f"codes:\n  - code: {accepted['value']}\n    note: 试点赋码\n", encoding="utf-8"
    )
    monkeypatch.setenv("HUB_QUALITY_DIR", str(quality_dir))
    province.collect(DAY)

    card = scorecard(province, (DAY + timedelta(days=1)).isoformat())
    department = get_source(source_id).department
    rows = card.departments.set_index("department")
    truth = province.expected(DAY)[department]
    assert rows.loc[department, "allow_listed"] == 1
    assert rows.loc[department, "quarantined"] == truth.quarantined - 1
    assert rows["allow_listed"].sum() == 1
    with province.engine.connect() as connection:
        listed = allow_listed_codes(
            connection, Period.parse((DAY + timedelta(days=1)).isoformat()), settings().timezone
        )
    assert listed.to_dict("records") == [
        {
            "department": department,
            "credit_code": accepted["value"],
            "note": "试点赋码",
            "records": 1,
        }
    ]
