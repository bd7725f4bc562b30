"""Reading a published delta file set back the way a downstream site would."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from hub.store.publish_schema import delta_manifest
from tests.publish.conftest import SHANGHAI


@dataclass
class DeltaSet:
    manifest: dict
    parquet: pa.Table
    csv_bytes: bytes
    files: dict[str, Path]

    def csv_rows(self) -> list[dict[str, str]]:
        assert self.csv_bytes.startswith(b"\xef\xbb\xbf")
        text = self.csv_bytes[3:].decode("utf-8")
        return list(csv.DictReader(io.StringIO(text, newline="")))


def stem(site: str, day: date, sequence: int) -> str:
    return f"{site}_{day:%Y%m%d}_{sequence:06d}"


def read_set(delta_dir: Path, site: str, day: date, sequence: int) -> DeltaSet:
    base = delta_dir / site / stem(site, day, sequence)
    files = {
        "parquet": base.with_suffix(".parquet"),
        "csv": base.with_suffix(".csv"),
        "manifest": base.with_suffix(".manifest.json"),
    }
    manifest = json.loads(files["manifest"].read_text(encoding="utf-8"))
    return DeltaSet(manifest, pq.read_table(files["parquet"]), files["csv"].read_bytes(), files)


def verify_against_manifest(delta: DeltaSet) -> None:
    """Every data file is the size and SHA-256 its manifest says."""
    described = {f["format"]: f for f in delta.manifest["files"]}
    assert sorted(described) == ["csv", "parquet"]
    for fmt in ("parquet", "csv"):
        data = delta.files[fmt].read_bytes()
        assert described[fmt]["name"] == delta.files[fmt].name
        assert described[fmt]["bytes"] == len(data)
        assert described[fmt]["sha256"] == hashlib.sha256(data).hexdigest()


def expected_rows(changes: list[dict]) -> list[dict[str, str]]:
    """``status_change`` rows as a CSV of the delta file shows them."""
    return [
        {
            "change_id": str(c["id"]),
            "record_key": c["record_key"],
            "kind": c["kind"],
            "previous_status": c["previous_status"],
            "new_status": c["new_status"],
            "effective_date": c["effective_date"].isoformat(),
            "document_no": c["document_no"],
            "subject_name": c["subject_name"],
            "subject_id": c["subject_id"] or "",
            "region_code": c["region_code"] or "",
            "decision_date": c["decision_date"].isoformat(),
            "authority_name": c["authority_name"],
            "reason": c["reason"],
            "decided_by": c["decided_by"],
            "changed_at": _aware(c["changed_at"]).astimezone(SHANGHAI).isoformat(),
        }
        for c in changes
    ]


def _aware(moment: datetime) -> datetime:
    """SQLite hands instants back naive, in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def all_bytes(delta_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(delta_dir)): p.read_bytes()
        for p in sorted(delta_dir.rglob("*"))
        if p.is_file()
    }


def published_sets(engine: sa.Engine) -> list[sa.Row]:
    """Every set recorded: site, sequence, day and watermarks, by site and sequence."""
    m = delta_manifest.c
    with engine.connect() as connection:
        return connection.execute(
            sa.select(m.site_id, m.sequence, m.day, m.watermark_from, m.watermark_to).order_by(
                m.site_id, m.sequence
            )
        ).all()
