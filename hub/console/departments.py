"""The departments page: the quality report's scorecards of a day, month or year, ranked.

Each department's score over the last periods is drawn beside it, and the report's workbook can be
downloaded.

The figures are the report stage's own (``hub.report.run.assemble``,
``hub.report.scorecard.compute_scorecard``), formatted as the report formats them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from hub.console.render import records
from hub.core.privacy import mask_text
from hub.core.settings import settings
from hub.core.workdays import calendar
from hub.report.run import assemble
from hub.report.scorecard import compute_scorecard
from hub.store.schema import raw_record
from quality.config import quality_settings
from quality.periods import Granularity, Period
from quality.report.data import QualityReport
from quality.report.html import number, percent, points
from quality.report.labels import rule_label
from quality.report.xlsx import write_xlsx

TREND_PERIODS = 12
"""How many periods, the chosen one the last, a department's trend shows."""
GRANULARITY_LABELS = {Granularity.DAY: "日", Granularity.MONTH: "月", Granularity.YEAR: "年"}


def period_of(granularity: Granularity, label: str | None, today: date) -> Period:
    """The period named by ``label``, else the one of ``granularity`` holding ``today``.

    Raises:
        ValueError: ``label`` is not a period of ``granularity``.
    """
    if label:
        period = Period.parse(label)
        if period.granularity is not granularity:
            raise ValueError(f"{label!r} is not a {granularity} period")
        return period
    text = {
        Granularity.DAY: today.isoformat(),
        Granularity.MONTH: f"{today:%Y-%m}",
        Granularity.YEAR: f"{today:%Y}",
    }[granularity]
    return Period.parse(text)


def _options() -> dict[str, Any]:
    return {"timezone": settings().timezone, "calendar": calendar(), "settings": quality_settings()}


def scorecards(connection: sa.Connection, period: Period) -> QualityReport:
    """``period``'s quality report as ``hub report`` assembles it (masked)."""
    return assemble(connection, period, **_options())


def workbook(report: QualityReport) -> bytes:
    """The report's XLSX workbook, as ``hub report`` writes it (masked by its writer)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.xlsx"
        write_xlsx(report, path)
        return path.read_bytes()


@dataclass(frozen=True)
class Trend:
    """Scores of the last periods: ``labels`` oldest first, ``scores`` per department."""

    labels: list[str]
    scores: dict[str, list[float | None]]


def trend(connection: sa.Connection, period: Period, periods: int = TREND_PERIODS) -> Trend:
    """Each department's score in the ``periods`` periods ending with ``period``."""
    chosen = [period]
    while len(chosen) < periods:
        chosen.append(chosen[-1].previous())
    chosen.reverse()
    options = _options()
    frames = [compute_scorecard(connection, p, **options).departments for p in chosen]
    names = sorted({name for frame in frames for name in frame["department"]})
    scores: dict[str, list[float | None]] = {name: [] for name in names}
    for frame in frames:
        by_name = frame.set_index("department")["score"]
        for name in names:
            value = by_name.get(name)
            scores[name].append(None if value is None or pd.isna(value) else float(value))
    return Trend([p.label for p in chosen], scores)


def sparkline(
    values: list[float | None], width: int = 180, height: int = 36
) -> list[tuple[float, float]]:
    """SVG coordinates of ``values`` (fractions 0–1), one per period that has a score."""
    step = width / max(len(values) - 1, 1)
    return [
        (round(i * step, 1), round((1 - v) * (height - 4) + 2, 1))
        for i, v in enumerate(values)
        if v is not None
    ]


def ranking(report: QualityReport) -> list[dict[str, Any]]:
    """The report's departments, best first, as the ranking table shows them."""
    rows = []
    for _, r in report.departments.iterrows():
        previous = r["previous_rank"]
        moved = "新" if pd.isna(previous) else f"{int(r['rank_change']):+d}".replace("+0", "—")
        rows.append(
            {
                "rank": number(r["rank"]),
                "moved": moved,
                "department": r["department"],
                "delivered": number(r["delivered"]),
                "quarantined": number(r["quarantined"]),
                "late": number(r["late"]),
                "complete": percent(r["complete_pct"]),
                "valid": percent(r["valid_pct"]),
                "on_time": percent(r["on_time_pct"]),
                "valid_change": points(r["valid_pct_change"]),
                "score": percent(r["score"]),
            }
        )
    return rows


@dataclass(frozen=True)
class Drill:
    """One department's quarantined records by rule (each as received) and late records, masked."""

    by_rule: list[dict[str, Any]]
    quarantined: list[dict[str, Any]]
    late: list[dict[str, Any]]


def _as_received(connection: sa.Connection, rows: pd.DataFrame) -> dict[tuple[int, int], str]:
    """The raw record of each (batch, sequence) of ``rows``, exactly as received, masked."""
    pairs = {(int(b), int(s)) for b, s in zip(rows["batch_id"], rows["raw_seq"], strict=True)}
    if not pairs:
        return {}
    r = raw_record.c
    found = connection.execute(
        sa.select(r.batch_id, r.seq, r.payload).where(sa.tuple_(r.batch_id, r.seq).in_(pairs))
    )
    return {(batch, seq): mask_text(payload) for batch, seq, payload in found}


def drill_down(connection: sa.Connection, report: QualityReport, department: str) -> Drill:
    """``department``'s quarantined and late records in ``report``'s period."""
    by_rule = report.by_rule[report.by_rule["department"] == department]
    broken = report.broken[report.broken["department"] == department]
    received = _as_received(connection, broken)
    quarantined = []
    for row in records(broken):
        row["rule_label"] = rule_label(row["rule"])
        row["as_received"] = received.get((int(row["batch_id"]), int(row["raw_seq"])), "")
        quarantined.append(row)
    return Drill(
        by_rule=[
            {"rule": rule_label(r["rule"]), "records": int(r["records"])}
            for r in by_rule.to_dict("records")
        ],
        quarantined=quarantined,
        late=records(report.late[report.late["department"] == department]),
    )
