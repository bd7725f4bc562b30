"""Fault 4: a rejected delivery stays a problem until it has loaded, and the agency answers for it.

An agency drops a good file and a truncated one; later days bring good files only; at last the
agency drops the truncated file again, whole. Seen as the operator sees it (``hub collect``'s exit
code, ``hub status``'s problems, the Airflow task) and as the department does (its quality report).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub import jobs
from hub.cli.main import app
from hub.core.settings import settings
from hub.core.workdays import calendar
from hub.report.run import assemble
from hub.store.schema import RECORD_TABLES
from quality.config import quality_settings
from quality.periods import Period
from quality.report.html import render_html
from quality.report.machine import report_document
from tests.faults.conftest import DAY, SOURCE, clean_rows, write_jsonl

pytestmark = pytest.mark.integration

NEXT_DAY = date(2026, 11, 4)
BROKEN = "jtt_xzcf_20261102.jsonl"


def _collect(day: date) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        ["collect", "--date", day.isoformat(), "--source", SOURCE, "--received-at", f"{day}T20:00"],
    )
    return result.exit_code, result.output


def _problems() -> list[str]:
    result = CliRunner().invoke(app, ["status", "--json"])
    return [p for p in json.loads(result.output)["problems"] if SOURCE in p]


def _department(engine: sa.Engine, period: str) -> dict:
    with engine.connect() as connection:
        report = assemble(
            connection,
            Period.parse(period),
            timezone=settings().timezone,
            calendar=calendar(),
            settings=quality_settings(),
        )
    assert "<th>未成功交付</th>" in render_html(report)
    departments = report_document(report)["departments"]
    return next(d for d in departments if d["department"] == "省交通运输厅")


def test_a_rejected_file_is_a_problem_until_it_loads_and_a_missed_delivery(
    drop: Path, engine: sa.Engine
) -> None:
    first, second, late = clean_rows(DAY, 9)[:3], clean_rows(DAY, 9)[3:6], clean_rows(DAY, 9)[6:]
    write_jsonl(drop / "jtt_xzcf_20261103.jsonl", first)
    whole = write_jsonl(drop / "whole.tmp", late).read_text(encoding="utf-8")
    (drop / "whole.tmp").unlink()
    (drop / BROKEN).write_text(whole[: len(whole) - 40], encoding="utf-8")  # cut off

    code, output = _collect(DAY)
    assert code == jobs.EXIT_PARTIAL == 3
    assert "partial" in output
    problems = _problems()
    assert len(problems) == 1
    assert problems[0].startswith(
        f"source {SOURCE}: file {BROKEN} of {DAY} was rejected by batch 1 and has not been "
        "delivered again: line 3 is not valid JSON (truncated file?)"
    )
    assert problems[0].endswith(f"(hub collect --date {DAY} --source {SOURCE})")

    # The next day loads completely: the rejected delivery is still missing, and still shown.
    write_jsonl(drop / "jtt_xzcf_20261104.jsonl", second)
    assert _collect(NEXT_DAY)[0] == 0
    assert _problems() == problems
    assert _department(engine, "2026-11-03")["missed_deliveries"] == 1
    assert _department(engine, "2026-11-04")["missed_deliveries"] == 0
    assert _department(engine, "2026-11")["missed_deliveries"] == 1

    # The agency drops the file again, whole: it loads, and the problem is gone.
    (drop / BROKEN).write_text(whole, encoding="utf-8")
    assert _collect(NEXT_DAY)[0] == 0
    assert _problems() == []
    with engine.connect() as connection:
        stored = connection.scalar(sa.select(sa.func.count()).select_from(RECORD_TABLES["penalty"]))
    assert stored == 9
    # The department still answers for the day it missed.
    assert _department(engine, "2026-11")["missed_deliveries"] == 1


def test_the_airflow_task_fails_on_a_partial_batch(drop: Path) -> None:
    from hub_airflow.tasks import JobProblemsError, finish

    write_jsonl(drop / "jtt_xzcf_20261103.jsonl", clean_rows(DAY, 2))
    (drop / BROKEN).write_text('{"decision_no": "浙交', encoding="utf-8")
    outcome = jobs.collect(DAY, jobs.Runtime(), sources=[SOURCE])
    assert outcome.exit_code == jobs.EXIT_PARTIAL
    with pytest.raises(JobProblemsError, match=f"source {SOURCE}: batch 1 partial: {BROKEN}"):
        finish(outcome)
