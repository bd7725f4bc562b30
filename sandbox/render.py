"""Canonical records → the rows an agency actually sends: its column names and its quirks.

Renderers transform only well-formed canonical values (dates, ``Decimal`` amounts, tuples of
penalty categories, known code labels); an injected defect is a plain string or ``None`` and
passes through unchanged, so the pipeline sees exactly the spoiled value the truth records.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sandbox import vocab
from sandbox.agencies import Agency

EXCEL_EPOCH = date(1899, 12, 30)
_FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
_CATEGORY_SEPARATORS = {"law2021": "；", "legacy_codes": ",", "legacy_names": ","}
_PENALTY_KINDS = [v for v in vars(vocab).values() if isinstance(v, vocab.PenaltyKind)]


def excel_serial(day: date) -> int:
    """The Excel serial number of ``day`` (1900 date system)."""
    return (day - EXCEL_EPOCH).days


def render_date(value: date, style: str) -> str | int:
    """``value`` written in one of the agencies' date styles."""
    if style == "excel":
        return excel_serial(value)
    return {
        "iso": value.isoformat(),
        "slash": f"{value.year}/{value.month}/{value.day}",
        "compact": f"{value:%Y%m%d}",
        "chinese": f"{value.year}年{value.month}月{value.day}日",
        "datetime": f"{value:%Y-%m-%d} 00:00:00",
    }[style]


def render_categories(labels: tuple[str, ...], vocabulary: str) -> str:
    """Canonical penalty-category labels written in an agency's vocabulary."""
    kind = next(k for k in _PENALTY_KINDS if k.labels == labels)
    if vocabulary == "law2021":
        return kind.law2021
    if kind.legacy is None:
        raise ValueError(f"{'、'.join(labels)} has no legacy code")
    parts = (
        kind.legacy
        if vocabulary == "legacy_codes"
        else [vocab.LEGACY_NAMES[c] for c in kind.legacy]
    )
    return _CATEGORY_SEPARATORS[vocabulary].join(parts)


class Renderer:
    """Renders canonical records as ``agency``'s rows (column → value, in its column order).

    Amounts come out as ``Decimal`` in the agency's unit; the channel writer decides how to
    store them (JSON number, DECIMAL column, text cell).
    """

    def __init__(self, agency: Agency) -> None:
        self.agency = agency
        self._columns = list(agency.columns.items())

    def row(self, record: dict[str, Any]) -> dict[str, Any]:
        """The agency's row for one canonical record."""
        return {column: self._value(name, record.get(name)) for name, column in self._columns}

    def _value(self, name: str, value: Any) -> Any:
        agency = self.agency
        if isinstance(value, date):
            return render_date(value, agency.date_style)
        if isinstance(value, Decimal):
            return value * 10000 if agency.amount_unit == "yuan" else value
        if isinstance(value, tuple):
            return render_categories(value, agency.vocabulary)
        if name == "subject_category":
            return agency.subject_labels.get(value, value)
        if name == "list_type" and value in vocab.LIST_TYPES.values():
            return agency.list_type_text or value
        if name == "document_no" and agency.fullwidth_digits and value:
            return value.translate(_FULLWIDTH_DIGITS)
        return value
