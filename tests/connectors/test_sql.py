from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from connectors.base import RawPage, ReadRequest, SourceError
from connectors.connections import Connection
from connectors.specs import SqlConnector
from connectors.sql import SqlReader

metadata = sa.MetaData()
permits = sa.Table(
    "xzxk_permits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("name", sa.String(50)),
    sa.Column("amount", sa.Numeric(12, 2)),
    sa.Column("issued", sa.Date),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("note", sa.String(50), nullable=True),
)


def row(i: int, updated_at: datetime) -> dict[str, Any]:
    return {
        "id": i,
        "seq": 100 + i,
        "name": f"企业{i}",
        "amount": Decimal(f"{i}234.50"),
        "issued": date(2026, 11, i),
        "updated_at": updated_at,
        "note": None,
    }


FIRST_ROWS = [row(i, datetime(2026, 11, 3, 9, i)) for i in range(1, 6)]


@pytest.fixture(params=["sqlite", "mysql", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Connection, str]]:
    """A database holding ``FIRST_ROWS``: its connection, and its URL to add rows through.

    The connection is given by its parts, as an Airflow connection would be.
    """
    if request.param == "sqlite":
        path = tmp_path / "exchange.db"
        url = f"sqlite:///{path}"
        connection = Connection("exchange", conn_type="sqlite", host=str(path))
    else:
        fixture = {"mysql": "mariadb_url", "postgres": "postgres_url"}[request.param]
        url = request.getfixturevalue(fixture)
        parts = sa.make_url(url)
        connection = Connection(
            "exchange",
            conn_type=request.param,
            host=parts.host or "",
            port=parts.port,
            login=parts.username or "",
            schema=parts.database or "",
        )
    insert(url, FIRST_ROWS, create=True)
    yield connection, url


def insert(url: str, rows: list[dict[str, Any]], create: bool = False) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if create:
                metadata.create_all(conn)
            conn.execute(permits.insert(), rows)
    finally:
        engine.dispose()


def make_reader(connection: Connection, **fields: Any) -> SqlReader:
    spec = SqlConnector(connection="exchange", table="xzxk_permits", **fields)
    return SqlReader("xzxk", spec, connection)


def read_all(reader: SqlReader, request: ReadRequest | None = None) -> list[RawPage]:
    return list(reader.pages(request or ReadRequest()))


def ids_of(pages: list[RawPage]) -> list[int]:
    return [int(i) for page in pages for i in page.frame.get("id", [])]


def test_timestamp_cursor_reads_all_then_again_from_a_day_behind_it(
    database: tuple[Connection, str],
) -> None:
    connection, url = database
    reader = make_reader(connection, cursor_column="updated_at")

    first = read_all(reader)
    insert(url, [row(6, datetime(2026, 11, 3, 10, 0)), row(7, datetime(2026, 11, 3, 10, 1))])
    second = read_all(reader, ReadRequest(cursor=first[-1].cursor))

    assert ids_of(first) == [1, 2, 3, 4, 5]
    assert first[-1].cursor == "2026-11-03 09:05:00"
    assert first[0].frame.iloc[0].to_dict() == {
        "id": 1,
        "seq": 101,
        "name": "企业1",
        "amount": "1234.50",
        "issued": "2026-11-01",
        "updated_at": "2026-11-03 09:01:00",
        "note": None,
    }
    assert ids_of(second) == [1, 2, 3, 4, 5, 6, 7]
    assert list(second[0].behind_cursor) == [True] * 5 + [False] * 2
    assert second[-1].cursor == "2026-11-03 10:01:00"


def test_sequence_cursor_reads_rows_above_it(database: tuple[Connection, str]) -> None:
    connection, url = database
    reader = make_reader(connection, cursor_column="seq", cursor_kind="sequence")

    pages = read_all(reader, ReadRequest(cursor="103"))
    insert(url, [row(6, datetime(2026, 11, 1, 0, 0))])  # an old update time: seq still counts
    later = read_all(reader, ReadRequest(cursor=pages[-1].cursor))

    assert ids_of(pages) == [4, 5]
    assert pages[-1].cursor == "105"
    assert ids_of(later) == [6]
    assert later[-1].cursor == "106"


@pytest.mark.parametrize(
    "window_end",
    [
        datetime(2026, 11, 3, 9, 3),
        datetime(2026, 11, 3, 9, 3, tzinfo=ZoneInfo("Asia/Shanghai")),
        datetime(2026, 11, 3, 1, 3, tzinfo=UTC),
    ],
    ids=["naive-local", "shanghai", "utc"],
)
def test_window_end_excludes_rows_updated_at_or_after_it(
    database: tuple[Connection, str], window_end: datetime
) -> None:
    connection, _ = database
    reader = make_reader(connection, cursor_column="updated_at", lookback=timedelta(0))

    pages = read_all(reader, ReadRequest(cursor="2026-11-03 09:01:00", window_end=window_end))

    assert ids_of(pages) == [1, 2]  # the cursor's own instant is read again
    assert pages[-1].cursor == "2026-11-03 09:02:00"


def test_rows_come_in_chunks(database: tuple[Connection, str]) -> None:
    connection, _ = database
    reader = make_reader(connection, cursor_column="updated_at", chunk_size=2)

    pages = read_all(reader)

    assert [len(p.frame) for p in pages] == [2, 2, 1]
    assert [p.cursor for p in pages] == [
        "2026-11-03 09:02:00",
        "2026-11-03 09:04:00",
        "2026-11-03 09:05:00",
    ]
    assert pages[1].origin == "xzxk_permits rows 3-4 (updated_at up to 2026-11-03 09:04:00)"


def test_nothing_new_reads_only_the_cursors_instant_and_keeps_it(
    database: tuple[Connection, str],
) -> None:
    connection, _ = database
    reader = make_reader(connection, cursor_column="updated_at", lookback=timedelta(0))

    pages = read_all(reader, ReadRequest(cursor="2026-11-03 09:05:00"))

    assert ids_of(pages) == [5]
    assert list(pages[0].behind_cursor) == [True]
    assert pages[0].cursor == "2026-11-03 09:05:00"


def test_missing_table_is_a_source_error(database: tuple[Connection, str]) -> None:
    connection, _ = database
    spec = SqlConnector(connection="exchange", table="no_such_table", cursor_column="updated_at")

    with pytest.raises(SourceError, match=r"^source xzxk: table no_such_table does not exist$"):
        read_all(SqlReader("xzxk", spec, connection))


def test_missing_cursor_column_is_a_source_error(database: tuple[Connection, str]) -> None:
    connection, _ = database

    with pytest.raises(SourceError, match="has no cursor column 'changed_at'"):
        read_all(make_reader(connection, cursor_column="changed_at"))


def test_unreachable_database_is_a_source_error() -> None:
    connection = Connection("exchange", conn_type="mysql", host="127.0.0.1", port=9, password="pw")

    with pytest.raises(SourceError, match=r"database error: .*Can't connect") as raised:
        read_all(make_reader(connection, cursor_column="updated_at"))

    assert "pw" not in str(raised.value).replace("password", "")


def test_sqlalchemy_url_in_extra_wins(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    insert(f"sqlite:///{path}", FIRST_ROWS[:1], create=True)
    connection = Connection(
        "exchange", conn_type="mysql", extra={"sqlalchemy_url": f"sqlite:///{path}"}
    )

    assert ids_of(read_all(make_reader(connection, cursor_column="updated_at"))) == [1]
