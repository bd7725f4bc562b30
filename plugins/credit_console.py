"""The Airflow plugin serving the console for provincial leads and operators in the API server.

Airflow 3 mounts the console's FastAPI app (``hub.console.app.create_app``) under
``<api server>/credit-console/`` and shows it in its navigation (``external_views``). Airflow
does not authenticate plugin apps, so the console asks Airflow itself on every request: the
session's JWT (the ``_token`` cookie Airflow's login sets, or a bearer token) is read by the auth
manager in force, and the viewer's role is what the auth manager allows:

- an **operator** may read Airflow's Connections (``is_authorized_connection``, GET): the
  SimpleAuthManager's ``op`` and ``admin`` roles, FAB's Op and Admin;
- a **lead** may open Airflow's website (``is_authorized_view``, WEBSITE): every other role.

A visitor without a valid session is sent to the auth manager's login page and back.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from fastapi import Request

from hub.console.app import create_app
from hub.console.auth import Role, Viewer

URL_PREFIX = "/credit-console"


class AirflowLogin:
    """The console's ``Login`` over Airflow's session and auth manager."""

    async def viewer(self, request: Request) -> Viewer | None:
        """The Airflow user of the request's session, as a lead or an operator."""
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
        from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
        from jwt import InvalidTokenError

        bearer = request.headers.get("authorization", "")
        token = bearer[7:] if bearer.lower().startswith("bearer ") else None
        token = token or request.cookies.get(COOKIE_NAME_JWT_TOKEN)
        if not token:
            return None
        manager = get_auth_manager()
        try:
            user = await manager.get_user_from_token(token)
        except InvalidTokenError:
            return None
        if manager.is_authorized_connection(method="GET", user=user):
            return Viewer(user.get_name(), Role.OPERATOR)
        if manager.is_authorized_view(access_view=AccessView.WEBSITE, user=user):
            return Viewer(user.get_name(), Role.LEAD)
        return None

    def login_url(self, request: Request) -> str:
        """The auth manager's login page, coming back to the page asked for."""
        from airflow.api_fastapi.app import get_auth_manager

        return get_auth_manager().get_url_login(next_url=str(request.url))


class CreditConsolePlugin(AirflowPlugin):
    """Serves the console and puts it in Airflow's navigation."""

    name = "credit_console"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": create_app(AirflowLogin()), "url_prefix": URL_PREFIX, "name": "信用修复控制台"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "信用修复控制台",
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "credit-console",
            "destination": "nav",
            "nav_top_level": True,
        }
    ]
