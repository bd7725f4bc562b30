"""The quality report as its readers get it: HTML in a browser, the XLSX workbook, the JSON.

Two days of the sandbox province are collected; the report of the second receipt day must show
what the sandbox says each department delivered and did wrong, compared with the day before.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from hub.report.run import ReportFiles, write_report
from quality.periods import Period
from sandbox.province import Province
from tests.quality.conftest import DAY, CollectedProvince, Expected
from tests.quality.rendered import Rendered, dump_dom

pytestmark = pytest.mark.integration

SECOND = DAY + timedelta(days=1)


@pytest.fixture
def files(province: CollectedProvince, tmp_path: Path) -> ReportFiles:
    province.deliver_and_collect(DAY)
    province.deliver_and_collect(SECOND)
    period = Period.parse((SECOND + timedelta(days=1)).isoformat())
    return write_report(period, tmp_path / "report", province.engine)


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _id_numbers(province: CollectedProvince) -> set[str]:
    people = Province(province.config.seed).subjects.values()
    return {n for g in people for s in g for n in (s.id_number, s.legal_rep_id_number) if n}


def _valid(truth: Expected) -> float:
    return 1 - truth.quarantined / truth.rows


def test_a_reader_sees_each_department_ranked_with_its_rates_and_problems(
    files: ReportFiles, province: CollectedProvince
) -> None:
    page = Rendered(dump_dom(files.html))
    expected = province.expected(SECOND)
    previous = json.loads(files.json.read_text(encoding="utf-8"))["departments"]
    previous_rank = {d["department"]: d["previous_rank"] for d in previous}

    assert page.external == []
    assert page.alerts == []  # 2026 is in the State Council calendar
    [ranking] = page.section_tables("ranking")
    header, *rows = ranking.rows
    assert header[:7] == ["排名", "名次变化", "部门", "归集条数", "完整率", "合规率", "及时率"]
    assert sorted(r[2] for r in rows) == sorted(expected)
    assert [int(r[0]) for r in rows] == sorted(int(r[0]) for r in rows)
    for rank, change, department, delivered, complete, valid, *_ in rows:
        truth = expected[department]
        assert delivered.split()[0] == f"{truth.rows:,}"
        assert valid.split()[0] == _percent(_valid(truth))
        assert complete.split()[0] == _percent(1 - truth.defects["mandatory"] / truth.rows)
        moved = previous_rank[department] - int(rank)
        assert change == {0: "—"}.get(moved, f"▲{moved}" if moved > 0 else f"▼{-moved}")

    # The charts name every department; their text is text, for the browser's own fonts.
    assert set(expected) <= set(page.svg_text)
    assert {"完整率", "合规率", "及时率"} <= set(page.svg_text)

    # Each department's section lists its late records: as many as the sandbox made late.
    text = "".join(page.text)
    for department, truth in expected.items():
        if truth.late:
            assert f"迟报记录（共 {truth.late} 条" in text, department
    assert not [n for n in _id_numbers(province) if n in files.html.read_text(encoding="utf-8")]


def test_the_workbook_has_a_summary_and_each_departments_records_to_send_back(
    files: ReportFiles, province: CollectedProvince
) -> None:
    book = load_workbook(files.xlsx)
    expected = province.expected(SECOND)
    assert book.sheetnames[:3] == ["汇总", "问题类型", "说明"]
    assert sorted(book.sheetnames[3:]) == sorted(expected)

    summary = list(book["汇总"].iter_rows(values_only=True))
    header = summary[0]
    for row in summary[1:]:
        values = dict(zip(header, row, strict=True))
        truth = expected[values["部门"]]
        assert values["归集条数"] == truth.rows
        assert values["隔离条数"] == truth.quarantined
        assert values["合规率"] == pytest.approx(_valid(truth), abs=1e-12)
    for department, truth in expected.items():
        rows = list(book[department].iter_rows(min_row=2, values_only=True))
        kinds = [r[0] for r in rows]
        assert kinds.count("迟报") == truth.late
        assert kinds.count("隔离") == truth.quarantined  # one rule per injected defect

    cells = " ".join(
        str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row
    )
    assert not [n for n in _id_numbers(province) if n in cells]


def test_the_json_carries_the_same_figures_for_machines(
    files: ReportFiles, province: CollectedProvince
) -> None:
    document = json.loads(files.json.read_text(encoding="utf-8"))
    expected = province.expected(SECOND)
    assert document["period"] == (SECOND + timedelta(days=1)).isoformat()
    assert document["previous_period"] == SECOND.isoformat()
    assert document["settings"]["working_days_limit"] == 7
    figures = {d["department"]: d for d in document["departments"]}
    for department, truth in expected.items():
        assert figures[department]["delivered"] == truth.rows
        assert figures[department]["quarantined_by_rule"] == dict(truth.defects)
        assert figures[department]["late"] == truth.late
    assert len(document["late_records"]) == sum(t.late for t in expected.values())
    assert all(r["delay"] > 7 for r in document["late_records"])


def test_a_year_the_calendar_lacks_is_reported_with_a_warning(
    province: CollectedProvince, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    day = date(2027, 1, 5)
    province.deliver_and_collect(day)
    with caplog.at_level(logging.WARNING):
        files = write_report(Period.parse("2027-01"), tmp_path / "report", province.engine)

    assert any("2027" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    page = Rendered(dump_dom(files.html))
    [alert] = page.alerts
    assert "2027" in alert and "周一至周五" in alert
    document = json.loads(files.json.read_text(encoding="utf-8"))
    assert document["warnings"] == [alert.removeprefix("⚠").strip()]
    notes = [row for row in load_workbook(files.xlsx)["说明"].iter_rows(values_only=True)]
    assert ("警告", document["warnings"][0]) in notes
    # Without a schedule for 2027, delays count Monday to Friday (1 January included).
    late = document["late_records"]
    assert len(late) == sum(t.late for t in province.expected(day).values()) > 0
    for record in late:
        start = np.datetime64(record["decision_date"]) + 1
        end = np.datetime64(record["received"]) + 1
        assert record["delay"] == np.busday_count(start, end)
