"""The working-day calendar of the State Council's holiday schedule, make-up days included.

Years come from the ``chinesecalendar`` package (2004-2026 in 1.11) and from override files under
``mappings/calendar/`` (``<year>.yaml``: the days off and the make-up working days 调休 of one
year, as published each November by the State Council's General Office). An override replaces the
package's data for its year. A year neither knows is counted Monday to Friday, with a warning in
the log the first time it is used; ``uncovered_years`` lets a report say so too. Nothing here
raises for a missing year.

Counting convention: ``workdays_between(start, end)`` is the number of working days *after*
``start`` up to and including ``end``, so ``start`` itself is day 0. Whether a decision day counts
is the caller's setting (see ``quality.timeliness``). Counts are differences of one cumulative
array of working days, so a column of a million date pairs costs two array look-ups.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from hub.core.errors import ConfigurationError
from hub.core.logs import masked_logger
from hub.core.settings import MAPPINGS_DIR

log = masked_logger(__name__)

CALENDAR_DIR = MAPPINGS_DIR / "calendar"
_SPAN = (1990, 2100)
"""Years the cumulative array covers at least; it grows when a date falls outside."""


class CalendarFileError(ConfigurationError, ValueError):
    """An override file under ``mappings/calendar/`` is malformed."""


@dataclass(frozen=True)
class YearSchedule:
    """The State Council's schedule for one year.

    Attributes:
        year: the calendar year.
        holidays: days off (weekdays among them are what changes the count).
        workdays: make-up working days on weekends (调休上班).
        source: where the schedule comes from (``chinesecalendar`` or the override file).
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str


def package_schedules() -> dict[int, YearSchedule]:
    """The years the ``chinesecalendar`` package knows."""
    from chinese_calendar.constants import holidays, workdays

    years = {d.year for d in holidays} | {d.year for d in workdays}
    return {
        year: YearSchedule(
            year,
            frozenset(d for d in holidays if d.year == year),
            frozenset(d for d in workdays if d.year == year),
            "chinesecalendar",
        )
        for year in sorted(years)
    }


def _dates(path: Path, data: dict, key: str, year: int) -> frozenset[date]:
    values = data.get(key) or []
    if not isinstance(values, list):
        raise CalendarFileError(f"{path}: '{key}' must be a list of dates")
    found = set()
    for value in values:
        day = value if isinstance(value, date) else None
        if day is None:
            try:
                day = date.fromisoformat(str(value))
            except ValueError as exc:
                raise CalendarFileError(f"{path}: '{value}' in '{key}' is not a date") from exc
        if day.year != year:
            raise CalendarFileError(f"{path}: {day} in '{key}' is not in {year}")
        found.add(day)
    return frozenset(found)


def read_override(path: Path) -> YearSchedule:
    """Read one override file (``<year>.yaml``).

    Raises:
        CalendarFileError: the file is not a schedule of the year its name gives.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for 2027-02-30
        raise CalendarFileError(f"{path}: not a readable schedule: {exc}") from exc
    try:
        year = int(data["year"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CalendarFileError(f"{path}: 'year' is missing or not a number") from exc
    if path.stem != str(year):
        raise CalendarFileError(f"{path}: the file of year {year} must be named {year}.yaml")
    holidays = _dates(path, data, "holidays", year)
    workdays = _dates(path, data, "workdays", year)
    if both := sorted(holidays & workdays):
        raise CalendarFileError(f"{path}: {both[0]} is both a holiday and a working day")
    return YearSchedule(year, holidays, workdays, str(path))


class WorkCalendar:
    """Working days: the State Council's schedule where known, Monday to Friday elsewhere.

    Args:
        schedules: the known years' schedules.
    """

    def __init__(self, schedules: Mapping[int, YearSchedule]) -> None:
        self.schedules = dict(schedules)
        self._lock = threading.Lock()
        self._warned: set[int] = set()
        self._origin = np.datetime64(f"{_SPAN[0]}-01-01", "D")
        self._flags = np.zeros(0, dtype=bool)
        self._cumulative = np.zeros(0, dtype=np.int64)
        self._build(*_SPAN)

    @classmethod
    def load(cls, overrides_dir: Path = CALENDAR_DIR) -> WorkCalendar:
        """The package's years with the override files of ``overrides_dir`` on top."""
        schedules = package_schedules()
        for path in sorted(overrides_dir.glob("*.yaml")) if overrides_dir.is_dir() else []:
            schedule = read_override(path)
            schedules[schedule.year] = schedule
        return cls(schedules)

    def _build(self, first_year: int, last_year: int) -> None:
        origin = np.datetime64(f"{first_year}-01-01", "D")
        days = np.arange(origin, np.datetime64(f"{last_year + 1}-01-01", "D"))
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
        flags = weekday < 5
        for schedule in self.schedules.values():
            if first_year <= schedule.year <= last_year:
                offs = np.array(sorted(schedule.holidays), dtype="datetime64[D]") - origin
                extra = np.array(sorted(schedule.workdays), dtype="datetime64[D]") - origin
                flags[offs.astype(np.int64)] = False
                flags[extra.astype(np.int64)] = True
        self._origin, self._flags = origin, flags
        # cumulative[i] = working days among the first i days, so (a, b] holds c[b+1] - c[a+1].
        self._cumulative = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))

    def _offsets(self, days: np.ndarray) -> np.ndarray:
        """Day offsets from the array's origin, growing the array to cover ``days``."""
        with self._lock:
            if days.size:
                first, last = days.min(), days.max()
                end = self._origin + len(self._flags)
                if first < self._origin or last >= end:
                    low, high = _year(min(first, self._origin)), _year(max(last, end - 1))
                    self._build(low, high)
            self._warn(days)
            return (days - self._origin).astype(np.int64)

    def _warn(self, days: np.ndarray) -> None:
        if not days.size:
            return
        years = np.unique(days.astype("datetime64[Y]").astype(np.int64) + 1970).tolist()
        for year in self.uncovered_years(years):
            if year not in self._warned:
                self._warned.add(year)
                log.warning(
                    "working-day calendar: no State Council schedule for %d (not in "
                    "chinesecalendar, no mappings/calendar/%d.yaml); counting Monday to Friday",
                    year,
                    year,
                )

    def covered_years(self) -> list[int]:
        """The years with a State Council schedule (package or override)."""
        return sorted(self.schedules)

    def uncovered_years(self, years: Iterable[int]) -> list[int]:
        """Those of ``years`` counted Monday to Friday for want of a schedule."""
        return sorted({int(y) for y in years} - set(self.schedules))

    def coverage_warning(self, years: Iterable[int]) -> str | None:
        """A sentence for a report when any of ``years`` lacks a schedule, else ``None``."""
        missing = self.uncovered_years(years)
        if not missing:
            return None
        listed = "、".join(str(y) for y in missing)
        return (
            f"工作日历缺少 {listed} 年的国务院节假日安排，该年度按周一至周五计算工作日；"
            f"请在 mappings/calendar/ 下补充 {missing[0]}.yaml。"
        )

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day (make-up weekend days are)."""
        offset = self._offsets(np.array([day], dtype="datetime64[D]"))[0]
        return bool(self._flags[offset])

    def workdays_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``.

        Negative when ``end`` is earlier: minus the working days after ``end`` up to ``start``.
        """
        offsets = self._offsets(np.array([start, end], dtype="datetime64[D]"))
        return int(self._cumulative[offsets[1] + 1] - self._cumulative[offsets[0] + 1])

    def workdays_between_many(self, start: pd.Series, end: pd.Series) -> pd.Series:
        """``workdays_between`` of two aligned columns of dates, at once; missing gives <NA>.

        Args:
            start: dates (``datetime64``, ``date`` objects or ISO text), time zone naive.
            end: dates likewise, aligned with ``start``.
        """
        first, last = _as_days(start), _as_days(end)
        missing = np.isnat(first) | np.isnat(last)
        known = ~missing
        result = np.zeros(len(first), dtype=np.int64)
        if known.any():
            offsets = self._offsets(np.concatenate((first[known], last[known])))
            a, b = offsets[: known.sum()], offsets[known.sum() :]
            result[known] = self._cumulative[b + 1] - self._cumulative[a + 1]
        return pd.Series(
            pd.arrays.IntegerArray(result, missing), index=start.index, name="workdays"
        )

    def add_workdays(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (before it for negative ``n``; ``day`` for 0).

        For ``n > 0``, ``workdays_between(day, add_workdays(day, n)) == n``.
        """
        if n == 0:
            return day
        # Enough room for n working days even across the longest holiday runs.
        reach = timedelta(days=abs(n) * 2 + 30)
        span = np.array([day - reach, day, day + reach], dtype="datetime64[D]")
        offset = int(self._offsets(span)[1])
        if n > 0:
            target = self._cumulative[offset + 1] + n
            index = int(np.searchsorted(self._cumulative, target, side="left")) - 1
        else:
            target = self._cumulative[offset] + n + 1
            index = int(np.searchsorted(self._cumulative, target, side="left")) - 1
        return (self._origin + np.timedelta64(index, "D")).astype(date)


def _year(day: np.datetime64) -> int:
    return int(day.astype("datetime64[Y]").astype(np.int64)) + 1970


def _as_days(values: pd.Series) -> np.ndarray:
    converted = pd.to_datetime(values, errors="raise")
    if getattr(converted.dt, "tz", None) is not None:
        raise TypeError("working days count local dates: convert time-zone-aware instants first")
    return converted.to_numpy(dtype="datetime64[D]")


@cache
def calendar() -> WorkCalendar:
    """The default calendar: ``chinesecalendar`` with ``mappings/calendar/`` on top (cached)."""
    return WorkCalendar.load()
