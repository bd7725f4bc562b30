"""The suite files agree with the canonical model and name every rule a report can show."""

from __future__ import annotations

import pytest

from hub.core.model import FieldType, RecordKind, fields_of
from quality.config import suite_parameters
from quality.report.labels import RULES
from quality.suites import expectations, suite_document


@pytest.mark.parametrize("kind", list(RecordKind))
def test_mandatory_fields_and_lengths_are_those_of_the_model(kind: RecordKind) -> None:
    suite = expectations(kind)
    always = {
        e.column
        for e in suite
        if e.type == "expect_column_values_to_not_be_null" and "row_condition" not in e.kwargs
    }
    assert always == {f.name for f in fields_of(kind) if f.mandatory}
    lengths = {e.column: e.kwargs["max_value"] for e in suite if e.rule == "max_length"}
    # The database column is as wide as the model says: a longer value is quarantined first.
    assert lengths == {
        f.name: f.max_length
        for f in fields_of(kind)
        if f.type in (FieldType.TEXT, FieldType.CODE) and f.max_length
    }


@pytest.mark.parametrize("kind", list(RecordKind))
def test_every_expectation_is_named_described_and_parameterised(kind: RecordKind) -> None:
    suite = expectations(kind)
    assert suite_document(kind)["name"] == kind.value
    assert {e.rule for e in suite} <= set(RULES)
    descriptions = [e.description for e in suite]
    assert all(descriptions) and len(set(descriptions)) == len(descriptions)
    parameters = suite_parameters()
    for e in suite:
        for value in e.kwargs.values():
            if isinstance(value, dict) and "$PARAMETER" in value:
                assert value["$PARAMETER"] in parameters
