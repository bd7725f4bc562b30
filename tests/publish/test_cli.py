"""The operator's and the site's commands: publish, token, serve (a real process), pull."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import Response
from typer.testing import CliRunner

from hub.cli.main import app
from hub.core.settings import settings
from hub.publish.api import create_app
from hub.publish.client import PullError, pull_deltas
from hub.publish.publisher import publish
from hub.publish.tokens import issue_token
from hub.store.db import make_engine
from hub.store.publish_schema import pull_log
from tests.publish.conftest import DAY, ChangeLog, local
from tests.publish.http import served

pytestmark = pytest.mark.integration
NEXT = DAY + timedelta(days=1)
HUB = Path(sys.executable).with_name("hub")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hub_serve(sqlite_engine: sa.Engine, delta_dir: Path) -> Iterator[str]:
    """``hub serve`` as its own process on a free port, on a SQLite file; yields its URL."""
    port = _free_port()
    database_url = sqlite_engine.url.render_as_string(hide_password=False)
    env = dict(os.environ, HUB_DATABASE_URL=database_url, HUB_DELTA_DIR=str(delta_dir))
    env.pop("HUB_PULL_TRUSTED_PROXIES", None)
    process = subprocess.Popen(
        [str(HUB), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "hub serve did not answer within 60 s"
            try:
                if requests.get(f"{url}/sites/x/deltas", timeout=1).status_code == 401:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        process.stderr.close()


def test_an_operator_publishes_and_issues_a_token_and_a_site_pulls(
    platform_url: str, delta_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", platform_url)
    settings.cache_clear()
    engine = make_engine(platform_url)
    log = ChangeLog(engine)
    log.apply(local(DAY, 10), 60)
    log.apply(local(NEXT, 10), 60)
    engine.dispose()
    runner = CliRunner()

    first = runner.invoke(app, ["publish", "--date", str(DAY)])
    second = runner.invoke(app, ["publish", "--date", str(NEXT)])
    issued = runner.invoke(app, ["token", "--site", "wenzhou"])
    refused = runner.invoke(app, ["token", "--site", "hangzhou"])

    assert (first.exit_code, second.exit_code, issued.exit_code) == (0, 0, 0), second.output
    row = next(line for line in second.output.splitlines() if "wenzhou" in line)
    published = json.loads(
        (delta_dir / "wenzhou" / "wenzhou_20261104_000002.manifest.json").read_text("utf-8")
    )
    cells = [cell.strip() for cell in row.split("│")]
    assert cells[3:7] == ["wenzhou", "2", str(published["row_count"]), "published"]
    token = issued.output.strip().splitlines()[-1]
    assert refused.exit_code == 1
    assert "'hangzhou' is not a delta-file site" in refused.output

    out = tmp_path / "pulled"
    # The app as hub serve and the plugin make it: database and folder from the environment.
    with served(create_app()) as url:
        connection = f"http://:{token}@{url.removeprefix('http://')}"
        monkeypatch.setenv("AIRFLOW_CONN_HUB_PULL", connection)
        pulled = runner.invoke(app, ["pull", "--site", "wenzhou", "--out", str(out)])
        again = runner.invoke(app, ["pull", "--site", "wenzhou", "--since", "2", "--out", str(out)])
        other = runner.invoke(app, ["pull", "--site", "jiaxing", "--out", str(out)])

    assert pulled.exit_code == 0, pulled.output
    assert "next time: --since 2" in pulled.output
    served_files = sorted(p.name for p in (delta_dir / "wenzhou").iterdir())
    assert sorted(p.name for p in (out / "wenzhou").iterdir()) == served_files
    for name in served_files:
        assert (out / "wenzhou" / name).read_bytes() == (delta_dir / "wenzhou" / name).read_bytes()
    assert again.exit_code == 0 and "next time: --since 2" in again.output
    assert other.exit_code == 1
    assert "site jiaxing: the listing answered 403: this token is wenzhou's" in other.output


def test_hub_serve_runs_the_pull_api_as_a_process(sqlite_engine: sa.Engine, hub_serve: str) -> None:
    with sqlite_engine.begin() as connection:
        token = issue_token(connection, "quzhou")

    anonymous = requests.get(f"{hub_serve}/sites/quzhou/deltas", timeout=10)
    listing = requests.get(
        f"{hub_serve}/sites/quzhou/deltas",
        headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": "203.0.113.9"},
        timeout=10,
    )

    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="credit-deltas"'
    assert (listing.status_code, listing.json()) == (
        200,
        {"site": "quzhou", "since": 0, "deltas": []},
    )
    with sqlite_engine.connect() as connection:
        clients = connection.scalars(sa.select(pull_log.c.client).order_by(pull_log.c.id)).all()
    # HUB_PULL_TRUSTED_PROXIES is unset: not even uvicorn's default (loopback) is trusted.
    assert clients[-1] == "127.0.0.1"


def test_a_corrupt_download_is_refused_and_the_sets_before_it_are_kept(
    sqlite_log: ChangeLog, delta_dir: Path, tmp_path: Path
) -> None:
    for day in (DAY, NEXT):
        sqlite_log.apply(local(day, 10), 60)
        publish(day, sqlite_log.engine)
    with sqlite_log.engine.begin() as connection:
        token = issue_token(connection, "wenzhou")
    damaged = delta_dir / "wenzhou" / "wenzhou_20261104_000002.parquet"
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\0")
    out = tmp_path / "pulled"

    with served(create_app(sqlite_log.engine, delta_dir)) as url:
        corrupt = (
            r"site wenzhou: set 2 file wenzhou_20261104_000002.parquet is corrupt: its bytes "
            r"hash to [0-9a-f]{64}, the X-Checksum-SHA256 header says [0-9a-f]{64}"
        )
        with pytest.raises(PullError, match=corrupt):
            pull_deltas(url, token, "wenzhou", 0, out)
        with pytest.raises(PullError, match="answered 401: the token is unknown or revoked"):
            pull_deltas(url, "wrong", "wenzhou", 0, out)

    assert sorted(p.name for p in (out / "wenzhou").iterdir()) == [
        "wenzhou_20261103_000001.csv",
        "wenzhou_20261103_000001.manifest.json",
        "wenzhou_20261103_000001.parquet",
    ]


def test_the_client_writes_no_file_under_a_name_it_did_not_expect(tmp_path: Path) -> None:
    """A server (or a man in the middle) naming a file ``../../x`` gets nothing written."""
    evil = b"change_id\r\n1\r\n"
    manifest = json.dumps(
        {
            "site": "wenzhou",
            "sequence": 1,
            "row_count": 1,
            "files": [
                {"name": "../../evil.csv", "format": "csv", "sha256": _sha(evil)},
            ],
        }
    ).encode()
    bodies = {1: manifest, 2: evil}
    rogue = FastAPI()

    @rogue.get("/sites/wenzhou/deltas")
    def listing() -> dict:
        files = [
            {"id": 2, "format": "csv", "name": "../../evil.csv", "sha256": _sha(evil)},
            {"id": 1, "format": "manifest", "name": "m.json", "sha256": _sha(manifest)},
        ]
        entry = {"sequence": 1, "day": "2026-11-03", "row_count": 1, "expired": False}
        return {"deltas": [entry | {"files": files}]}

    @rogue.get("/files/{file_id}")
    def download(file_id: int) -> Response:
        return Response(bodies[file_id], headers={"X-Checksum-SHA256": _sha(bodies[file_id])})

    out = tmp_path / "a" / "b"
    with served(rogue) as url, pytest.raises(PullError, match="refusing the file name"):
        pull_deltas(url, "token", "wenzhou", 0, out)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
