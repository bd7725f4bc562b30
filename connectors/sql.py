"""Reading a table of an agency's exchange database (``SqlConnector``), incrementally."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa

from connectors.base import RawPage, ReadRequest, SourceError
from connectors.connections import Connection
from connectors.specs import SqlConnector
from hub.core.settings import settings

_DRIVERS = {
    "mysql": "mysql+pymysql",
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
}


def sqlalchemy_url(connection: Connection) -> str | sa.URL:
    """The SQLAlchemy URL of ``connection``: ``extra.sqlalchemy_url``, or built from its parts.

    Raises:
        ValueError: the connection type is none of ``mysql``, ``postgres``, ``sqlite``.
    """
    if connection.extra.get("sqlalchemy_url"):
        return str(connection.extra["sqlalchemy_url"])
    if connection.conn_type == "sqlite":
        return f"sqlite:///{connection.host or connection.schema}"
    if connection.conn_type not in _DRIVERS:
        raise ValueError(
            f"connection {connection.conn_id!r} has type {connection.conn_type!r}; use mysql, "
            "postgres or sqlite, or give extra.sqlalchemy_url"
        )
    return sa.URL.create(
        _DRIVERS[connection.conn_type],
        username=connection.login or None,
        password=connection.password or None,
        host=connection.host or None,
        port=connection.port,
        database=connection.schema or None,
    )


class SqlReader:
    """Reads the rows of a table above the stored cursor, in cursor order, chunk by chunk.

    Each ``RawPage`` holds up to ``chunk_size`` rows with their values as JSON-able Python values:
    date-times as ``YYYY-MM-DD HH:MM:SS`` text (with fractions of a second when the database
    has them), dates as ``YYYY-MM-DD``, decimals as text, numbers as numbers, ``NULL`` as ``None``.
    """

    def __init__(self, source_id: str, spec: SqlConnector, connection: Connection) -> None:
        self.source_id = source_id
        self.spec = spec
        self._connection = connection

    def pages(self, request: ReadRequest) -> Iterator[RawPage]:
        """Yield the rows from the look-back behind ``request.cursor``, below ``window_end``.

        Rows at or behind the stored cursor are marked in ``behind_cursor``.

        Raises:
            SourceError: the database is unreachable, or the table or its cursor column is
                missing.
        """
        try:
            engine = sa.create_engine(sqlalchemy_url(self._connection))
        except (ValueError, sa.exc.ArgumentError) as exc:
            raise SourceError(self.source_id, str(exc)) from None
        try:
            yield from self._read(engine, request)
        except sa.exc.DBAPIError as exc:
            raise SourceError(self.source_id, f"database error: {_first_line(exc.orig)}") from None
        finally:
            engine.dispose()

    def settle(self, page: RawPage, day: str) -> None:
        """Nothing to archive for a table."""

    def _read(self, engine: sa.Engine, request: ReadRequest) -> Iterator[RawPage]:
        table = self._reflect(engine)
        column = table.c[self.spec.cursor_column]
        query = sa.select(table).where(*self._bounds(column, request)).order_by(column)
        stored = self._stored(request.cursor, column)
        cursor = request.cursor
        rows_read = 0
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=self.spec.chunk_size)
            for chunk in result.execute(query).partitions():
                frame = pd.DataFrame(
                    [[_jsonable(v) for v in row] for row in chunk],
                    columns=list(table.c.keys()),
                    dtype=object,
                )
                values = [row._mapping[column] for row in chunk]
                cursor = self._advance_cursor(cursor, stored, values)
                first, rows_read = rows_read + 1, rows_read + len(chunk)
                origin = f"{table.fullname} rows {first}-{rows_read} ({column.name} up to {cursor})"
                behind = None
                if stored is not None:
                    behind = pd.Series([v is not None and v <= stored for v in values], dtype=bool)
                yield RawPage(frame=frame, origin=origin, cursor=cursor, behind_cursor=behind)

    def _reflect(self, engine: sa.Engine) -> sa.Table:
        name = (
            f"{self.spec.schema_name}.{self.spec.table}"
            if self.spec.schema_name
            else self.spec.table
        )
        try:
            table = sa.Table(
                self.spec.table, sa.MetaData(), schema=self.spec.schema_name, autoload_with=engine
            )
        except sa.exc.NoSuchTableError:
            raise SourceError(self.source_id, f"table {name} does not exist") from None
        if self.spec.cursor_column not in table.c:
            raise SourceError(
                self.source_id, f"table {name} has no cursor column {self.spec.cursor_column!r}"
            )
        return table

    def _bounds(self, column: sa.Column[Any], request: ReadRequest) -> list[sa.ColumnElement[bool]]:
        bounds: list[sa.ColumnElement[bool]] = []
        if self.spec.cursor_kind == "sequence":
            if request.cursor is not None:
                bounds.append(column > self._parse_sequence(request.cursor))
            return bounds
        if request.cursor is not None:
            # From the look-back behind the cursor, the cursor's own instant included: a row
            # committed after the last read with an earlier or equal time is read (and skipped
            # by its fingerprint if it was read before).
            since = self._parse_time(request.cursor) - self.spec.time_lookback
            bounds.append(column >= _as_column_time(since, column))
        if request.window_end is not None:
            bounds.append(column < _as_column_time(request.window_end, column))
        return bounds

    def _parse_sequence(self, cursor: str) -> int:
        try:
            return int(cursor)
        except ValueError:
            raise SourceError(
                self.source_id, f"sequence cursor {cursor!r} is not an integer"
            ) from None

    def _parse_time(self, cursor: str) -> dt.datetime:
        try:
            return dt.datetime.fromisoformat(cursor)
        except ValueError:
            raise SourceError(
                self.source_id, f"timestamp cursor {cursor!r} is not ISO 8601"
            ) from None

    def _stored(self, cursor: str | None, column: sa.Column[Any]) -> dt.datetime | None:
        """The stored time cursor as the column compares it (``None``: none, or a sequence)."""
        if cursor is None or self.spec.cursor_kind == "sequence":
            return None
        return _as_column_time(self._parse_time(cursor), column)

    def _advance_cursor(
        self, cursor: str | None, stored: dt.datetime | None, values: Sequence[Any]
    ) -> str | None:
        """The cursor after ``values``: their greatest, never behind the stored one."""
        present = [v for v in values if v is not None]
        if not present:
            return cursor
        greatest = max(present)
        if self.spec.cursor_kind == "sequence":
            return str(int(greatest))
        if stored is not None and greatest <= stored:
            return cursor
        return _jsonable(greatest)


def _as_column_time(moment: dt.datetime, column: sa.Column[Any]) -> dt.datetime:
    """``moment`` as the column compares it: naive exchange time unless the column has a zone.

    An exchange database keeps naive local time: the platform's time zone (``HUB_TIMEZONE``).
    """
    local = settings().timezone
    if isinstance(column.type, sa.DateTime) and column.type.timezone:
        return moment if moment.tzinfo else moment.replace(tzinfo=local)
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(local).replace(tzinfo=None)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().splitlines()[0] if error is not None and str(error).strip() else "?"
