"""When, on its delivery day, each delivered row was written (local time, Asia/Shanghai)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

DAY_START = time(8, 0)
DAY_SECONDS = 10 * 3600  # rows are written between 08:00 and 18:00
UTC_OFFSET = "+08:00"


def row_time(day: date, index: int, total: int) -> datetime:
    """The naive local time the ``index``-th of ``total`` rows of ``day`` was written."""
    return datetime.combine(day, DAY_START) + timedelta(seconds=index * DAY_SECONDS // total)


def iso_local(moment: datetime) -> str:
    """``moment`` (naive local time) as an ISO timestamp with the +08:00 offset."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}{UTC_OFFSET}"


def row_key(day: date, index: int) -> str:
    """The stable key of a delivered row: ``<yyyymmdd>-<index>``."""
    return f"{day:%Y%m%d}-{index:06d}"
