"""Run-time settings, read from the environment with defaults for the embedded set-up.

| variable | default | what |
|---|---|---|
| ``HUB_DATABASE_URL`` | ``sqlite:///<project>/var/hub.db`` | the platform database |
| ``HUB_VAR_DIR`` | ``<project>/var`` | where the embedded database, sandbox and reports live |
| ``HUB_SOURCES_DIR`` | ``<project>/mappings/sources`` | the source registry |
| ``HUB_TIMEZONE`` | ``Asia/Shanghai`` | the platform's day boundaries |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAPPINGS_DIR = PROJECT_ROOT / "mappings"


@dataclass(frozen=True)
class Settings:
    """The settings in force for this process."""

    database_url: str
    var_dir: Path
    sources_dir: Path
    timezone: ZoneInfo


@cache
def settings() -> Settings:
    """The settings, read once from the environment (``settings.cache_clear()`` re-reads)."""
    var_dir = Path(os.environ.get("HUB_VAR_DIR", PROJECT_ROOT / "var")).resolve()
    return Settings(
        database_url=os.environ.get("HUB_DATABASE_URL", f"sqlite:///{var_dir / 'hub.db'}"),
        var_dir=var_dir,
        sources_dir=Path(os.environ.get("HUB_SOURCES_DIR", MAPPINGS_DIR / "sources")).resolve(),
        timezone=ZoneInfo(os.environ.get("HUB_TIMEZONE", "Asia/Shanghai")),
    )


def local_day(instant: datetime) -> date:
    """The platform's day (``HUB_TIMEZONE``) in which ``instant`` falls, as a plain ``date``.

    A DAG run's data interval starts at 00:00 of the day it covers in that time zone.
    """
    local = instant.astimezone(settings().timezone)
    return date(local.year, local.month, local.day)
