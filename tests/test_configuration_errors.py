"""What a person must fix is said in one line, naming the variable, file or field; exit code 2.

A broken source file stops neither ``hub status`` nor the other sources' collection.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli.main import app
from hub.collect.sources import enabled_source_ids
from hub.core.settings import MAPPINGS_DIR, settings
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox
from tests.conftest import sandbox_in_environment

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 3)
TYPO = "zj_jtt_penalty_file"  # its `pattern:` is written `patern:`
WRONG_UNIT = "zj_sthjt_penalty_file"  # its fine's unit is written 元


@pytest.fixture
def broken_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sources folder with two files broken as people break them."""
    folder = tmp_path / "sources"
    shutil.copytree(MAPPINGS_DIR / "sources", folder)
    typo = folder / f"{TYPO}.yaml"
    typo.write_text(typo.read_text(encoding="utf-8").replace("  pattern:", "  patern:"), "utf-8")
    unit = folder / f"{WRONG_UNIT}.yaml"
    text = unit.read_text(encoding="utf-8")
    assert "unit: yuan" in text
    unit.write_text(text.replace("unit: yuan", "unit: 元"), "utf-8")
    monkeypatch.setenv("HUB_SOURCES_DIR", str(folder))
    settings.cache_clear()
    return folder


@pytest.fixture
def operator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken_registry: Path
) -> Iterator[SandboxConfig]:
    """A sandbox with ``DAY`` delivered and the hub on a fresh SQLite file, two files broken."""
    config = SandboxConfig(tmp_path / "sandbox", seed=3)
    init_sandbox(config)
    deliver(config, DAY)
    with sandbox_in_environment(config, monkeypatch, f"sqlite:///{tmp_path / 'hub.db'}"):
        assert CliRunner().invoke(app, ["init-db"]).exit_code == 0
        yield config


def one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_collect_goes_on_past_broken_source_files_and_names_them(operator: SandboxConfig) -> None:
    result = CliRunner().invoke(app, ["collect", "--date", str(DAY)])

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert f"{TYPO}.yaml" in text and "patern" in text
    assert f"{WRONG_UNIT}.yaml" in text and "unit" in text and "yuan" in text
    good = [s for s in enabled_source_ids() if s not in (TYPO, WRONG_UNIT)]
    assert len(good) == 6
    for source_id in good:
        row = next(line for line in result.output.splitlines() if source_id in line)
        assert "succeeded" in row, row


def test_status_shows_a_broken_source_file_as_a_problem(operator: SandboxConfig) -> None:
    status = CliRunner().invoke(app, ["status", "--json"])

    assert status.exit_code == 0, status.output
    document = json.loads(status.stdout)
    problems = [p for p in document["problems"] if TYPO in p]
    assert problems and "its source file cannot be used" in problems[0]
    assert "patern" in problems[0]
    row = next(s for s in document["sources"] if s["source_id"] == TYPO)
    assert row["broken"].startswith(f"{TYPO}.yaml")


def test_asking_for_a_broken_source_is_a_usage_error(operator: SandboxConfig) -> None:
    result = CliRunner().invoke(app, ["collect", "--date", str(DAY), "--source", TYPO])
    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith(f"hub: {TYPO}.yaml") and "patern" in line


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("HUB_TIMEZONE", "Mars/Base", "HUB_TIMEZONE='Mars/Base' is not a time zone"),
        ("HUB_DATABASE_URL", "::::", "HUB_DATABASE_URL is not a database URL"),
        ("HUB_DATABASE_URL", "mysql+pymysql://root@127.0.0.1/x", "names a mysql database"),
        ("HUB_SOURCES_DIR", "/nonexistent/sources", "HUB_SOURCES_DIR='/nonexistent/sources'"),
        ("HUB_REMINDER_DAYS", "thirty", "HUB_REMINDER_DAYS='thirty'"),
    ],
)
def test_an_unusable_variable_is_one_line_naming_it(
    variable: str, value: str, named: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    monkeypatch.setenv(variable, value)
    settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["reconcile", "--date", str(DAY)])
    finally:
        settings.cache_clear()
    assert result.exit_code == 2
    assert named in one_line(result)


def test_a_wrong_database_password_names_the_variable_and_hides_the_password(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = postgres_url.replace("postgres@", "nobody:s3cret@")
    monkeypatch.setenv("HUB_DATABASE_URL", wrong)
    settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["status"])
    finally:
        settings.cache_clear()
    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith("hub: cannot open the platform database HUB_DATABASE_URL=")
    assert "nobody:***@" in line and "s3cret" not in result.output


def test_an_unwritable_var_dir_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var_dir = tmp_path / "var"
    var_dir.write_text("a file where a folder should be", encoding="utf-8")
    monkeypatch.setenv("HUB_VAR_DIR", str(var_dir))
    settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["init-db"])
    finally:
        settings.cache_clear()
    assert result.exit_code == 2
    line = one_line(result)
    assert str(var_dir) in line and ("HUB_VAR_DIR" in line or "HUB_DATABASE_URL" in line)


def test_a_malformed_connection_names_its_variable(operator: SandboxConfig, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ZJ_SCJG_API", '{"conn_type": "http", "host": ')
    result = CliRunner().invoke(
        app, ["collect", "--date", str(DAY), "--source", "zj_scjg_penalty_api"]
    )
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "AIRFLOW_CONN_ZJ_SCJG_API is not a connection" in text


def test_verbose_adds_the_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("HUB_TIMEZONE", "Mars/Base")
    settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["-v", "status"])
    finally:
        settings.cache_clear()
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("hub: HUB_TIMEZONE='Mars/Base'")
