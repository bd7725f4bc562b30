"""The platform's clock: the wall clock, or a simulated one that runs at the same pace.

Every instant the platform records (receipt of a payload, a status change, a delivery attempt, a
pull) is read here. In production that is the wall clock. The sandbox's daily cycle replays days
of the past in minutes: it sets ``HUB_CLOCK_OFFSET_SECONDS`` so that, for the platform, a run
happens at the time a scheduler would have started it, while time still flows (leases, back-off
and timeouts work as usual). The variable is read on every call, so a simulation can move it
between runs, and task processes started by Airflow inherit it. Where the processes are already
running (the native stack: scheduler, workers), ``HUB_CLOCK_OFFSET_FILE`` names a file holding the
offset instead, read on every call too (``write_offset`` writes it); the variable wins over it.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hub.core.settings import local_day

OFFSET_VARIABLE = "HUB_CLOCK_OFFSET_SECONDS"
OFFSET_FILE_VARIABLE = "HUB_CLOCK_OFFSET_FILE"


def _offset_seconds() -> float:
    value = os.environ.get(OFFSET_VARIABLE, "")
    path = os.environ.get(OFFSET_FILE_VARIABLE, "")
    if not value and path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            value = ""
    return float(value or 0)


def now() -> datetime:
    """The platform's current instant, in UTC."""
    return datetime.now(UTC) + timedelta(seconds=_offset_seconds())


def today() -> date:
    """The platform's current day, in its time zone (``HUB_TIMEZONE``)."""
    return local_day(now())


def offset_to(instant: datetime) -> dict[str, str]:
    """The environment that makes ``now()`` read ``instant`` at this moment (then run on)."""
    seconds = (instant - datetime.now(UTC)).total_seconds()
    return {OFFSET_VARIABLE: f"{seconds:.6f}"}


def write_offset(path: Path, instant: datetime) -> None:
    """Make every process reading ``path`` (``HUB_CLOCK_OFFSET_FILE``) see ``instant`` now."""
    seconds = (instant - datetime.now(UTC)).total_seconds()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(f"{seconds:.6f}\n", encoding="utf-8")
    temporary.replace(path)  # a reader never sees a half-written number


def whole_days(since: datetime | None, until: datetime) -> int | None:
    """Whole days from ``since`` to ``until`` (``None`` when there is no ``since``)."""
    return None if since is None else int((until - since).total_seconds() // 86400)
