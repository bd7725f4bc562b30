"""Bulk writes of a DataFrame into a table: COPY on PostgreSQL, executemany elsewhere.

Encoding (``encode_frame``) is separate from writing (``insert_encoded``) so that a caller can
encode one page while the previous one is being written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


@dataclass(frozen=True)
class EncodedFrame:
    """Rows ready to write.

    CSV for PostgreSQL's COPY; elsewhere the frame itself, turned into Python rows only when
    written (a page of Python rows costs far more memory than its frame).
    """

    columns: tuple[str, ...]
    length: int
    csv: pa.Buffer | None = None
    frame: pd.DataFrame | None = None


def _python_column(values: pd.Series) -> list:
    """A column as plain Python values (``None`` for missing, ``date`` for naive datetimes)."""
    if pd.api.types.is_datetime64_any_dtype(values) and values.dt.tz is None:
        values = values.dt.date
    plain = values.astype(object)
    return plain.where(plain.notna(), None).tolist()


def _execute_many(connection: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Insert ``frame`` through SQLite's ``executemany``, each value bound as SQLAlchemy would.

    Each column's bind processor runs over the column at once: SQLAlchemy's own executemany,
    with a dict per row, costs several times the driver's insert.
    """
    dialect = connection.dialect
    columns = []
    for name in frame.columns:
        values = _python_column(frame[name])
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        columns.append([process(v) for v in values] if process else values)
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(str(c)) for c in frame.columns)
    marks = ", ".join("?" * len(frame.columns))
    connection.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})",
        list(zip(*columns, strict=True)),
    )


def _csv(frame: pd.DataFrame) -> pa.Buffer:
    """``frame`` as headerless CSV, written by Arrow; naive datetimes as dates."""
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    for i, arrow_field in enumerate(arrow.schema):
        if pa.types.is_timestamp(arrow_field.type) and arrow_field.type.tz is None:
            arrow = arrow.set_column(i, arrow_field.name, arrow.column(i).cast(pa.date32()))
    # An Arrow-native sink: no Python file object is called from Arrow's threads.
    sink = pa.BufferOutputStream()
    pacsv.write_csv(arrow, sink, pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


def encode_frame(dialect: str, frame: pd.DataFrame) -> EncodedFrame:
    """Encode ``frame`` (columns named as in the target table) for a database of ``dialect``."""
    columns = tuple(str(c) for c in frame.columns)
    if frame.empty:
        return EncodedFrame(columns, 0)
    if dialect == "postgresql":
        return EncodedFrame(columns, len(frame), csv=_csv(frame))
    return EncodedFrame(columns, len(frame), frame=frame)


def insert_encoded(connection: sa.Connection, table: sa.Table, encoded: EncodedFrame) -> None:
    """Write encoded rows into ``table`` in the connection's transaction."""
    if encoded.length == 0:
        return
    if encoded.frame is not None:
        _execute_many(connection, table, encoded.frame)
        return
    columns = ", ".join(f'"{c}"' for c in encoded.columns)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(memoryview(encoded.csv))
    cursor.close()


def insert_frame(connection: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Insert every row of ``frame`` (columns named as in ``table``) into ``table``.

    Naive datetime columns are dates; missing values become NULL.
    """
    insert_encoded(connection, table, encode_frame(connection.dialect.name, frame))


def among(
    connection: sa.Connection, column: sa.ColumnElement[str], values: Iterable[str]
) -> sa.ColumnElement[bool]:
    """``column`` is one of ``values``, bound as one parameter however many there are.

    A PostgreSQL array (``= ANY``), a JSON list on SQLite (``IN json_each``): either way an index
    on ``column`` is probed once per value, and no statement grows with the page.
    """
    if connection.dialect.name == "postgresql":
        array = sa.bindparam(None, list(values), type_=postgresql.ARRAY(sa.String))
        return column == sa.any_(array)
    each = sa.func.json_each(sa.bindparam(None, json.dumps(list(values)))).table_valued("value")
    return column.in_(sa.select(each.c.value))
