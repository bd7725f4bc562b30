"""Report periods: parsing, bounds in Shanghai time, the period before."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from quality.periods import Granularity, Period

SHANGHAI = ZoneInfo("Asia/Shanghai")
D, G = date, Granularity


@pytest.mark.parametrize(
    ("text", "granularity", "start", "end", "previous", "chinese"),
    [
        ("2026-11-03", G.DAY, D(2026, 11, 3), D(2026, 11, 4), "2026-11-02", "2026年11月3日"),
        ("2026-03-01", G.DAY, D(2026, 3, 1), D(2026, 3, 2), "2026-02-28", "2026年3月1日"),
        ("2026-12", Granularity.MONTH, D(2026, 12, 1), D(2027, 1, 1), "2026-11", "2026年12月"),
        ("2026-01", Granularity.MONTH, D(2026, 1, 1), D(2026, 2, 1), "2025-12", "2026年1月"),
        ("2026", Granularity.YEAR, D(2026, 1, 1), D(2027, 1, 1), "2025", "2026年"),
    ],
)  # fmt: skip
def test_a_period_knows_its_days_and_the_one_before(
    text: str, granularity: Granularity, start: date, end: date, previous: str, chinese: str
) -> None:
    period = Period.parse(text)
    assert (period.granularity, period.start, period.end) == (granularity, start, end)
    assert (period.label, period.previous().label, period.chinese) == (text, previous, chinese)


def test_bounds_are_shanghai_midnights_in_utc() -> None:
    assert Period.parse("2026-11").instants(SHANGHAI) == (
        datetime(2026, 10, 31, 16, tzinfo=UTC),
        datetime(2026, 11, 30, 16, tzinfo=UTC),
    )
    assert Period.parse("2026-12-31").years() == [2026]


@pytest.mark.parametrize("text", ["2026-11-3", "Nov 2026", "2026-13", "2026-02-30", "26"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a period like 2026-11-03"):
        Period.parse(text)
