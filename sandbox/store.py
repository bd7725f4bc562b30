"""The API store: the SQLite file the sandbox server serves the API agencies' records from."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_records (
    source_id TEXT NOT NULL,
    row_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (source_id, row_id)
);
CREATE INDEX IF NOT EXISTS ix_api_records_order ON api_records (source_id, updated_at, row_id);
"""


def json_number(value: Any) -> Any:
    """``json.dumps`` fallback: amounts as JSON numbers (integers where whole)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class ApiStore:
    """The records each API agency has delivered, ordered by ``updated_at`` then row id.

    Timestamps are ISO strings with the same +08:00 offset, so string order is time order.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path)) as conn, conn:
            yield conn

    def create(self) -> None:
        """Create the store's table if it does not exist yet."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    def has_day(self, source_id: str, day: date) -> bool:
        """Whether ``source_id``'s delivery of ``day`` is already in the store."""
        with self._connect() as conn:
            found = conn.execute(
                "SELECT 1 FROM api_records WHERE source_id = ? AND row_id LIKE ? LIMIT 1",
                (source_id, f"{day:%Y%m%d}-%"),
            ).fetchone()
        return found is not None

    def add(self, source_id: str, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Store ``(row_id, updated_at, record)`` rows of ``source_id``."""
        with self._connect() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO api_records VALUES (?, ?, ?, ?)",
                [
                    (source_id, row_id, updated_at, json.dumps(record, default=json_number))
                    for row_id, updated_at, record in rows
                ],
            )

    def query(
        self,
        source_id: str,
        since: str | None = None,
        until: str | None = None,
        after: tuple[str, str] | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> tuple[list[dict[str, Any]], int, tuple[str, str] | None]:
        """One page of ``source_id``'s records, in stable order.

        Args:
            source_id: the agency.
            since: only records updated after this timestamp (exclusive).
            until: only records updated at or before this timestamp (inclusive).
            after: keyset position ``(updated_at, row_id)``: only records after it.
            offset: records to skip.
            limit: the page size.

        Returns:
            The records, the number matching ``since``/``until`` in all, and the keyset position
            of the page's last record (``None`` for an empty page).
        """
        where, params = ["source_id = ?"], [source_id]
        if since:
            where.append("updated_at > ?")
            params.append(since)
        if until:
            where.append("updated_at <= ?")
            params.append(until)
        window = " AND ".join(where)
        page_where = window + (" AND (updated_at, row_id) > (?, ?)" if after else "")
        page_params = [*params, *(after or ())]
        with self._connect() as conn:
            (total,) = conn.execute(
                f"SELECT count(*) FROM api_records WHERE {window}", params
            ).fetchone()
            rows = conn.execute(
                f"SELECT updated_at, row_id, payload FROM api_records WHERE {page_where} "
                "ORDER BY updated_at, row_id LIMIT ? OFFSET ?",
                [*page_params, limit, offset],
            ).fetchall()
        last = (rows[-1][0], rows[-1][1]) if rows else None
        return [json.loads(payload) for _, _, payload in rows], total, last
