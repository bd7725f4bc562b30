"""Delays in working days around the 2025 National Day and the 2026 Spring Festival."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from hub.core.workdays import WorkCalendar
from quality.config import QualitySettings, quality_settings
from quality.timeliness import delays, earliest_on_time, local_dates

DAY_ZERO = quality_settings()
DAY_ONE = replace(DAY_ZERO, decision_day_counts=True)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load(Path("/nonexistent"))


def delay(cal: WorkCalendar, decided: str, received: str, settings: QualitySettings) -> int:
    return int(delays(pd.Series([decided]), pd.Series([received]), cal, settings).iloc[0])


@pytest.mark.parametrize(
    ("decided", "received", "day_zero", "day_one"),
    [
        # Tuesday before National Day 2025: 9, 10, 11 (Saturday, make-up), 13, 14, 15, 16 Oct.
        ("2025-09-30", "2025-10-16", 7, 8),
        ("2025-09-30", "2025-10-17", 8, 9),
        # Decided on a holiday: the decision day is no working day, counted or not.
        ("2025-10-03", "2025-10-09", 1, 1),
        # Decided on the make-up Sunday 28 September: a working day.
        ("2025-09-28", "2025-10-09", 3, 4),
        # Thursday before the Spring Festival 2026: 13, 14 (make-up), 24-27, 28 (make-up) Feb.
        ("2026-02-12", "2026-02-28", 7, 8),
        ("2026-02-12", "2026-03-02", 8, 9),
        ("2026-02-14", "2026-02-24", 1, 2),
        # Received before it was decided (an agency's typo): a negative delay, never a crash.
        ("2026-02-24", "2026-02-13", -2, -1),
    ],
)
def test_pinned_delays(
    cal: WorkCalendar, decided: str, received: str, day_zero: int, day_one: int
) -> None:
    assert delay(cal, decided, received, DAY_ZERO) == day_zero
    assert delay(cal, decided, received, DAY_ONE) == day_one


def test_the_earliest_timely_decision_splits_on_time_from_late(cal: WorkCalendar) -> None:
    assert DAY_ZERO.working_days_limit == 7
    assert earliest_on_time(date(2025, 10, 16), cal, DAY_ZERO) == date(2025, 9, 30)
    assert earliest_on_time(date(2026, 2, 28), cal, DAY_ZERO) == date(2026, 2, 12)
    assert earliest_on_time(date(2026, 2, 28), cal, DAY_ONE) == date(2026, 2, 13)
    rng = random.Random(9)
    for settings in (DAY_ZERO, DAY_ONE):
        received = [date(2025, 9, 1) + timedelta(days=rng.randrange(240)) for _ in range(300)]
        decided = [r - timedelta(days=rng.randrange(25)) for r in received]
        late = delays(pd.Series(decided), pd.Series(received), cal, settings) > 7
        cut = [
            d < earliest_on_time(r, cal, settings) for d, r in zip(decided, received, strict=True)
        ]
        assert late.tolist() == cut
        assert 0 < sum(cut) < len(cut)


def test_receipt_days_are_local_days() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    aware = pd.Series(pd.to_datetime(["2026-11-03T16:30:00Z", "2026-11-03T15:59:59Z"], utc=True))
    naive = pd.Series(pd.to_datetime(["2026-11-03 16:30:00"]))  # SQLite hands back naive UTC
    assert local_dates(aware, shanghai).dt.strftime("%F").tolist() == ["2026-11-04", "2026-11-03"]
    assert local_dates(naive, shanghai).dt.strftime("%F").tolist() == ["2026-11-04"]
