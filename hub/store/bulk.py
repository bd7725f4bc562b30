"""Bulk writes of a DataFrame into a table: COPY on PostgreSQL, executemany elsewhere."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa


def _python_rows(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain Python values (``None`` for missing, ``date`` for dates)."""
    plain = frame.copy()
    for column in plain.columns:
        if pd.api.types.is_datetime64_any_dtype(plain[column]) and plain[column].dt.tz is None:
            plain[column] = plain[column].dt.date
    plain = plain.astype(object)
    return plain.where(plain.notna(), None).to_dict("records")


def _copy(connection: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """COPY ``frame`` into ``table`` as CSV written by Arrow (no per-row Python work)."""
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    for i, arrow_field in enumerate(arrow.schema):
        if pa.types.is_timestamp(arrow_field.type) and arrow_field.type.tz is None:
            arrow = arrow.set_column(i, arrow_field.name, arrow.column(i).cast(pa.date32()))
    # An Arrow-native sink: writing through a Python file object from Arrow's threads has been
    # seen to hand PostgreSQL zeroed bytes while another Python thread was running.
    sink = pa.BufferOutputStream()
    pacsv.write_csv(arrow, sink, pacsv.WriteOptions(include_header=False))
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(memoryview(sink.getvalue()))
    cursor.close()


def insert_frame(connection: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Insert every row of ``frame`` (columns named as in ``table``) into ``table``.

    Naive datetime columns are dates; missing values become NULL.
    """
    if frame.empty:
        return
    if connection.dialect.name == "postgresql":
        _copy(connection, table, frame)
    else:
        connection.execute(table.insert(), _python_rows(frame))
