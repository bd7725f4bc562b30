"""Collection's vectorised suites find exactly the rows Great Expectations itself finds.

The sandbox delivers a day from every agency; each delivery is mapped as collection maps it. Then
one row per expectation is spoiled so that every expectation of every suite has a failure to find
(on top of the sandbox's own defects), and a few rows exercise the conditions that exempt a value.
GE validates the frames with the suites from their files; the vectorised evaluator must fail the
same rows, expectation by expectation.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hub.collect.mapping import map_page
from hub.collect.sources import get_source
from hub.core.model import SUBJECT_LEGAL, SUBJECT_PERSON, RecordKind
from quality.config import suite_parameters
from quality.evaluate import failing_rows, resolve, validation_frame
from quality.suites import Expectation, expectations
from sandbox.agencies import AGENCIES
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox
from tests.sandbox.delivered import delivered_rows

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 3)
PILOT_CODE = "91350211M00013FA1N"


@pytest.fixture(scope="module")
def mapped(tmp_path_factory: pytest.TempPathFactory) -> dict[RecordKind, pd.DataFrame]:
    """Every agency's delivery of ``DAY``, mapped, one frame per record kind."""
    config = SandboxConfig(Path(tmp_path_factory.mktemp("sandbox")), seed=23)
    init_sandbox(config)
    deliver(config, DAY, count=250)
    frames: dict[RecordKind, list[pd.DataFrame]] = {kind: [] for kind in RecordKind}
    for agency in AGENCIES.values():
        rows = pd.DataFrame(delivered_rows(config, agency, DAY), dtype=object)
        spec = get_source(agency.source_id)
        frames[spec.kind].append(map_page(spec, rows).records)
    return {kind: pd.concat(parts, ignore_index=True) for kind, parts in frames.items()}


def _spoil(records: pd.DataFrame, row: int, expectation: Expectation, params: dict) -> None:
    """Make ``row`` fail ``expectation`` (and meet its row condition)."""
    kwargs = resolve(expectation.kwargs, params)
    column = expectation.column
    at = records.index[row]
    kind = expectation.type
    if kind == "expect_column_values_to_not_be_null":
        condition = kwargs.get("row_condition")
        if condition and condition["column"]["name"] == "includes_fine":
            records.loc[at, "penalty_categories"] = "罚款"
        elif condition:
            records.loc[at, condition["column"]["name"]] = condition["parameter"]
        records.loc[at, column] = None
    elif kind == "expect_column_value_lengths_to_be_between":
        records.loc[at, column] = "长" * (kwargs["max_value"] + 1)
    elif kind == "expect_column_values_to_be_between":
        records.loc[at, column] = -0.01 if row % 2 else kwargs["max_value"] * 10
    elif kind in ("expect_column_values_to_be_in_set", "expect_column_values_to_match_regex"):
        records.loc[at, column] = "罚没" if row % 2 else "其他;罚没"
    elif kind == "expect_column_values_to_be_valid_uscc":
        records.loc[at, column] = "91310110666007217X"
    elif kind == "expect_column_values_to_be_valid_resident_id":
        records.loc[at, column] = "110105194902300021"  # no 30 February
        records.loc[at, column.replace("number", "type")] = None
    elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
        other = kwargs["column_B"]
        if pd.isna(records.loc[at, other]) or records.loc[at, other].year > 2090:
            records.loc[at, other] = pd.Timestamp(DAY)
        records.loc[at, column] = records.loc[at, other] - timedelta(days=1)
    else:
        raise AssertionError(f"no way to spoil {kind}")


def _exempt(records: pd.DataFrame, rows: pd.Index) -> None:
    """Give ``rows`` odd values that a row condition or the allow-list exempts."""
    records.loc[rows[0], ["subject_category", "credit_code"]] = [SUBJECT_LEGAL, PILOT_CODE]
    records.loc[rows[1], ["id_type", "id_number"]] = ["护照", "E12345678"]
    records.loc[rows[2], ["subject_category", "id_number"]] = [SUBJECT_PERSON, "11010519491231002x"]
    if "publicity_deadline" in records:
        long_term = pd.Timestamp("2099-12-31")
        records.loc[rows[3], ["valid_until", "publicity_deadline"]] = [long_term, pd.Timestamp(DAY)]


def _key(kind: str, kwargs: dict[str, Any]) -> tuple:
    return (kind, kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"))


@pytest.fixture(scope="module")
def gx():
    from quality import gx

    return gx


@pytest.mark.parametrize("kind", list(RecordKind))
def test_every_expectation_fails_the_same_rows_in_ge_and_in_collection(
    mapped: dict[RecordKind, pd.DataFrame], gx, kind: RecordKind
) -> None:
    params = suite_parameters()
    records = mapped[kind].copy()
    suite = expectations(kind)
    found = failing_rows(kind, validation_frame(kind, records), params)
    defective = {r for _, rows in found for r in rows}
    clean = records.index.difference(sorted(defective))
    assert defective and len(clean) > len(suite) + 4
    # One clean row spoiled per expectation, four given exempt values; the defects stay.
    spoiled, exempted = clean[: len(suite)], clean[len(suite) : len(suite) + 4]
    for row, expectation in zip(spoiled, suite, strict=True):
        _spoil(records, records.index.get_loc(row), expectation, params)
    _exempt(records, exempted)
    frame = validation_frame(kind, records)

    ours = {
        _key(e.type, e.kwargs): sorted(rows.tolist())
        for e, rows in failing_rows(kind, frame, params)
    }
    result = gx.validate_frame(kind, frame, params)
    theirs = {}
    for outcome in result.results:
        config = outcome.expectation_config
        assert not outcome.exception_info.get("raised_exception"), outcome.exception_info
        theirs[_key(config.type, config.kwargs)] = sorted(outcome.result["unexpected_index_list"])

    assert len(theirs) == len(suite) == len(ours)
    assert theirs == ours
    for expectation, row in zip(suite, spoiled, strict=True):
        assert row in ours[_key(expectation.type, expectation.kwargs)], expectation
    failed = {r for rows in ours.values() for r in rows}
    assert defective <= failed
    assert not failed & set(exempted)
