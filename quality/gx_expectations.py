"""The two expectations GE lacks: GB 32100 credit codes and GB 11643 resident ID numbers.

Each value is checked on its own with ``python-stdnum``'s check-character arithmetic, so GE's
verdict is an implementation independent of the vectorised ``hub.core.checks`` that collection uses
(``tests/quality/test_ge_equivalence.py`` compares the two row by row). The format rules are the
standards' own: a credit code is exactly 18 characters of the GB 32100 alphabet (python-stdnum
also insists on digits in positions 1-8, which GB 32100 does not: registration authorities such as
``N`` and ``Y`` are letters); an ID number is 17 ASCII digits and a check character with a real
date of birth. Region codes are not checked (see ``hub.core.checks``).

Importing this module imports Great Expectations and registers both expectation types.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
from great_expectations.compatibility.pydantic import Field
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from hub.core.checks import USCC_ALPHABET


def credit_code_is_valid(code: str) -> bool:
    """One credit code: 18 characters of the GB 32100 alphabet with the right check character."""
    return (
        len(code) == 18
        and all(c in USCC_ALPHABET for c in code)
        and uscc.calc_check_digit(code[:17]) == code[17]
    )


def resident_id_is_valid(number: str) -> bool:
    """One resident ID number: 17 ASCII digits, a real birth date and the right check character."""
    upper = number.upper()
    if len(upper) != 18 or not (upper[:17].isascii() and upper[:17].isdigit()):
        return False
    try:
        ric.get_birth_date(upper)
    except ValidationError:
        return False
    return ric.calc_check_digit(upper) == upper[17]


class ColumnValuesValidUscc(ColumnMapMetricProvider):
    """Whether each value is a valid credit code or one of the ``allowed`` exceptions."""

    condition_metric_name = "column_values.valid_uscc"
    condition_value_keys = ("allowed",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(
        cls,  # noqa: N805 (the decorator makes it a class method)
        column: pd.Series,
        allowed: list[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        exceptions = set(allowed or ())
        return column.map(lambda v: v in exceptions or credit_code_is_valid(str(v)))


class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
    """Expect unified social credit codes to pass the GB 32100 check (or be allow-listed).

    Args:
        column: the column of credit codes.
        allowed: codes accepted although they fail the check (pilot-era codes).
    """

    map_metric = "column_values.valid_uscc"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "allowed")
    allowed: list[str] | dict = Field(default_factory=list)


class ColumnValuesValidResidentId(ColumnMapMetricProvider):
    """Whether each value is a resident ID number with a real birth date and check character."""

    condition_metric_name = "column_values.valid_resident_id"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> Any:  # noqa: N805
        return column.map(lambda v: resident_id_is_valid(str(v)))


class ExpectColumnValuesToBeValidResidentId(ColumnMapExpectation):
    """Expect resident ID numbers to pass the GB 11643 check character and birth date.

    Args:
        column: the column of ID numbers.
    """

    map_metric = "column_values.valid_resident_id"
