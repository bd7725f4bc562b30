from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.core.model import SUBJECT_PERSON, fields_of
from sandbox.agencies import AGENCIES, RULES, get_agency
from sandbox.province import Province
from sandbox.records import LATE_DAYS, day_records, new_records

DAY = date(2026, 11, 3)


@pytest.fixture(scope="module")
def province() -> Province:
    return Province(7)


def test_same_seed_same_day_gives_identical_records(province: Province) -> None:
    agency = get_agency("zj_scjg_penalty_api")
    first = day_records(province, agency, DAY)
    again = day_records(Province(7), agency, DAY)
    assert first.rows == again.rows and first.truth == again.truth
    assert day_records(Province(8), agency, DAY).rows != first.rows


@pytest.mark.parametrize("source_id", list(AGENCIES))
def test_truth_counts_agree_with_records(province: Province, source_id: str) -> None:
    agency = get_agency(source_id)
    batch = day_records(province, agency, DAY)
    truth = batch.truth
    assert truth["rows"] == len(batch.rows)
    assert truth["rows"] == (
        truth["records"] + truth["duplicates"] + truth["resends"] + truth["corrections"]
    )
    assert set(truth["defects"]) == set(RULES)
    assert sum(truth["defects"].values()) == len(truth["details"]["defects"])
    assert truth["clean_records"] == truth["records"] - sum(truth["defects"].values())
    canonical = {f.name for f in fields_of(agency.kind)}
    assert all(set(row) <= canonical for row in batch.rows)


def test_each_record_has_at_most_one_anomaly(province: Province) -> None:
    generated = new_records(province, get_agency("zj_jtt_penalty_file"), DAY, count=5000)
    assert not any(g.defect and g.late for g in generated)
    for g in generated:
        if g.late:
            assert (DAY - g.record["decision_date"]).days >= LATE_DAYS[0]
        elif g.defect is None:
            assert 1 <= (DAY - g.record["decision_date"]).days <= 5


def test_defect_rates_are_near_configured(province: Province) -> None:
    agency = get_agency("zj_scjg_penalty_api")
    truth = day_records(province, agency, DAY, count=20000).truth
    for rule, rate in agency.rates.defects.items():
        assert truth["defects"][rule] == pytest.approx(20000 * rate, rel=0.25), rule
    assert truth["late"] == pytest.approx(20000 * agency.rates.late, rel=0.25)


def test_mandatory_defects_blank_a_mandatory_or_conditional_field(province: Province) -> None:
    agency = get_agency("zj_wjw_penalty_api")
    mandatory = {f.name for f in fields_of(agency.kind) if f.mandatory}
    for g in new_records(province, agency, DAY, count=3000):
        if g.defect and g.defect.rule == "mandatory":
            assert g.record[g.defect.field] is None
            if g.defect.field == "id_number":
                assert g.record["subject_category"] == SUBJECT_PERSON
            elif g.defect.field == "fine_amount":
                assert "罚款" in g.record["penalty_categories"]
            else:
                assert g.defect.field in mandatory


def test_resends_and_corrections_repeat_earlier_days(province: Province) -> None:
    agency = get_agency("zj_scjg_abnormal_db")
    batch = day_records(province, agency, DAY, count=1000)
    details = batch.truth["details"]
    earlier = {}
    for back in (1, 2, 3):
        day = DAY - timedelta(days=back)
        for g in new_records(province, agency, day, count=1000):
            earlier[g.record["document_no"]] = g.record
    rows = {r["document_no"]: r for r in batch.rows}
    assert details["resends"] and details["corrections"]
    for resend in details["resends"]:
        assert rows[resend["document_no"]] == earlier[resend["document_no"]]
    for correction in details["corrections"]:
        before, after = earlier[correction["document_no"]], rows[correction["document_no"]]
        assert before[correction["field"]] != after[correction["field"]]
        assert {k for k in before if before[k] != after[k]} == {correction["field"]}
    documents = [r["document_no"] for r in batch.rows]
    for duplicate in details["duplicates"]:
        assert documents.count(duplicate) == 2
