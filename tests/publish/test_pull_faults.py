"""What a client can send the pull API: any method, any header, any id; logged, never a 500.

Over real HTTP, on SQLite and PostgreSQL (whose columns have lengths SQLite does not enforce).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.core import clock
from hub.publish.api import create_app
from hub.publish.publisher import publish
from hub.publish.pulls import Pull, record_pull
from hub.publish.tokens import issue_token
from hub.store.publish_schema import delta_file, delta_manifest, pull_log
from tests.publish.conftest import DAY, ChangeLog, local
from tests.publish.http import raw_get, served

pytestmark = pytest.mark.integration


@dataclass
class Api:
    """Three published days (63 files), wenzhou's token, the API up."""

    engine: sa.Engine
    url: str
    token: str

    def send(
        self, target: str, *, method: str = "GET", headers: dict[str, str] | None = None
    ) -> int:
        status, _, _ = raw_get(
            self.url, target, f"Bearer {self.token}", method=method, headers=headers
        )
        return status

    def file_id(self, site: str, file_format: str = "csv") -> int:
        with self.engine.connect() as connection:
            return connection.scalar(
                sa.select(sa.func.max(delta_file.c.id))
                .join(delta_manifest)
                .where(delta_manifest.c.site_id == site, delta_file.c.format == file_format)
            )

    def logged_since(self, before: int) -> list[tuple]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(
                    pull_log.c.site_id,
                    pull_log.c.method,
                    pull_log.c.path,
                    pull_log.c.file_id,
                    pull_log.c.status,
                    pull_log.c.client,
                )
                .where(pull_log.c.id > before)
                .order_by(pull_log.c.id)
            )
            return [tuple(row) for row in rows]

    def last_logged(self) -> int:
        with self.engine.connect() as connection:
            return connection.scalar(sa.select(sa.func.max(pull_log.c.id))) or 0


@pytest.fixture
def api(log: ChangeLog, delta_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.delenv("HUB_PULL_TRUSTED_PROXIES", raising=False)
    for day in (DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)):
        log.apply(local(day, 10), 30)
        publish(day, log.engine)
    with log.engine.begin() as connection:
        token = issue_token(connection, "wenzhou")
    with served(create_app(log.engine, delta_dir)) as url:
        yield Api(log.engine, url, token)


def test_every_request_is_logged_whatever_its_method_and_headers(api: Api) -> None:
    own = api.file_id("wenzhou")
    long_forwarded = "203.0.113.9, " + ", ".join(f"10.0.{n}.1" for n in range(40))
    before = api.last_logged()

    assert api.send(f"/files/{own}", method="MKCALENDAR") == 405
    assert api.send(f"/files/{own}", method="UNSUBSCRIBE") == 405
    assert api.send(f"/files/{own}", headers={"X-Forwarded-For": long_forwarded}) == 200
    assert api.send("/sites/wenzhou/deltas?since=1", headers={"X-Forwarded-For": "1.2.3.4"}) == 200

    path = f"/files/{own}"
    assert api.logged_since(before) == [
        ("wenzhou", "MKCALENDAR", path, None, 405, "127.0.0.1"),
        ("wenzhou", "UNSUBSCRIBE", path, None, 405, "127.0.0.1"),
        ("wenzhou", "GET", path, own, 200, "127.0.0.1"),
        ("wenzhou", "GET", "/sites/wenzhou/deltas", None, 200, "127.0.0.1"),
    ]


def test_a_pull_longer_than_its_columns_is_cut_to_fit_and_a_lost_database_fails_no_request(
    platform_engine: sa.Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Methods as h11 lets through (httptools refuses unknown ones before the app sees them).
    pull = Pull(clock.now(), None, "X-" + "A" * 40, "/" + "p" * 600, None, 405, 0, "c" * 300)

    record_pull(platform_engine, pull)
    record_pull(sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'hub.db'}"), pull)

    with platform_engine.connect() as connection:
        row = connection.execute(sa.select(pull_log)).one()
    assert (row.method, row.path, row.client) == (
        ("X-" + "A" * 40)[:32],
        ("/" + "p" * 600)[:512],
        "c" * 64,
    )
    (lost,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert lost.getMessage().startswith("pull not recorded in pull_log [reason=")
    assert "unable to open database file" in lost.getMessage()
    assert f"method=X-{'A' * 30}" in lost.getMessage()


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = api.file_id("wenzhou")
    before = api.last_logged()
    forwarded = {"X-Forwarded-For": "spoofed-by-the-client, 198.51.100.7, 10.1.2.3"}
    garbage = {"X-Forwarded-For": "x" * 300}

    api.send(f"/files/{own}", headers=forwarded)  # no trusted proxy: the peer
    monkeypatch.setenv("HUB_PULL_TRUSTED_PROXIES", "10.0.0.0/8")
    api.send(f"/files/{own}", headers=forwarded)  # the peer, 127.0.0.1, is no trusted proxy
    monkeypatch.setenv("HUB_PULL_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    api.send(f"/files/{own}", headers=forwarded)  # the first address no trusted proxy added
    api.send(f"/files/{own}", headers={"X-Forwarded-For": "10.9.9.9"})  # only proxies
    api.send(f"/files/{own}", headers=garbage)  # what the proxy passed on, cut to fit
    api.send(f"/files/{own}")  # no header: the proxy itself
    monkeypatch.setenv("HUB_PULL_TRUSTED_PROXIES", "127.0.0.1, the-proxy")
    api.send(f"/files/{own}", headers=forwarded)  # an unusable setting believes nobody

    logged = api.logged_since(before)
    assert [(row[4], row[5]) for row in logged] == [
        (200, "127.0.0.1"),
        (200, "127.0.0.1"),
        (200, "198.51.100.7"),
        (200, "10.9.9.9"),
        (200, "x" * 64),
        (200, "127.0.0.1"),
        (200, "127.0.0.1"),
    ]


def test_ids_and_since_are_ascii_digits_in_range_or_a_4xx(api: Api) -> None:
    own = api.file_id("wenzhou")
    assert own >= 58
    before = api.last_logged()
    refused = {
        "/files/%C2%B2": 404,  # ²
        "/files/%E2%91%A0": 404,  # ①
        "/files/%EF%BC%95%EF%BC%98": 404,  # ５８, which int() reads as 58
        "/files/%D9%A5%D9%A8": 404,  # ٥٨, Arabic-Indic digits
        "/files/0": 404,
        "/files/2147483648": 404,
        "/files/" + "9" * 5000: 404,
        "/files/+58": 404,
        "/sites/wenzhou/deltas?since=2147483648": 422,
        "/sites/wenzhou/deltas?since=99999999999999999999999": 422,
        "/sites/wenzhou/deltas?since=%EF%BC%95%EF%BC%98": 422,
        "/sites/wenzhou/deltas?since=%C2%B2": 422,
        "/sites/wenzhou/deltas?since=%2B1": 422,  # +1
        "/sites/wenzhou/deltas?since=1_0": 422,
        "/sites/wenzhou/deltas?since=1.0": 422,
        "/sites/wenzhou/deltas?since=-1": 422,
        "/sites/wenzhou/deltas?limit=%EF%BC%95": 422,
    }
    answers = {target: api.send(target) for target in refused}

    assert answers == refused
    assert api.send("/files/58") in (200, 403)
    assert api.send(f"/files/{own:010d}") == 200  # leading zeros are still ASCII digits
    assert api.send("/sites/wenzhou/deltas?since=2147483647") == 200
    logged = api.logged_since(before)
    assert [row[4] for row in logged[: len(refused)]] == list(refused.values())
    assert all(row[3] is None for row in logged[: len(refused)])
