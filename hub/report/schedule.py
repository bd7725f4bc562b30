"""Which periods a run of the ``quality_report`` DAG reports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from quality.periods import Granularity, Period


def periods_for_run(
    asset_triggered: bool, run_after: datetime, conf: Mapping[str, Any] | None, timezone: ZoneInfo
) -> list[Period]:
    """The periods to report for a DAG run.

    - ``{"period": "2026-11"}`` in the run's conf (a manual run, a rerun): that period;
    - a run triggered by collection's Asset: the day the platform received the records, the
      local date of ``run_after``;
    - the monthly schedule (or a manual run without conf): the previous month, and in January
      the previous year too.
    """
    if conf and conf.get("period"):
        return [Period.parse(str(conf["period"]))]
    local = run_after.astimezone(timezone).date()
    if asset_triggered:
        return [Period(Granularity.DAY, local)]
    month = Period(Granularity.MONTH, (local.replace(day=1) - timedelta(days=1)).replace(day=1))
    if local.month == 1:
        return [month, Period(Granularity.YEAR, month.start.replace(month=1))]
    return [month]
