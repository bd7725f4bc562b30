"""What every source reader hands to the pipeline, and the one error type it raises."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import pandas as pd


class SourceError(Exception):
    """A source could not be read at all (down, answered HTML, bad credentials, missing table).

    The message names the source and the reason; the pipeline fails that source's batch alone.
    """

    def __init__(self, source_id: str, reason: str) -> None:
        super().__init__(f"source {source_id}: {reason}")
        self.source_id = source_id
        self.reason = reason


@dataclass(frozen=True)
class DroppedFile:
    """A file found in a drop folder: where it is, what it holds (by SHA-256), when exported.

    ``exported_on`` is the date in the file's name, where the source declares one.
    """

    path: Path
    sha256: str
    size: int
    exported_on: date | None = None


@dataclass
class RawPage:
    """One unit of data as received: a page of an API, a chunk of a table, or one file.

    Attributes:
        frame: the records exactly as received, one column per source field, one row per record.
            Values are what the source sent (strings, numbers, ``None``); nothing is mapped yet.
        origin: where the page came from (URL with its query, table and cursor range, file name).
        cursor: the source's cursor after this page, or ``None`` where the source keeps none.
        file: the dropped file this page is, for file sources.
        error: why this page could not be read (an unreadable file); ``frame`` is then empty and
            the other pages of the source still load.
        behind_cursor: which rows are at or behind the stored cursor, read again by the source's
            look-back (``None``: none are).
    """

    frame: pd.DataFrame
    origin: str
    cursor: str | None = None
    file: DroppedFile | None = None
    error: str | None = None
    behind_cursor: pd.Series | None = None


@dataclass(frozen=True)
class ReadRequest:
    """What the pipeline asks of a reader for one run.

    Attributes:
        cursor: the cursor committed by the last successful run (``None``: read from the start).
        window_end: read nothing updated at or after this instant (the end of the logical day),
            so that re-running a past day reads the same data; ``None``: no upper bound.
        processed_files: SHA-256 of files already processed, which a file reader skips.
    """

    cursor: str | None = None
    window_end: datetime | None = None
    processed_files: frozenset[str] = field(default_factory=frozenset)


class Reader(Protocol):
    """A source reader. Built by ``connectors.open_reader`` from a source's connector spec."""

    def pages(self, request: ReadRequest) -> Iterator[RawPage]:
        """Yield the source's new data, page by page, in cursor order."""
        ...

    def settle(self, page: RawPage, day: str) -> None:
        """Archive the page's file once its data is committed (or set it aside with its error).

        A no-op for sources that are not files.
        """
        ...
