"""Who may open a page: FastAPI dependencies over the app's ``Login``.

``Lead`` is any viewer the login knows (leads and operators); ``Operator`` only operators. A
visitor nobody logged in is sent to the login's page; a lead asking for an operator's page or
action is answered 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hub import jobs
from hub.console.auth import Login, Viewer


class NotLoggedInError(Exception):
    """Nobody is logged in: the visitor is sent to ``login_url``."""

    def __init__(self, login_url: str) -> None:
        self.login_url = login_url


class RefusedError(Exception):
    """``viewer`` may not open an operator's page or act."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer


async def viewer_of(request: Request) -> Viewer:
    """The request's viewer, or ``NotLoggedInError``."""
    login: Login = request.app.state.login
    viewer = await login.viewer(request)
    if viewer is None:
        raise NotLoggedInError(login.login_url(request))
    return viewer


def operator_of(viewer: Annotated[Viewer, Depends(viewer_of)]) -> Viewer:
    """The request's viewer if an operator, else ``RefusedError``."""
    if not viewer.is_operator:
        raise RefusedError(viewer)
    return viewer


def runtime_of(request: Request) -> jobs.Runtime:
    """The runtime the app reads the platform with."""
    return request.app.state.runtime


Lead = Annotated[Viewer, Depends(viewer_of)]
Operator = Annotated[Viewer, Depends(operator_of)]
PlatformRuntime = Annotated[jobs.Runtime, Depends(runtime_of)]
