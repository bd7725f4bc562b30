"""The report as one self-contained HTML page: inline styles and SVG charts, no external file."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from hub.core.settings import settings
from quality.report import charts
from quality.report.data import QualityReport, masked
from quality.report.labels import KINDS, rule_label

TEMPLATES = Path(__file__).resolve().parent / "templates"
SHOWN_PER_DEPARTMENT = 50
"""Problem records listed per department in the page; the workbook has them all."""


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def percent(value: Any) -> str:
    """``0.9731`` → ``97.3%``; missing → ``—``."""
    return "—" if _missing(value) else f"{float(value) * 100:.1f}%"


def points(value: Any) -> str:
    """A change of a fraction in percentage points: ``+1.2``, ``−0.4``, ``±0.0``."""
    if _missing(value):
        return ""
    shown = round(float(value) * 100, 1)
    return "±0.0" if shown == 0 else f"{shown:+.1f}".replace("-", "−")


def number(value: Any, digits: int = 0) -> str:
    """A count or a delay; missing → ``—``."""
    if _missing(value):
        return "—"
    return f"{float(value):,.{digits}f}" if digits else f"{int(value):,}"


def trend(value: Any) -> str:
    """The CSS class of a change: ``up``, ``down`` or ``flat``."""
    if _missing(value) or float(value) == 0:
        return "flat"
    return "up" if float(value) > 0 else "down"


def _rank_change(row: pd.Series) -> tuple[str, str]:
    if _missing(row["previous_rank"]):
        return "新", "flat"
    change = int(row["rank_change"])
    if change == 0:
        return "—", "flat"
    return (f"▲{change}", "up") if change > 0 else (f"▼{-change}", "down")


def _anchor(report: QualityReport, name: str) -> str:
    return f"department-{report.departments_in_order().index(name) + 1}"


def _ranking_rows(report: QualityReport) -> list[dict[str, Any]]:
    rows = []
    for _, r in report.departments.iterrows():
        rank_change, rank_class = _rank_change(r)
        delivered_change = r["delivered_change"]
        rows.append(
            {
                "rank": number(r["rank"]),
                "rank_change": rank_change,
                "rank_class": rank_class,
                "department": r["department"],
                "anchor": _anchor(report, r["department"]),
                "delivered": number(r["delivered"]),
                "delivered_change": ""
                if _missing(delivered_change)
                else f"({int(delivered_change):+,})".replace("-", "−"),
                "delivered_class": trend(delivered_change),
                "percentages": [
                    {
                        "value": percent(r[c]),
                        "change": points(r[f"{c}_change"]),
                        "css": trend(r[f"{c}_change"]),
                    }
                    for c in ("complete_pct", "valid_pct", "on_time_pct")
                ],
                "duplicates": number(r["duplicates"]),
                "quarantined": number(r["quarantined"]),
                "late": number(r["late"]),
                "missed_deliveries": number(r["missed_deliveries"]),
                "median_delay": number(r["median_delay"], 1),
                "max_delay": number(r["max_delay"]),
                "score": percent(r["score"]),
            }
        )
    return rows


def _rule_table(report: QualityReport) -> tuple[list[str], list[dict[str, Any]]]:
    if report.by_rule.empty:
        return [], []
    table = report.by_rule.pivot_table(
        index="department", columns="rule", values="records", aggfunc="sum", fill_value=0
    )
    order = [d for d in report.departments_in_order() if d in table.index]
    rows = [{"department": d, "counts": [int(n) for n in table.loc[d]]} for d in order]
    return [rule_label(r) for r in table.columns], rows


def _text(value: Any) -> str:
    if _missing(value):
        return ""
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, str]]:
    return [
        {c: _text(v) for c, v in zip(columns, row, strict=True)}
        for row in frame[columns].itertuples(index=False)
    ]


def _department_views(report: QualityReport) -> list[dict[str, Any]]:
    scores = report.departments.set_index("department")
    views = []
    for name in report.departments_in_order():
        row = scores.loc[name] if name in scores.index else None
        rules = report.by_rule[report.by_rule["department"] == name]
        delivered = row["delivered"] if row is not None else 0
        late = report.late[report.late["department"] == name]
        broken = report.broken[report.broken["department"] == name].assign(
            rule=lambda f: f["rule"].map(rule_label)
        )
        views.append(
            {
                "name": name,
                "anchor": _anchor(report, name),
                "figures": []
                if row is None
                else [
                    ("归集条数", number(row["delivered"])),
                    ("完整率", percent(row["complete_pct"])),
                    ("合规率", percent(row["valid_pct"])),
                    ("及时率", percent(row["on_time_pct"])),
                    ("重复条数", number(row["duplicates"])),
                    ("排名", number(row["rank"])),
                ],
                "rules": [
                    (rule_label(r), int(n), percent(n / delivered) if delivered else "—")
                    for r, n in zip(rules["rule"], rules["records"], strict=True)
                ],
                "checkpoints": [
                    {
                        "kind": KINDS[c.kind.value],
                        "met": c.met,
                        "expectations": c.expectations,
                        "records": c.records,
                        "page": f"{Path(report.data_docs).parent.as_posix()}/{c.page}",
                    }
                    for c in report.checkpoints
                    if c.department == name and report.data_docs
                ],
                "late_total": len(late),
                "late": _records(
                    late.head(SHOWN_PER_DEPARTMENT),
                    [
                        "document_no",
                        "subject_name",
                        "subject_id",
                        "decision_date",
                        "received",
                        "delay",
                    ],
                ),
                "broken_total": len(broken),
                "broken": _records(
                    broken.head(SHOWN_PER_DEPARTMENT),
                    ["document_no", "subject_name", "subject_id", "rule", "message"],
                ),
            }
        )
    return views


def render_html(report: QualityReport) -> str:
    """The report page (masked by the privacy policy)."""
    report = masked(report)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    rule_names, rule_rows = _rule_table(report)
    departments = report.departments
    local = report.generated_at.astimezone(settings().timezone)
    return environment.get_template("report.html.j2").render(
        period=report.period.chinese,
        previous=report.previous.chinese,
        generated_at=local.strftime("%Y-%m-%d %H:%M"),
        limit=report.settings.working_days_limit,
        day_rule="决定当日为第 1 日"
        if report.settings.decision_day_counts
        else "决定当日为第 0 日，次一工作日为第 1 日",
        warnings=report.warnings,
        rows=_ranking_rows(report),
        charts={
            "rates": charts.rates_chart(departments) if len(departments) else "",
            "rules": charts.rules_chart(report.by_rule, report.departments_in_order())
            if len(report.by_rule)
            else "",
            "delays": charts.delay_chart(departments, report.settings.working_days_limit)
            if len(departments) and (departments["timed"] > 0).any()
            else "",
        },
        rule_names=rule_names,
        rule_rows=rule_rows,
        allow_listed=report.allow_listed.to_dict("records"),
        departments=_department_views(report),
        data_docs=report.data_docs,
    )
