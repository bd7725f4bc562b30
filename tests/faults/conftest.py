"""An agency's JSON Lines drop, its clean rows, and the platform database in the environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.collect.sources import get_source
from hub.core.settings import settings
from hub.store.db import make_engine
from sandbox.agencies import get_agency
from sandbox.province import Province
from sandbox.records import new_records
from sandbox.render import Renderer
from sandbox.store import json_number
from tests.connectors.conftest import FakeApi
from tests.loopback_http import serving

SOURCE = "zj_jtt_penalty_file"
API_SOURCE = "zj_wjw_penalty_api"
DAY = date(2026, 11, 3)


def clean_rows(day: date, count: int, source_id: str = SOURCE) -> list[dict[str, Any]]:
    """``count`` rows the agency of ``source_id`` sends on ``day``, each passing every rule."""
    agency = get_agency(source_id)
    province = Province(7, companies=60, businesses=10, persons=20)
    generated = new_records(province, agency, day, count=4 * count)
    rows = [Renderer(agency).row(r.record) for r in generated if r.clean][:count]
    assert len(rows) == count
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]], *, escaped: bool = False) -> Path:
    """Write ``rows`` as the agency would: one JSON object a line, UTF-8 (``escaped``: every
    character beyond ASCII as a JSON escape, which is how a lone surrogate can be sent)."""
    lines = (json.dumps(row, ensure_ascii=escaped, default=json_number) + "\n" for row in rows)
    path.write_text("".join(lines), encoding="utf-8")
    return path


def drop_folder(source_id: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``source_id``'s drop folder under ``root``, its connection in the environment."""
    connector = get_source(source_id).connector
    folder = root / connector.folder
    folder.mkdir(parents=True)
    connection = {"conn_type": "fs", "extra": {"path": str(root)}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{connector.connection.upper()}", json.dumps(connection))
    return folder


@pytest.fixture
def drop(tmp_path: Path, platform_env: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``SOURCE``'s drop folder, with its connection and the platform database in the
    environment."""
    return drop_folder(SOURCE, tmp_path / "drop", monkeypatch)


@pytest.fixture
def platform_env(
    tmp_path: Path, platform_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The platform database (its URL) and a var folder in the environment, settings re-read."""
    monkeypatch.setenv("HUB_DATABASE_URL", platform_url)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    settings.cache_clear()
    yield platform_url
    settings.cache_clear()


@pytest.fixture
def engine(drop: Path) -> Iterator[sa.Engine]:
    """An engine on the platform database of ``drop``."""
    engine = make_engine(settings().database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    """A loopback HTTP server standing for ``API_SOURCE``'s agency, its connection in the
    environment."""
    fake = FakeApi()
    with serving(fake.answer) as url:
        fake.url = url
        connection = {"conn_type": "http", "password": "token", "extra": {"base_url": url}}
        monkeypatch.setenv("AIRFLOW_CONN_ZJ_WJW_API", json.dumps(connection))
        yield fake
