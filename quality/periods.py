"""Report periods: a day, a month or a year of platform receipt time (Asia/Shanghai)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Granularity(StrEnum):
    """How long a period is."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


_FORMS = (
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), Granularity.DAY),
    (re.compile(r"^\d{4}-\d{2}$"), Granularity.MONTH),
    (re.compile(r"^\d{4}$"), Granularity.YEAR),
)


@dataclass(frozen=True, order=True)
class Period:
    """A calendar day, month or year.

    Attributes:
        granularity: day, month or year.
        start: its first day.
    """

    granularity: Granularity
    start: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026-11-03`` (a day), ``2026-11`` (a month) or ``2026`` (a year).

        Raises:
            ValueError: ``text`` is none of these.
        """
        for pattern, granularity in _FORMS:
            if pattern.match(text):
                parts = [int(p) for p in text.split("-")] + [1, 1]
                try:
                    return cls(granularity, date(parts[0], parts[1], parts[2]))
                except ValueError:
                    break
        raise ValueError(f"{text!r} is not a period like 2026-11-03, 2026-11 or 2026")

    @property
    def label(self) -> str:
        """How the period is written: ``2026-11-03``, ``2026-11`` or ``2026``."""
        return {
            Granularity.DAY: self.start.isoformat(),
            Granularity.MONTH: f"{self.start:%Y-%m}",
            Granularity.YEAR: f"{self.start:%Y}",
        }[self.granularity]

    @property
    def chinese(self) -> str:
        """The period in Chinese: ``2026年11月3日``, ``2026年11月``, ``2026年``."""
        s = self.start
        return {
            Granularity.DAY: f"{s.year}年{s.month}月{s.day}日",
            Granularity.MONTH: f"{s.year}年{s.month}月",
            Granularity.YEAR: f"{s.year}年",
        }[self.granularity]

    @property
    def end(self) -> date:
        """The first day after the period."""
        s = self.start
        if self.granularity is Granularity.DAY:
            return s + timedelta(days=1)
        if self.granularity is Granularity.MONTH:
            return date(s.year + s.month // 12, s.month % 12 + 1, 1)
        return date(s.year + 1, 1, 1)

    def previous(self) -> Period:
        """The period of the same length just before."""
        s = self.start
        if self.granularity is Granularity.DAY:
            return Period(self.granularity, s - timedelta(days=1))
        if self.granularity is Granularity.MONTH:
            return Period(self.granularity, (s - timedelta(days=1)).replace(day=1))
        return Period(self.granularity, date(s.year - 1, 1, 1))

    def instants(self, timezone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period's bounds ``[start, end)`` as UTC instants, days taken in ``timezone``."""
        return tuple(  # type: ignore[return-value]
            datetime.combine(d, time.min, tzinfo=timezone).astimezone(UTC)
            for d in (self.start, self.end)
        )

    def years(self) -> list[int]:
        """The calendar years the period touches."""
        return list(range(self.start.year, (self.end - timedelta(days=1)).year + 1))
