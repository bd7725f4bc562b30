"""``hub report`` as an operator runs it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli.main import app
from hub.core.settings import settings
from tests.quality.conftest import DAY, CollectedProvince

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("platform_url", ["sqlite"], indirect=True)
def test_hub_report_writes_the_files_and_prints_the_ranking(
    province: CollectedProvince, platform_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    province.deliver_and_collect(DAY, count=30)
    monkeypatch.setenv("HUB_DATABASE_URL", platform_url)
    settings.cache_clear()
    out = tmp_path / "out"
    received = (DAY + timedelta(days=1)).isoformat()

    result = CliRunner().invoke(
        app, ["report", "--period", received, "--out", str(out), "--no-data-docs"]
    )

    assert result.exit_code == 0, result.output
    expected = province.expected(DAY)
    for department, truth in expected.items():
        [line] = [line for line in result.output.splitlines() if f" {department} " in line]
        assert f" {truth.rows} " in line
    for name in ("report.html", "report.xlsx", "report.json"):
        assert str(out / name) in result.output.replace("\n        ", " ")
    document = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert sorted(d["department"] for d in document["departments"]) == sorted(expected)
    assert not (out / "data_docs").exists()


def test_a_period_that_is_no_date_is_refused() -> None:
    result = CliRunner().invoke(app, ["report", "--period", "November"])
    assert result.exit_code == 2
    assert "2026-11" in result.output
