"""The operational thresholds, each an Airflow Variable with a default: one list, one place.

A DAG task reads a threshold with ``THRESHOLD.value_from(Variable.get)`` and hands the number to
the ``hub`` function that needs it, so the hub itself never imports Airflow. Where a threshold
also has an environment variable (read by the ``hub`` command line), the Airflow Variable wins,
then the environment variable, then the default; both paths therefore agree until an operator sets
the Variable. ``hub airflow variables`` prints the defaults in the form ``airflow variables
import`` takes; docs/airflow.md has the table.

Policies that are the province's rules rather than operating knobs (the timeliness limit, the
ranking weights) stay in ``mappings/quality/settings.yaml``; per-target batch sizes, concurrency
and attempts stay with each target in ``mappings/targets/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta

from hub.core.errors import ConfigurationError

VariableGetter = Callable[..., str | None]
"""``airflow.sdk.Variable.get``, or anything called as ``get(key, default=None)``."""


class ThresholdError(ConfigurationError, ValueError):
    """A threshold's value is unusable; the message names the Variable and the rule."""


@dataclass(frozen=True)
class Threshold:
    """One operational threshold.

    Attributes:
        name: the Airflow Variable holding it.
        default: the value when neither the Variable nor ``env`` is set.
        unit: what the number counts (``days``, ``seconds``).
        meaning: what it decides, for the docs and ``hub airflow variables``.
        dag: the DAG that reads it.
        env: the environment variable the ``hub`` command line reads it from, if any.
    """

    name: str
    default: int
    unit: str
    meaning: str
    dag: str
    env: str | None = None

    def parse(self, raw: str, origin: str | None = None) -> int:
        """``raw`` as a whole number, at least 1; else ``ThresholdError`` naming ``origin``."""
        value = raw.strip()
        if not value.isdigit() or int(value) < 1:
            raise ThresholdError(
                f"{origin or self.name}={raw!r}: {self.meaning} must be a whole number of "
                f"{self.unit}, at least 1"
            )
        return int(value)

    def value_from(self, get: VariableGetter | None = None) -> int:
        """The value in force: the Airflow Variable (via ``get``), else ``env``, else the default.

        Args:
            get: ``airflow.sdk.Variable.get`` inside a task; ``None`` outside Airflow.
        """
        raw = get(self.name, default=None) if get is not None else None
        if raw is not None:
            return self.parse(str(raw), f"Airflow Variable {self.name}")
        if self.env and os.environ.get(self.env) is not None:
            return self.parse(os.environ[self.env], self.env)
        return self.default


REMINDER_DAYS = Threshold(
    name="hub_reminder_days",
    default=30,
    unit="days",
    meaning="how far ahead the reconciliation report lists records whose publicity ends",
    dag="reconcile_repairs",
    env="HUB_REMINDER_DAYS",
)
DELTA_RETENTION_DAYS = Threshold(
    name="hub_delta_retention_days",
    default=90,
    unit="days",
    meaning="the days of delta files kept, counted back from the day published",
    dag="publish_deltas",
    env="HUB_DELTA_RETENTION_DAYS",
)
FANOUT_LEASE_SECONDS = Threshold(
    name="hub_fanout_lease_seconds",
    default=300,
    unit="seconds",
    meaning="how long a claimed outbox batch is held before another run may take it",
    dag="fanout_removals",
)
FANOUT_RETRY_BASE_SECONDS = Threshold(
    name="hub_fanout_retry_base_seconds",
    default=60,
    unit="seconds",
    meaning="the wait after a message's first failed attempt (doubled after each further one)",
    dag="fanout_removals",
)
FANOUT_RETRY_MAX_SECONDS = Threshold(
    name="hub_fanout_retry_max_seconds",
    default=3600,
    unit="seconds",
    meaning="the longest wait between two attempts of a message",
    dag="fanout_removals",
)

THRESHOLDS: tuple[Threshold, ...] = (
    REMINDER_DAYS,
    DELTA_RETENTION_DAYS,
    FANOUT_LEASE_SECONDS,
    FANOUT_RETRY_BASE_SECONDS,
    FANOUT_RETRY_MAX_SECONDS,
)

RECONCILE_DEADLINE_ENV = "HUB_RECONCILE_DEADLINE"
RECONCILE_DEADLINE_DEFAULT = "08:00"


def reconcile_deadline() -> timedelta:
    """When day D's reconciliation must have finished, counted from D 00:00 (its logical date).

    ``HUB_RECONCILE_DEADLINE`` (``HH:MM``, platform time, default ``08:00``) is a time on D+1. It is
    read when the DAG file is parsed, as Airflow fixes a deadline alert's interval then: an Airflow
    Variable here would be read at parse time (I/O) or, as a ``VariableInterval``, stop runs from
    being created while it is missing.
    """
    raw = os.environ.get(RECONCILE_DEADLINE_ENV, RECONCILE_DEADLINE_DEFAULT)
    try:
        at = time.fromisoformat(raw)
    except ValueError:
        raise ThresholdError(
            f"{RECONCILE_DEADLINE_ENV}={raw!r}: the deadline must be a time of day, HH:MM"
        ) from None
    return timedelta(days=1, hours=at.hour, minutes=at.minute)
