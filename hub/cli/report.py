"""``hub report``: a period's data-quality report per department, from the command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from hub import jobs
from hub.cli.common import console, runtime
from hub.core import clock
from quality.periods import Period


def _last_month() -> str:

    today = clock.today()
    return f"{today.replace(day=1) - timedelta(days=1):%Y-%m}"


def report(
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="A day (2026-11-03), month (2026-11) or year (2026); default: last month.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="The report folder (default: <var>/reports/quality/<period>)."),
    ] = None,
    data_docs: Annotated[
        bool,
        typer.Option(
            "--data-docs/--no-data-docs",
            help="Run the GE checkpoint per department and build Data Docs (slower).",
        ),
    ] = True,
) -> None:
    """Write the data-quality report of a period: HTML, XLSX, JSON and Data Docs."""
    try:
        chosen = Period.parse(period or _last_month())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    folder = out.resolve() if out else None
    if data_docs:
        with console.status(f"GE checkpoints for {chosen.label}…"):
            jobs.data_docs(chosen, runtime(), folder)
    files = jobs.report(chosen, runtime(), folder)
    summary = files.report.departments
    table = Table(title=f"数据质量 {chosen.chinese}（与{files.report.previous.chinese}比较）")
    for header in ("排名", "部门", "归集", "完整率", "合规率", "及时率", "迟报", "隔离"):
        table.add_column(header, justify="left" if header == "部门" else "right")
    for row in summary.itertuples(index=False):
        table.add_row(
            "" if pd.isna(row.rank) else str(row.rank),
            row.department,
            str(row.delivered),
            *(
                "—" if pd.isna(value) else f"{value:.1%}"
                for value in (row.complete_pct, row.valid_pct, row.on_time_pct)
            ),
            str(row.late),
            str(row.quarantined),
        )
    console.print(table)
    for warning in files.report.warnings:
        console.print(f"[bold yellow]警告：{warning}[/]")
    console.print(f"report: {files.html}\n        {files.xlsx}\n        {files.json}")
    if files.data_docs:
        console.print(f"Data Docs: {files.data_docs / 'index.html'}")
