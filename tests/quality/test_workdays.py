"""The working-day calendar around the 2025 National Day and 2026 Spring Festival, and beyond it."""

from __future__ import annotations

import logging
import random
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pandas as pd
import pytest

from hub.core.workdays import CalendarFileError, WorkCalendar, calendar


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load(Path("/nonexistent"))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 26), True),  # Friday
        (date(2025, 9, 27), False),  # Saturday
        (date(2025, 9, 28), True),  # Sunday, make-up day for National Day
        (date(2025, 10, 1), False),
        (date(2025, 10, 8), False),  # Wednesday, last day of the National Day holiday
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Saturday, make-up day
        (date(2025, 10, 12), False),
        (date(2026, 2, 14), True),  # Saturday, make-up day for the Spring Festival
        (date(2026, 2, 16), False),  # Monday, Spring Festival
        (date(2026, 2, 23), False),  # Monday, last day off
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, make-up day
        (date(2026, 3, 1), False),
    ],
)
def test_working_days_follow_the_state_council_schedule(
    cal: WorkCalendar, day: date, working: bool
) -> None:
    assert cal.is_workday(day) is working


def test_counts_across_national_day_2025(cal: WorkCalendar) -> None:
    # (Fri 26 Sep, Fri 10 Oct]: Sun 28 (make-up), Mon 29, Tue 30, Thu 9, Fri 10.
    assert cal.workdays_between(date(2025, 9, 26), date(2025, 10, 10)) == 5
    assert cal.workdays_between(date(2025, 9, 30), date(2025, 10, 8)) == 0
    assert cal.workdays_between(date(2025, 10, 10), date(2025, 9, 26)) == -5
    assert cal.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)
    # Seven working days after 30 Sep: 9, 10, 11 (Saturday, make-up), 13, 14, 15, 16 Oct.
    assert cal.add_workdays(date(2025, 9, 30), 7) == date(2025, 10, 16)
    assert cal.add_workdays(date(2025, 10, 9), -1) == date(2025, 9, 30)
    assert cal.add_workdays(date(2025, 10, 9), -3) == date(2025, 9, 28)


def test_counts_across_spring_festival_2026(cal: WorkCalendar) -> None:
    # (Fri 13 Feb, Fri 27 Feb]: Sat 14 (make-up), then 24, 25, 26, 27.
    assert cal.workdays_between(date(2026, 2, 13), date(2026, 2, 27)) == 5
    # Seven after Thu 12 Feb: 13, 14 (make-up), 24, 25, 26, 27, 28 (Saturday, make-up).
    assert cal.add_workdays(date(2026, 2, 12), 7) == date(2026, 2, 28)
    assert cal.add_workdays(date(2026, 2, 12), 8) == date(2026, 3, 2)
    assert cal.add_workdays(date(2026, 2, 14), 0) == date(2026, 2, 14)


def test_vectorised_counts_equal_a_day_by_day_count_on_the_package(cal: WorkCalendar) -> None:
    rng = random.Random(3)
    starts = [date(2024, 1, 1) + timedelta(days=rng.randrange(1000)) for _ in range(1500)]
    ends = [s + timedelta(days=rng.randrange(-40, 60)) for s in starts]

    def by_day(start: date, end: date) -> int:
        low, high, sign = (start, end, 1) if start <= end else (end, start, -1)
        days = (low + timedelta(days=k) for k in range(1, (high - low).days + 1))
        return sign * sum(chinese_calendar.is_workday(d) for d in days)

    counted = cal.workdays_between_many(pd.Series(starts), pd.Series(ends))
    assert counted.tolist() == [by_day(s, e) for s, e in zip(starts, ends, strict=True)]
    for start, n in zip(starts[:200], range(1, 201), strict=False):
        assert cal.workdays_between(start, cal.add_workdays(start, n % 15 + 1)) == n % 15 + 1


def test_missing_dates_give_missing_counts_and_instants_are_refused(cal: WorkCalendar) -> None:
    starts = pd.Series([pd.Timestamp("2026-02-13"), pd.NaT, pd.Timestamp("2026-02-27")])
    ends = pd.Series(["2026-02-27", "2026-02-27", None])
    assert cal.workdays_between_many(starts, ends).tolist() == [5, pd.NA, pd.NA]
    aware = pd.Series(pd.to_datetime(["2026-02-27 09:00"]).tz_localize("Asia/Shanghai"))
    with pytest.raises(TypeError, match="local dates"):
        cal.workdays_between_many(aware, aware)


def test_a_year_without_a_schedule_counts_monday_to_friday_and_warns(
    cal: WorkCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    assert cal.uncovered_years([2026, 2027, 2027]) == [2027]
    with caplog.at_level(logging.WARNING, logger="hub.core.workdays"):
        # 1 Jan 2027 is a Friday: a holiday in every State Council schedule, a weekday here.
        assert cal.is_workday(date(2027, 1, 1)) is True
        assert cal.workdays_between(date(2026, 12, 31), date(2027, 1, 8)) == 6
    [record] = [r for r in caplog.records if "2027" in r.getMessage()]
    assert "counting Monday to Friday" in record.getMessage()
    assert "2027" in cal.coverage_warning([2026, 2027])
    assert cal.coverage_warning([2025, 2026]) is None


def test_an_override_file_supplies_a_missing_year(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text(
        "year: 2027\nholidays: [2027-01-01]\nworkdays: [2027-01-09]\n", encoding="utf-8"
    )
    with_2027 = WorkCalendar.load(tmp_path)
    assert with_2027.uncovered_years([2027]) == []
    assert with_2027.is_workday(date(2027, 1, 1)) is False
    assert with_2027.is_workday(date(2027, 1, 9)) is True  # a Saturday worked
    assert with_2027.workdays_between(date(2026, 12, 31), date(2027, 1, 9)) == 6
    assert with_2027.schedules[2027].source == str(tmp_path / "2027.yaml")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("2027.yaml", "year: 2028\n", "must be named 2028.yaml"),
        ("2027.yaml", "holidays: []\n", "'year' is missing"),
        ("2027.yaml", "year: 2027\nholidays: [2026-12-31]\n", "not in 2027"),
        ("2027.yaml", "year: 2027\nholidays: [2027-02-30]\n", "not a readable schedule"),
        ("2027.yaml", "year: 2027\nholidays: [1 May]\n", "is not a date"),
        ("2027.yaml", "year: 2027\nholidays: [2027-01-02]\nworkdays: [2027-01-02]\n", "both"),
    ],
)
def test_a_malformed_override_names_the_file(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(CalendarFileError, match=message):
        WorkCalendar.load(tmp_path)


def test_the_default_calendar_reads_the_project_overrides() -> None:
    default = calendar()
    assert default is calendar()
    assert set(range(2004, 2027)) <= set(default.covered_years())
