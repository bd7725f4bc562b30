from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.collect.sources import get_source
from sandbox.agencies import get_agency
from sandbox.cli import app
from sandbox.recording import record_sources
from tests.sources.recorded import load_recorded, sent_records

pytestmark = pytest.mark.integration

ONE_PER_CHANNEL = ["zj_tax_serious_api", "zj_scjg_abnormal_db", "zj_rst_serious_file"]


def _contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_recording_writes_what_the_contract_tests_read_the_same_each_time(tmp_path: Path) -> None:
    recordings = record_sources(ONE_PER_CHANNEL, tmp_path / "first")
    record_sources(ONE_PER_CHANNEL, tmp_path / "again")
    for recording in recordings:
        source_id = recording.source_id
        written = _contents(recording.folder)
        assert set(written) == set(recording.files)
        assert _contents(tmp_path / "again" / source_id) == written
        recorded = load_recorded(get_source(source_id), tmp_path / "first")
        expected = {ordinal: frozenset(rules) for ordinal, rules in recording.verdicts.items()}
        assert recorded.expected.verdicts == expected
        assert len(sent_records(recorded)) == len(expected)
        # One record spoiled for each rule the agency's deliveries break, and clean ones.
        defects = get_agency(source_id).rates.defects
        shown = [rule for rules in expected.values() for rule in rules]
        assert sorted(shown) == sorted(rule for rule, rate in defects.items() if rate > 0)
        assert sum(1 for rules in expected.values() if not rules) >= 8


def test_record_command_writes_the_fixture_and_refuses_a_source_without_twin(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    out = tmp_path / "fixtures"
    result = runner.invoke(app, ["record", "--source", "zj_jtt_penalty_file", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "zj_jtt_penalty_file").iterdir()) == [
        "expected.yaml",
        "jtt_xzcf_20261103.jsonl",
    ]
    assert "zj_jtt_penalty_file" in result.output
    result = runner.invoke(app, ["record", "--source", "zj_nowhere_api", "--out", str(out)])
    assert result.exit_code == 2
    assert "no sandbox agency 'zj_nowhere_api'" in result.output
    assert "written by hand" in result.output
