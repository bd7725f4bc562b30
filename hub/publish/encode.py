"""A delta file set as bytes: Parquet, CSV for Excel, and the manifest that vouches for both.

Everything here is a pure function of the rows and the manifest's fields, so publishing the same
day again yields the same bytes: no clock is read, the Parquet writer's options are fixed, the CSV
is written by Arrow with fixed options, and the manifest's keys come in a fixed order. (The
Parquet footer names the writer's version: a different pyarrow may write different bytes, which
re-publishing detects and refuses, see ``hub.publish.publisher``.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from hub.publish.delta import SCHEMA_VERSION

BOM = b"\xef\xbb\xbf"
FORMATS = ("parquet", "csv", "manifest")
"""The files of a set, in the order they are written and listed (the manifest last)."""

MEDIA_TYPES = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv; charset=utf-8",
    "manifest": "application/json",
}

_PARQUET_OPTIONS: dict[str, Any] = {
    "version": "2.6",
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "data_page_version": "1.0",
    "store_schema": True,
}


@dataclass(frozen=True)
class EncodedFile:
    """One file of a delta set, ready to write."""

    format: str
    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        """The SHA-256 of the file's bytes, in hex."""
        return hashlib.sha256(self.data).hexdigest()


def file_names(site_id: str, day: date, sequence: int) -> dict[str, str]:
    """The names of a set's files: ``wenzhou_20261103_000042.parquet`` and its siblings."""
    stem = f"{site_id}_{day:%Y%m%d}_{sequence:06d}"
    return {"parquet": f"{stem}.parquet", "csv": f"{stem}.csv", "manifest": f"{stem}.manifest.json"}


def parquet_bytes(table: pa.Table) -> bytes:
    """``table`` as Parquet, written with fixed options in one row group."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=max(1, len(table)), **_PARQUET_OPTIONS)
    return sink.getvalue().to_pybytes()


def csv_bytes(table: pa.Table) -> bytes:
    """``table`` as CSV for Excel: UTF-8 with a BOM, CRLF line ends, a header of column names.

    Dates are ``2026-11-03``; ``changed_at`` is the platform's local time with its offset,
    ``2026-11-03T18:20:00+08:00``; missing values are empty cells.
    """
    index = table.schema.get_field_index("changed_at")
    # Local time with its offset, ``+08:00`` (strftime's %z gives ``+0800``).
    instants = table.column(index)
    seconds = instants.cast(pa.timestamp("s", tz=instants.type.tz))  # %S shows ms otherwise
    local = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S%z")
    iso = pc.replace_substring_regex(local, pattern=r"([+-]\d\d)(\d\d)$", replacement=r"\1:\2")
    shown = table.set_column(index, "changed_at", iso)
    sink = pa.BufferOutputStream()
    options = pacsv.WriteOptions(include_header=True, eol="\r\n", quoting_header="none")
    pacsv.write_csv(shown, sink, options)
    return BOM + sink.getvalue().to_pybytes()


def _watermark(table: pa.Table) -> tuple[int | None, int | None]:
    ids = table.column("change_id")
    if len(ids) == 0:
        return None, None
    return pc.min(ids).as_py(), pc.max(ids).as_py()


def manifest_bytes(
    *,
    site_id: str,
    site_name: str,
    sequence: int,
    day: date,
    watermark: tuple[int, int],
    created_at: datetime,
    table: pa.Table,
    files: list[EncodedFile],
) -> bytes:
    """The manifest JSON of a set: what it covers and the SHA-256 of each data file.

    Args:
        site_id: the site's id.
        site_name: the site's Chinese name.
        sequence: the set's number in the site's gap-free sequence.
        day: the day published.
        watermark: the change-id range ``(from, to]`` the set covers; the site's next set
            starts at ``to``.
        created_at: the first publication of the set (kept when the day is published again).
        table: the rows of the set.
        files: the data files of the set.
    """
    first, last = _watermark(table)
    manifest = {
        "site": site_id,
        "site_name": site_name,
        "sequence": sequence,
        "day": day.isoformat(),
        "schema_version": SCHEMA_VERSION,
        "watermark": {"from_exclusive": watermark[0], "to_inclusive": watermark[1]},
        "row_count": len(table),
        "first_change_id": first,
        "last_change_id": last,
        "created_at": created_at.isoformat(timespec="seconds"),
        "columns": [
            {"name": f.name, "type": str(f.type), "label_zh": f.metadata[b"label_zh"].decode()}
            for f in table.schema
        ],
        "files": [
            {"name": f.name, "format": f.format, "bytes": len(f.data), "sha256": f.sha256}
            for f in files
        ],
    }
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
