"""The reconciliation page: the daily reconciliation report's figures, and findings settled.

The figures are ``hub reconcile``'s report (``hub.reconcile.report.build_report``); the findings
settled lately are listed with when each was first seen and when it was settled.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from hub.core.privacy import MACHINE_IDENTIFIERS, mask_frame
from hub.reconcile.compare import FINDING_CLASSES
from hub.reconcile.report import ReconcileReport, build_report
from hub.reconcile.status import last_run
from hub.store.reconcile_schema import reconcile_finding

SETTLED_DAYS = 30
"""How far back the page lists settled findings."""


def report_day(connection: sa.Connection, today: date) -> date:
    """The day of the last reconciliation run (``today`` before the first)."""
    run = last_run(connection)
    return run.day if run else today


def daily_report(connection: sa.Connection, day: date, reminder_days: int) -> ReconcileReport:
    """``day``'s reconciliation report, as ``hub reconcile`` builds it, its lists masked."""
    report = build_report(connection, day, reminder_days)
    keep = MACHINE_IDENTIFIERS | {"finding_key"}
    return ReconcileReport(
        day=report.day,
        by_class=report.by_class,
        by_responsible=report.by_responsible,
        open_findings=mask_frame(report.open_findings, keep=keep, credit_codes={"subject_id"}),
        age_bands=report.age_bands,
        reminders=mask_frame(report.reminders, credit_codes={"subject_id"}),
        calendar_warning=report.calendar_warning,
    )


def settled(connection: sa.Connection, day: date, days: int = SETTLED_DAYS) -> pd.DataFrame:
    """Findings settled in the ``days`` days up to ``day``, latest first, masked."""
    f = reconcile_finding.c
    columns = ("finding_class", "responsible", "document_no", "subject_name", "subject_id")
    columns += ("first_seen", "resolved_on")
    rows = connection.execute(
        sa.select(*(f[c] for c in columns))
        .where(f.resolved_on.is_not(None), f.resolved_on > day - timedelta(days=days))
        .where(f.resolved_on <= day)
        .order_by(f.resolved_on.desc(), f.id)
    ).mappings()
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["finding_label"] = frame["finding_class"].map(FINDING_CLASSES)
    return mask_frame(frame, credit_codes={"subject_id"})
