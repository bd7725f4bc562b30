"""Making a period's quality report: Data Docs by GE, then the HTML, XLSX and JSON files.

Everything goes to one folder per period, ``<var>/reports/quality/<period>/``:
``report.html``, ``report.xlsx``, ``report.json`` and ``data_docs/`` (``index.html``, one page
per department and record kind, ``checkpoints.json``). The two steps are separate so that the
report is written even when GE fails; a report finds the Data Docs of its folder if they exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from hub.core import clock
from hub.core.departments import departments
from hub.core.logs import masked_logger
from hub.core.settings import settings
from hub.core.workdays import WorkCalendar, calendar
from hub.report.frames import read_raw, remap
from hub.report.problems import broken_records, late_records
from hub.report.scorecard import allow_listed_codes, compute_scorecard, with_changes
from hub.report.status import reports_dir
from hub.store.schema import raw_record
from quality.checkpoint_results import CheckpointOutcome, load_outcomes
from quality.config import QualitySettings, quality_settings, suite_parameters
from quality.periods import Period
from quality.report.data import QualityReport, masked
from quality.report.html import render_html
from quality.report.machine import write_json
from quality.report.xlsx import write_xlsx

log = masked_logger(__name__)

DATA_DOCS = "data_docs"


@dataclass(frozen=True)
class ReportFiles:
    """Where a report was written, and what it warns about."""

    folder: Path
    html: Path
    xlsx: Path
    json: Path
    data_docs: Path | None
    report: QualityReport

    @property
    def problems(self) -> list[str]:
        """None: the warnings (calendar gaps) are for the reader, in the report itself."""
        return []

    def as_dict(self) -> dict:
        """Where the files are and what the report warns about (XCom, JSON)."""
        return {
            "html": str(self.html),
            "xlsx": str(self.xlsx),
            "json": str(self.json),
            "data_docs": str(self.data_docs) if self.data_docs else None,
            "warnings": self.report.warnings,
        }


def report_folder(period: Period) -> Path:
    """The default folder of ``period``'s report: ``<var>/reports/quality/<period>``."""
    return reports_dir() / period.label


def write_data_docs(period: Period, folder: Path, engine: sa.Engine) -> list[CheckpointOutcome]:
    """Run the GE checkpoint of every department on what the platform received in ``period``.

    Imports Great Expectations (about ten seconds).
    """
    from quality.checkpoint import run_checkpoints

    start, end = period.instants(settings().timezone)
    r = raw_record.c
    statement = sa.select(r.batch_id, r.seq, r.source_id, r.payload).where(
        r.received_at >= start, r.received_at < end
    )
    with engine.connect() as connection:
        frames = remap(read_raw(connection, statement))
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = run_checkpoints(frames, period, folder / DATA_DOCS, suite_parameters())
    log.info("quality %s: %d checkpoints, Data Docs in %s", period.label, len(outcomes), folder)
    return outcomes


def write_report(period: Period, folder: Path, engine: sa.Engine) -> ReportFiles:
    """Write ``period``'s report (HTML, XLSX, JSON) into ``folder``."""
    with engine.connect() as connection:
        report = assemble(
            connection,
            period,
            timezone=settings().timezone,
            calendar=calendar(),
            settings=quality_settings(),
        )
    docs = folder / DATA_DOCS
    report.checkpoints = load_outcomes(docs)
    if (docs / "index.html").exists():
        report.data_docs = f"{DATA_DOCS}/index.html"
    folder.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(
        folder=folder,
        html=folder / "report.html",
        xlsx=folder / "report.xlsx",
        json=folder / "report.json",
        data_docs=docs if report.data_docs else None,
        report=report,
    )
    files.html.write_text(render_html(report), encoding="utf-8")
    write_xlsx(report, files.xlsx)
    write_json(report, files.json)
    return files


def unregistered_departments(scorecards: pd.DataFrame) -> str | None:
    """A sentence for the report when departments it lists are not in the registry."""
    unknown = scorecards[departments().unknown(scorecards["department"])]
    if unknown.empty:
        return None
    listed = "、".join(f"{row.department}（{row.delivered}条）" for row in unknown.itertuples())
    return (
        f"以下数据来源单位未在部门名录中登记，按来件名称单列统计：{listed}；"
        "请在 mappings/reference/departments.yaml 中登记该部门或为其添加别名。"
    )


def assemble(
    connection: sa.Connection,
    period: Period,
    *,
    timezone: ZoneInfo,
    calendar: WorkCalendar,
    settings: QualitySettings,
) -> QualityReport:
    """Gather ``period``'s report from the platform database."""
    options = {"timezone": timezone, "calendar": calendar, "settings": settings}
    current = compute_scorecard(connection, period, **options)
    previous = compute_scorecard(connection, period.previous(), **options)
    warnings = []
    gap = calendar.coverage_warning(current.calendar_years + previous.calendar_years)
    if gap:
        log.warning("quality report %s: %s", period.label, gap)
        warnings.append(gap)
    unregistered = unregistered_departments(current.departments)
    if unregistered:
        warnings.append(unregistered)
    report = QualityReport(
        period=period,
        previous=period.previous(),
        generated_at=clock.now(),
        settings=settings,
        departments=with_changes(current, previous),
        by_rule=current.by_rule,
        broken=broken_records(connection, period, timezone),
        late=late_records(connection, period, **options),
        allow_listed=allow_listed_codes(connection, period, timezone),
        warnings=warnings,
    )
    return masked(report)  # the CLI prints from it too
