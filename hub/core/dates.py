"""Parsing the dates agencies really send, a whole column at a time."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

# Tried in order after a source's own formats; ``%m``/``%d`` accept unpadded numbers (2026/11/3).
STANDARD_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")

_TIME_OF_DAY = r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)$"
_EXCEL_SERIAL = r"^\d{5}(?:\.0+)?$"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # Excel's day 0, counting its 1900 leap-year bug


def parse_dates(text: pd.Series, formats: Sequence[str] = ()) -> pd.Series:
    """Parse a column of date text into ``datetime64`` dates (time of day dropped).

    Accepts ``2026-11-03``, ``2026/11/3``, ``20261103``, ``2026年11月3日``, any of these followed
    by a time of day, Excel serial day numbers (``46329``), and ``formats`` given by the source.
    Missing values stay ``NaT``; so do values in no known format (the caller reports those).
    """
    text = text.astype("str").str.replace(_TIME_OF_DAY, "", regex=True).str.strip()
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")

    serial = text.str.fullmatch(_EXCEL_SERIAL).fillna(False).astype(bool)
    if serial.any():
        days = pd.to_numeric(text[serial]).astype("int64")
        parsed[serial] = _EXCEL_EPOCH + pd.to_timedelta(days, unit="D")

    for fmt in (*formats, *STANDARD_FORMATS):
        todo = parsed.isna() & text.notna() & ~serial
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    return parsed.dt.normalize()
