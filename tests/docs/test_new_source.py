"""docs/new_source.md, run as a new user would: its source file, its delivery, its commands.

A new file-drop source (GB18030, 双公示 column codes, yuan, three date forms, legacy category codes,
a lower-case and a full-width credit code, a department written two ways) declared from the page
alone, checked, collected with its arrival replayed, reported and looked up.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from typer.testing import CliRunner

from hub.cli.main import app
from hub.cli.sources import field_table
from hub.store.schema import RECORD_TABLES, quarantine
from quality.report.sheets import display_width

pytestmark = pytest.mark.integration

PAGE = Path(__file__).resolve().parents[2] / "docs" / "new_source.md"
SOURCE = "zj_slj_penalty_file"


def blocks(marker: str) -> list[str]:
    """The fenced blocks of the page that follow ``<!-- walkthrough: <marker> -->``."""
    text = PAGE.read_text(encoding="utf-8")
    pattern = rf"<!-- walkthrough: {re.escape(marker)} -->\n```\w*\n(.*?)```"
    return re.findall(pattern, text, re.S)


def commands() -> list[list[str]]:
    """Every ``hub`` command of the page's command blocks, in order, as arguments."""
    return [shlex.split(line)[1:] for block in blocks("commands") for line in block.splitlines()]


@pytest.fixture
def walkthrough(hub_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The registry with the page's source file, its delivery dropped, a fresh SQLite platform."""
    [source_file] = blocks("source file")
    (hub_home / "sources" / f"{SOURCE}.yaml").write_text(source_file, encoding="utf-8")
    drop = hub_home / "drop"
    [delivery] = blocks("delivery slj_xzcf_20261009.csv")
    (drop / "slj").mkdir(parents=True)
    (drop / "slj" / "slj_xzcf_20261009.csv").write_bytes(delivery.encode("gb18030"))
    connection = {"conn_type": "fs", "extra": {"path": str(drop)}}
    monkeypatch.setenv("AIRFLOW_CONN_ZJ_SLJ_FILE_DROP", json.dumps(connection))
    return hub_home


def test_the_walkthrough_runs_and_counts_every_record_for_the_right_department(
    walkthrough: Path,
) -> None:
    runner = CliRunner()
    results = {}
    for arguments in commands():
        result = runner.invoke(app, arguments)
        assert result.exit_code == 0, (arguments, result.output)
        results[" ".join(arguments)] = " ".join(result.output.split())

    listed = results["sources list"]
    assert SOURCE in listed and "zj_slj_file_drop" in listed and "agency_slj (1)" in listed

    check = results[f"sources check {SOURCE}"]
    assert f"{SOURCE}.yaml is valid" in check and "slj_xzcf_20261009.csv (4 records)" in check
    assert check.count("loads") == 3 and check.count("quarantined") == 1
    assert "91310110666007217A' fails the GB 32100 check character" in check

    collected = next(v for k, v in results.items() if k.startswith("collect"))
    assert "warning" not in collected  # the arrival was given

    engine = sa.create_engine(f"sqlite:///{walkthrough / 'hub.db'}")
    with engine.connect() as connection:
        penalty = RECORD_TABLES["penalty"]
        rows = {
            r.document_no: r
            for r in connection.execute(
                sa.select(penalty).where(penalty.c.source_id == SOURCE)
            ).mappings()
        }
        rules = connection.execute(
            sa.select(quarantine.c.rule, quarantine.c.field, quarantine.c.department).where(
                quarantine.c.source_id == SOURCE
            )
        ).all()
    engine.dispose()
    first, person, full_width = (rows[f"浙水罚〔2026〕10{n}号"] for n in (1, 2, 4))
    assert first.credit_code == "9135052155323005XL"  # lower case in the file
    assert full_width.credit_code == "91310110666007217T"  # full-width in the file
    assert person.id_number == "11010519491231002X"  # its check character was a lower-case x
    assert first.penalty_categories == "警告;罚款"  # the legacy codes "0,1"
    assert float(first.fine_amount) == 0.2  # 2000 yuan
    assert {str(r.decision_date) for r in rows.values()} == {"2026-10-09"}  # three forms
    assert {r.source_department for r in rows.values()} == {"省水利厅"}  # 浙江省水利厅 too
    assert rules == [("credit_code_check", "credit_code", "省水利厅")]

    report_folder = walkthrough / "var" / "reports" / "quality" / "2026-10"
    report = json.loads((report_folder / "report.json").read_text(encoding="utf-8"))
    slj = [d for d in report["departments"] if "水利" in d["department"]]
    assert len(slj) == 1
    assert (slj[0]["department"], slj[0]["delivered"], slj[0]["quarantined"]) == (
        "省水利厅",
        4,
        1,
    )
    assert (slj[0]["timed"], slj[0]["on_time"]) == (3, 3)  # received the night after the decision
    summary = load_workbook(report_folder / "report.xlsx")["汇总"]
    names = [cell.value for cell in summary["C"][1:]]
    assert "省水利厅" in names and summary.freeze_panes == "A2" and summary.auto_filter.ref
    assert summary.column_dimensions["C"].width >= max(display_width(n) for n in names)

    lower_case = results["case 9135052155323005xl"]
    assert "浙水罚〔2026〕101号" in lower_case and "某某水电开发有限公司" in lower_case
    full = next(v for k, v in results.items() if k.startswith("case ９"))
    assert "浙水罚〔2026〕104号" in full and "某某水务有限公司" in full
    held = results["case 91310110666007217a"]
    assert "quarantined (open): source zj_slj_penalty_file, batch 1 record" in held
    assert "省水利厅: credit_code_check" in held


def test_without_the_arrival_a_back_fill_warns_that_timeliness_counts_to_today(
    walkthrough: Path,
) -> None:
    result = CliRunner().invoke(app, ["collect", "--date", "2026-10-09", "--source", SOURCE])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "warning: collecting 2026-10-09 with its records stamped received on" in text
    assert "--received-at" in text


def test_the_field_table_of_the_page_is_the_models() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert text.split("<!-- fields -->\n", 1)[1].strip() == field_table()


def test_the_case_view_shows_the_rejected_files_that_name_the_subject(walkthrough: Path) -> None:
    [delivery] = blocks("delivery slj_xzcf_20261009.csv")
    header, *rows = delivery.splitlines()
    # One row with a field too many: the agency's file is rejected whole, nothing of it loads.
    broken = "\n".join([header, rows[0], rows[2] + ",多出的一列"]) + "\n"
    (walkthrough / "drop" / "slj" / "slj_xzcf_20261009.csv").write_bytes(broken.encode("gb18030"))
    runner = CliRunner()
    runner.invoke(app, ["collect", "--date", "2026-10-09", "--source", SOURCE])

    for written in ("9135052155323005XL", "９１３５０５２１５５３２３００５ｘｌ"):
        result = runner.invoke(app, ["case", written])
        assert result.exit_code == 0, result.output
        shown = " ".join(result.output.split())
        assert "no record" not in shown
        assert f"rejected file: source {SOURCE}, batch 1, slj_xzcf_20261009.csv:" in shown
    as_json = json.loads(runner.invoke(app, ["case", "91310110666007217A", "--json"]).stdout)
    assert as_json["records"] == [] and as_json["quarantined"] == []
    [rejected] = as_json["rejected_files"]
    assert rejected["file_name"] == "slj_xzcf_20261009.csv" and "columns" in rejected["reason"]
    unnamed = runner.invoke(app, ["case", "91330000MA27U0X52P"])
    assert unnamed.exit_code == 1 and "no record of 91330000MA27U0X52P" in unnamed.output
