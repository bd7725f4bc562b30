from __future__ import annotations

from pathlib import Path

import pytest

from connectors.specs import FileConnector, HttpConnector, SqlConnector
from hub.collect.sources import load_source_file
from hub.core.settings import MAPPINGS_DIR
from sandbox.agencies import AGENCIES, ApiChannel, FileChannel, TableChannel, get_agency
from sandbox.config import connection_env
from sandbox.province import department

SOURCES = MAPPINGS_DIR / "sources"


def test_every_agency_has_a_source_file_and_channels_and_kinds_are_covered() -> None:
    assert len(AGENCIES) >= 7
    assert {p.stem for p in SOURCES.glob("zj_*.yaml")} >= set(AGENCIES)
    assert {type(a.channel) for a in AGENCIES.values()} == {ApiChannel, TableChannel, FileChannel}
    assert {str(a.kind) for a in AGENCIES.values()} == {"penalty", "abnormal", "serious"}


@pytest.mark.parametrize("source_id", list(AGENCIES))
def test_source_file_describes_the_agency(source_id: str, tmp_path: Path) -> None:
    spec = load_source_file(SOURCES / f"{source_id}.yaml")
    agency = get_agency(source_id)
    assert (spec.kind, spec.department) == (agency.kind, agency.department)
    columns = {f: m.column for f, m in spec.mapping.fields.items() if m.column}
    assert columns == agency.columns
    assert set(spec.mapping.ignore) == set(agency.channel.extra_columns)
    constants = {f: m.value for f, m in spec.mapping.fields.items() if m.value}
    assert set(constants) == set(agency.constants)
    dept = department(agency.department)
    if "source_department_code" in constants:
        assert constants["source_department_code"] == dept.credit_code
    amounts = {f: m.unit for f, m in spec.mapping.fields.items() if f.endswith("_amount")}
    assert set(amounts.values()) <= {agency.amount_unit}
    connector = spec.connector
    channel = agency.channel
    if isinstance(channel, ApiChannel):
        assert isinstance(connector, HttpConnector)
        assert connector.pagination.type == channel.pagination
        assert connector.auth is not None and connector.auth.type == channel.auth
        assert connector.records_path == channel.records_key
        assert connector.incremental and connector.incremental.cursor_field == channel.cursor_field
    elif isinstance(channel, TableChannel):
        assert isinstance(connector, SqlConnector)
        assert (connector.table, connector.cursor_column) == (channel.table, channel.cursor_column)
    else:
        assert isinstance(connector, FileConnector)
        assert (connector.folder, connector.format) == (channel.folder, channel.format)
    env = connection_env(tmp_path, "http://127.0.0.1:1", "sqlite://")
    assert f"AIRFLOW_CONN_{connector.connection.upper()}" in env
