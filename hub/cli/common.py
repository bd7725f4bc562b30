"""What every ``hub`` command shares: the console, the runtime, reading a day, failing clearly."""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import TextIO

import typer
from rich.console import Console

from hub.core.privacy import mask_text
from hub.core.settings import settings
from hub.jobs import Runtime


class MaskedStream:
    """Standard output (or error) through the privacy policy: what a command prints is masked.

    The stream is looked up on every write, so a test runner that swaps ``sys.stdout`` sees it.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def _stream(self) -> TextIO:
        return getattr(sys, self._name)

    def write(self, text: str) -> int:
        """Write ``text`` with every ID number in it masked."""
        return self._stream.write(mask_text(text))

    def flush(self) -> None:
        """Flush the underlying stream."""
        self._stream.flush()

    def isatty(self) -> bool:
        """Whether the underlying stream is a terminal."""
        return self._stream.isatty()

    def fileno(self) -> int:
        """The underlying stream's descriptor (for the terminal's size)."""
        return self._stream.fileno()


def _console(stream: str) -> Console:
    terminal = getattr(sys, stream).isatty()
    # Piped output (CI logs, `| tee`) gets room for the full source ids instead of 80 columns.
    return Console(file=MaskedStream(stream), width=None if terminal else 150)


console = _console("stdout")
"""Where every command prints, through the privacy policy."""
errors = _console("stderr")
"""Where every command reports what went wrong, through the privacy policy."""


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
