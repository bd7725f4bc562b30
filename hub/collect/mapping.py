"""Mapping a page of source records onto the canonical model, a column at a time.

What a source sends is renamed, normalised (NFKC: full-width characters become half-width;
trimmed; empty becomes missing), parsed (dates, amounts) and translated (code tables) by the
declarations of its YAML file. A value that cannot be parsed or translated becomes a *problem*
for that record, never an exception; only a missing mandatory column fails the whole delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from hub.collect.sources import FieldMap, SourceSpec
from hub.core.codes import code_table, translate
from hub.core.dates import parse_dates
from hub.core.departments import departments
from hub.core.model import IDENTIFIER_FIELDS, Field, FieldType, fields_of
from hub.core.text import identifiers, normalise

YUAN_PER_WAN = 10_000
PROBLEM_COLUMNS = ["row", "rule", "field", "message"]


class MissingColumnError(ValueError):
    """A delivery lacks a column that a mandatory field is mapped from."""


@dataclass
class MappedPage:
    """A page in canonical form.

    Attributes:
        records: one column per canonical field of the source's kind, indexed like the page.
        problems: one row per value that could not be mapped (``row``, ``rule``, ``field``,
            ``message``); ``row`` is the page index of the record.
        drift: what differs from the declared mapping (unknown or missing optional columns).
    """

    records: pd.DataFrame
    problems: pd.DataFrame
    drift: list[str] = field(default_factory=list)


def problem_frame(
    rows: pd.Index, rule: str, field_name: str | None, messages: pd.Series | str
) -> pd.DataFrame:
    """Problems of one rule for ``rows``, in the shape ``MappedPage.problems`` has."""
    # Plain Python strings: Arrow-backed columns broadcast from one scalar were seen to come out
    # of pd.concat pointing at reused memory (pandas 3.1 / pyarrow 26), corrupting COPY input.
    return pd.DataFrame(
        {
            "row": rows,
            "rule": pd.Series(rule, index=range(len(rows)), dtype=object),
            "field": pd.Series(field_name, index=range(len(rows)), dtype=object),
            "message": pd.Series(
                messages if isinstance(messages, str) else messages.tolist(),
                index=range(len(rows)),
                dtype=object,
            ),
        },
        columns=PROBLEM_COLUMNS,
    )


def missing_mandatory(spec: SourceSpec, columns: pd.Index) -> str | None:
    """Why a delivery with ``columns`` cannot be loaded: a mandatory field's column is absent."""
    mandatory = {f.name for f in fields_of(spec.kind) if f.mandatory}
    for name, origin in spec.mapping.fields.items():
        if origin.column and name in mandatory and origin.column not in columns:
            return f"column {origin.column!r} (mapped to mandatory field {name}) is missing"
    return None


def _check_columns(spec: SourceSpec, columns: pd.Index) -> list[str]:
    missing = missing_mandatory(spec, columns)
    if missing is not None:
        raise MissingColumnError(f"source {spec.id}: {missing} from the delivery")
    mapped = {m.column: name for name, m in spec.mapping.fields.items() if m.column}
    drift = [
        f"missing column {column!r} (mapped to {name})"
        for column, name in mapped.items()
        if column not in columns
    ]
    known = set(mapped) | set(spec.mapping.ignore)
    drift += [f"unknown column {c!r}" for c in columns if c not in known]
    return drift


def _map_field(
    spec: SourceSpec, target: Field, origin: FieldMap, raw: pd.Series
) -> tuple[pd.Series, pd.DataFrame | None]:
    text = identifiers(raw) if target.name in IDENTIFIER_FIELDS else normalise(raw)
    failed: pd.Series | None = None
    if target.type is FieldType.DATE:
        value = parse_dates(text, origin.formats)
        failed, rule, what = text.notna() & value.isna(), "date_format", "is not a date"
    elif target.type is FieldType.AMOUNT:
        value = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
        failed, rule, what = text.notna() & value.isna(), "amount_format", "is not a number"
        if origin.unit == "yuan":
            value = value / YUAN_PER_WAN
        value = value.round(6)
    elif target.type is FieldType.CODE and target.code_table:
        extra = spec.mapping.codes.get(target.name, {})
        multi = target.name == "penalty_categories"
        value, failed = translate(text, code_table(target.code_table), extra, multi)
        rule, what = "code_table", f"is not in code table {target.code_table}"
    else:
        value = text
    if failed is None or not failed.any():
        return value, None
    messages = f"{target.label} ({target.name}) '" + text[failed] + f"' {what}"
    return value, problem_frame(text.index[failed], rule, target.name, messages)


def map_page(spec: SourceSpec, frame: pd.DataFrame) -> MappedPage:
    """Map one page of ``spec``'s raw records onto the canonical fields of its kind.

    Raises:
        MissingColumnError: a mandatory field's column is absent (the delivery is unusable).
    """
    drift = _check_columns(spec, frame.columns) if len(frame.columns) else []
    records = pd.DataFrame(index=frame.index)
    problems = []
    for target in fields_of(spec.kind):
        origin = spec.mapping.fields.get(target.name)
        if origin is None:
            records[target.name] = None
            continue
        if origin.value is not None:
            raw = pd.Series(origin.value, index=frame.index, dtype="str")
        elif origin.column in frame.columns:
            raw = frame[origin.column]
        else:
            records[target.name] = None
            continue
        records[target.name], found = _map_field(spec, target, origin, raw)
        if found is not None:
            problems.append(found)
    # One name per department whatever the record calls it (浙江省交通运输厅 is 省交通运输厅).
    records["source_department"] = departments().canonical_names(records["source_department"])
    problem_rows = (
        pd.concat(problems, ignore_index=True)
        if problems
        else problem_frame(pd.Index([]), "", None, pd.Series([], dtype="str"))
    )
    return MappedPage(records=records, problems=problem_rows, drift=drift)
