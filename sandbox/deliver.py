"""Deliver a day: render every agency's records and write them to its channel, with the truth.

Delivering a day is idempotent: a channel that already holds the day's delivery is left alone
(``Delivery.written`` is then ``False``), and the truth file is rewritten with the same content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sandbox import drops, exchange
from sandbox.agencies import AGENCIES, Agency, ApiChannel, FileChannel, TableChannel, get_agency
from sandbox.config import SandboxConfig
from sandbox.province import Province
from sandbox.records import day_records
from sandbox.render import Renderer
from sandbox.store import ApiStore
from sandbox.timestamps import iso_local, row_key, row_time


@dataclass(frozen=True)
class Delivery:
    """What delivering one agency's day did.

    Attributes:
        source_id: the agency's source.
        day: the delivery day.
        written: ``False`` when the channel already held this day's delivery.
        location: where the rows went (store, table or file).
        truth: the ground truth of the day (also in ``truth/<date>/<source_id>.json``).
    """

    source_id: str
    day: date
    written: bool
    location: str
    truth: dict[str, Any]


def init_sandbox(config: SandboxConfig) -> None:
    """Create the sandbox: ``sandbox.json``, the API store, exchange tables and drop folders."""
    config.save()
    ApiStore(config.store_path).create()
    engine = sa.create_engine(config.exchange_database_url)
    try:
        tables = [a for a in AGENCIES.values() if isinstance(a.channel, TableChannel)]
        exchange.create_tables(engine, tables)
    finally:
        engine.dispose()
    for agency in AGENCIES.values():
        if isinstance(agency.channel, FileChannel):
            (config.drop_root / agency.channel.folder).mkdir(parents=True, exist_ok=True)


def deliver(
    config: SandboxConfig,
    day: date,
    source_ids: list[str] | None = None,
    count: int | None = None,
    province: Province | None = None,
) -> list[Delivery]:
    """Deliver ``day`` for the given sources (default: every agency).

    Args:
        config: the sandbox.
        day: the delivery day.
        source_ids: the agencies to deliver; ``None`` for all.
        count: new records per agency, overriding each agency's usual number.
        province: the province of ``config.seed``, when the caller keeps it from day to day
            (drawing its subjects takes a while).
    """
    agencies = [get_agency(s) for s in source_ids] if source_ids else list(AGENCIES.values())
    province = province or Province(config.seed)
    engine = sa.create_engine(config.exchange_database_url)
    try:
        return [_deliver_agency(config, province, engine, a, day, count) for a in agencies]
    finally:
        engine.dispose()


def truth_path(config: SandboxConfig, day: date, source_id: str) -> Path:
    """Where the truth of ``source_id``'s delivery of ``day`` is written."""
    return config.truth_dir / day.isoformat() / f"{source_id}.json"


def read_truth(config: SandboxConfig, day: date, source_id: str) -> dict[str, Any]:
    """The truth of a delivery made earlier."""
    return json.loads(truth_path(config, day, source_id).read_text(encoding="utf-8"))


def _deliver_agency(
    config: SandboxConfig,
    province: Province,
    engine: sa.Engine,
    agency: Agency,
    day: date,
    count: int | None,
) -> Delivery:
    batch = day_records(province, agency, day, count)
    written, location = write_to_channel(config, engine, agency, day, batch.rows)
    path = truth_path(config, day, agency.source_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(batch.truth, ensure_ascii=False, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    return Delivery(agency.source_id, day, written, location, batch.truth)


def write_to_channel(
    config: SandboxConfig,
    engine: sa.Engine,
    agency: Agency,
    day: date,
    records: list[dict[str, Any]],
) -> tuple[bool, str]:
    """Render canonical ``records`` as ``agency`` sends them and write them to its channel.

    Args:
        config: the sandbox.
        engine: the exchange database (used by exchange-table agencies only).
        agency: the delivering agency.
        day: the delivery day.
        records: canonical records, in delivery order.

    Returns:
        Whether anything was written (``False`` when the channel already held ``day``'s
        delivery), and where the rows went (store, table or file).
    """
    renderer = Renderer(agency)
    rows = [renderer.row(record) for record in records]
    channel = agency.channel
    if isinstance(channel, ApiChannel):
        return _to_store(config, agency, day, rows), str(config.store_path)
    if isinstance(channel, TableChannel):
        written = exchange.write_rows(engine, agency, day, rows)
        return written, f"{engine.url.render_as_string()} {channel.table}"
    written = drops.write_file(agency, day, rows, config.drop_root)
    return written, str(drops.drop_path(agency, day, config.drop_root))


def _to_store(config: SandboxConfig, agency: Agency, day: date, rows: list[dict]) -> bool:
    channel = agency.channel
    assert isinstance(channel, ApiChannel)
    store = ApiStore(config.store_path)
    store.create()
    if store.has_day(agency.source_id, day):
        return False
    stored = []
    for i, row in enumerate(rows):
        key, updated_at = row_key(day, i), iso_local(row_time(day, i, len(rows)))
        record = {channel.id_field: f"{agency.source_id}-{key}", **row}
        stored.append((key, updated_at, record | {channel.cursor_field: updated_at}))
    store.add(agency.source_id, stored)
    return True
