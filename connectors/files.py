"""Reading files agencies drop into a folder (``FileConnector``): CSV, XLSX and JSON Lines.

Each file is read whole before any of it is handed on, so that a file cut off at its end is
rejected as a whole rather than half loaded. An unreadable file becomes one ``RawPage`` carrying
the reason; ``settle`` later moves it to ``rejected/`` with a ``.reason.txt`` beside it, while
read files go to ``archive/<day>/``.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from openpyxl.utils.exceptions import InvalidFileException

from connectors.base import DroppedFile, RawPage, ReadRequest, SourceError
from connectors.connections import Connection
from connectors.specs import FileConnector
from hub.core import clock
from hub.core.logs import masked_logger
from hub.core.privacy import mask_text

log = masked_logger(__name__)

ARCHIVE = "archive"
REJECTED = "rejected"
_BLOCK = 1 << 20
_CSV_BLOCK = 64 << 20

# A file read whole: its number of rows, and a function giving rows [start, stop) as a frame.
_WholeFile = tuple[int, Callable[[int, int], pd.DataFrame]]


class _UnreadableFileError(Exception):
    """A file that cannot be read; the message is the reason recorded beside it."""


class FileReader:
    """Reads the files of a drop folder, oldest name first, each file once.

    Args:
        source_id: the source the files belong to.
        spec: the connector settings (folder, pattern, format, encoding...).
        connection: names the drop root (``extra.path``, or its host).
        chunk_rows: the most rows in one ``RawPage``; larger files give several pages.
    """

    def __init__(
        self,
        source_id: str,
        spec: FileConnector,
        connection: Connection,
        chunk_rows: int = 100_000,
    ) -> None:
        self.source_id = source_id
        self.spec = spec
        self.folder = Path(connection.extra.get("path") or connection.host) / spec.folder
        self.chunk_rows = chunk_rows
        self._settled: set[Path] = set()

    def pages(self, request: ReadRequest) -> Iterator[RawPage]:
        """Yield the pages of every new file; a file processed before is archived unread.

        Raises:
            SourceError: the drop folder does not exist.
        """
        if not self.folder.is_dir():
            raise SourceError(self.source_id, f"drop folder {self.folder} does not exist")
        for path in self._dropped_paths():
            dropped = DroppedFile(
                path=path,
                sha256=_sha256(path),
                size=path.stat().st_size,
                exported_on=date_in_name(path.name, self.spec.name_date_format),
            )
            if dropped.sha256 in request.processed_files:
                log.info(
                    "%s was processed before; archiving it [source=%s]",
                    path.name,
                    self.source_id,
                    extra={"source": self.source_id, "file": path.name},
                )
                self._move(dropped, self.folder / ARCHIVE / clock.today().isoformat())
                continue
            yield from self._read(dropped)

    def settle(self, page: RawPage, day: str) -> None:
        """Move the page's file to ``archive/<day>/``, or to ``rejected/`` if it was unreadable.

        Only the first call for a file moves it; calls for its further pages do nothing.
        """
        dropped = page.file
        if dropped is None or dropped.path in self._settled or not dropped.path.exists():
            return
        self._settled.add(dropped.path)
        if page.error is None:
            self._move(dropped, self.folder / ARCHIVE / day)
            return
        moved = self._move(dropped, self.folder / REJECTED)
        reason = mask_text(page.error)
        moved.with_name(f"{moved.name}.reason.txt").write_text(reason + "\n", encoding="utf-8")

    def _dropped_paths(self) -> list[Path]:
        return sorted(p for p in self.folder.glob(self.spec.pattern) if p.is_file())

    def _read(self, dropped: DroppedFile) -> Iterator[RawPage]:
        readers: dict[str, Callable[[Path], _WholeFile]] = {
            "csv": self._read_csv,
            "xlsx": self._read_xlsx,
            "jsonl": self._read_jsonl,
        }
        name = dropped.path.name
        try:
            if dropped.size == 0:
                raise _UnreadableFileError("empty file")
            if self.spec.name_date_format and dropped.exported_on is None:
                raise _UnreadableFileError(
                    f"the file name holds no export date like {self.spec.name_date_format}"
                )
            rows, frame_of = readers[self.spec.format](dropped.path)
        except _UnreadableFileError as exc:
            # Collection logs the rejection, naming the batch too. The reason may quote the row
            # that broke the file (Arrow's CSV errors do): masked before anyone stores it.
            error = mask_text(str(exc))
            yield RawPage(frame=pd.DataFrame(), origin=name, file=dropped, error=error)
            return
        starts = range(0, rows, self.chunk_rows) if rows else [0]
        for start in starts:
            stop = min(start + self.chunk_rows, rows)
            origin = name if len(starts) == 1 else f"{name} rows {start + 1}-{stop}"
            yield RawPage(frame=frame_of(start, stop), origin=origin, file=dropped)

    def _read_csv(self, path: Path) -> _WholeFile:
        encoding = self._encoding(path)
        # pyarrow decodes "utf8" natively; any other name goes through a slower Python codec.
        # Blocks larger than any sane record: a row longer than a block cannot be parsed.
        read_options = pa_csv.ReadOptions(
            encoding="utf8" if encoding == "utf-8" else encoding, block_size=_CSV_BLOCK
        )
        parse_options = pa_csv.ParseOptions(delimiter=self.spec.delimiter)
        try:
            with pa_csv.open_csv(
                path, read_options=read_options, parse_options=parse_options
            ) as head:
                names = head.schema.names
            convert_options = pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            )
            table = pa_csv.read_csv(
                path,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
        except pa.ArrowInvalid as exc:
            if "invalid UTF8" in str(exc):
                raise _UnreadableFileError(_undecodable(path, encoding)) from None
            raise _UnreadableFileError(
                _csv_error_line(path, read_options, parse_options, exc)
            ) from None
        except UnicodeDecodeError:
            raise _UnreadableFileError(_undecodable(path, encoding)) from None
        return table.num_rows, lambda start, stop: table.slice(start, stop - start).to_pandas()

    def _read_xlsx(self, path: Path) -> _WholeFile:
        try:
            frame = pd.read_excel(path, engine="openpyxl", dtype=str, sheet_name=self.spec.sheet)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, EOFError) as exc:
            raise _UnreadableFileError(f"not a readable XLSX workbook: {exc}") from None
        return len(frame), lambda start, stop: frame.iloc[start:stop].reset_index(drop=True)

    def _read_jsonl(self, path: Path) -> _WholeFile:
        encoding = self._encoding(path)
        records: list[dict[str, Any]] = []
        with path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding) as lines:
            try:
                for number, line in enumerate(lines, start=1):
                    if line.strip():
                        records.append(_json_object(line, number))
            except UnicodeDecodeError:
                raise _UnreadableFileError(_undecodable(path, encoding)) from None
        return len(records), lambda start, stop: pd.DataFrame(records[start:stop], dtype=object)

    def _encoding(self, path: Path) -> str:
        """The declared encoding, or for ``auto`` UTF-8 if the bytes are UTF-8, else GB18030."""
        if self.spec.encoding != "auto":
            return self.spec.encoding
        for encoding in ("utf-8", "gb18030"):
            if _decodes_as(path, encoding):
                return encoding
        raise _UnreadableFileError("the text is neither UTF-8 nor GB18030 (GBK)")

    def _move(self, dropped: DroppedFile, target_folder: Path) -> Path:
        target_folder.mkdir(parents=True, exist_ok=True)
        target = _free_name(target_folder, dropped)
        dropped.path.rename(target)
        log.info(
            "moved %s to %s [source=%s]",
            dropped.path.name,
            target,
            self.source_id,
            extra={"source": self.source_id, "file": dropped.path.name},
        )
        return target


def _csv_error_line(
    path: Path,
    read_options: pa_csv.ReadOptions,
    parse_options: pa_csv.ParseOptions,
    error: pa.ArrowInvalid,
) -> str:
    """Arrow's reason for a CSV it could not parse, with the line where it broke.

    Arrow knows the line only when it parses on one thread, so the file is parsed again so, on
    this failure path alone.
    """
    invalid: list[pa_csv.InvalidRow] = []

    def first_invalid(row: pa_csv.InvalidRow) -> str:
        invalid.append(row)
        return "error"

    single = pa_csv.ReadOptions(
        encoding=read_options.encoding, block_size=read_options.block_size, use_threads=False
    )
    options = pa_csv.ParseOptions(
        delimiter=parse_options.delimiter, invalid_row_handler=first_invalid
    )
    with contextlib.suppress(pa.ArrowInvalid, UnicodeDecodeError):
        pa_csv.read_csv(path, read_options=single, parse_options=options)
    if invalid and invalid[0].number is not None:
        row = invalid[0]
        return (
            f"line {row.number}: expected {row.expected_columns} columns, "
            f"got {row.actual_columns}: {row.text}"
        )
    return str(error)


def _undecodable(path: Path, encoding: str) -> str:
    """Which line of ``path`` is not ``encoding`` text, and why."""
    decoder = codecs.getdecoder(encoding)
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                decoder(line)
            except UnicodeDecodeError as exc:
                return f"line {number}: not valid {encoding} text: {exc.reason}"
    return f"not valid {encoding} text"


def _json_object(line: str, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        raise _UnreadableFileError(f"line {number} is not valid JSON (truncated file?)") from None
    if not isinstance(record, dict):
        raise _UnreadableFileError(f"line {number} is not a JSON object")
    return record


def _free_name(folder: Path, dropped: DroppedFile) -> Path:
    """``folder/<name>``, or ``<stem>-<sha8>[-n]<suffix>`` when that is taken: never overwrite."""
    path = dropped.path
    candidate = folder / path.name
    tag = dropped.sha256[:8]
    attempt = 1
    while candidate.exists():
        counter = f"-{attempt}" if attempt > 1 else ""
        candidate = folder / f"{path.stem}-{tag}{counter}{path.suffix}"
        attempt += 1
    return candidate


_DATE_FIELDS = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}"}


def date_in_name(name: str, date_format: str | None) -> date | None:
    """The first date written as ``date_format`` (``%Y``, ``%m``, ``%d``) in a file name."""
    if not date_format:
        return None
    pattern = re.escape(date_format)
    for field, digits in _DATE_FIELDS.items():
        pattern = pattern.replace(re.escape(field), digits)
    for found in re.finditer(f"(?=({pattern}))", name):
        try:
            return datetime.strptime(found.group(1), date_format).date()
        except ValueError:
            continue
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _decodes_as(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as stream:
            while block := stream.read(_BLOCK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True
