"""``hub sources check`` when something is wrong: each failure named in one line, with its code.

1 means the source cannot be read (its connection, its data); 2 means its file or its id is wrong.
Nothing is ever loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli.main import app
from tests.conftest import MARIADB_ADMIN_URL

FILE_SOURCE = "zj_jtt_penalty_file"


@pytest.fixture
def registry(hub_home: Path) -> Path:
    """The project's source files in a folder of their own, an empty drop folder, a platform."""
    (hub_home / "drop" / "jtt").mkdir(parents=True)
    return hub_home


def check(source_id: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["sources", "check", source_id])
    return result.exit_code, " ".join(result.output.split())


def with_drop_connection(registry: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drop = {"conn_type": "fs", "extra": {"path": str(registry / "drop")}}
    monkeypatch.setenv("AIRFLOW_CONN_ZJ_JTT_FILE_DROP", json.dumps(drop))


def test_an_undeclared_source_is_a_usage_error_naming_the_declared_ones(registry: Path) -> None:
    code, shown = check("zj_jtt_penalty_flie")
    assert code == 2
    assert shown.startswith("hub: no source 'zj_jtt_penalty_flie'; declared: ")
    assert FILE_SOURCE in shown and "Traceback" not in shown


def test_a_typo_in_the_source_file_names_the_file_and_the_field(registry: Path) -> None:
    path = registry / "sources" / f"{FILE_SOURCE}.yaml"
    path.write_text(path.read_text().replace("pattern:", "patern:"), encoding="utf-8")
    code, shown = check(FILE_SOURCE)
    assert code == 2
    assert f"{FILE_SOURCE}.yaml" in shown and "connector.file.patern" in shown
    assert "Traceback" not in shown


def test_a_missing_connection_names_the_variable_to_set(registry: Path) -> None:
    code, shown = check(FILE_SOURCE)
    assert code == 1
    assert f"✓ {FILE_SOURCE}.yaml is valid" in shown
    assert "✗ cannot read it" in shown and "set AIRFLOW_CONN_ZJ_JTT_FILE_DROP" in shown


def test_nothing_dropped_is_said_and_nothing_is_written(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_drop_connection(registry, monkeypatch)
    code, shown = check(FILE_SOURCE)
    assert code == 0
    assert "connection zj_jtt_file_drop answers" in shown and "nothing to read now" in shown
    engine = sa.create_engine(f"sqlite:///{registry / 'hub.db'}")
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM ingest_batch")) == 0
    engine.dispose()


def test_an_unreadable_file_names_the_file_and_the_line_and_stays_where_it_was(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_drop_connection(registry, monkeypatch)
    dropped = registry / "drop" / "jtt" / "jtt_xzcf_20261009.jsonl"
    dropped.write_text('{"CF_WSH": "浙交罚〔2026〕1号"}\n{"CF_WSH": \n', encoding="utf-8")
    code, shown = check(FILE_SOURCE)
    assert code == 1
    assert "cannot read it: jtt_xzcf_20261009.jsonl: line 2 is not valid JSON" in shown
    assert dropped.exists()  # a check moves nothing to rejected/


@pytest.mark.integration
def test_an_exchange_database_that_is_not_there_is_named_with_the_servers_words(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sa.make_url(MARIADB_ADMIN_URL).set(drivername="mysql", database="no_such_exchange_db")
    monkeypatch.setenv(
        "AIRFLOW_CONN_ZJ_SCJG_EXCHANGE_DB", url.render_as_string(hide_password=False)
    )
    code, shown = check("zj_scjg_abnormal_db")
    assert code == 1
    assert "source zj_scjg_abnormal_db: database error" in shown
    assert "Unknown database 'no_such_exchange_db'" in shown
