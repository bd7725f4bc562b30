"""The records to send back: every quarantined and every late one, named as the agency knows it."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

import pytest

from hub.collect.sources import enabled_sources, get_source
from hub.core.settings import settings
from hub.core.workdays import calendar
from hub.report.problems import broken_records, late_records
from quality.config import quality_settings
from quality.periods import Period
from sandbox.deliver import read_truth
from sandbox.province import Province
from tests.quality.conftest import DAY, CollectedProvince

pytestmark = pytest.mark.integration


def _or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def id_numbers(province: CollectedProvince) -> set[str]:
    """Every resident ID number of the sandbox province's people."""
    people = Province(province.config.seed).subjects.values()
    return {n for group in people for s in group for n in (s.id_number, s.legal_rep_id_number) if n}


def _document(number: str | None) -> str | None:
    return unicodedata.normalize("NFKC", number).strip() if number else None


def test_every_broken_and_every_late_record_is_listed_for_its_department(
    province: CollectedProvince,
) -> None:
    province.deliver_and_collect(DAY)
    period = Period.parse((DAY + timedelta(days=1)).isoformat())
    with province.engine.connect() as connection:
        broken = broken_records(connection, period, settings().timezone)
        late = late_records(
            connection,
            period,
            timezone=settings().timezone,
            calendar=calendar(),
            settings=quality_settings(),
        )

    expected_broken, expected_late = set(), set()
    for source in enabled_sources():
        truth = read_truth(province.config, DAY, source.id)
        department = get_source(source.id).department
        for defect in truth["details"]["defects"]:
            blanked = defect["field"] == "document_no"
            document = None if blanked else _document(defect["document_no"])
            expected_broken.add((department, source.id, document, defect["rule"], defect["field"]))
        for record in truth["details"]["late"]:
            expected_late.add((department, source.id, _document(record["document_no"])))

    listed = {
        (r.department, r.source_id, _or_none(r.document_no), r.rule, r.field)
        for r in broken.itertuples()
    }
    assert listed == expected_broken
    assert set(broken["received"].dt.date) == {DAY + timedelta(days=1)}
    assert {(r.department, r.source_id, r.document_no) for r in late.itertuples()} == expected_late
    assert len(late) == len(expected_late) > 0
    assert (late["delay"] > quality_settings().working_days_limit).all()
    assert (late["decision_date"].astype("str") < str(DAY - timedelta(days=19))).all()

    # A natural person is named by a masked ID number, here and in every message.
    persons = broken[broken["subject_id"].str.contains("*", regex=False, na=False)]
    assert len(persons) > 0
    text = " ".join(str(v) for frame in (broken, late) for v in frame.to_numpy().ravel())
    assert not [n for n in id_numbers(province) if n in text]
    assert any(n[:6] + "********" in text for n in id_numbers(province))
