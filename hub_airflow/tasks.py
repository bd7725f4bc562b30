"""What a DAG task needs to run a hub job: the runtime inside Airflow, and how a job's end is told.

A task builds its ``hub.jobs.Runtime`` with ``task_runtime()`` (connections through Airflow's
secrets backends, thresholds from Airflow Variables first) and hands the job's outcome to
``finish``, which returns its figures for XCom or fails the task with the problems found.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from hub.core.logs import masked_logger
from hub.core.settings import local_day, settings
from hub.jobs import Runtime
from hub_airflow.connections import airflow_connection


class Outcome(Protocol):
    """What every job of ``hub.jobs`` returns."""

    @property
    def problems(self) -> list[str]:
        """What a person must act on; empty when all went well."""
        ...

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain values."""
        ...


log = masked_logger(__name__)


class JobProblemsError(RuntimeError):
    """A job did what it could but found problems; the message lists them, one per line."""


def task_runtime() -> Runtime:
    """The runtime of a job run by an Airflow task."""
    from airflow.sdk import Variable

    return Runtime(resolve=airflow_connection, variables=Variable.get)


def interval_day(data_interval_start: datetime | None) -> date:
    """The platform day a run's data interval starts in (the day a daily run covers)."""
    if data_interval_start is None:
        raise ValueError("this task needs a data interval: trigger the DAG for a logical date")
    return local_day(data_interval_start)


def received_at(dag_run: Any) -> datetime | None:
    """The arrival instant a run's conf gives (``{"received_at": "...+08:00"}``), if any."""
    value = (getattr(dag_run, "conf", None) or {}).get("received_at")
    if not value:
        return None
    instant = datetime.fromisoformat(str(value))
    return instant if instant.tzinfo else instant.replace(tzinfo=settings().timezone)


def finish(outcome: Outcome) -> dict[str, Any]:
    """The outcome's figures for XCom; ``JobProblemsError`` when it found problems."""
    for warning in getattr(outcome, "warnings", ()):
        log.warning(warning)
    if outcome.problems:
        raise JobProblemsError("\n".join(outcome.problems))
    return outcome.as_dict()
