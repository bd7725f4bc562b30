"""What every DAG of the hub shares: its time zone, start, default arguments and the Assets.

The time zone is the platform's (``HUB_TIMEZONE``, Asia/Shanghai by default): a DAG's day is the
platform's day, from 00:00 to 00:00 there. The Assets chain the DAGs where the data flows:
collection updates ``platform_credit_records`` (quality report and reconciliation listen), the
reconciliation ``platform_status_changes`` (fan-out listens), publishing ``platform_delta_files``.
An event names the day it concerns in its ``extra`` (``hub_airflow.run_day.event_day``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable

from hub.core.settings import settings

TIMEZONE = pendulum.timezone(settings().timezone.key)
START_DATE = pendulum.datetime(2026, 1, 1, tz=TIMEZONE)
OWNER = "data-engineering"

PLATFORM_RECORDS = Asset(name="platform_credit_records", uri="hub://platform/credit_records")
STATUS_CHANGES = Asset(name="platform_status_changes", uri="hub://platform/status_changes")
DELTA_FILES = Asset(name="platform_delta_files", uri="hub://platform/delta_files")


def default_args(
    *, retries: int = 2, retry_delay: timedelta = timedelta(minutes=5), backoff: bool = True
) -> dict[str, Any]:
    """The default task arguments: the owner operators page, and how a task retries."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": backoff,
    }


def daily() -> CronDataIntervalTimetable:
    """At 00:00 platform time, for the day just ended: the data interval ``[D, D+1)``."""
    return CronDataIntervalTimetable("0 0 * * *", timezone=TIMEZONE)
