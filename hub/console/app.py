"""The console's FastAPI app: one router per page, each reading what the command line reads.

``create_app(login)`` builds it for a ``Login`` (Airflow's inside the API server, ``LocalLogin``
for ``hub console``).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hub import jobs
from hub.console import pages
from hub.console.access import NotLoggedInError, RefusedError
from hub.console.auth import Login
from hub.console.local import LocalLogin
from hub.console.render import render


def create_app(login: Login, runtime: jobs.Runtime | None = None) -> FastAPI:
    """The console for the viewers ``login`` tells, over the platform of ``runtime``.

    Args:
        login: who a request comes from.
        runtime: the platform database and settings (default: ``jobs.Runtime()``: the
            environment, read on each request, never at import).
    """
    app = FastAPI(title="信用修复数据中台 控制台", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.login = login
    app.state.runtime = runtime or jobs.Runtime()

    @app.exception_handler(NotLoggedInError)
    def _to_login(request: Request, exc: NotLoggedInError) -> RedirectResponse:
        return RedirectResponse(exc.login_url, status_code=303)

    @app.exception_handler(RefusedError)
    def _refuse(request: Request, exc: RefusedError) -> HTMLResponse:
        return render(request, "refused.html.j2", exc.viewer, status_code=403)

    if isinstance(login, LocalLogin):
        app.include_router(login.router())
    app.include_router(pages.router)
    return app
