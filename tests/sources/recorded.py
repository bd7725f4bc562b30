"""A source's recorded page, and the real transport that delivers it to the connector.

A source's fixture folder is ``tests/fixtures/sources/<source id>/`` (or the same below
``HUB_SOURCE_FIXTURES_DIR``). It holds one delivery as the agency sends it and
``expected.yaml``:

| connector | the recorded page |
|---|---|
| ``http`` | ``page.json``: the JSON body the API answers to the first page request |
| ``sql`` | ``table.json``: ``columns`` (name → SQL type, in table order) and ``rows`` |
| ``file`` | the dropped file(s), named as dropped (they must match the connector's ``pattern``) |

``expected.yaml`` gives ``day`` (the delivery day the page is collected for), ``records``
(per record ordinal, 1 = the first record, the rules it fails; ``[]`` when it loads) and
optionally ``drift`` (schema drift the page is known to show). ``hub sandbox record`` writes
these files for a source with a sandbox twin; docs/sources.md ("Contract tests") says how to
write them by hand.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import sqlalchemy as sa
import yaml

from connectors.specs import (
    BearerAuth,
    FileConnector,
    HttpConnector,
    OffsetPagination,
    PageNumberPagination,
    SqlConnector,
    TokenEndpointAuth,
)
from hub.collect.sources import SourceSpec
from hub.core.settings import PROJECT_ROOT
from tests.loopback_http import Answer, Seen, serving

FIXTURES_DIR = Path(
    os.environ.get("HUB_SOURCE_FIXTURES_DIR", PROJECT_ROOT / "tests" / "fixtures" / "sources")
).resolve()
PAGE_FILE = "page.json"
TABLE_FILE = "table.json"
EXPECTED_FILE = "expected.yaml"
MIN_RECORDS, MAX_RECORDS = 5, 20
LOGIN = "contract-test"
SECRET = "recorded-page-secret"  # the loopback API's credential: protects nothing
TOKEN = "recorded-page-token"


class MissingRecordingError(LookupError):
    """A source has no usable recorded page; the message says what to record and where."""


@dataclass(frozen=True)
class Expected:
    """What ``expected.yaml`` says of the recorded page.

    Attributes:
        day: the delivery day the page is collected for.
        verdicts: per record ordinal (1 = first), the rules the record fails.
        drift: the schema drift the page is known to show.
    """

    day: date
    verdicts: dict[int, frozenset[str]]
    drift: tuple[str, ...] = ()

    @property
    def quarantined(self) -> set[int]:
        """The ordinals of the records some rule must quarantine."""
        return {ordinal for ordinal, rules in self.verdicts.items() if rules}


@dataclass(frozen=True)
class Recorded:
    """A source's recorded page: its page files and what is expected of it."""

    spec: SourceSpec
    files: tuple[Path, ...]
    expected: Expected


def shown(path: Path) -> str:
    """``path`` relative to the project where it lies inside it (for messages)."""
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def _what_to_record(spec: SourceSpec) -> str:
    connector = spec.connector
    if isinstance(connector, HttpConnector):
        return (
            f"{PAGE_FILE} (the JSON body its API answers to the first page request of "
            f"{connector.path}, records under {connector.records_path!r}, and saying it is the "
            "last page)"
        )
    if isinstance(connector, SqlConnector):
        return (
            f"{TABLE_FILE} (the rows of table {connector.table} in "
            f"{connector.cursor_column} order, with the SQL type of each column)"
        )
    return (
        f"the file its agency drops into {connector.folder}/, under its own name "
        f"(matching {connector.pattern!r})"
    )


def missing(spec: SourceSpec, folder: Path, problem: str) -> MissingRecordingError:
    """The error for a source whose recorded page is missing or unusable."""
    return MissingRecordingError(
        f"source {spec.id}: {problem}. Record one delivery of {MIN_RECORDS}-{MAX_RECORDS} "
        f"records into {shown(folder)}/: {_what_to_record(spec)}, and {EXPECTED_FILE} (day: the "
        "delivery day; records: per record ordinal, the rules it fails, [] when it loads). "
        f"`hub sandbox record --source {spec.id}` records it when the sandbox has a twin; "
        'otherwise write it by hand (docs/sources.md, "Contract tests").'
    )


def page_files(spec: SourceSpec, folder: Path) -> tuple[Path, ...]:
    """The files of the recorded page in ``folder`` (none when they are missing)."""
    connector = spec.connector
    if isinstance(connector, HttpConnector):
        names = [folder / PAGE_FILE]
    elif isinstance(connector, SqlConnector):
        names = [folder / TABLE_FILE]
    else:
        names = sorted(p for p in folder.glob(connector.pattern) if p.is_file())
    return tuple(p for p in names if p.is_file())


def load_recorded(spec: SourceSpec, fixtures_dir: Path = FIXTURES_DIR) -> Recorded:
    """The recorded page of ``spec``.

    Raises:
        MissingRecordingError: the folder, the page or ``expected.yaml`` is missing or malformed.
    """
    folder = fixtures_dir / spec.id
    if not folder.is_dir():
        raise missing(spec, folder, f"no recorded page: {shown(folder)} does not exist")
    files = page_files(spec, folder)
    if not files:
        raise missing(spec, folder, f"{shown(folder)} holds no {_what_to_record(spec)}")
    if not (folder / EXPECTED_FILE).is_file():
        raise missing(spec, folder, f"{shown(folder)} has no {EXPECTED_FILE}")
    try:
        expected = _parse_expected(folder / EXPECTED_FILE)
    except (yaml.YAMLError, ValueError, TypeError, KeyError) as exc:
        raise missing(spec, folder, f"{EXPECTED_FILE} is malformed: {exc}") from None
    return Recorded(spec, files, expected)


def _parse_expected(path: Path) -> Expected:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    day = data["day"]
    if not isinstance(day, date):
        raise ValueError(f"day {day!r} is not a date (YYYY-MM-DD)")
    verdicts = {int(k): frozenset(v or ()) for k, v in (data["records"] or {}).items()}
    ordinals = sorted(verdicts)
    if ordinals != list(range(1, len(ordinals) + 1)):
        raise ValueError(f"records must be numbered 1, 2, 3...; found {ordinals}")
    if not MIN_RECORDS <= len(ordinals) <= MAX_RECORDS:
        raise ValueError(
            f"a recorded page holds {MIN_RECORDS}-{MAX_RECORDS} records, not {len(ordinals)}"
        )
    return Expected(day, verdicts, tuple(data.get("drift") or ()))


# --- what the agency sent, read without the connectors --------------------------------------


def sent_records(recorded: Recorded) -> list[dict[str, Any]]:
    """The records of the page as the agency sent them, in delivery order, read independently
    of the connectors: JSON as parsed, table rows as the SQL reader hands them on (date-times as
    ``YYYY-MM-DD HH:MM:SS``, decimals as text at the column's scale), file cells as text."""
    connector = recorded.spec.connector
    if isinstance(connector, HttpConnector):
        body = json.loads(recorded.files[0].read_text(encoding="utf-8"))
        return list(_dig(body, connector.records_path))
    if isinstance(connector, SqlConnector):
        table = json.loads(recorded.files[0].read_text(encoding="utf-8"))
        types = {name: _sql_type(text) for name, text in table["columns"].items()}
        rows = [_sql_row(row, types) for row in table["rows"]]
        return sorted(rows, key=lambda row: _cursor_order(row[connector.cursor_column]))
    return [row for path in recorded.files for row in _file_rows(connector, path)]


def _dig(body: Any, dotted_path: str) -> Any:
    """The value at ``a.b.c`` in nested JSON objects (``""``: the body itself)."""
    for key in filter(None, dotted_path.split(".")):
        body = body[key]
    return body


def _cursor_order(value: Any) -> Any:
    return value if isinstance(value, int) else str(value)


def _file_rows(connector: FileConnector, path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    if connector.format == "xlsx":
        workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        sheet = (
            workbook.worksheets[connector.sheet]
            if isinstance(connector.sheet, int)
            else workbook[connector.sheet]
        )
        header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        workbook.close()
        # A read-only sheet leaves out a row's empty cells at its end.
        return [
            dict(zip(header, row + [None] * (len(header) - len(row)), strict=True)) for row in rows
        ]
    text = _decoded(raw, connector.encoding)
    if connector.format == "jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    header, *rows = csv.reader(io.StringIO(text, newline=""), delimiter=connector.delimiter)
    return [dict(zip(header, row, strict=True)) for row in rows]


def _decoded(raw: bytes, encoding: str) -> str:
    if encoding != "auto":
        return raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def as_text(value: Any) -> str | None:
    """A received value in one comparable form: ``None`` for missing, whole floats as integers."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- exchange tables -------------------------------------------------------------------------

_SQL_TYPE = re.compile(r"^\s*([A-Za-z ]+?)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")
_SQL_TYPES: dict[str, Any] = {
    "VARCHAR": sa.String,
    "CHAR": sa.String,
    "NVARCHAR": sa.String,
    "TEXT": lambda *_: sa.Text(),
    "NUMERIC": sa.Numeric,
    "DECIMAL": sa.Numeric,
    "INTEGER": lambda *_: sa.Integer(),
    "INT": lambda *_: sa.Integer(),
    "BIGINT": lambda *_: sa.BigInteger(),
    "FLOAT": lambda *_: sa.Float(),
    "DOUBLE": lambda *_: sa.Double(),
    "DATE": lambda *_: sa.Date(),
    "DATETIME": lambda *_: sa.DateTime(),
    "TIMESTAMP": lambda *_: sa.DateTime(),
}


def _sql_type(text: str) -> sa.types.TypeEngine:
    found = _SQL_TYPE.match(text)
    name = found.group(1).upper() if found else ""
    if name not in _SQL_TYPES:
        raise ValueError(f"column type {text!r} is none of {', '.join(_SQL_TYPES)}")
    sizes = [int(n) for n in found.groups()[1:] if n is not None]
    return _SQL_TYPES[name](*sizes)


def _sql_row(row: dict[str, Any], types: dict[str, sa.types.TypeEngine]) -> dict[str, Any]:
    """A ``table.json`` row as the SQL reader hands it on."""
    handed_on = {}
    for name, value in row.items():
        kind = types[name]
        if value is not None and isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
            number = Decimal(str(value))
            value = str(
                number if kind.scale is None else number.quantize(Decimal(1).scaleb(-kind.scale))
            )
        elif value is not None and isinstance(kind, sa.DateTime):
            value = datetime.fromisoformat(value).isoformat(sep=" ")
        handed_on[name] = value
    return handed_on


def _stored(value: Any, kind: sa.types.TypeEngine) -> Any:
    """A ``table.json`` value as the database column takes it."""
    if value is None:
        return None
    if isinstance(kind, sa.DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, sa.Date):
        return date.fromisoformat(value)
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return Decimal(str(value))
    return value


def load_table(recorded: Recorded, database_url: str) -> None:
    """Create the source's exchange table in ``database_url`` and insert the recorded rows."""
    connector = recorded.spec.connector
    assert isinstance(connector, SqlConnector)
    if connector.schema_name:
        raise MissingRecordingError(
            f"source {recorded.spec.id} reads {connector.schema_name}.{connector.table}: the "
            "contract transport creates tables in the connection's own database only"
        )
    page = json.loads(recorded.files[0].read_text(encoding="utf-8"))
    types = {name: _sql_type(text) for name, text in page["columns"].items()}
    table = sa.Table(
        connector.table,
        sa.MetaData(),
        *(sa.Column(name, kind) for name, kind in types.items()),
        mysql_charset="utf8mb4",
    )
    engine = sa.create_engine(database_url)
    try:
        table.create(engine)
        rows = [{k: _stored(v, types[k]) for k, v in row.items()} for row in page["rows"]]
        with engine.begin() as connection:
            connection.execute(table.insert(), rows)
    finally:
        engine.dispose()


# --- file drops ------------------------------------------------------------------------------


def drop_files(recorded: Recorded, drop_root: Path) -> Path:
    """Drop the recorded file(s) into the source's folder below ``drop_root``; returns it."""
    connector = recorded.spec.connector
    assert isinstance(connector, FileConnector)
    folder = drop_root / connector.folder
    folder.mkdir(parents=True, exist_ok=True)
    for path in recorded.files:
        shutil.copyfile(path, folder / path.name)
    return folder


# --- the agency's API on loopback ------------------------------------------------------------


@dataclass
class RecordedApi:
    """The agency's API as far as one recorded page goes, served on loopback.

    It checks the source's declared authentication (401 otherwise), answers the recorded body to
    the first page request and 400 to any other (only one page was recorded), and keeps every
    request it received in ``seen``.
    """

    spec: HttpConnector
    body: bytes
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def connection(self) -> dict[str, Any]:
        """The Airflow connection (JSON form) pointing at this API, with its credentials."""
        return {
            "conn_type": "http",
            "login": LOGIN,
            "password": SECRET,
            "extra": {"base_url": f"{self.url}/agency"},
        }

    def answer(self, seen: Seen) -> Answer:
        """The agency's answer to ``seen`` (kept in ``seen``), always JSON."""
        with self.lock:
            self.seen.append(seen)
        status, body = self._answer(seen)
        return Answer(status, body, {"Content-Type": "application/json; charset=utf-8"})

    def _answer(self, seen: Seen) -> tuple[int, bytes]:
        auth = self.spec.auth
        if isinstance(auth, TokenEndpointAuth) and seen.path == f"/agency{auth.path}":
            return self._log_in(auth, seen.body)
        if seen.method != "GET" or seen.path != f"/agency{self.spec.path}":
            return 404, _json({"error": f"no {seen.method} {seen.path}"})
        if not self._authorised(seen.headers.get("Authorization")):
            return 401, _json({"error": "unauthorised"})
        if not self._first_page(seen.query):
            return 400, _json({"error": "only the first page was recorded"})
        return 200, self.body

    def _authorised(self, authorization: str | None) -> bool:
        auth = self.spec.auth
        if isinstance(auth, TokenEndpointAuth):
            return authorization == f"Bearer {TOKEN}"
        if isinstance(auth, BearerAuth):
            return authorization == f"Bearer {SECRET}"
        return True

    def _log_in(self, auth: TokenEndpointAuth, body: bytes) -> tuple[int, bytes]:
        credentials = json.loads(body or b"{}")
        if credentials.get(auth.username_field) != LOGIN or (
            credentials.get(auth.password_field) != SECRET
        ):
            return 401, _json({"error": "invalid credentials"})
        return 200, _json({auth.token_field: TOKEN})

    def _first_page(self, query: dict[str, str]) -> bool:
        pagination = self.spec.pagination
        if isinstance(pagination, PageNumberPagination):
            return query.get(pagination.page_param) == str(pagination.first_page)
        if isinstance(pagination, OffsetPagination):
            return query.get(pagination.offset_param) == "0"
        return pagination.cursor_param not in query


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


@contextmanager
def served_api(recorded: Recorded) -> Iterator[RecordedApi]:
    """Serve the recorded page on a free loopback port for the duration of the block."""
    connector = recorded.spec.connector
    assert isinstance(connector, HttpConnector)
    api = RecordedApi(connector, recorded.files[0].read_bytes())
    with serving(api.answer) as url:
        api.url = url
        yield api


# --- delivering the page over the source's transport -----------------------------------------

TRANSPORTS = {"http": ("loopback",), "sql": ("sqlite", "mariadb"), "file": ("folder",)}
"""The transports each connector type's page is delivered over in the read contract."""


@dataclass(frozen=True)
class Delivery:
    """The recorded page, delivered where the connector reads it.

    Attributes:
        connection: the Airflow connection (JSON form) that reaches it.
        api: the loopback API serving it (``http`` sources).
        drop_folder: the folder it was dropped into (``file`` sources).
    """

    connection: dict[str, Any]
    api: RecordedApi | None = None
    drop_folder: Path | None = None


@contextmanager
def delivered(
    recorded: Recorded, place: Path, database_url: str | None = None
) -> Iterator[Delivery]:
    """Deliver the recorded page over the source's real transport for the block.

    An API page is served on loopback; table rows go into ``database_url`` (default: a SQLite
    file in ``place``); files are dropped into a folder below ``place``.
    """
    connector = recorded.spec.connector
    if isinstance(connector, HttpConnector):
        with served_api(recorded) as api:
            yield Delivery(api.connection(), api=api)
    elif isinstance(connector, SqlConnector):
        url = database_url or f"sqlite:///{place / 'exchange.sqlite'}"
        load_table(recorded, url)
        yield Delivery({"conn_type": "generic", "extra": {"sqlalchemy_url": url}})
    else:
        drop_root = place / "drop"
        folder = drop_files(recorded, drop_root)
        yield Delivery({"conn_type": "fs", "extra": {"path": str(drop_root)}}, drop_folder=folder)
