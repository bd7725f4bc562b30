"""The daily reconciliation report: counts by class and department, open findings by age.

Written as a self-contained HTML page (Chinese labels, inline styles, opens offline) and an XLSX
workbook (summary, open findings, reminders), plus JSON for machines. Ages are working days on the
State Council calendar (``hub.core.workdays``); a year the calendar lacks is counted Monday to
Friday and the report says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jinja2
import pandas as pd
import sqlalchemy as sa
from openpyxl import Workbook

from hub.core.privacy import MACHINE_IDENTIFIERS, mask_document
from hub.core.workdays import calendar
from hub.reconcile.compare import FINDING_CLASSES
from hub.reconcile.reminders import reminders
from hub.store.reconcile_schema import reconcile_finding
from quality.report.sheets import write_table

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("hub.reconcile", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
AGE_BANDS = (
    (0, 0, "当日"),
    (1, 3, "1-3个工作日"),
    (4, 10, "4-10个工作日"),
    (11, None, "超过10个工作日"),
)
_OPEN_COLUMNS = {
    "finding_label": "问题类别",
    "responsible": "责任方",
    "document_no": "决定书文号",
    "subject_name": "主体名称",
    "subject_id": "统一社会信用代码/证件号码",
    "detail": "说明",
    "first_seen": "首次发现",
    "age_workdays": "已持续工作日",
}


@dataclass(frozen=True)
class ReconcileReport:
    """The figures of one day's report."""

    day: date
    by_class: pd.DataFrame  # finding_class, label, found_today, settled_today, open
    by_responsible: pd.DataFrame  # responsible x class label: open findings
    open_findings: pd.DataFrame  # one row per open finding, oldest first, with its age
    age_bands: pd.DataFrame  # label, open findings
    reminders: pd.DataFrame
    calendar_warning: str | None


def build_report(connection: sa.Connection, day: date, reminder_days: int) -> ReconcileReport:
    """Gather the report of ``day`` from the findings table."""
    f = reconcile_finding
    rows = connection.execute(
        sa.select(f).where(
            f.c.first_seen <= day, sa.or_(f.c.resolved_on.is_(None), f.c.resolved_on >= day)
        )
    ).mappings()
    findings = pd.DataFrame(rows, columns=[c.name for c in f.columns])
    findings["finding_label"] = findings["finding_class"].map(FINDING_CLASSES)
    open_today = findings["resolved_on"].isna() | (findings["resolved_on"] > day)
    settled_today = findings["resolved_on"] == day
    # Seen on the day: still open after it, or found and settled by the day's own action.
    seen_today = open_today | (settled_today & (findings["first_seen"] == day))
    by_class = pd.DataFrame(
        {
            "finding_class": list(FINDING_CLASSES),
            "label": list(FINDING_CLASSES.values()),
        }
    )
    for name, mask in (
        ("found_today", seen_today),
        ("settled_today", settled_today),
        ("open", open_today),
    ):
        counts = findings.loc[mask, "finding_class"].value_counts()
        by_class[name] = by_class["finding_class"].map(counts).fillna(0).astype(int)
    still_open = findings[open_today].copy()
    cal = calendar()
    still_open["age_workdays"] = cal.workdays_between_many(
        still_open["first_seen"], pd.Series(day, index=still_open.index)
    )
    still_open = still_open.sort_values(["age_workdays", "responsible"], ascending=[False, True])
    by_responsible = (
        still_open.pivot_table(
            index="responsible", columns="finding_label", values="id", aggfunc="count", fill_value=0
        )
        if not still_open.empty
        else pd.DataFrame()
    )
    bands = []
    for low, high, label in AGE_BANDS:
        age = still_open["age_workdays"]
        in_band = (age >= low) & (age <= high) if high is not None else age >= low
        bands.append({"label": label, "open": int(in_band.sum())})
    return ReconcileReport(
        day=day,
        by_class=by_class,
        by_responsible=by_responsible,
        open_findings=still_open.reset_index(drop=True),
        age_bands=pd.DataFrame(bands),
        reminders=reminders(connection, day, reminder_days),
        calendar_warning=cal.coverage_warning(
            [day.year, *pd.to_datetime(still_open["first_seen"]).dt.year]
        ),
    )


def write_report(report: ReconcileReport, directory: Path) -> dict[str, Path]:
    """Write the HTML, XLSX and JSON files of ``report`` into ``directory``; return their paths.

    Every section is masked by the privacy policy first: a subject id stands only as a valid
    credit code, and an ID number in a name, a document number or a finding's detail is masked.
    """
    report = mask_document(report, keep=MACHINE_IDENTIFIERS, credit_codes={"subject_id"})
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"reconcile_{report.day.isoformat()}"
    paths = {
        "html": directory / f"{stem}.html",
        "xlsx": directory / f"{stem}.xlsx",
        "json": directory / f"{stem}.json",
    }
    open_rows = report.open_findings[list(_OPEN_COLUMNS)].astype(str).to_dict("records")
    html = _TEMPLATES.get_template("reconcile_report.html.j2").render(
        report=report,
        open_rows=open_rows,
        open_columns=_OPEN_COLUMNS,
        by_responsible=report.by_responsible,
        max_band=max([1, *report.age_bands["open"]]),
    )
    paths["html"].write_text(html, encoding="utf-8")
    _write_workbook(report, paths["xlsx"])
    paths["json"].write_text(json.dumps(_as_json(report), ensure_ascii=False, indent=2), "utf-8")
    return paths


def _as_json(report: ReconcileReport) -> dict:
    return {
        "day": report.day.isoformat(),
        "calendar_warning": report.calendar_warning,
        "by_class": report.by_class.to_dict("records"),
        "age_bands": report.age_bands.to_dict("records"),
        "open_findings": report.open_findings[
            ["finding_class", *(c for c in _OPEN_COLUMNS if c != "finding_label")]
        ]
        .astype(str)
        .to_dict("records"),
        "reminders": report.reminders.astype(str).to_dict("records"),
    }


def _sheet(workbook: Workbook, title: str, frame: pd.DataFrame, headers: dict[str, str]) -> None:
    rows = [
        [None if pd.isna(v) else v for v in row]
        for row in frame[list(headers)].itertuples(index=False)
    ]
    write_table(workbook.create_sheet(title), list(headers.values()), rows)


def _write_workbook(report: ReconcileReport, path: Path) -> None:
    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(
        workbook,
        "汇总",
        report.by_class,
        {
            "label": "问题类别",
            "found_today": "当日发现",
            "settled_today": "当日处置",
            "open": "未解决",
        },
    )
    _sheet(workbook, "未解决问题", report.open_findings, _OPEN_COLUMNS)
    _sheet(
        workbook,
        "修复提醒",
        report.reminders,
        {
            "subject_id": "统一社会信用代码/证件号码",
            "subject_name": "主体名称",
            "document_no": "决定书文号",
            "authority_name": "决定机关",
            "publicity_min_end": "最短公示期满",
        },
    )
    workbook.save(path)
