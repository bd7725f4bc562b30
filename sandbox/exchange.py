"""The exchange database (前置库): one table per exchange-DB agency, in its own column names.

Columns follow the agency: dates are text (agencies keep them as VARCHAR, which is how a
malformed date reaches the platform), amounts DECIMAL, and every table has a row key (``id``,
``<yyyymmdd>-<n>``) and its cursor column: ``update_time`` (naive local DATETIME) or ``seq``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from hub.core.model import FieldType, fields_of
from sandbox.agencies import Agency, TableChannel
from sandbox.timestamps import row_key, row_time

MAX_VARCHAR = 500
"""Longer text columns are TEXT (keeps MariaDB rows under its 64 KB row limit)."""


def _column_type(field_type: FieldType, max_length: int | None) -> sa.types.TypeEngine:
    if field_type == FieldType.AMOUNT:
        return sa.Numeric(18, 6)
    if field_type == FieldType.DATE:
        return sa.String(32)
    if max_length and max_length <= MAX_VARCHAR:
        return sa.String(max_length)
    return sa.Text()


def exchange_table(agency: Agency, metadata: sa.MetaData) -> sa.Table:
    """The exchange table ``agency`` writes into."""
    channel = agency.channel
    if not isinstance(channel, TableChannel):
        raise ValueError(f"{agency.source_id} does not deliver into the exchange database")
    fields = {f.name: f for f in fields_of(agency.kind)}
    cursor_type = sa.DateTime() if channel.cursor_kind == "timestamp" else sa.BigInteger()
    columns = [sa.Column(channel.id_column, sa.String(32), primary_key=True)]
    columns += [
        sa.Column(column, _column_type(fields[name].type, fields[name].max_length))
        for name, column in agency.columns.items()
    ]
    columns.append(sa.Column(channel.cursor_column, cursor_type, nullable=False, index=True))
    return sa.Table(channel.table, metadata, *columns, mysql_charset="utf8mb4")


def create_tables(engine: sa.Engine, agencies: list[Agency]) -> None:
    """Create the exchange tables of ``agencies`` where they do not exist yet."""
    metadata = sa.MetaData()
    for agency in agencies:
        exchange_table(agency, metadata)
    metadata.create_all(engine, checkfirst=True)


def write_rows(engine: sa.Engine, agency: Agency, day: date, rows: list[dict[str, Any]]) -> bool:
    """Insert ``day``'s rendered rows; ``False`` (and nothing written) when already delivered.

    ``update_time`` is the naive local time the row was written on ``day``; ``seq`` continues
    the table's sequence.
    """
    channel = agency.channel
    assert isinstance(channel, TableChannel)
    table = exchange_table(agency, sa.MetaData())
    table.create(engine, checkfirst=True)
    id_column = table.c[channel.id_column]
    with engine.begin() as conn:
        delivered = conn.execute(
            sa.select(id_column).where(id_column.like(f"{day:%Y%m%d}-%")).limit(1)
        ).first()
        if delivered:
            return False
        if channel.cursor_kind == "sequence":
            last = conn.scalar(sa.select(sa.func.max(table.c[channel.cursor_column]))) or 0
            cursor_values = [last + i + 1 for i in range(len(rows))]
        else:
            cursor_values = [row_time(day, i, len(rows)) for i in range(len(rows))]
        conn.execute(
            table.insert(),
            [
                {channel.id_column: row_key(day, i), **row, channel.cursor_column: cursor}
                for i, (row, cursor) in enumerate(zip(rows, cursor_values, strict=True))
            ],
        )
    return True
