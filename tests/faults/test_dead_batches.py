"""Fault 3: a batch whose process died is found, shown as failed with what to do, and reaped.

A real ``hub collect`` subprocess is killed (``kill -9``) while its agency's API holds the answer
to its first page; a batch owned by another host is seen through its lease, the clock moved past
it. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub import jobs
from hub.cli.main import app
from hub.collect.lease import LEASE, Heartbeat
from hub.core.clock import OFFSET_VARIABLE
from hub.store.schema import ingest_batch, raw_record
from tests.connectors.conftest import FakeApi
from tests.faults.conftest import API_SOURCE, DAY
from tests.loopback_http import Answer, Seen

pytestmark = pytest.mark.integration

HUB = Path(sys.executable).with_name("hub")


def _status() -> dict:
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _source(document: dict, source_id: str) -> dict:
    return next(s for s in document["sources"] if s["source_id"] == source_id)


def _batches(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as connection:
        b = ingest_batch.c
        return connection.execute(sa.select(b.id, b.status, b.error).order_by(b.id)).all()


@pytest.fixture
def held_api(api: FakeApi) -> tuple[FakeApi, threading.Event]:
    """The API holds its answer until the test releases it; ``asked`` tells a request came."""
    asked, release = threading.Event(), threading.Event()

    @api.route("/sgs/xzcf")
    def page(seen: Seen) -> Answer:
        asked.set()
        release.wait(120)
        return Answer(body={"rows": [], "total": 0})

    api.asked = asked  # type: ignore[attr-defined]
    yield api, release
    release.set()


def test_a_killed_collect_is_shown_failed_and_the_next_run_marks_it(
    held_api: tuple[FakeApi, threading.Event],
    platform_env: str,
) -> None:
    api, release = held_api
    collecting = subprocess.Popen(
        [str(HUB), "collect", "--date", DAY.isoformat(), "--source", API_SOURCE],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert api.asked.wait(120), "the collecting process never asked the API"  # type: ignore[attr-defined]
        # Alive and waiting on its agency: running, and no problem.
        document = _status()
        assert _source(document, API_SOURCE)["status"] == "running"
        assert not [p for p in document["problems"] if API_SOURCE in p]
    finally:
        collecting.send_signal(signal.SIGKILL)
        collecting.wait()
    release.set()

    document = _status()
    source = _source(document, API_SOURCE)
    expected = (
        f"source {API_SOURCE}: batch 1 of {DAY} died while running (its process "
        f"{collecting.pid} on "
    )
    assert source["status"] == "failed"
    assert source["error"].startswith(expected)
    assert source["error"].endswith(
        f"nothing of it was loaded: collect the day again "
        f"(hub collect --date {DAY} --source {API_SOURCE})"
    )
    assert [p for p in document["problems"] if API_SOURCE in p] == [
        f"source {API_SOURCE}: batch 1 failed (1 in a row; last success never): {source['error']}"
    ]

    engine = sa.create_engine(platform_env)
    try:
        assert _batches(engine)[0][1] == "running"  # hub status only reads
        arrival = datetime(DAY.year, DAY.month, DAY.day, 20, tzinfo=UTC)
        outcome = jobs.collect(DAY, jobs.Runtime(), sources=[API_SOURCE], received_at=arrival)
        assert outcome.warnings == [source["error"]]
        assert [(b[0], b[1]) for b in _batches(engine)] == [(1, "failed"), (2, "succeeded")]
        assert _batches(engine)[0][2] == source["error"]
    finally:
        engine.dispose()
    document = _status()
    assert _source(document, API_SOURCE)["status"] == "succeeded"
    assert not [p for p in document["problems"] if API_SOURCE in p]


def test_a_batch_of_another_host_dies_when_its_lease_lapses(
    platform_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = datetime.now(UTC)
    engine = sa.create_engine(platform_env)
    try:
        with engine.begin() as connection:
            connection.execute(
                ingest_batch.insert().values(
                    source_id=API_SOURCE,
                    logical_date=DAY,
                    status="running",
                    started_at=started,
                    owner="worker-7.elsewhere:4242:1700000000",
                    lease_expires_at=started + LEASE,
                )
            )
        document = _status()
        assert _source(document, API_SOURCE)["status"] == "running"

        monkeypatch.setenv(OFFSET_VARIABLE, str((LEASE + timedelta(minutes=1)).total_seconds()))
        document = _status()
        error = _source(document, API_SOURCE)["error"]
        assert _source(document, API_SOURCE)["status"] == "failed"
        assert "died while running (its lease expired at " in error
        assert "with no heartbeat from worker-7.elsewhere)" in error
    finally:
        engine.dispose()


@pytest.mark.parametrize("platform_url", ["postgresql"], indirect=True)
def test_the_heartbeat_renews_the_lease_while_the_batch_is_loading(
    platform_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = datetime.now(UTC)
    # A renewal that waited on the loading transaction would fail after 5 s, not hang.
    engine = sa.create_engine(platform_env, connect_args={"options": "-c lock_timeout=5000"})
    try:
        with engine.begin() as connection:
            batch_id = connection.execute(
                ingest_batch.insert()
                .values(
                    source_id=API_SOURCE,
                    logical_date=DAY,
                    status="running",
                    started_at=started,
                    lease_expires_at=started + LEASE,
                )
                .returning(ingest_batch.c.id)
            ).scalar_one()
        with engine.connect() as loading, loading.begin():
            loading.execute(
                raw_record.insert().values(
                    batch_id=batch_id,
                    seq=0,
                    source_id=API_SOURCE,
                    origin="page 1",
                    payload="{}",
                    payload_sha256="0" * 64,
                    received_at=started,
                    outcome="loaded",
                )
            )
            monkeypatch.setenv(OFFSET_VARIABLE, "3600")
            Heartbeat(engine, batch_id).renew()
            with engine.connect() as connection:
                lease = connection.scalar(
                    sa.select(ingest_batch.c.lease_expires_at).where(ingest_batch.c.id == batch_id)
                )
        assert lease > started + LEASE + timedelta(minutes=59)
    finally:
        engine.dispose()
