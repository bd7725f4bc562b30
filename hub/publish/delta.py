"""What a delta file holds: the status changes of a site's region, one row per change.

A row carries what a downstream site needs to take a record down or update it: which record
(``record_key``, ``kind``, ``document_no``, the subject and the deciding authority), what
happened (previous and new status, effective date, reason, who decided) and where the change
stands in the platform's log (``change_id``, the watermark). ``subject_id`` is the credit code, or
for a natural person the masked ID number. Schema changes bump ``SCHEMA_VERSION``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa

from hub.core.targets import Target
from hub.store.schema import status_change

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class DeltaColumn:
    """One column of the delta files: its name, Arrow type and Chinese label."""

    name: str
    type: pa.DataType
    label: str


_TEXT, _DAY = pa.string(), pa.date32()
COLUMNS: tuple[DeltaColumn, ...] = (
    DeltaColumn("change_id", pa.int64(), "变更序号（水位）"),
    DeltaColumn("record_key", _TEXT, "记录标识"),
    DeltaColumn("kind", _TEXT, "信息类别"),
    DeltaColumn("previous_status", _TEXT, "原状态"),
    DeltaColumn("new_status", _TEXT, "新状态"),
    DeltaColumn("effective_date", _DAY, "生效日期"),
    DeltaColumn("document_no", _TEXT, "决定书文号"),
    DeltaColumn("subject_name", _TEXT, "行政相对人名称"),
    DeltaColumn("subject_id", _TEXT, "统一社会信用代码或证件号码（脱敏）"),
    DeltaColumn("region_code", _TEXT, "行政区划代码"),
    DeltaColumn("decision_date", _DAY, "决定日期"),
    DeltaColumn("authority_name", _TEXT, "决定机关"),
    DeltaColumn("reason", _TEXT, "变更原因"),
    DeltaColumn("decided_by", _TEXT, "变更决定方"),
    DeltaColumn("changed_at", pa.timestamp("ms"), "平台记录时间"),
)
"""The columns in file order. ``changed_at`` is whole seconds, in the platform's time zone, typed
in milliseconds because Parquet has no seconds unit."""


def delta_schema(timezone: str) -> pa.Schema:
    """The Arrow schema of the delta files, each field labelled in Chinese (``label_zh``)."""
    fields = []
    for column in COLUMNS:
        column_type = (
            pa.timestamp("ms", tz=timezone) if column.name == "changed_at" else column.type
        )
        fields.append(pa.field(column.name, column_type, metadata={"label_zh": column.label}))
    return pa.schema(fields)


def _columns(dialect: str) -> list[sa.ColumnElement]:
    """The log's columns in file order; on PostgreSQL as COPY should print them."""
    columns = []
    for column in COLUMNS:
        stored = status_change.c.id if column.name == "change_id" else status_change.c[column.name]
        if dialect == "postgresql" and column.type == _DAY:
            stored = sa.func.to_char(stored, "YYYY-MM-DD")  # whatever the server's DateStyle
        if dialect == "postgresql" and column.name == "changed_at":
            stored = sa.cast(sa.func.floor(sa.extract("epoch", stored)), sa.BigInteger)
        columns.append(stored.label(column.name))
    return columns


def _epoch_seconds(moment: datetime) -> int:
    """A stored instant in whole seconds since 1970 UTC (SQLite hands instants back naive)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return int(aware.timestamp())


def _fetched(connection: sa.Connection, statement: sa.Select) -> pa.Table:
    """The rows through the driver, one Python row at a time (SQLite)."""
    rows = connection.execute(statement).all()
    values = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
    arrays = []
    for column, cells in zip(COLUMNS, values, strict=True):
        if column.name == "changed_at":
            arrays.append(pa.array([_epoch_seconds(m) for m in cells], type=pa.int64()))
        else:
            arrays.append(pa.array(cells, type=column.type))
    return pa.Table.from_arrays(arrays, names=[c.name for c in COLUMNS])


def _copied(connection: sa.Connection, statement: sa.Select) -> pa.Table:
    """The rows through COPY as CSV, parsed by Arrow (PostgreSQL): no Python row at all."""
    sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
        data = b"".join(copy)
    cursor.close()
    types = {c.name: pa.int64() if c.name == "changed_at" else c.type for c in COLUMNS}
    if not data:
        return pa.schema(types.items()).empty_table()
    return pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=list(types)),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        # COPY writes NULL unquoted and an empty text quoted: only the former is missing.
        convert_options=pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    )


def read_changes(connection: sa.Connection, after: int, upto: int, timezone: str) -> pa.Table:
    """The ``status_change`` rows with ``after < id <= upto``, in id order, as a delta table."""
    dialect = connection.dialect.name
    statement = (
        sa.select(*_columns(dialect))
        .where(status_change.c.id > after, status_change.c.id <= upto)
        .order_by(status_change.c.id)
    )
    read = _copied if dialect == "postgresql" else _fetched
    table = read(connection, statement)
    schema = delta_schema(timezone)
    seconds = table.column("changed_at").cast(pa.timestamp("s", tz="UTC"))
    changed_at = seconds.cast(schema.field("changed_at").type)
    index = table.schema.get_field_index("changed_at")
    return table.set_column(index, "changed_at", changed_at).cast(schema)


def rows_for_site(changes: pa.Table, site: Target, after: int) -> pa.Table:
    """The rows of ``changes`` whose region ``site`` covers and whose change id is past ``after``.

    Mirrors ``Target.covers``: a row without a region code reaches no site.
    """
    region = changes.column("region_code")
    covered = pa.array([False] * len(changes), type=pa.bool_())
    for prefix in site.regions:
        covered = pc.or_(covered, pc.fill_null(pc.starts_with(region, prefix), False))
    mask = pc.and_(covered, pc.greater(changes.column("change_id"), after))
    return changes.filter(mask)
