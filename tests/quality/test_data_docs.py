"""The GE checkpoint per department, and Data Docs a browser reads offline.

Great Expectations validates every record the platform received in the period, remapped from its
raw payload; what it finds per department must be what collection quarantined there.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.collect.sources import enabled_sources
from hub.report.run import write_data_docs, write_report
from hub.store.schema import quarantine
from quality.periods import Period
from quality.report.labels import KINDS
from quality.suites import expectations
from sandbox.province import Province
from tests.quality.conftest import DAY, CollectedProvince
from tests.quality.rendered import Rendered, dump_dom

pytestmark = pytest.mark.integration

PARSE_RULES = {"date_format", "amount_format", "code_table"}
"""Rules of the mapping: a value it cannot read is missing to the suite."""


@pytest.mark.parametrize("platform_url", ["sqlite"], indirect=True)
def test_each_department_is_checked_by_ge_and_its_data_docs_read_offline(
    province: CollectedProvince, tmp_path: Path
) -> None:
    province.deliver_and_collect(DAY, count=40)
    period = Period.parse((DAY + timedelta(days=1)).isoformat())
    folder = tmp_path / "report"
    outcomes = write_data_docs(period, folder, province.engine)

    sources = {(s.department, s.kind) for s in enabled_sources()}
    assert {(o.department, o.kind) for o in outcomes} == sources
    with province.engine.connect() as connection:
        rows = connection.execute(
            sa.select(quarantine.c.department, quarantine.c.rule, quarantine.c.field)
        ).all()
    quarantined = Counter(
        (d, "mandatory" if rule in PARSE_RULES else rule, field) for d, rule, field in rows
    )
    found = Counter()
    for outcome in outcomes:
        assert outcome.expectations == len(expectations(outcome.kind))
        for (rule, column), n in outcome.unexpected.items():
            found[(outcome.department, rule, column)] += n
    assert +found == quarantined
    assert any(o.met < o.expectations for o in outcomes)

    docs = folder / "data_docs"
    pages = sorted(docs.rglob("*.html"))
    for page in pages:
        assert Rendered(page.read_text(encoding="utf-8")).external == [], page
    index = Rendered(dump_dom(docs / "index.html"))
    assert index.external == []
    [checkpoints, *_] = index.tables
    assert [row[:2] for row in checkpoints.rows[1:]] == [
        [o.department, KINDS[o.kind.value]] for o in outcomes
    ]
    for outcome in outcomes:
        assert (docs / outcome.page).exists()
        assert outcome.page in index.links
    failing = next(o for o in outcomes if o.met < o.expectations)
    text = " ".join(Rendered(dump_dom(docs / failing.page)).text)
    for expectation in expectations(failing.kind):
        assert expectation.description in text

    people = Province(province.config.seed).subjects.values()
    numbers = {n for g in people for s in g for n in (s.id_number, s.legal_rep_id_number) if n}
    every_page = " ".join(p.read_text(encoding="utf-8") for p in pages)
    assert not [n for n in numbers if n in every_page]

    # The report links each department to its Data Docs page.
    files = write_report(period, folder, province.engine)
    report = Rendered(dump_dom(files.html))
    linked = [link for link in report.links if link.startswith("data_docs/")]
    assert len(linked) == len(outcomes) + 1  # every page, and the index
    assert all((folder / link).exists() for link in linked)
    document = json.loads(files.json.read_text(encoding="utf-8"))
    listed = Counter()
    for checkpoint in document["checkpoints"]:
        for u in checkpoint["unexpected"]:
            listed[(checkpoint["department"], u["rule"], u["column"])] += u["records"]
    assert listed == quarantined
