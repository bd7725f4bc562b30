"""Issuing a site token while another run issues one: exactly one live token stays, the later."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from hub.publish.tokens import issue_token, site_of_token
from hub.store.db import make_engine, upgrade
from hub.store.publish_schema import site_token

pytestmark = pytest.mark.integration


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _wait_until_blocked(engine: sa.Engine, other_than: int) -> None:
    """Until a session other than ``other_than`` waits for a lock (the second run is waiting)."""
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> :pid"
    )
    deadline = time.monotonic() + 30
    with engine.connect() as connection:
        while not connection.execute(waiting, {"pid": other_than}).scalar():
            assert time.monotonic() < deadline, "the second run never waited for the first"
            connection.rollback()
            time.sleep(0.05)


def test_two_overlapping_token_runs_leave_exactly_one_live_token(
    postgres_engine: sa.Engine,
) -> None:
    with postgres_engine.begin() as connection:
        old = issue_token(connection, "wenzhou")
    second: list[str] = []

    def second_run() -> None:
        with postgres_engine.begin() as connection:
            second.append(issue_token(connection, "wenzhou"))

    with postgres_engine.connect() as first_run:
        pid = first_run.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        first = issue_token(first_run, "wenzhou")  # not committed yet
        thread = threading.Thread(target=second_run)
        thread.start()
        _wait_until_blocked(postgres_engine, pid)
        first_run.commit()
    thread.join(timeout=30)

    with postgres_engine.connect() as connection:
        live = connection.scalar(
            sa.select(sa.func.count()).where(
                site_token.c.site_id == "wenzhou", site_token.c.revoked_at.is_(None)
            )
        )
        owners = [site_of_token(connection, token) for token in (old, first, *second)]
    assert live == 1
    assert owners == [None, None, "wenzhou"]
