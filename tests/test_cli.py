"""The ``hub`` command line as an operator uses it, on a SQLite platform database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli.main import app
from hub.collect.sources import enabled_sources
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox, read_truth
from tests.conftest import sandbox_in_environment

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 3)


@pytest.fixture
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxConfig]:
    """A sandbox with ``DAY`` delivered, its APIs up, and the hub pointed at a fresh SQLite file."""
    config = SandboxConfig(tmp_path / "sandbox", seed=3)
    init_sandbox(config)
    deliver(config, DAY)
    with sandbox_in_environment(config, monkeypatch, f"sqlite:///{tmp_path / 'hub.db'}"):
        yield config


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
    lines = status.output.splitlines()
    headers = _cells(next(line for line in lines if "┃ source" in line), "┃")
    row = dict(
        zip(
            headers,
            _cells(next(line for line in lines if "zj_yjt_penalty_db" in line), "│"),
            strict=True,
        )
    )
    assert (row["day"], row["status"], row["error"]) == ("2026-11-03", "succeeded", "")
    assert row["read"] == str(truth["rows"])
    assert row["quarantined"] == str(sum(truth["defects"].values()))


def _cells(line: str, bar: str) -> list[str]:
    """The cells of one row of a rich table."""
    return [cell.strip() for cell in line.strip().strip(bar).split(bar)]


def test_a_failed_source_makes_collect_exit_non_zero_and_shows_why(
    operator: SandboxConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init-db"]).exit_code == 0
    monkeypatch.delenv("AIRFLOW_CONN_ZJ_RST_FILE_DROP")
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
    assert "AIRFLOW_CONN_ZJ_RST_FILE_DROP" in result.output
    assert "failed" in result.output and "succeeded" in result.output


def test_an_unusable_reminder_horizon_stops_reconcile_before_it_touches_the_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HUB_REMINDER_DAYS", "thirty")
    result = CliRunner().invoke(app, ["reconcile", "--date", "2026-11-03"])
    assert result.exit_code == 2
    assert "HUB_REMINDER_DAYS='thirty'" in result.output
    assert not (tmp_path / "hub.db").exists()


def test_reconcile_without_the_repair_systems_still_computes_every_period(
    operator: SandboxConfig, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    from hub.store.schema import RECORD_TABLES

    runner = CliRunner()
    assert runner.invoke(app, ["init-db"]).exit_code == 0
    assert runner.invoke(app, ["collect", "--date", "2026-11-03"]).exit_code == 0

    result = runner.invoke(app, ["reconcile", "--date", "2026-11-03"])

    assert result.exit_code == 1  # partly done: the red lines name what could not be read
    text = " ".join(result.output.split())
    assert "repair feed credit_china" in text and "AIRFLOW_CONN_CREDIT_CHINA_REPAIR" in text
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with engine.connect() as connection:
        for table in RECORD_TABLES.values():
            without = connection.scalar(
                sa.select(sa.func.count()).where(table.c.publicity_max_end.is_(None))
            )
            records = connection.scalar(sa.select(sa.func.count()).select_from(table))
            assert records and without == 0, table.name
    engine.dispose()
