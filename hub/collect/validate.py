"""The record rules applied at collection: a record failing any of them is quarantined.

The rules are the expectations of the kind's Great Expectations suite (``quality/suites/``),
evaluated a column at a time by ``quality.evaluate``. A problem carries the expectation's rule
name (``mandatory``, ``credit_code_check``, ``id_number_check``, ``code_table``, ``date_order``,
``amount_range``, ``max_length``) and column; mapping adds ``date_format``, ``amount_format``
and ``code_table`` for values it cannot parse or translate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from hub.collect.mapping import problem_frame
from hub.core.model import Field, RecordKind, fields_of
from hub.core.privacy import mask_id_number
from quality.config import suite_parameters
from quality.evaluate import failing_rows, validation_frame
from quality.suites import Expectation


def _text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d")
    return values.astype("str")


def _messages(
    expectation: Expectation, field: Field, frame: pd.DataFrame, rows: pd.Index
) -> pd.Series | str:
    """What a data engineer reads for each failing row (personal ID numbers masked)."""
    named = f"{field.label} ({field.name})"
    kwargs = expectation.kwargs
    values = _text(frame.loc[rows, field.name])
    rule = expectation.rule
    if rule == "mandatory":
        return f"{named} is mandatory but empty"
    if rule == "max_length":
        return f"{named} is longer than {kwargs['max_value']}"
    if rule == "credit_code_check":
        return f"{field.label} '" + values + "' fails the GB 32100 check character"
    if rule == "id_number_check":
        masked = values.map(mask_id_number)
        return f"{field.label} '" + masked + "' fails the GB 11643 check character or birth date"
    if rule == "code_table":
        return f"{named} '" + values + "' is not a label of its code table"
    if rule == "amount_range":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        return f"{named} " + values + f" is outside [{low}, {high}] 万元"
    if rule == "date_order":
        other = kwargs["column_B"]
        return f"{named} " + values + f" is earlier than {other} " + _text(frame.loc[rows, other])
    return f"{named} fails {expectation.type}"


def validate(
    kind: RecordKind,
    records: pd.DataFrame,
    mapping_problems: pd.DataFrame,
    parameters: Mapping[str, Any] | None = None,
) -> list[pd.DataFrame]:
    """Apply ``kind``'s suite to mapped records; returns the problems found, per expectation.

    A value the mapping could not parse (``mapping_problems``) is missing to the suite; it is not
    reported again as a missing mandatory value.

    Args:
        kind: the record kind, whose suite applies.
        records: mapped canonical records.
        mapping_problems: what the mapping reported (``row``, ``rule``, ``field``, ``message``).
        parameters: the suite parameters (default: ``quality.config.suite_parameters()``).
    """
    parameters = suite_parameters() if parameters is None else parameters
    frame = validation_frame(kind, records)
    fields = {f.name: f for f in fields_of(kind)}
    found = []
    for expectation, rows in failing_rows(kind, frame, parameters):
        if expectation.rule == "mandatory":
            reported = mapping_problems.loc[mapping_problems["field"] == expectation.column, "row"]
            rows = rows[~rows.isin(reported)]
        if len(rows):
            field = fields[expectation.column]
            messages = _messages(expectation, field, frame, rows)
            found.append(problem_frame(rows, expectation.rule, field.name, messages))
    return found
