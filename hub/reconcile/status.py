"""Where the reconciliation stands, for ``hub status``: its last run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from hub.store.reconcile_schema import reconcile_run


@dataclass(frozen=True)
class LastRun:
    """The last reconciliation run.

    Attributes:
        day: the day it reconciled.
        at: when it finished (or started, while running).
        status: ``succeeded``, ``partial`` (a system could not be read), ``failed``, ``running``.
        findings: the findings it found.
        still_open: the findings open after it, where it recorded them.
        error: what went wrong, if anything.
    """

    day: date
    at: datetime
    status: str
    findings: int
    still_open: int | None
    error: str | None


def last_run(connection: sa.Connection) -> LastRun | None:
    """The last reconciliation run, ``None`` before the first."""
    run = connection.execute(
        sa.select(reconcile_run).order_by(reconcile_run.c.id.desc()).limit(1)
    ).first()
    if run is None:
        return None
    figures = json.loads(run.figures) if run.figures else {}
    return LastRun(
        day=run.run_date,
        at=run.finished_at or run.started_at,
        status=run.status,
        findings=sum((figures.get("findings_by_class") or {}).values()),
        still_open=(figures.get("findings") or {}).get("open"),
        error=run.error,
    )
