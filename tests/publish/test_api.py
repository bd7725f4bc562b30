"""The pull API over real HTTP: listing and downloads, the auth matrix, traversal, the pull log."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.core.targets import pull_targets
from hub.publish.api import create_app
from hub.publish.config import PublishSettings
from hub.publish.publisher import publish
from hub.publish.tokens import issue_token
from hub.store.db import make_engine, upgrade
from hub.store.publish_schema import delta_file, delta_manifest, pull_log, site_token
from tests.publish.conftest import DAY, ChangeLog, local
from tests.publish.http import raw_get, served

pytestmark = pytest.mark.integration
CHALLENGE = 'Bearer realm="credit-deltas"'


@dataclass
class World:
    """Two published days, three sites' tokens (quzhou's first one rotated away), the API up."""

    engine: sa.Engine
    delta_dir: Path
    url: str
    tokens: dict[str, str]
    revoked: str

    def get(self, target: str, site: str | None = None) -> tuple[int, dict[str, str], bytes]:
        return raw_get(self.url, target, f"Bearer {self.tokens[site]}" if site else None)

    def file_id(self, site: str, sequence: int, file_format: str) -> int:
        with self.engine.connect() as connection:
            return connection.scalar(
                sa.select(delta_file.c.id)
                .join(delta_manifest)
                .where(
                    delta_manifest.c.site_id == site,
                    delta_manifest.c.sequence == sequence,
                    delta_file.c.format == file_format,
                )
            )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("api")
    engine = make_engine(f"sqlite:///{folder / 'hub.db'}")
    upgrade(engine)
    config = PublishSettings(folder / "deltas", 90, tuple(pull_targets()))
    log = ChangeLog(engine)
    for day in (DAY, DAY + timedelta(days=1)):
        log.apply(local(day, 10), 60)
        publish(day, engine, config)
    with engine.begin() as connection:
        tokens = {site: issue_token(connection, site) for site in ("wenzhou", "jiaxing")}
        revoked = issue_token(connection, "quzhou")
        tokens["quzhou"] = issue_token(connection, "quzhou")
    with served(create_app(engine, config.delta_dir)) as url:
        yield World(engine, config.delta_dir, url, tokens, revoked)
    engine.dispose()


def test_a_site_lists_its_sets_and_downloads_them_with_their_checksums(world: World) -> None:
    status, headers, body = world.get("/sites/wenzhou/deltas?since=0", "wenzhou")
    assert (status, headers["content-type"]) == (200, "application/json")
    listing = json.loads(body)
    assert [(d["sequence"], d["day"], d["expired"]) for d in listing["deltas"]] == [
        (1, "2026-11-03", False),
        (2, "2026-11-04", False),
    ]
    since_one = json.loads(world.get("/sites/wenzhou/deltas?since=1", "wenzhou")[2])
    assert [d["sequence"] for d in since_one["deltas"]] == [2]

    for delta in listing["deltas"]:
        assert [f["format"] for f in delta["files"]] == ["parquet", "csv", "manifest"]
        downloaded = {}
        for entry in delta["files"]:
            assert entry["url"] == f"{world.url}/files/{entry['id']}"
            status, headers, body = world.get(f"/files/{entry['id']}", "wenzhou")
            sha = hashlib.sha256(body).hexdigest()
            assert status == 200
            assert headers["x-checksum-sha256"] == sha == entry["sha256"]
            digest = base64.b64encode(bytes.fromhex(sha)).decode()
            assert headers["repr-digest"] == f"sha-256=:{digest}:"
            assert f'filename="{entry["name"]}"' in headers["content-disposition"]
            assert body == (world.delta_dir / "wenzhou" / entry["name"]).read_bytes()
            downloaded[entry["format"]] = body
        manifest = json.loads(downloaded["manifest"])
        assert manifest["sequence"] == delta["sequence"]
        assert manifest["row_count"] == delta["row_count"]
        for described in manifest["files"]:
            assert (
                hashlib.sha256(downloaded[described["format"]]).hexdigest() == described["sha256"]
            )


def test_the_auth_matrix(world: World) -> None:
    jiaxing_parquet = world.file_id("jiaxing", 1, "parquet")
    wenzhou_csv = world.file_id("wenzhou", 1, "csv")
    cases = [
        ("/sites/wenzhou/deltas", None, 401, "a bearer token is required"),
        (f"/files/{wenzhou_csv}", None, 401, "a bearer token is required"),
        ("/sites/wenzhou/deltas", "Basic d2VuemhvdTpwdw==", 401, "a bearer token is required"),
        ("/sites/wenzhou/deltas", "Bearer not-a-token", 401, "unknown or revoked"),
        ("/sites/quzhou/deltas", f"Bearer {world.revoked}", 401, "unknown or revoked"),
        ("/sites/jiaxing/deltas", "wenzhou", 403, "it may not list jiaxing's files"),
        (f"/files/{jiaxing_parquet}", "wenzhou", 403, "is not one of wenzhou's files"),
        ("/sites/hangzhou/deltas", "wenzhou", 404, "no delta-file site 'hangzhou'"),
        ("/files/999999", "wenzhou", 404, "no file 999999"),
        ("/files/wenzhou_20261103_000001.csv", "wenzhou", 404, "files are named by their id"),
        ("/no/such/path", None, 401, "a bearer token is required"),
        ("/no/such/path", "wenzhou", 404, "Not Found"),
        ("/sites/quzhou/deltas", "quzhou", 200, None),
        (f"/files/{wenzhou_csv}", "wenzhou", 200, None),
    ]
    for target, who, expected, detail in cases:
        authorization = who if who is None or " " in who else f"Bearer {world.tokens[who]}"
        status, headers, body = raw_get(world.url, target, authorization)
        assert status == expected, (target, who, status, body)
        if detail is not None:
            assert detail in json.loads(body)["detail"], (target, who, body)
        if expected == 401:
            error = ', error="invalid_token"' if "revoked" in detail else ""
            assert headers["www-authenticate"] == CHALLENGE + error


def test_no_path_reaches_a_file_but_by_its_id(world: World) -> None:
    secret = world.delta_dir.parent / "hub.db"
    jiaxing_csv = next((world.delta_dir / "jiaxing").glob("*.csv"))
    attempts = [
        "/files/..%2F..%2Fhub.db",
        "/files/../../hub.db",
        "/files/%2e%2e/%2e%2e/hub.db",
        f"/files/..%2Fjiaxing%2F{jiaxing_csv.name}",
        "/sites/wenzhou/../jiaxing/deltas",
        "/sites/..%2Fjiaxing/deltas",
        "/files/1%00",
        "/files/-1",
        "/files/99999999999999999999",
        f"/files/{secret}",
    ]
    for target in attempts:
        status, _, body = world.get(target, "wenzhou")
        assert status == 404, (target, status, body)
        assert b"SQLite format" not in body and b"change_id" not in body, target


def test_every_request_is_recorded_with_who_asked_and_the_answer(world: World) -> None:
    own = world.file_id("wenzhou", 2, "parquet")
    other = world.file_id("jiaxing", 2, "parquet")
    size = next((world.delta_dir / "wenzhou").glob("*000002.parquet")).stat().st_size
    with world.engine.connect() as connection:
        before = connection.scalar(sa.select(sa.func.max(pull_log.c.id))) or 0
    world.get(f"/files/{own}", "wenzhou")
    world.get(f"/files/{other}", "wenzhou")
    world.get("/sites/jiaxing/deltas?since=1", "jiaxing")
    world.get("/files/../../hub.db")
    world.get("/files/../../hub.db", "quzhou")

    with world.engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                pull_log.c.site_id,
                pull_log.c.method,
                pull_log.c.path,
                pull_log.c.file_id,
                pull_log.c.status,
                pull_log.c.bytes,
                pull_log.c.client,
            )
            .where(pull_log.c.id > before)
            .order_by(pull_log.c.id)
        ).all()
        stored_tokens = connection.scalars(sa.select(site_token.c.token_sha256)).all()
    listing_bytes = rows[2].bytes
    assert [tuple(row) for row in rows] == [
        ("wenzhou", "GET", f"/files/{own}", own, 200, size, "127.0.0.1"),
        ("wenzhou", "GET", f"/files/{other}", other, 403, rows[1].bytes, "127.0.0.1"),
        ("jiaxing", "GET", "/sites/jiaxing/deltas", None, 200, listing_bytes, "127.0.0.1"),
        (None, "GET", "/files/../../hub.db", None, 401, rows[3].bytes, "127.0.0.1"),
        ("quzhou", "GET", "/files/../../hub.db", None, 404, rows[4].bytes, "127.0.0.1"),
    ]
    assert listing_bytes > 0
    assert not set(world.tokens.values()) & set(stored_tokens)
    assert {hashlib.sha256(t.encode()).hexdigest() for t in world.tokens.values()} <= set(
        stored_tokens
    )
