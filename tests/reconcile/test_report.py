"""The daily reconciliation report as its readers get it: HTML in a browser, XLSX, JSON."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from hub.reconcile.report import build_report, write_report
from hub.reconcile.run import reconcile_day
from hub.store.reconcile_schema import reconcile_finding
from hub.store.schema import RECORD_TABLES
from tests.core.privacy_cases import CASES, PLANTED, PLANTED_MASKED, leaked
from tests.quality.rendered import dump_dom
from tests.reconcile.conftest import DAY, Systems

NEXT_WORKDAY_AFTER_WEEKEND = date(2026, 11, 23)  # DAY is a Friday


@pytest.fixture
def report_files(platform: sa.Engine, systems: Systems, tmp_path: Path) -> dict[str, Path]:
    reconcile_day(DAY, engine=platform, systems=systems)
    reconcile_day(NEXT_WORKDAY_AFTER_WEEKEND, engine=platform, systems=systems)
    with platform.connect() as connection:
        report = build_report(connection, NEXT_WORKDAY_AFTER_WEEKEND, reminder_days=30)
    return write_report(report, tmp_path)


@pytest.mark.integration
def test_the_workbook_lists_counts_open_findings_by_age_and_reminders(report_files) -> None:
    workbook = load_workbook(report_files["xlsx"])
    assert workbook.sheetnames == ["汇总", "未解决问题", "修复提醒"]
    summary = {row[0]: row[1:] for row in workbook["汇总"].iter_rows(min_row=2, values_only=True)}
    # Found again today / settled today / still open, four days after the first run.
    assert summary["仅一个系统已修复"] == (2, 0, 2)
    assert summary["平台已修复但无系统确认"] == (1, 0, 1)
    assert summary["修复记录在平台无对应信息"] == (1, 0, 1)
    assert summary["已修复但平台仍在公示"] == (0, 0, 0)
    open_rows = list(workbook["未解决问题"].iter_rows(values_only=True))
    assert open_rows[0][-1] == "已持续工作日"
    # First seen on Friday the 20th, still open on Monday the 23rd: one working day.
    assert {row[-1] for row in open_rows[1:]} == {1}
    assert [row[2] for row in workbook["修复提醒"].iter_rows(min_row=2, values_only=True)] == [
        "文号〔2026〕9号"
    ]


@pytest.mark.integration
def test_the_json_carries_the_same_figures(report_files) -> None:
    data = json.loads(report_files["json"].read_text(encoding="utf-8"))
    opened = {row["finding_class"]: row["open"] for row in data["by_class"]}
    assert opened == {
        "repaired_in_one_system": 2,
        "repaired_still_published": 0,
        "platform_repaired_unconfirmed": 1,
        "unknown_record": 1,
        "expired_still_published": 0,
    }
    assert data["calendar_warning"] is None
    assert {row["label"]: row["open"] for row in data["age_bands"]}["1-3个工作日"] == 4


@pytest.mark.integration
def test_a_reader_sees_the_report_in_a_browser(report_files) -> None:
    text = dump_dom(report_files["html"])
    assert "信用修复对账日报（2026-11-23）" in text
    assert '<td>仅一个系统已修复</td><td class="n">2</td>' in text
    assert "杭州市市场监督管理局" in text  # whose move it is
    assert "33010619850312421X" not in text


@pytest.mark.integration
def test_every_section_is_masked_by_the_privacy_policy(
    platform: sa.Engine, systems: Systems, tmp_path: Path
) -> None:
    reconcile_day(DAY, engine=platform, systems=systems)
    with platform.begin() as connection:
        findings = connection.scalars(sa.select(reconcile_finding.c.id)).all()
        for finding_id, case in zip(findings, itertools.cycle(CASES), strict=False):
            connection.execute(
                reconcile_finding.update()
                .where(reconcile_finding.c.id == finding_id)
                .values(
                    detail=PLANTED,
                    responsible=f"{case.label}{case.text}",
                    subject_name=f"{case.label}{case.text}",
                    document_no=f"文号{case.text}",
                )
            )
        for table in RECORD_TABLES.values():
            keys = connection.scalars(sa.select(table.c.record_key)).all()
            people = itertools.cycle([c for c in CASES if c.is_id])
            for key, case in zip(keys, people, strict=False):
                connection.execute(
                    table.update()
                    .where(table.c.record_key == key)
                    .values(subject_name=f"{case.label}{case.text}", authority_name=PLANTED[:200])
                )
        report = build_report(connection, DAY, reminder_days=3650)
    assert len(report.open_findings) and len(report.reminders)
    report = replace(report, calendar_warning=PLANTED)

    files = write_report(report, tmp_path)

    for kind in ("html", "json"):
        assert leaked(files[kind].read_text("utf-8")) == [], kind
    book = load_workbook(files["xlsx"])
    for sheet in book.worksheets:
        cells = "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row)
        assert leaked(cells) == [], sheet.title
        if sheet.title != "汇总":  # the open findings and the reminders name their subjects
            names = [f"{c.label}{c.masked}" for c in CASES if c.is_id]
            assert [name for name in names if name in cells], sheet.title
    shown = [case for case in CASES if case.masked in files["html"].read_text("utf-8")]
    assert len(shown) == len(CASES)  # the calendar warning carries them all, masked
    opened = json.loads(files["json"].read_text("utf-8"))["open_findings"]
    assert {row["detail"] for row in opened} == {PLANTED_MASKED}
