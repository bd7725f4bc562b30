"""The Airflow plugin: Airflow's own loader finds it and its own mounting serves the pull API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from hub.core.settings import PROJECT_ROOT, settings
from hub.publish.publisher import publish
from hub.publish.tokens import issue_token
from tests.publish.conftest import DAY, ChangeLog, local
from tests.publish.http import served

pytestmark = [pytest.mark.dag, pytest.mark.integration]


@pytest.fixture
def airflow_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Airflow's plugin manager reading the project's ``plugins/`` folder."""
    from airflow import plugins_manager
    from airflow import settings as airflow_settings

    monkeypatch.setattr(airflow_settings, "PLUGINS_FOLDER", str(PROJECT_ROOT / "plugins"))
    caches = (plugins_manager._get_plugins, plugins_manager.get_fastapi_plugins)
    for cache in caches:
        cache.cache_clear()
    yield plugins_manager
    for cache in caches:
        cache.cache_clear()


def test_airflow_loads_the_plugin_and_serves_the_pull_api_under_its_prefix(
    airflow_plugins,
    sqlite_log: ChangeLog,
    delta_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.api_fastapi.app import init_plugins, lifespan
    from fastapi import FastAPI

    engine: sa.Engine = sqlite_log.engine
    monkeypatch.setenv("HUB_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    settings.cache_clear()
    sqlite_log.apply(local(DAY, 10), 40)
    publish(DAY, engine)
    with engine.begin() as connection:
        token = issue_token(connection, "shaoxing")

    info = {p["name"]: p for p in airflow_plugins.get_plugin_info()}
    assert airflow_plugins.get_import_errors() == {}
    assert [(a["name"], a["url_prefix"]) for a in info["credit_deltas"]["fastapi_apps"]] == [
        ("credit-repair delta files", "/credit-deltas")
    ]
    # What Airflow's API server does with plugin apps: its lifespan, its mounting.
    api_server = FastAPI(lifespan=lifespan)
    init_plugins(api_server)

    bearer = {"Authorization": f"Bearer {token}"}
    with served(api_server) as url:
        anonymous = requests.get(f"{url}/credit-deltas/sites/shaoxing/deltas", timeout=10)
        listing = requests.get(
            f"{url}/credit-deltas/sites/shaoxing/deltas", headers=bearer, timeout=10
        )
        parquet = listing.json()["deltas"][0]["files"][0]
        download = requests.get(parquet["url"], headers=bearer, timeout=10)

    assert anonymous.status_code == 401
    assert [d["sequence"] for d in listing.json()["deltas"]] == [1]
    assert parquet["url"] == f"{url}/credit-deltas/files/{parquet['id']}"
    on_disk = (delta_dir / "shaoxing" / "shaoxing_20261103_000001.parquet").read_bytes()
    assert download.content == on_disk
    assert download.headers["X-Checksum-SHA256"] == hashlib.sha256(on_disk).hexdigest()
