"""Everything one period's report shows, gathered once for the HTML, XLSX and JSON writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from hub.core.privacy import MACHINE_IDENTIFIERS, mask_document
from quality.config import QualitySettings
from quality.periods import Period


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
        broken: quarantined records, one row per failed rule (``hub.report.problems``).
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


def masked(report: QualityReport) -> QualityReport:
    """``report`` with every section by the privacy policy (``hub.core.privacy``).

    Every writer masks the report it is handed, so no section can be forgotten: a subject id
    stands only as a valid credit code, an allow-listed credit code stands as it is, and any ID
    number anywhere else (a name, a document number, a quarantine message) is masked.
    """
    return mask_document(
        report, keep={*MACHINE_IDENTIFIERS, "credit_code"}, credit_codes={"subject_id"}
    )
