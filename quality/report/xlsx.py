"""The report as an XLSX workbook: a summary sheet and one sheet per department's problems."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from quality.report.data import QualityReport, masked
from quality.report.labels import FIGURES, rule_label
from quality.report.sheets import write_table

SUMMARY_COLUMNS = [
    "rank",
    "rank_change",
    "department",
    "delivered",
    "delivered_change",
    "complete_pct",
    "complete_pct_change",
    "valid_pct",
    "valid_pct_change",
    "on_time_pct",
    "on_time_pct_change",
    "duplicates",
    "quarantined",
    "incomplete",
    "timed",
    "late",
    "median_delay",
    "max_delay",
    "allow_listed",
    "missed_deliveries",
    "score",
]
PROBLEM_HEADERS = [
    "问题类型",
    "问题",
    "决定书文号",
    "行政相对人名称",
    "统一社会信用代码/证件号码",
    "决定日期",
    "归集日期",
    "延迟（工作日）",
    "字段",
    "说明",
    "数据源",
    "批次",
    "批内序号",
]
_FORMATS = {
    "complete_pct": "0.0%",
    "valid_pct": "0.0%",
    "on_time_pct": "0.0%",
    "score": "0.0%",
    "complete_pct_change": "+0.0%;-0.0%;0.0%",
    "valid_pct_change": "+0.0%;-0.0%;0.0%",
    "on_time_pct_change": "+0.0%;-0.0%;0.0%",
    "median_delay": "0.0",
}
_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _plain(value: Any) -> Any:
    """A cell value: missing as empty, numbers as Python numbers, dates as dates."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _table(
    sheet: Worksheet, headers: list[str], rows: list[list[Any]], formats: list[str | None]
) -> None:
    write_table(sheet, headers, [[_plain(v) for v in row] for row in rows], formats)


def _summary(book: Workbook, report: QualityReport) -> None:
    sheet = book.active
    sheet.title = "汇总"
    frame = report.departments
    rows = [[r[c] for c in SUMMARY_COLUMNS] for _, r in frame.iterrows()]
    _table(
        sheet,
        [FIGURES[c] for c in SUMMARY_COLUMNS],
        rows,
        [_FORMATS.get(c) for c in SUMMARY_COLUMNS],
    )


def _rules(book: Workbook, report: QualityReport) -> None:
    sheet = book.create_sheet("问题类型")
    rows = [
        [r.department, rule_label(r.rule), r.rule, r.records]
        for r in report.by_rule.itertuples(index=False)
    ]
    _table(sheet, ["部门", "问题", "规则", "条数"], rows, [None, None, None, "#,##0"])


def _notes(book: Workbook, report: QualityReport) -> None:
    sheet = book.create_sheet("说明")
    settings = report.settings
    lines = [
        ["报告期", report.period.chinese],
        ["比较期", report.previous.chinese],
        ["生成时间（UTC）", report.generated_at.strftime("%Y-%m-%d %H:%M")],
        ["及时性时限（工作日）", settings.working_days_limit],
        ["决定当日计为第 1 日", "是" if settings.decision_day_counts else "否（第 0 日）"],
        *(["警告", w] for w in report.warnings),
        *(
            ["允许名单代码", f"{a.department} {a.credit_code}：{a.note}（{a.records} 条）"]
            for a in report.allow_listed.itertuples(index=False)
        ),
        ["说明", "个人证件号码已脱敏；每个部门一张工作表，列出迟报和被隔离的记录。"],
    ]
    for line in lines:
        sheet.append(line)
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 90


def _problem_rows(report: QualityReport, department: str) -> list[list[Any]]:
    late = report.late[report.late["department"] == department]
    broken = report.broken[report.broken["department"] == department]
    rows = [
        ["迟报", f"迟报 {r.delay} 个工作日", r.document_no, r.subject_name, r.subject_id,
         r.decision_date, r.received, r.delay, None, None, r.source_id, None, None]
        for r in late.itertuples(index=False)
    ]  # fmt: skip
    rows += [
        ["隔离", rule_label(r.rule), r.document_no, r.subject_name, r.subject_id,
         r.decision_date, r.received, None, r.field, r.message, r.source_id, r.batch_id, r.raw_seq]
        for r in broken.itertuples(index=False)
    ]  # fmt: skip
    return rows


def sheet_name(name: str, taken: set[str]) -> str:
    """An Excel sheet name for ``name``: at most 31 characters, no forbidden ones, unique."""
    base = _FORBIDDEN.sub("_", name)[:31]
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base[: 31 - len(str(n)) - 1]}_{n}"
    taken.add(candidate)
    return candidate


def write_xlsx(report: QualityReport, path: Path) -> None:
    """Write the workbook to ``path`` (masked by the privacy policy)."""
    report = masked(report)
    book = Workbook()
    _summary(book, report)
    _rules(book, report)
    _notes(book, report)
    taken = {"汇总", "问题类型", "说明"}
    formats = [None] * 5 + ["yyyy-mm-dd", "yyyy-mm-dd"] + [None] * 6
    for department in report.departments_in_order():
        sheet = book.create_sheet(sheet_name(department, taken))
        _table(sheet, PROBLEM_HEADERS, _problem_rows(report, department), formats)
    book.save(path)
