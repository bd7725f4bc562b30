"""The ``hub`` command line as an operator uses it, on a SQLite platform database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.settings import settings
from hub.sources import enabled_sources
from sandbox.agencies import Faults
from sandbox.config import SandboxConfig, connection_env
from sandbox.deliver import deliver, init_sandbox, read_truth
from sandbox.server import serve_in_thread

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 3)


@pytest.fixture
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxConfig]:
    """A sandbox with ``DAY`` delivered, its APIs up, and the hub pointed at a fresh SQLite file."""
    config = SandboxConfig(tmp_path / "sandbox", seed=3)
    init_sandbox(config)
    deliver(config, DAY)
    faults = {source.id: Faults() for source in enabled_sources()}
    with serve_in_thread(config, faults=faults) as server:
        env = connection_env(config.dir, server.base_url, config.exchange_database_url)
        env["HUB_DATABASE_URL"] = f"sqlite:///{tmp_path / 'hub.db'}"
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings.cache_clear()
        yield config
    settings.cache_clear()


def test_init_collect_and_status_tell_the_operator_what_happened(operator: SandboxConfig) -> None:
    runner = CliRunner()
    init = runner.invoke(app, ["init-db"])
    assert init.exit_code == 0, init.output
    assert "department: 41 rows" in init.output

    collected = runner.invoke(app, ["collect", "--date", "2026-11-03"])
    assert collected.exit_code == 0, collected.output
    for source in enabled_sources():
        assert source.id in collected.output

    status = runner.invoke(app, ["status", "--limit", "1"])
    assert status.exit_code == 0, status.output
    truth = read_truth(operator, DAY, "zj_yjt_penalty_db")
    row = next(line for line in status.output.splitlines() if "zj_yjt_penalty_db" in line)
    cells = [cell.strip() for cell in row.split("│") if cell.strip()]
    assert cells[2:4] == ["2026-11-03", "succeeded"]
    assert cells[5] == str(truth["rows"])  # read
    assert cells[-1] == str(sum(truth["defects"].values()))  # quarantined


def test_a_failed_source_makes_collect_exit_non_zero_and_shows_why(
    operator: SandboxConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init-db"]).exit_code == 0
    monkeypatch.delenv("AIRFLOW_CONN_SANDBOX_FILE_DROP")
    result = runner.invoke(
        app,
        [
            "collect",
            "--date",
            "2026-11-03",
            "--source",
            "zj_rst_serious_file",
            "--source",
            "zj_yjt_penalty_db",
        ],
    )
    assert result.exit_code == 1
    assert "AIRFLOW_CONN_SANDBOX_FILE_DROP" in result.output
    assert "failed" in result.output and "succeeded" in result.output
