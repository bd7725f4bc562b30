"""Read back what the sandbox delivered, the way a reader would, for the tests."""

from __future__ import annotations

import csv
import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from openpyxl import load_workbook

from sandbox.agencies import Agency, ApiChannel, FileChannel, TableChannel
from sandbox.config import SandboxConfig
from sandbox.drops import drop_path
from sandbox.exchange import exchange_table
from sandbox.store import ApiStore


def delivered_rows(config: SandboxConfig, agency: Agency, day: date) -> list[dict[str, Any]]:
    channel = agency.channel
    if isinstance(channel, ApiChannel):
        records, _, _ = ApiStore(config.store_path).query(agency.source_id, limit=10**6)
        return [r for r in records if r[channel.cursor_field].startswith(day.isoformat())]
    if isinstance(channel, TableChannel):
        engine = sa.create_engine(config.exchange_database_url)
        try:
            table = exchange_table(agency, sa.MetaData())
            query = sa.select(table).where(table.c[channel.id_column].like(f"{day:%Y%m%d}-%"))
            with engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(query)]
        finally:
            engine.dispose()
    assert isinstance(channel, FileChannel)
    path = drop_path(agency, day, config.drop_root)
    if channel.format == "csv":
        with path.open(encoding=channel.encoding, newline="") as f:
            return list(csv.DictReader(f))
    if channel.format == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
