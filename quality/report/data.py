"""Everything one period's report shows, gathered once for the HTML, XLSX and JSON writers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from hub import clock
from hub.workdays import WorkCalendar
from quality.config import QualitySettings
from quality.periods import Period
from quality.problems import broken_records, late_records
from quality.scorecard import allow_listed_codes, compute_scorecard, with_changes

log = logging.getLogger(__name__)


@dataclass
class QualityReport:
    """One period's data-quality report.

    Attributes:
        period: the period reported.
        previous: the period compared with.
        generated_at: when the report was made (UTC).
        settings: the quality settings in force.
        departments: the scorecards with the previous period's figures and the changes.
        by_rule: quarantined records per department and rule.
        broken: quarantined records, one row per failed rule (``quality.problems``).
        late: records received later than the limit.
        allow_listed: accepted non-standard credit codes (department, credit code, note, records).
        warnings: what a reader must know before trusting the figures (calendar gaps).
        checkpoints: the GE checkpoints run for the period (empty without Data Docs).
        data_docs: the Data Docs index relative to the report folder, if built.
    """

    period: Period
    previous: Period
    generated_at: datetime
    settings: QualitySettings
    departments: pd.DataFrame
    by_rule: pd.DataFrame
    broken: pd.DataFrame
    late: pd.DataFrame
    allow_listed: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    checkpoints: list = field(default_factory=list)
    data_docs: str | None = None

    def departments_in_order(self) -> list[str]:
        """The departments best first, then any that only have findings."""
        names = list(self.departments["department"])
        extra = set(self.broken["department"]) | set(self.late["department"])
        return names + sorted(extra - set(names))


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
    return QualityReport(
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
