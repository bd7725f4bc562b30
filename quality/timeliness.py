"""Timeliness: working days from a record's decision to its receipt by the platform.

A record's delay is the number of working days (State Council schedule, ``hub.core.workdays``) after
its decision date up to and including the local date (Asia/Shanghai) of ``received_at``: the
decision day is day 0. With ``decision_day_counts`` a decision taken on a working day is day 1.
A record is on time when its delay is at most ``working_days_limit`` (7 by default).
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from hub.core.workdays import WorkCalendar
from quality.config import QualitySettings


def local_dates(instants: pd.Series, timezone: ZoneInfo) -> pd.Series:
    """The local calendar date of each instant (naive values are UTC, as SQLite returns them)."""
    moments = pd.to_datetime(instants, utc=True).dt.tz_convert(timezone)
    return moments.dt.tz_localize(None).dt.normalize()


def delays(
    decided: pd.Series, received: pd.Series, calendar: WorkCalendar, settings: QualitySettings
) -> pd.Series:
    """Working days from each decision date to each local receipt date (<NA> if one is missing)."""
    start = pd.to_datetime(decided)
    if settings.decision_day_counts:
        start = start - pd.Timedelta(days=1)  # (d - 1, r] holds d itself
    return calendar.workdays_between_many(start, received)


def earliest_on_time(received: date, calendar: WorkCalendar, settings: QualitySettings) -> date:
    """The earliest decision date still on time for a record received on ``received``.

    It is the ``limit + 1``-th working day on or before ``received`` when the decision day is
    day 0 (the days after it up to ``received`` hold ``limit`` working days); when a decision day
    counts as day 1, it is the day after that one.
    """
    boundary = calendar.add_workdays(
        received + timedelta(days=1), -(settings.working_days_limit + 1)
    )
    return boundary + timedelta(days=1) if settings.decision_day_counts else boundary
