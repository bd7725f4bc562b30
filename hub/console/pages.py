"""The console's pages, in the navigation's order.

Each reads through ``hub.jobs`` or the function the command line and the reports read, and
renders through ``hub.console.render``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hub import jobs
from hub.console import overview
from hub.console.access import Lead, PlatformRuntime
from hub.console.render import render
from hub.core.privacy import mask_document
from hub.ops.totals import platform_totals

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
