"""Reconciliation: the last run's open findings by class, responsible party and age band, each
with its history, the findings settled lately, and the reminder list."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.core.settings import settings
from hub.store.reconcile_schema import reconcile_finding
from tests.console.conftest import DAYS, Run, Session
from tests.console.dom import Dom
from tests.core.privacy_cases import leaked

pytestmark = [pytest.mark.integration, pytest.mark.dag]


def _written(day) -> dict:
    """The report ``hub reconcile`` wrote for ``day``."""
    path = settings().var_dir / "reports" / "reconcile" / f"reconcile_{day}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_last_runs_findings_are_the_written_reports(run: Run, lead: Session) -> None:
    status, dom = lead.open("/reconciliation")
    lead.screenshot("reconciliation")

    assert status == 200
    assert dom.text("day") == str(DAYS[-1])
    written = _written(DAYS[-1])
    assert dom.table("classes")[1:] == [
        [c["label"], str(c["found_today"]), str(c["settled_today"]), str(c["open"])]
        for c in written["by_class"]
    ]
    assert dom.table("ages")[1:] == [[b["label"], str(b["open"])] for b in written["age_bands"]]
    open_rows = dom.table("open")[1:]
    assert open_rows and Counter((r[2], r[1], r[6]) for r in open_rows) == Counter(
        (f["document_no"], f["responsible"], f["first_seen"]) for f in written["open_findings"]
    )
    # A finding last changed between the day it was first seen and the day shown.
    assert all(r[6] <= r[7] <= str(DAYS[-1]) for r in open_rows)
    parties = dom.table("parties")[1:]
    assert sum(int(c) for row in parties for c in row[1:]) == len(open_rows)
    assert len(dom.table("reminders")) - 1 == len(written["reminders"])
    with run.engine.connect() as connection:
        f = reconcile_finding.c
        settled = connection.scalar(
            sa.select(sa.func.count()).where(
                f.resolved_on > DAYS[-1] - timedelta(days=30), f.resolved_on <= DAYS[-1]
            )
        )
    assert len(dom.table("settled")) - 1 == settled
    assert leaked(dom.html) == []
    assert not any(person in dom.html for person in run.person_ids)


def test_a_findings_subject_opens_its_case(run: Run, lead: Session) -> None:
    lead.open("/reconciliation")
    link = lead.page.evaluate("document.querySelector('#open a[href*=\"case?q=\"]')?.textContent")
    assert link, "no finding of a legal person to follow"
    assert lead.page.click_and_wait('#open a[href*="case?q="]') == 200
    dom = Dom(lead.page.dom())
    assert dom.text("subject-id") == link
