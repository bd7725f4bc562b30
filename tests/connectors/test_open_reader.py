from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors import open_reader
from connectors.base import ReadRequest, SourceError
from connectors.connections import Connection
from connectors.files import FileReader
from connectors.http import HttpReader
from connectors.specs import FileConnector, HttpConnector, SqlConnector
from connectors.sql import SqlReader


def test_each_connector_type_gets_its_reader() -> None:
    def resolve(conn_id: str) -> Connection:
        return Connection(conn_id, conn_type="sqlite", host="/tmp/x")

    http = HttpConnector(connection="api", path="/records")
    sql = SqlConnector(connection="db", table="t", cursor_column="updated_at")
    files = FileConnector(connection="drop", folder="agency", format="csv")

    assert isinstance(open_reader("a", http, resolve), HttpReader)
    assert isinstance(open_reader("b", sql, resolve), SqlReader)
    assert isinstance(open_reader("c", files, resolve), FileReader)


def test_connection_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "agency").mkdir()
    (tmp_path / "agency" / "a.csv").write_text("code\n1\n", "utf-8")
    value = json.dumps({"conn_type": "fs", "extra": {"path": str(tmp_path)}})
    monkeypatch.setenv("AIRFLOW_CONN_AGENCY_DROP", value)
    spec = FileConnector(connection="agency_drop", folder="agency", format="csv")

    [page] = open_reader("agency_files", spec).pages(ReadRequest())

    assert page.frame["code"].tolist() == ["1"]


def test_missing_connection_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_NOWHERE", raising=False)
    spec = HttpConnector(connection="nowhere", path="/records")

    with pytest.raises(SourceError, match=r"^source agency_api: .*set AIRFLOW_CONN_NOWHERE"):
        open_reader("agency_api", spec)
