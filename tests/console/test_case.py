"""Case search: any written form of a credit code or ID number leads to the one-thing view."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from hub.core.privacy import mask_id_number
from hub.store.outbox_schema import outbox
from hub.store.reconcile_schema import repair_fact
from hub.store.schema import RECORD_TABLES, status_change
from tests.console.conftest import Run, Session
from tests.core.privacy_cases import leaked

pytestmark = [pytest.mark.integration, pytest.mark.dag]


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def _search(session: Session, typed: str):
    session.open("/case")
    session.page.type_into("input[name=q]", typed)
    session.page.click_and_wait("#search button[type=submit]")
    from tests.console.dom import Dom

    return Dom(session.page.dom())


def test_a_persons_id_number_typed_full_width_with_spaces_finds_the_case_masked(
    run: Run, lead: Session
) -> None:
    person = run.person_ids[0]
    penalties = RECORD_TABLES["penalty"]
    with run.engine.connect() as connection:
        documents = connection.scalars(
            sa.select(penalties.c.document_no).where(penalties.c.id_number == person)
        ).all()

    dom = _search(lead, f"  {_full_width(person.lower())} ")
    lead.screenshot("case-person")

    assert dom.text("subject-id") == mask_id_number(person)
    assert dom.text("record-count") == str(len(documents)) != "0"
    rows = dom.table("records")[1:]
    assert len(rows) == len(documents)
    assert {row[5] for row in rows} == {"repaired"}  # the planted change moved it
    assert person not in dom.html and leaked(dom.html) == []
    # The search box shows the subject as the page names it, masked, never as typed.
    assert lead.page.evaluate("document.querySelector('input[name=q]').value") == (
        mask_id_number(person)
    )


def test_an_enterprise_case_shows_its_repairs_status_changes_and_pushes(
    run: Run, lead: Session
) -> None:
    penalties = RECORD_TABLES["penalty"]
    with run.engine.connect() as connection:
        credit_code = connection.scalar(
            sa.select(penalties.c.credit_code)
            .join(repair_fact, repair_fact.c.record_key == penalties.c.record_key)
            .join(status_change, status_change.c.record_key == penalties.c.record_key)
            .where(penalties.c.credit_code.is_not(None))
            .order_by(penalties.c.credit_code)
            .limit(1)
        )
        keys = connection.scalars(
            sa.select(penalties.c.record_key).where(penalties.c.credit_code == credit_code)
        ).all()
        facts = connection.scalar(
            sa.select(sa.func.count()).where(repair_fact.c.record_key.in_(keys))
        )
        targets = connection.scalars(
            sa.select(outbox.c.target_id)
            .select_from(
                outbox.join(status_change, outbox.c.status_change_id == status_change.c.id)
            )
            .where(status_change.c.record_key.in_(keys))
        ).all()
        pushes = len(targets)
    assert credit_code is not None

    dom = _search(lead, credit_code.lower())
    lead.screenshot("case-enterprise")

    assert dom.text("subject-id") == credit_code
    assert dom.text("record-count") == str(len(keys))
    assert len(dom.table("history")) - 1 == facts > 0
    changes = dom.table("changes")[1:]
    assert changes and sum(int(row[4]) for row in changes) == pushes
    # Each push target by name, with where its copy stands.
    shown = " ".join(row[7] for row in changes)
    assert all(f"{target}：" in shown for target in targets)


def test_an_unknown_subject_is_said_so_masked_and_the_json_answer_is_masked(
    run: Run, lead: Session
) -> None:
    unknown = "11010519491231002X"  # a valid ID number nobody on the platform has
    dom = _search(lead, unknown)
    assert dom.text("not-found") == f"平台上没有 {mask_id_number(unknown)} 的记录。"
    assert unknown not in dom.html

    person = run.person_ids[1]
    answer = lead.page.evaluate(f"fetch('case.json?q={person}').then(r => r.text())")
    case = json.loads(answer)
    assert case["subject"] == mask_id_number(person)
    assert case["records"] and leaked(answer) == [] and person not in answer
