"""No page, download or JSON answer of the console shows an ID number whole.

The privacy cases (``tests.core.privacy_cases``) are planted on the platform: every planted
record's status change gives all of them as its reason, its subject name and authority carry one
each, and half the subjects are natural persons with an ID number of their own. An operator opens
every page, the case of every planted subject, the workbook and the JSON case answers.
"""

from __future__ import annotations

import base64
import io
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from hub.store.schema import RECORD_TABLES
from tests.console.conftest import Run, Session
from tests.core.privacy_cases import assert_masked, leaked

pytestmark = [pytest.mark.integration, pytest.mark.dag]

PAGES = ("/", "/departments", "/reconciliation", "/sources")


def _planted_subjects(run: Run) -> list[str]:
    penalties = RECORD_TABLES["penalty"]
    with run.engine.connect() as connection:
        codes = connection.scalars(
            sa.select(penalties.c.credit_code).where(
                penalties.c.source_id == "test", penalties.c.credit_code.is_not(None)
            )
        ).all()
    return [*run.person_ids, *codes]


def test_every_page_shows_the_cases_masked(run: Run, operator: Session) -> None:
    shown = []
    for path in PAGES:
        status, dom = operator.open(path)
        assert status == 200, path
        shown.append(dom.html)
    _, year = operator.open("/departments?granularity=year")
    for row in year.table("ranking")[1:]:
        status, dom = operator.open(
            f"/departments/detail?granularity=year&period=2026&name={quote(row[2])}"
        )
        assert status == 200 and dom.text("department") == row[2]
        shown.append(dom.html)  # quarantined records as received, quarantine messages
    for subject in _planted_subjects(run):
        _, dom = operator.open(f"/case?q={subject}")
        assert dom.has("subject-id"), subject
        assert_masked(dom.html)  # the change's reason carries every case, as the policy leaves it
        shown.append(dom.html)
        answer = operator.page.evaluate(f"fetch('case.json?q={subject}').then(r => r.text())")
        assert_masked(answer)
        shown.append(answer)
    everything = "\n".join(shown)
    assert leaked(everything) == []
    assert not [p for p in run.person_ids if p in everything]


def test_the_workbook_shows_no_id_number(run: Run, operator: Session) -> None:
    operator.open("/departments?granularity=year")
    encoded = operator.page.evaluate(
        "fetch(document.querySelector('#download').href).then(r => r.arrayBuffer())"
        ".then(b => btoa(String.fromCharCode(...new Uint8Array(b))))"
    )
    book = load_workbook(io.BytesIO(base64.b64decode(encoded)))
    text = "\n".join(
        str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
    )
    assert leaked(text) == []
    assert not [p for p in run.person_ids if p in text]
