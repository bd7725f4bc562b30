"""The record rules applied at collection: a record failing any of them is quarantined.

Each rule has a stable name (``mandatory``, ``credit_code_check``, ``id_number_check``,
``max_length``, ``amount_range``) stored with the quarantined record; mapping adds
``date_format``, ``amount_format`` and ``code_table``. Rules run on whole columns.
"""

from __future__ import annotations

import pandas as pd

from hub.checks import ric_valid, uscc_valid
from hub.mapping import problem_frame
from hub.model import (
    SUBJECT_LEGAL,
    SUBJECT_PERSON,
    Field,
    FieldType,
    RecordKind,
    fields_of,
)

FINE_CATEGORY = "罚款"


def mask_id_number(number: str) -> str:
    """Mask a personal ID number for anything that leaves the platform: ``110105********002X``."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def _mandatory_mask(kind: RecordKind, records: pd.DataFrame, target: Field) -> pd.Series:
    """Where ``target`` is required: always for mandatory fields, else by the conditional rules."""
    category = records["subject_category"]
    if target.mandatory:
        return pd.Series(True, index=records.index)
    if target.name == "credit_code":
        return category == SUBJECT_LEGAL
    if target.name == "id_number":
        return category == SUBJECT_PERSON
    if target.name == "fine_amount" and kind is RecordKind.PENALTY:
        return records["penalty_categories"].str.contains(FINE_CATEGORY, regex=False).fillna(False)
    return pd.Series(False, index=records.index)


def _mandatory(
    kind: RecordKind, records: pd.DataFrame, unparsed: pd.DataFrame
) -> list[pd.DataFrame]:
    found = []
    for target in fields_of(kind):
        required = _mandatory_mask(kind, records, target).astype(bool)
        already_reported = records.index.isin(unparsed.loc[unparsed["field"] == target.name, "row"])
        missing = required & records[target.name].isna() & ~already_reported
        if missing.any():
            message = f"{target.label} ({target.name}) is mandatory but empty"
            found.append(problem_frame(records.index[missing], "mandatory", target.name, message))
    return found


def _identifiers(records: pd.DataFrame) -> list[pd.DataFrame]:
    found = []
    codes = records["credit_code"]
    bad_codes = ~uscc_valid(codes)
    if bad_codes.any():
        messages = "统一社会信用代码 '" + codes[bad_codes] + "' fails the GB 32100 check character"
        found.append(
            problem_frame(records.index[bad_codes], "credit_code_check", "credit_code", messages)
        )
    id_type = records["id_type"].astype("str")
    resident_id = id_type.isna() | id_type.str.contains("身份证", regex=False)
    numbers = records["id_number"].where(resident_id.astype(bool))
    bad_numbers = ~ric_valid(numbers)
    if bad_numbers.any():
        masked = numbers[bad_numbers].map(mask_id_number)
        messages = "身份证号码 '" + masked + "' fails the GB 11643 check character or birth date"
        found.append(
            problem_frame(records.index[bad_numbers], "id_number_check", "id_number", messages)
        )
    return found


def _lengths_and_ranges(kind: RecordKind, records: pd.DataFrame) -> list[pd.DataFrame]:
    found = []
    for target in fields_of(kind):
        column = records[target.name]
        if target.type in (FieldType.TEXT, FieldType.CODE) and target.max_length:
            too_long = (column.astype("str").str.len() > target.max_length).fillna(False)
            if too_long.any():
                message = f"{target.label} ({target.name}) is longer than {target.max_length}"
                found.append(
                    problem_frame(records.index[too_long], "max_length", target.name, message)
                )
        elif target.type is FieldType.AMOUNT:
            negative = (column < 0).fillna(False).astype(bool)
            if negative.any():
                message = f"{target.label} ({target.name}) is negative"
                found.append(
                    problem_frame(records.index[negative], "amount_range", target.name, message)
                )
    return found


def validate(
    kind: RecordKind, records: pd.DataFrame, mapping_problems: pd.DataFrame
) -> list[pd.DataFrame]:
    """Apply the collection rules to mapped records; returns the problems found, per rule.

    A value the mapping could not parse (``mapping_problems``) is not reported again as missing.
    """
    return [
        *_mandatory(kind, records, mapping_problems),
        *_identifiers(records),
        *_lengths_and_ranges(kind, records),
    ]
