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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hub.core.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAPPINGS_DIR = PROJECT_ROOT / "mappings"


@dataclass(frozen=True)
class Settings:
    """The settings in force for this process."""

    database_url: str
    var_dir: Path
    sources_dir: Path
    timezone: ZoneInfo


class SettingsError(ConfigurationError):
    """An environment variable of the hub is unusable; the message names it and what is allowed."""


@cache
def settings() -> Settings:
    """The settings, read once from the environment (``settings.cache_clear()`` re-reads).

    Raises:
        SettingsError: a variable is unusable (an unknown time zone, an unparsable database URL,
            a sources folder that is not there).
    """
    var_dir = Path(os.environ.get("HUB_VAR_DIR", PROJECT_ROOT / "var")).resolve()
    sources_dir = Path(os.environ.get("HUB_SOURCES_DIR", MAPPINGS_DIR / "sources")).resolve()
    if not sources_dir.is_dir():
        raise SettingsError(f"HUB_SOURCES_DIR={str(sources_dir)!r}: no such folder of source files")
    return Settings(
        database_url=_database_url(var_dir),
        var_dir=var_dir,
        sources_dir=sources_dir,
        timezone=_timezone(os.environ.get("HUB_TIMEZONE", "Asia/Shanghai")),
    )


def _database_url(var_dir: Path) -> str:
    url = os.environ.get("HUB_DATABASE_URL") or f"sqlite:///{var_dir / 'hub.db'}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SettingsError(
            "HUB_DATABASE_URL is not a database URL: use e.g. "
            "postgresql+psycopg://user@host/credit or sqlite:///path/hub.db"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise SettingsError(
            f"HUB_DATABASE_URL names a {parsed.get_backend_name()} database: the platform runs on "
            "PostgreSQL (postgresql+psycopg://...) or SQLite (sqlite:///...)"
        )
    return url


def _timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"HUB_TIMEZONE={name!r} is not a time zone: use an IANA name such as Asia/Shanghai"
        ) from None


def local_day(instant: datetime) -> date:
    """The platform's day (``HUB_TIMEZONE``) in which ``instant`` falls, as a plain ``date``.

    A DAG run's data interval starts at 00:00 of the day it covers in that time zone.
    """
    local = instant.astimezone(settings().timezone)
    return date(local.year, local.month, local.day)
