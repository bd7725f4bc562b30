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
import sqlalchemy as sa

from hub.store.schema import status_change
from hub.targets import Target

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


def _columns() -> list[sa.ColumnElement]:
    return [
        status_change.c.id if c.name == "change_id" else status_change.c[c.name] for c in COLUMNS
    ]


def _utc(moment: datetime) -> datetime:
    """Stored instants as aware UTC (SQLite hands them back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_changes(connection: sa.Connection, after: int, upto: int, timezone: str) -> pa.Table:
    """The ``status_change`` rows with ``after < id <= upto``, in id order, as a delta table."""
    statement = (
        sa.select(*_columns())
        .where(status_change.c.id > after, status_change.c.id <= upto)
        .order_by(status_change.c.id)
    )
    rows = connection.execute(statement).all()
    schema = delta_schema(timezone)
    values = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
    arrays = []
    for field, column in zip(schema, values, strict=True):
        if field.name == "changed_at":
            instants = pa.array([_utc(m) for m in column], type=pa.timestamp("us", tz="UTC"))
            seconds = instants.cast(pa.timestamp("s", tz="UTC"), safe=False)
            arrays.append(seconds.cast(field.type))
        else:
            arrays.append(pa.array(column, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


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
