"""Fault 7: rows an agency commits late, with an update time at or below the stored cursor, load.

After a collect, the agency commits one row stamped with the cursor's own instant and one stamped
earlier (its nightly copy keeps the business time). The next collect reads them through the
source's look-back; the rows it read again unchanged are skipped by their fingerprint and counted
apart (``reread``), not landed twice. For the exchange database on MariaDB and for an HTTP API
with ``since_param`` over loopback; the platform on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from hub import jobs
from hub.collect.run import BatchSummary
from hub.store.schema import RECORD_TABLES, ingest_batch, raw_record, source_cursor
from sandbox.agencies import get_agency
from sandbox.exchange import exchange_table
from sandbox.store import json_number
from tests.connectors.conftest import FakeApi
from tests.faults.conftest import API_SOURCE, DAY, clean_rows
from tests.loopback_http import Answer, Seen

pytestmark = pytest.mark.integration

DB_SOURCE = "zj_yjt_penalty_db"
ARRIVAL = datetime(2026, 11, 3, 20, tzinfo=UTC)


def _collect(source_id: str) -> BatchSummary:
    outcome = jobs.collect(DAY, jobs.Runtime(), sources=[source_id], received_at=ARRIVAL)
    assert outcome.failures == {}
    (batch,) = outcome.batches
    return batch


def _platform(url: str, source_id: str) -> tuple[int, int, str, list[tuple]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            records = connection.scalar(
                sa.select(sa.func.count()).select_from(RECORD_TABLES["penalty"])
            )
            raw = connection.scalar(sa.select(sa.func.count()).select_from(raw_record))
            cursor = connection.scalar(
                sa.select(source_cursor.c.cursor).where(source_cursor.c.source_id == source_id)
            )
            b = ingest_batch.c
            figures = connection.execute(
                sa.select(b.n_read, b.n_inserted, b.n_unchanged, b.n_reread).order_by(b.id)
            ).all()
    finally:
        engine.dispose()
    return records, raw, cursor, [tuple(f) for f in figures]


def test_late_commits_in_the_exchange_database_are_read(
    mariadb_url: str, platform_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    agency = get_agency(DB_SOURCE)
    table = exchange_table(agency, sa.MetaData())
    rows = clean_rows(DAY, 5, DB_SOURCE)
    stamps = ["2026-11-03 10:00:00", "2026-11-03 10:30:00", "2026-11-03 11:00:00"]
    exchange = sa.create_engine(mariadb_url)
    connection = {"conn_type": "generic", "extra": {"sqlalchemy_url": mariadb_url}}
    monkeypatch.setenv("AIRFLOW_CONN_ZJ_YJT_EXCHANGE_DB", json.dumps(connection))

    def commit(index: int, stamp: str) -> None:
        with exchange.begin() as conn:
            conn.execute(
                table.insert(),
                [
                    {
                        "id": f"20261103-{index}",
                        **rows[index],
                        "update_time": datetime.fromisoformat(stamp),
                    }
                ],
            )

    try:
        table.create(exchange)
        for i, stamp in enumerate(stamps):
            commit(i, stamp)
        first = _collect(DB_SOURCE)
        commit(3, "2026-11-03 11:00:00")  # the cursor's own second, committed late
        commit(4, "2026-11-03 09:00:00")  # its business time, hours behind the cursor
        second = _collect(DB_SOURCE)
        third = _collect(DB_SOURCE)
    finally:
        exchange.dispose()

    assert (first.read, first.counts.inserted, first.reread) == (3, 3, 0)
    assert (second.read, second.counts.inserted, second.reread) == (2, 2, 3)
    assert (third.read, third.counts.inserted, third.reread) == (0, 0, 5)
    records, raw, cursor, figures = _platform(platform_env, DB_SOURCE)
    assert (records, raw, cursor) == (5, 5, "2026-11-03 11:00:00")
    assert figures == [(3, 3, 0, 0), (2, 2, 0, 3), (0, 0, 0, 5)]


def _serve(api: FakeApi, records: list[dict[str, Any]]) -> None:
    """An agency API filtering on ``GXSJ`` strictly after ``updated_since``, paged by offset."""

    @api.route("/sgs/xzcf")
    def page(seen: Seen) -> Answer:
        since, until = seen.query.get("updated_since"), seen.query.get("updated_until")
        chosen = [
            r
            for r in sorted(records, key=lambda r: r["GXSJ"])
            if (since is None or r["GXSJ"] > since) and (until is None or r["GXSJ"] < until)
        ]
        offset, limit = int(seen.query["offset"]), int(seen.query["limit"])
        body = {"rows": chosen[offset : offset + limit], "total": len(chosen)}
        return Answer(body=json.loads(json.dumps(body, default=json_number)))


def test_late_commits_behind_an_api_cursor_are_read(api: FakeApi, platform_env: str) -> None:
    rows = clean_rows(DAY, 5, API_SOURCE)
    stamps = ["2026-11-03T10:00:00+08:00", "2026-11-03T10:30:00+08:00", "2026-11-03T11:00:00+08:00"]
    records = [{**row, "GXSJ": stamp} for row, stamp in zip(rows, stamps, strict=False)]
    _serve(api, records)

    first = _collect(API_SOURCE)
    records.append({**rows[3], "GXSJ": "2026-11-03T11:00:00+08:00"})
    records.append({**rows[4], "GXSJ": "2026-11-03T09:00:00+08:00"})
    second = _collect(API_SOURCE)

    assert api.requests_to("/sgs/xzcf")[-1].query["updated_since"] == "2026-11-02T11:00:00+08:00"
    assert (first.read, first.counts.inserted, first.reread) == (3, 3, 0)
    assert (second.read, second.counts.inserted, second.reread) == (2, 2, 3)
    records_stored, raw, cursor, figures = _platform(platform_env, API_SOURCE)
    assert (records_stored, raw, cursor) == (5, 5, "2026-11-03T11:00:00+08:00")
    assert figures == [(3, 3, 0, 0), (2, 2, 0, 3)]
