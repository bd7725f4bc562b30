"""The report as JSON for machines: the same figures, plain values, dates as ISO text."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from quality.report.data import QualityReport, masked


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def report_document(report: QualityReport) -> dict[str, Any]:
    """The report as a JSON-ready dict (masked by the privacy policy)."""
    report = masked(report)
    settings = report.settings
    by_rule: dict[str, dict[str, int]] = {}
    for row in report.by_rule.itertuples(index=False):
        by_rule.setdefault(row.department, {})[row.rule] = int(row.records)
    departments = _rows(report.departments)
    for entry in departments:
        entry["quarantined_by_rule"] = by_rule.get(entry["department"], {})
    return {
        "period": report.period.label,
        "granularity": str(report.period.granularity),
        "previous_period": report.previous.label,
        "generated_at": report.generated_at.isoformat(),
        "settings": {
            "working_days_limit": settings.working_days_limit,
            "decision_day_counts": settings.decision_day_counts,
            "timed_kinds": [str(k) for k in settings.timed_kinds],
            "weights": settings.weights,
        },
        "warnings": report.warnings,
        "departments": departments,
        "allow_listed": _rows(report.allow_listed),
        "checkpoints": [
            {
                "department": c.department,
                "kind": str(c.kind),
                "records": c.records,
                "expectations": c.expectations,
                "met": c.met,
                "unexpected": [
                    {"rule": rule, "column": column, "records": n}
                    for (rule, column), n in sorted(c.unexpected.items())
                    if n
                ],
                "page": c.page,
            }
            for c in report.checkpoints
        ],
        "data_docs": report.data_docs,
        "late_records": _rows(report.late),
        "quarantined_records": _rows(report.broken),
    }


def write_json(report: QualityReport, path: Path) -> None:
    """Write the JSON document to ``path`` (UTF-8, Chinese as is)."""
    text = json.dumps(report_document(report), ensure_ascii=False, indent=2)
    path.write_text(text + "\n", encoding="utf-8")
