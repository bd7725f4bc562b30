"""Retention: old files go, their manifest rows stay (marked), and the API and client say so."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli.main import app
from hub.core.settings import settings
from hub.publish.api import create_app
from hub.publish.client import pull_deltas
from hub.publish.tokens import issue_token
from hub.store.publish_schema import delta_manifest
from tests.publish.conftest import DAY, PULL_SITES, ChangeLog, local
from tests.publish.http import raw_get, served

pytestmark = pytest.mark.integration


def test_files_past_the_retention_are_deleted_and_their_sets_stay_listed_as_expired(
    sqlite_log: ChangeLog, delta_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sqlite_log.engine
    monkeypatch.setenv("HUB_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("HUB_DELTA_RETENTION_DAYS", "2")
    settings.cache_clear()
    runner = CliRunner()
    days = [DAY + timedelta(days=n) for n in range(3)]
    outputs = []
    for day in days:
        sqlite_log.apply(local(day, 10), 30)
        outputs.append(runner.invoke(app, ["publish", "--date", str(day)]))

    assert [o.exit_code for o in outputs] == [0, 0, 0], outputs[-1].output
    expired_now = [line for line in outputs[2].output.splitlines() if "expired now" in line]
    assert len(expired_now) == len(PULL_SITES)
    assert all("2026-11-03" in line and "(3 files deleted)" in line for line in expired_now)
    assert "expired now" not in outputs[1].output
    for site in PULL_SITES:
        assert sorted(p.name[len(site) + 1 :] for p in (delta_dir / site).iterdir()) == [
            f"{day:%Y%m%d}_{seq:06d}.{ext}"
            for seq, day in ((2, days[1]), (3, days[2]))
            for ext in ("csv", "manifest.json", "parquet")
        ]
    with engine.connect() as connection:
        marked = connection.execute(
            sa.select(delta_manifest.c.day, delta_manifest.c.expired_at.is_not(None))
            .distinct()
            .order_by(delta_manifest.c.day)
        ).all()
    assert marked == [(days[0], True), (days[1], False), (days[2], False)]

    again = runner.invoke(app, ["publish", "--date", str(DAY)])
    assert again.exit_code == 0, again.output
    assert not (delta_dir / "wenzhou" / "wenzhou_20261103_000001.csv").exists()
    states = {line.split("│")[3].strip(): line.split("│")[6].strip() for line in _rows(again)}
    assert states == dict.fromkeys(PULL_SITES, "expired")

    with engine.begin() as connection:
        token = issue_token(connection, "wenzhou")
    with served(create_app(engine, delta_dir)) as url:
        listing = json.loads(raw_get(url, "/sites/wenzhou/deltas", f"Bearer {token}")[2])
        gone = listing["deltas"][0]["files"][0]["id"]
        status, _, body = raw_get(url, f"/files/{gone}", f"Bearer {token}")
        pulled = pull_deltas(url, token, "wenzhou", 0, tmp_path / "pulled")

    assert [(d["sequence"], d["expired"]) for d in listing["deltas"]] == [
        (1, True),
        (2, False),
        (3, False),
    ]
    assert status == 410
    assert "wenzhou_20261103_000001.parquet was deleted by the retention rule" in body.decode()
    assert [(s.sequence, s.expired, len(s.files)) for s in pulled.sets] == [
        (1, True, 0),
        (2, False, 3),
        (3, False, 3),
    ]


def test_an_unusable_retention_setting_is_refused_with_the_rule(
    sqlite_log: ChangeLog, delta_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sqlite_log.engine
    monkeypatch.setenv("HUB_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("HUB_DELTA_RETENTION_DAYS", "0")
    settings.cache_clear()

    refused = CliRunner().invoke(app, ["publish", "--date", str(DAY)])

    assert refused.exit_code == 2
    assert (
        "HUB_DELTA_RETENTION_DAYS='0': the days of delta files kept, counted back from the day "
        "published must be a whole number of days, at least 1"
    ) in " ".join(refused.output.split())
    assert not delta_dir.exists()


def _rows(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("│ 2026")]
