"""Departments: the quality report's scorecards by day, month and year, ranked, each with its
trend over twelve periods, and the report's workbook to download."""

from __future__ import annotations

import base64
import io
import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from hub.core.settings import settings
from tests.console.conftest import DAYS, PLANTED_DEPARTMENT, Run, Session
from tests.console.dom import Dom
from tests.core.privacy_cases import leaked

pytestmark = [pytest.mark.integration, pytest.mark.dag]


def _written_report(day) -> dict:
    """The report ``hub report`` wrote for the day the platform received ``day``'s records."""
    folder = settings().var_dir / "reports" / "quality" / str(day + timedelta(days=1))
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


def test_a_days_ranking_is_the_written_reports_with_its_trend(run: Run, lead: Session) -> None:
    received = DAYS[-1] + timedelta(days=1)
    status, dom = lead.open(f"/departments?granularity=day&period={received}")
    lead.screenshot("departments-day")

    assert status == 200
    written = _written_report(DAYS[-1])["departments"]
    header, *rows = dom.table("ranking")
    cells = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(c["名次"], c["部门"], c["报送"]) for c in cells] == [
        (str(d["rank"]), d["department"], f"{d['delivered']:,}") for d in written
    ]
    assert [c["得分"] for c in cells] == [f"{d['score'] * 100:.1f}%" for d in written]
    # Twelve days, the chosen one last; a department that delivered on both days of the run has
    # a line through two points, three for the planted cases' (received on the first day).
    first = _written_report(DAYS[0])["departments"]
    both = {d["department"] for d in first} & {d["department"] for d in written}
    assert both
    points = dict(
        lead.page.evaluate(
            "Array.from(document.querySelectorAll('#ranking tr')).slice(1).map(tr => "
            "[tr.cells[2].textContent, tr.querySelector('polyline').getAttribute('points')])"
        )
    )
    for name in both:
        assert len(points[name].split()) == 2 + (name == PLANTED_DEPARTMENT), name
    assert f"近12日得分（{received - timedelta(days=11)}—{received}）" in dom.text("ranking")


def test_the_month_and_the_year_rank_every_department_that_delivered(
    run: Run, lead: Session
) -> None:
    days = [_written_report(day)["departments"] for day in DAYS]
    delivered: dict[str, int] = {}
    for day in days:
        for d in day:
            delivered[d["department"]] = delivered.get(d["department"], 0) + d["delivered"]

    _, month = lead.open("/departments")  # this month by default
    lead.screenshot("departments-month")
    _, year = lead.open("/departments?granularity=year")

    for dom, label in ((month, "2026年11月"), (year, "2026年")):
        assert dom.text("period") == label
        by_name = {row[2]: row for row in dom.table("ranking")[1:]}
        assert {name: int(row[3].replace(",", "")) for name, row in by_name.items()} == delivered


def test_the_workbook_downloads_as_the_report_writes_it_masked(run: Run, lead: Session) -> None:
    lead.open("/departments")
    encoded = lead.page.evaluate(
        "fetch(document.querySelector('#download').href).then(r => r.arrayBuffer())"
        ".then(b => btoa(String.fromCharCode(...new Uint8Array(b))))"
    )
    book = load_workbook(io.BytesIO(base64.b64decode(encoded)))
    summary = [row for row in book["汇总"].iter_rows(values_only=True)]
    _, month = lead.open("/departments")
    assert [row[2] for row in summary[1:]] == [row[2] for row in month.table("ranking")[1:]]
    text = "\n".join(
        str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
    )
    assert leaked(text) == []
    assert not any(person in text for person in run.person_ids)


def test_a_period_not_of_the_granularity_is_refused(lead: Session) -> None:
    status, dom = lead.open("/departments?granularity=day&period=2026-11")
    assert status == 400
    assert "'2026-11' is not a day period" in dom.html


def test_a_department_drills_down_to_its_quarantined_records_as_received_and_late_ones(
    run: Run, lead: Session
) -> None:
    received = DAYS[-1] + timedelta(days=1)
    written = _written_report(DAYS[-1])
    name = max(written["departments"], key=lambda d: d["quarantined"])["department"]
    lead.open(f"/departments?granularity=day&period={received}")
    link = f"#ranking a[href*='name={quote(name)}']"
    assert lead.page.click_and_wait(link) == 200
    dom = Dom(lead.page.dom())
    lead.screenshot("department-detail")

    assert dom.text("department") == name
    broken = [r for r in written["quarantined_records"] if r["department"] == name]
    late = [r for r in written["late_records"] if r["department"] == name]
    rows = dom.table("quarantined")[1:]
    assert broken and len(rows) == len(broken)
    assert sorted((r[9], r[10]) for r in rows) == sorted(
        (str(b["batch_id"]), str(b["raw_seq"])) for b in broken
    )
    assert len(dom.table("late")) - 1 == len(late)
    by_rule = {r[0]: int(r[1]) for r in dom.table("rules")[1:]}
    assert sum(by_rule.values()) == next(
        d["quarantined"] for d in written["departments"] if d["department"] == name
    )
    # Each quarantined record as the agency sent it: its raw JSON, masked.
    raw = lead.page.evaluate(
        "Array.from(document.querySelectorAll('#quarantined pre.raw')).map(p => p.textContent)"
    )
    assert len(raw) == len(rows) and all(text.startswith("{") for text in raw)
    assert leaked("\n".join(raw)) == []
