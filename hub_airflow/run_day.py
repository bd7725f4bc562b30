"""The platform day a DAG run works on, however the run was started.

- A run with a data interval (a daily scheduled run, or a manual run such as
  ``dag.test(logical_date=D+1 00:00)``, whose interval Airflow infers as ``[D, D+1)``): the day the
  interval starts in.
- A run started by Asset events (Airflow 3 gives it no logical date and no data interval): the
  latest ``day`` the triggering events name in their ``extra`` (the producing DAG writes it).
- Otherwise (events without a day): the day before the one ``run_after`` falls in, the day that
  has just ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from airflow.utils.types import DagRunType

from hub.core.settings import local_day


def event_day(day: date) -> dict[str, str]:
    """The ``extra`` an Asset event carries to name the day it concerns."""
    return {"day": day.isoformat()}


def run_day(
    *,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    run_after: datetime,
    event_extras: Iterable[Mapping[str, Any]] = (),
) -> date:
    """The day a run covers (see the module docstring for the rules, in order)."""
    has_interval = data_interval_start is not None and data_interval_end is not None
    if has_interval and data_interval_end > data_interval_start:
        return local_day(data_interval_start)
    days = [date.fromisoformat(str(extra["day"])) for extra in event_extras if extra.get("day")]
    if days:
        return max(days)
    return local_day(run_after) - timedelta(days=1)


def dag_run_day(dag_run: Any, triggering_events: Iterable[Any] = ()) -> date:
    """The day a task's DAG run covers (``run_day`` of the run and its triggering Asset events)."""
    return run_day(
        data_interval_start=dag_run.data_interval_start,
        data_interval_end=dag_run.data_interval_end,
        run_after=dag_run.run_after,
        event_extras=[event.extra for event in triggering_events],
    )


def triggered_by_asset(dag_run: Any) -> bool:
    """Whether the run was started by Asset events.

    The Task SDK hands the run type as its own ``DagRunType`` enum, whose ``str()`` is
    ``DagRunType.ASSET_TRIGGERED``, never ``asset_triggered``: compare with the enum (a ``str``
    enum, equal to its value whichever class carries it), never with ``str()`` of it.
    """
    return dag_run.run_type == DagRunType.ASSET_TRIGGERED
