"""The console's pages, in the navigation's order.

Each reads through ``hub.jobs`` or the function the command line and the reports read, and
renders through ``hub.console.render``.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub import jobs
from hub.console import departments, findings, overview
from hub.console.access import Lead, Operator, PlatformRuntime
from hub.console.render import json_answer, records, render
from hub.core import clock
from hub.core.privacy import mask_document
from hub.core.settings import settings
from hub.core.targets import push_targets
from hub.core.thresholds import REMINDER_DAYS
from hub.fanout.claims import retry_dead
from hub.ops.totals import platform_totals
from hub.reconcile.compare import SYSTEM_NAMES
from hub.reconcile.report import AGE_BANDS
from quality.periods import Granularity, Period
from quality.report.labels import KINDS

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
        kinds=KINDS,
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


@router.get("/departments/detail", response_class=HTMLResponse)
def department_page(
    request: Request,
    viewer: Lead,
    runtime: PlatformRuntime,
    name: str,
    granularity: Granularity = Granularity.MONTH,
    period: str | None = None,
) -> HTMLResponse:
    """One department's quarantined records by rule (each as received) and its late records."""
    chosen = _period(granularity, period)
    with runtime.engine() as engine, engine.connect() as connection:
        report = departments.scorecards(connection, chosen)
        drill = departments.drill_down(connection, report, name)
    return render(
        request,
        "department.html.j2",
        viewer,
        name=name,
        period=chosen,
        granularity=granularity,
        drill=drill,
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


@router.get("/reconciliation", response_class=HTMLResponse)
def reconciliation_page(request: Request, viewer: Lead, runtime: PlatformRuntime) -> HTMLResponse:
    """The last reconciliation's open findings by class, party and age, settled ones, reminders."""
    today = clock.now().astimezone(settings().timezone).date()
    reminder_days = runtime.threshold(REMINDER_DAYS)
    with runtime.engine() as engine, engine.connect() as connection:
        day = findings.report_day(connection, today)
        report = findings.daily_report(connection, day, reminder_days)
        settled = findings.settled(connection, day)
    responsible = report.by_responsible
    return render(
        request,
        "reconciliation.html.j2",
        viewer,
        report=report,
        classes=report.by_class.to_dict("records"),
        bands=report.age_bands.to_dict("records"),
        band_limits={label: (low, high) for low, high, label in AGE_BANDS},
        parties=[(name, row.to_dict()) for name, row in responsible.iterrows()],
        party_columns=list(responsible.columns),
        open_findings=records(report.open_findings),
        reminders=records(report.reminders),
        reminder_days=reminder_days,
        settled=records(settled),
        settled_days=findings.SETTLED_DAYS,
        kinds=KINDS,
    )


@router.get("/sources", response_class=HTMLResponse)
def sources_page(
    request: Request, viewer: Operator, runtime: PlatformRuntime, resent: str | None = None
) -> HTMLResponse:
    """Per source, push target and pull site what ``hub status`` shows (operators only)."""
    status = mask_document(jobs.status(runtime, recent=5))
    with runtime.engine() as engine, engine.connect() as connection:
        delta_files = platform_totals(connection).delta_files
    return render(
        request,
        "sources.html.j2",
        viewer,
        status=status,
        delta_files=delta_files,
        resent=resent,
    )


@router.post("/targets/{target_id}/resend")
def resend_dead_letters(
    request: Request, target_id: str, viewer: Operator, runtime: PlatformRuntime
) -> RedirectResponse:
    """Make the target's dead letters pending again, due at once (``hub fanout --retry-dead``).

    The next ``fanout_removals`` run delivers them.
    """
    if target_id not in {t.id for t in push_targets()}:
        raise HTTPException(404, f"no push target {target_id!r}")
    with runtime.engine() as engine:
        revived = retry_dead(engine, [target_id], clock.now())
    root = request.scope.get("root_path", "")
    return RedirectResponse(f"{root}/sources?resent={target_id}:{revived}", status_code=303)
