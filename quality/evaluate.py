"""The suites evaluated a whole column at a time, as collection runs them (no GE import).

Each expectation type the suites use is interpreted here with the semantics GE gives it: map
expectations ignore missing values, pair expectations skip rows where either value is missing,
``row_condition`` selects the rows an expectation applies to, and ``$PARAMETER`` references take
their values from ``quality.config.suite_parameters``. ``tests/quality/test_ge_equivalence.py``
runs GE itself on the sandbox's deliveries and finds the same failing rows, expectation by
expectation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from hub.core.checks import ric_valid, uscc_valid
from hub.core.model import RecordKind
from quality.suites import Expectation, expectations

FINE_CATEGORY = "罚款"
LONG_TERM = pd.Timestamp("2099-12-31")
"""处罚有效期 of a penalty in force indefinitely (长期)."""


class UnknownExpectationError(ValueError):
    """A suite uses an expectation type this evaluator does not interpret."""


def validation_frame(kind: RecordKind, records: pd.DataFrame) -> pd.DataFrame:
    """The records as the suites see them: the canonical fields and the derived columns.

    Penalties get ``includes_fine`` (the decision's 处罚类别 include 罚款, which makes 罚款金额
    mandatory) and ``valid_until_long_term`` (处罚有效期 is 2099-12-31, which exempts it from
    preceding 公示截止期). GE's row conditions compare a column with a plain value: they cannot
    look inside a list, and pandas' ``query`` compares a date column with text as text.
    """
    if kind is not RecordKind.PENALTY:
        return records
    categories = records["penalty_categories"].astype("str")
    fines = categories.str.contains(FINE_CATEGORY, regex=False).fillna(False).astype(bool)
    long_term = (records["valid_until"] == LONG_TERM).fillna(False).astype(bool)
    return records.assign(includes_fine=fines, valid_until_long_term=long_term)


def resolve(kwargs: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` with every ``{"$PARAMETER": name}`` replaced by ``parameters[name]``."""
    resolved = {}
    for key, value in kwargs.items():
        if isinstance(value, dict) and "$PARAMETER" in value:
            name = value["$PARAMETER"]
            if name not in parameters:
                raise KeyError(f"suite parameter {name!r} has no value")
            value = parameters[name]
        resolved[key] = value
    return resolved


def condition_mask(frame: pd.DataFrame, condition: Mapping[str, Any]) -> pd.Series:
    """Rows a GE ``row_condition`` (its JSON form) selects, as pandas' ``query`` selects them."""
    kind = condition["type"]
    if kind in ("and", "or"):
        masks = [condition_mask(frame, c) for c in condition["conditions"]]
        combine = np.logical_and if kind == "and" else np.logical_or
        return pd.Series(combine.reduce(masks), index=frame.index)
    column = frame[condition["column"]["name"]]
    if kind == "nullity":
        return column.isna() if condition["is_null"] else column.notna()
    operator, parameter = condition["operator"], condition["parameter"]
    if operator in ("IN", "NOT_IN"):
        inside = column.isin(parameter)
        return ~inside if operator == "NOT_IN" else inside
    compare = {
        "==": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }[operator]
    # A missing value is unequal to everything and neither smaller nor larger: only != keeps it.
    return compare(parameter).fillna(operator == "!=").astype(bool)


def _per_distinct(test: Callable[[pd.Series], pd.Series], values: pd.Series) -> pd.Series:
    distinct = pd.Series(values.unique())
    passing = set(distinct[test(distinct).to_numpy(dtype=bool)].tolist())
    return values.isin(passing)


def _between(values: pd.Series, kwargs: Mapping[str, Any]) -> pd.Series:
    inside = pd.Series(True, index=values.index)
    if kwargs.get("min_value") is not None:
        inside &= values >= kwargs["min_value"]
    if kwargs.get("max_value") is not None:
        inside &= values <= kwargs["max_value"]
    return inside


def _value_check(expectation: str, kwargs: dict[str, Any]) -> Callable[[pd.Series], pd.Series]:
    """Whether each present value meets a column map expectation."""
    if expectation == "expect_column_value_lengths_to_be_between":
        return lambda v: _between(v.str.len(), kwargs)
    if expectation == "expect_column_values_to_be_between":
        return lambda v: _between(v, kwargs)
    if expectation == "expect_column_values_to_be_in_set":
        return lambda v: v.isin(kwargs["value_set"])
    if expectation == "expect_column_values_to_match_regex":
        return lambda v: _per_distinct(
            lambda d: d.astype("str").str.contains(kwargs["regex"], regex=True), v
        )
    if expectation == "expect_column_values_to_be_valid_uscc":
        allowed = set(kwargs.get("allowed") or ())
        return lambda v: uscc_valid(v) | v.isin(allowed)
    if expectation == "expect_column_values_to_be_valid_resident_id":
        return ric_valid
    raise UnknownExpectationError(f"no vectorised form of {expectation}")


def failing(
    expectation: Expectation, frame: pd.DataFrame, parameters: Mapping[str, Any]
) -> pd.Index:
    """The index labels of the rows of ``frame`` that fail ``expectation``."""
    kwargs = resolve(expectation.kwargs, parameters)
    applies = pd.Series(True, index=frame.index)
    if kwargs.get("row_condition"):
        applies = condition_mask(frame, kwargs["row_condition"])
    if expectation.type == "expect_column_values_to_not_be_null":
        return frame.index[applies & frame[kwargs["column"]].isna()]
    if expectation.type == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = frame[kwargs["column_A"]], frame[kwargs["column_B"]]
        present = applies & a.notna() & b.notna()
        ahead = a[present] >= b[present] if kwargs.get("or_equal") else a[present] > b[present]
        return ahead.index[~ahead.to_numpy(dtype=bool)]
    column = frame[kwargs["column"]]
    values = column[applies & column.notna()]
    passing = _value_check(expectation.type, kwargs)(values)
    return values.index[~passing.to_numpy(dtype=bool)]


def failing_rows(
    kind: RecordKind, frame: pd.DataFrame, parameters: Mapping[str, Any]
) -> list[tuple[Expectation, pd.Index]]:
    """Every expectation of ``kind``'s suite with the rows of ``frame`` failing it."""
    return [(e, failing(e, frame, parameters)) for e in expectations(kind)]
