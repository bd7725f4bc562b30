"""File drops: one file a day per file agency, in its format and encoding.

Files are written under a temporary name and renamed, so a reader never sees half a file. XLSX
files are made byte-reproducible (fixed document and zip-entry timestamps).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from sandbox.agencies import Agency, FileChannel
from sandbox.store import json_number


def drop_path(agency: Agency, day: date, drop_root: Path) -> Path:
    """Where ``agency``'s file of ``day`` is dropped."""
    channel = agency.channel
    if not isinstance(channel, FileChannel):
        raise ValueError(f"{agency.source_id} does not deliver files")
    return drop_root / channel.folder / channel.file_name(f"{day:%Y%m%d}")


def already_dropped(path: Path) -> bool:
    """Whether the file was dropped before (it may since have been archived below its folder)."""
    return path.exists() or any(path.parent.rglob(path.name))


def write_file(agency: Agency, day: date, rows: list[dict[str, Any]], drop_root: Path) -> bool:
    """Drop ``day``'s rendered rows; ``False`` (nothing written) when dropped before."""
    channel = agency.channel
    path = drop_path(agency, day, drop_root)
    if already_dropped(path):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    assert isinstance(channel, FileChannel)
    if channel.row_number_column:
        rows = [{channel.row_number_column: i + 1, **row} for i, row in enumerate(rows)]
    header = list(rows[0]) if rows else [*channel.extra_columns, *agency.columns.values()]
    writer = {"csv": _csv_bytes, "xlsx": _xlsx_bytes, "jsonl": _jsonl_bytes}[channel.format]
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(writer(header, rows, channel.encoding, day))
    temporary.replace(path)
    return True


def _csv_bytes(header: list[str], rows: list[dict[str, Any]], encoding: str, _: date) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([["" if row[c] is None else row[c] for c in header] for row in rows])
    return buffer.getvalue().encode(encoding)


def _jsonl_bytes(header: list[str], rows: list[dict[str, Any]], encoding: str, _: date) -> bytes:
    lines = (json.dumps(row, ensure_ascii=False, default=json_number) + "\n" for row in rows)
    return "".join(lines).encode(encoding)


def _xlsx_bytes(header: list[str], rows: list[dict[str, Any]], _: str, day: date) -> bytes:
    written = datetime.combine(day, datetime.min.time()).replace(hour=18)
    workbook = Workbook(write_only=True)
    workbook.properties.created = workbook.properties.modified = written
    sheet = workbook.create_sheet("名单")
    sheet.append(header)
    for row in rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row.values()])
    buffer = io.BytesIO()
    # ExcelWriter, not Workbook.save: save stamps the document with the current time.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    return _with_fixed_entry_times(buffer.getvalue(), written)


def _with_fixed_entry_times(archive: bytes, when: datetime) -> bytes:
    """The zip ``archive`` with every entry's timestamp set to ``when``."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    target_buffer = io.BytesIO()
    with source, zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return target_buffer.getvalue()
