"""Worksheets a person can read on opening them: a bold header that stays, filters, wide columns.

Column widths are measured in display cells: a Chinese character takes two (a department name of
eight characters needs sixteen), so that names are readable without widening columns by hand.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E8EEF4")
WIDEST = 60
"""No column is made wider than this: longer text wraps in its cell."""


def display_width(value: Any) -> int:
    """How many cells ``value``'s text takes on screen (wide and full-width characters take 2)."""
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def write_table(
    sheet: Worksheet,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: Sequence[str | None] | None = None,
) -> None:
    """Append a header row and ``rows`` to ``sheet``: frozen header, filters, readable widths.

    Args:
        sheet: the sheet, written from its next empty row.
        headers: the column titles.
        rows: the values, one sequence per row.
        formats: a number format per column (``None``: the cell's default).
    """
    sheet.append(list(headers))
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    first = sheet.max_row + 1
    for row in rows:
        sheet.append(list(row))
    for index, header in enumerate(headers, start=1):
        letter = get_column_letter(index)
        widest = max([display_width(header)] + [display_width(r[index - 1]) for r in rows[:500]])
        sheet.column_dimensions[letter].width = min(max(widest + 2, 8), WIDEST)
        number_format = formats[index - 1] if formats else None
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=first, min_col=index, max_col=index):
                cell.number_format = number_format
    sheet.freeze_panes = sheet.cell(row=first, column=1)
    sheet.auto_filter.ref = f"A{first - 1}:{get_column_letter(len(headers))}{sheet.max_row}"
