"""What collection stores and shows, tried with every privacy case, on SQLite and PostgreSQL.

An agency drops CSV files for real: one broken file per case, the case standing at the start of
the row that breaks it (Arrow quotes that row in its error), and one good file whose rows carry a
case each in the document number, subject category and decision date (three rules that quote
what they found). Collected for real, then seen as an operator and a department see it: the
batch's error, the file ledger's reason, the ``rejected/*.reason.txt`` files, the quarantine
messages, the summary handed to XCom, the log lines, ``hub status`` as text and ``--json``, and the
quality report (HTML, XLSX, JSON) with a case planted in every section.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from typer.testing import CliRunner

from hub.cli.main import app
from hub.collect.run import BatchSummary, collect_source
from hub.collect.sources import get_source
from hub.core.settings import settings
from hub.core.workdays import calendar
from hub.report.run import assemble
from hub.store.db import make_engine
from hub.store.schema import ingest_batch, quarantine, source_file
from quality.config import quality_settings
from quality.periods import Period
from quality.report.data import QualityReport
from quality.report.html import render_html
from quality.report.machine import write_json
from quality.report.xlsx import write_xlsx
from tests.core.privacy_cases import CASES, PLANTED, assert_masked, leaked

pytestmark = pytest.mark.integration

SOURCE = "zj_sthjt_penalty_file"
DAY = date(2026, 11, 3)
DEPARTMENT = "省生态环境厅"
RECEIVED = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
def drop(tmp_path: Path, platform_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The source's drop folder, its connection and the platform database in the environment."""
    root = tmp_path / "drop"
    folder = root / get_source(SOURCE).connector.folder
    folder.mkdir(parents=True)
    connection = {"conn_type": "fs", "extra": {"path": str(root)}}
    monkeypatch.setenv("AIRFLOW_CONN_ZJ_STHJT_FILE_DROP", json.dumps(connection))
    monkeypatch.setenv("HUB_DATABASE_URL", platform_url)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    settings.cache_clear()
    yield folder
    settings.cache_clear()


def _write(path: Path, lines: list[str]) -> None:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))


def _drop_files(folder: Path) -> None:
    for i, case in enumerate(CASES):
        # Four columns under a header of three: the file is unreadable, Arrow quotes the row.
        _write(folder / f"sthjt_xzcf_202611{i + 1:02d}_broken.csv", ["a,b,c", f"{case.text},x,y,z"])
    columns = {name: field.column for name, field in get_source(SOURCE).mapping.fields.items()}
    columns = {name: column for name, column in columns.items() if column}
    rows = []
    for i, case in enumerate(CASES):
        row = dict.fromkeys(columns, "")
        row["document_no"] = f"环罚〔2026〕第{'甲乙丙丁戊己庚辛壬癸子'[i]}号{case.text}"
        row["subject_name"] = f"{case.label}{case.text}"
        row["subject_category"] = case.text  # not a label of the code table: quoted
        row["decision_date"] = case.text  # not a date: quoted
        rows.append(",".join(row[name] for name in columns))
    _write(folder / "sthjt_xzcf_20261103.csv", [",".join(columns.values()), *rows])


def _collected(drop: Path, caplog: pytest.LogCaptureFixture) -> tuple[BatchSummary, sa.Engine]:
    _drop_files(drop)
    engine = make_engine(settings().database_url)
    with caplog.at_level(logging.DEBUG):
        summary = collect_source(SOURCE, DAY, engine=engine, received_at=RECEIVED)
    return summary, engine


def test_a_collected_case_is_masked_in_everything_an_operator_or_agency_reads(
    drop: Path, caplog: pytest.LogCaptureFixture
) -> None:
    summary, engine = _collected(drop, caplog)
    try:
        with engine.connect() as connection:
            batch_error = connection.scalar(sa.select(ingest_batch.c.error))
            reasons = connection.scalars(sa.select(source_file.c.reason)).all()
            messages = connection.scalars(sa.select(quarantine.c.message)).all()
    finally:
        engine.dispose()

    assert (summary.status, summary.files_rejected, summary.quarantined) == (
        "partial",
        len(CASES),
        len(CASES),
    )
    assert_masked(batch_error)
    assert_masked("\n".join(r for r in reasons if r))
    reason_files = sorted((drop / "rejected").glob("*.reason.txt"))
    assert len(reason_files) == len(CASES)
    assert_masked("\n".join(p.read_text("utf-8") for p in reason_files))
    assert_masked(json.dumps(summary.as_dict(), ensure_ascii=False))  # what XCom carries
    assert len(messages) >= 2 * len(CASES)
    assert_masked("\n".join(messages))
    assert_masked(caplog.text)
    assert leaked(" ".join(str(vars(r)) for r in caplog.records)) == []

    runner = CliRunner()
    text = runner.invoke(app, ["status"], env={"COLUMNS": "400"})
    assert text.exit_code == 0, text.output
    assert_masked(text.stdout)
    as_json = runner.invoke(app, ["status", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert_masked(as_json.stdout)


def _with_a_case_in_every_section(report: QualityReport) -> QualityReport:
    """The report of the collected day with a case planted in every section it has."""
    named = f"{DEPARTMENT}{CASES[0].text}"

    def renamed(frame: pd.DataFrame) -> pd.DataFrame:
        if "department" not in frame.columns:
            return frame
        return frame.assign(department=frame["department"].replace(DEPARTMENT, named))

    late = pd.DataFrame(
        [
            {
                "department": DEPARTMENT,
                "source_id": SOURCE,
                "document_no": f"迟报{case.text}",
                "subject_name": f"{case.label}{case.text}",
                "subject_id": case.text,
                "authority_name": PLANTED,
                "decision_date": date(2026, 9, 1),
                "received": date(2026, 11, 3),
                "delay": 40,
            }
            for case in CASES
        ]
    )
    allow_listed = pd.DataFrame(
        [
            {
                "department": DEPARTMENT,
                "credit_code": "91350211M00013FA1N",
                "note": PLANTED,
                "records": 1,
            }
        ]
    )
    broken = report.broken.assign(subject_name=PLANTED, subject_id=CASES[3].text)
    return replace(
        report,
        departments=renamed(report.departments),
        by_rule=renamed(report.by_rule),
        broken=renamed(broken),
        late=renamed(pd.concat([report.late, late], ignore_index=True)),
        allow_listed=renamed(allow_listed),
        warnings=[*report.warnings, PLANTED],
    )


def test_every_section_of_the_quality_report_is_masked(
    drop: Path, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    _, engine = _collected(drop, caplog)
    try:
        with engine.connect() as connection:
            report = assemble(
                connection,
                Period.parse("2026-11"),
                timezone=settings().timezone,
                calendar=calendar(),
                settings=quality_settings(),
            )
    finally:
        engine.dispose()
    assert not report.broken.empty
    assert_masked("\n".join(report.broken["message"]))  # what the CLI and writers get
    planted = _with_a_case_in_every_section(report)

    html = render_html(planted)
    write_xlsx(planted, tmp_path / "report.xlsx")
    write_json(planted, tmp_path / "report.json")

    assert_masked(html)
    assert_masked((tmp_path / "report.json").read_text("utf-8"))
    book = load_workbook(tmp_path / "report.xlsx")
    cells = [book.sheetnames] + [
        [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
        for sheet in book.worksheets
    ]
    assert_masked("\n".join(" ".join(c) for c in cells))
    assert f"{DEPARTMENT}{CASES[0].masked}" in html
    assert "91350211M00013FA1N" in html  # an allow-listed credit code stands
