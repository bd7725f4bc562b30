"""The console's pages, in the navigation's order.

Each reads through ``hub.jobs`` or the function the command line and the reports read, and
renders through ``hub.console.render``.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from hub import jobs
from hub.console import departments, overview
from hub.console.access import Lead, PlatformRuntime
from hub.console.render import json_answer, render
from hub.core import clock
from hub.core.model import RecordKind
from hub.core.privacy import mask_document
from hub.core.settings import settings
from hub.ops.totals import platform_totals
from hub.reconcile.compare import SYSTEM_NAMES
from quality.periods import Granularity, Period

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, viewer: Lead, runtime: PlatformRuntime) -> HTMLResponse:
    """Today's DAG runs and problems (``hub status``), the day's figures, what needs action."""
    status = mask_document(jobs.status(runtime))
    with runtime.engine() as engine, engine.connect() as connection:
        totals = platform_totals(connection)
    return render(
        request,
        "overview.html.j2",
        viewer,
        status=status,
        dag_labels=overview.DAG_LABELS,
        figures=overview.day_figures(status),
        held=overview.held_records(totals),
        open_findings=totals.open_findings,
        problems=overview.problems(status),
    )


KIND_LABELS = {
    RecordKind.PENALTY: "行政处罚",
    RecordKind.ABNORMAL: "经营异常名录",
    RecordKind.SERIOUS: "严重失信主体名单",
}


@router.get("/case", response_class=HTMLResponse)
def case_page(
    request: Request, viewer: Lead, runtime: PlatformRuntime, q: str = ""
) -> HTMLResponse:
    """The one-thing view of the subject typed in ``q`` (a credit code or ID number, any form)."""
    found = jobs.case(q, runtime) if q.strip() else None
    return render(
        request,
        "case.html.j2",
        viewer,
        typed=found["subject"] if found else "",
        case=found,
        kinds=KIND_LABELS,
        systems=SYSTEM_NAMES,
    )


@router.get("/case.json")
def case_json(viewer: Lead, runtime: PlatformRuntime, q: str) -> Response:
    """The same case as JSON (what ``hub case --json`` prints)."""
    return json_answer(jobs.case(q, runtime), credit_codes=("subject",))


def _period(granularity: Granularity, period: str | None) -> Period:
    today = clock.now().astimezone(settings().timezone).date()
    try:
        return departments.period_of(granularity, period, today)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc


@router.get("/departments", response_class=HTMLResponse)
def departments_page(
    request: Request,
    viewer: Lead,
    runtime: PlatformRuntime,
    granularity: Granularity = Granularity.MONTH,
    period: str | None = None,
) -> HTMLResponse:
    """The scorecards of a day, month or year, ranked, with each department's trend."""
    chosen = _period(granularity, period)
    with runtime.engine() as engine, engine.connect() as connection:
        report = departments.scorecards(connection, chosen)
        trend = departments.trend(connection, chosen)
    return render(
        request,
        "departments.html.j2",
        viewer,
        period=chosen,
        granularity=granularity,
        granularities=departments.GRANULARITY_LABELS,
        previous=chosen.previous(),
        rows=departments.ranking(report),
        warnings=report.warnings,
        trend=trend,
        lines={name: departments.sparkline(s) for name, s in trend.scores.items()},
    )


@router.get("/departments.xlsx")
def departments_workbook(
    viewer: Lead,
    runtime: PlatformRuntime,
    granularity: Granularity = Granularity.MONTH,
    period: str | None = None,
) -> Response:
    """The period's report workbook, as ``hub report`` writes it."""
    chosen = _period(granularity, period)
    with runtime.engine() as engine, engine.connect() as connection:
        report = departments.scorecards(connection, chosen)
    return Response(
        departments.workbook(report),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="quality-{chosen.label}.xlsx"'},
    )
