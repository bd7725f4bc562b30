"""What every ``hub`` command shares: the console, the runtime, reading a day, failing clearly."""

from __future__ import annotations

from datetime import date, datetime

import typer
from rich.console import Console

from hub.core.settings import settings
from hub.jobs import Runtime

# Piped output (CI logs, `| tee`) gets room for the full source ids instead of 80 columns.
console = Console(width=None if Console().is_terminal else 150)


def runtime() -> Runtime:
    """The runtime of a command: connections and thresholds from the environment."""
    return Runtime()


def parse_day(value: str, option: str = "--date") -> date:
    """``value`` as a date, or a usage error naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not a date like 2026-11-03", param_hint=option
        ) from exc


def parse_instant(value: str, option: str) -> datetime:
    """``value`` as an aware instant (no offset: platform time); a usage error otherwise."""
    try:
        instant = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not a time like 2026-10-13T01:00+08:00", param_hint=option
        ) from exc
    return instant if instant.tzinfo else instant.replace(tzinfo=settings().timezone)


def fail(message: str) -> typer.Exit:
    """Print ``message`` in red and give the exit to raise (code 1)."""
    console.print(f"[red]{message}[/]", soft_wrap=True)
    return typer.Exit(1)
