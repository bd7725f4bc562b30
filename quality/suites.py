"""The record rules as Great Expectations 1.x suites: ``quality/suites/<kind>.json``.

The suites are the single source of truth for what makes a record acceptable. They are plain
``ExpectationSuite`` JSON, loaded by GE for checkpoints (``quality.gx``) and read here, without GE,
by the vectorised evaluator that runs inside collection (``quality.evaluate``).

Every expectation carries ``meta.rule``, the name a failing record is quarantined under
(``quarantine.rule``): ``mandatory``, ``credit_code_check``, ``id_number_check``, ``code_table``,
``date_order``, ``amount_range`` or ``max_length``. The rule with the expectation's column
(``quarantine.field``) names exactly one expectation of the kind's suite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from hub.core.model import RecordKind

SUITES_DIR = Path(__file__).resolve().parent / "suites"


@dataclass(frozen=True)
class Expectation:
    """One expectation of a suite, as its JSON says.

    Attributes:
        type: the GE expectation type, e.g. ``expect_column_values_to_not_be_null``.
        kwargs: its arguments (``column``, ``row_condition``, ``$PARAMETER`` references...).
        rule: the quarantine rule name (``meta.rule``).
        description: what it expects, in Chinese, for reports and Data Docs.
    """

    type: str
    kwargs: dict[str, Any] = field(hash=False)
    rule: str
    description: str

    @property
    def column(self) -> str:
        """The column a failing record is reported under (``column_A`` for pair rules)."""
        return self.kwargs.get("column") or self.kwargs["column_A"]


def suite_path(kind: RecordKind) -> Path:
    """The suite file of ``kind``."""
    return SUITES_DIR / f"{kind.value}.json"


@cache
def suite_document(kind: RecordKind) -> dict[str, Any]:
    """The suite of ``kind`` as the JSON document GE reads."""
    return json.loads(suite_path(kind).read_text(encoding="utf-8"))


@cache
def expectations(kind: RecordKind) -> tuple[Expectation, ...]:
    """The expectations of ``kind``'s suite, in file order."""
    return tuple(
        Expectation(e["type"], e["kwargs"], e["meta"]["rule"], e.get("description", ""))
        for e in suite_document(kind)["expectations"]
    )
