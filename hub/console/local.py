"""The local login of ``hub console`` on a laptop: users and passwords given at start."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from hub.console.auth import Role, Viewer
from hub.console.render import render

SESSION_COOKIE = "hub_console_session"


class LocalLogin:
    """Users and passwords held in memory, for ``hub console`` on one machine.

    The session cookie holds the user's name and an HMAC of it under a key made at start, so a
    restart logs everybody out.
    """

    def __init__(self, users: dict[str, tuple[Role, str]]) -> None:
        """``users``: name → (role, password)."""
        self._users = dict(users)
        self._key = secrets.token_bytes(32)

    def _signature(self, name: str) -> str:
        return hmac.new(self._key, name.encode(), hashlib.sha256).hexdigest()

    async def viewer(self, request: Request) -> Viewer | None:
        """The user named by a valid session cookie."""
        name, _, signature = request.cookies.get(SESSION_COOKIE, "").rpartition(":")
        if name not in self._users or not hmac.compare_digest(signature, self._signature(name)):
            return None
        return Viewer(name, self._users[name][0])

    def login_url(self, request: Request) -> str:
        """The console's own login form."""
        root = request.scope.get("root_path", "")
        return f"{root}/login?next={quote(str(request.url.path), safe='/')}"

    def check(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s."""
        known = self._users.get(name)
        return known is not None and hmac.compare_digest(known[1].encode(), password.encode())

    def router(self) -> APIRouter:
        """``/login`` (the form and its answer) and ``/logout``."""
        router = APIRouter()

        @router.get("/login")
        def form(request: Request, next: str = "/") -> object:
            return render(request, "login.html.j2", None, next=next, failed=False)

        @router.post("/login")
        def log_in(
            request: Request,
            username: str = Form(...),
            password: str = Form(...),
            next: str = Form("/"),
        ) -> object:
            if not self.check(username, password):
                return render(
                    request, "login.html.j2", None, next=next, failed=True, status_code=401
                )
            root = request.scope.get("root_path", "")
            # Only a path of this console: "//host" and "/\\host" lead browsers elsewhere.
            target = next if next.startswith("/") and next[1:2] not in ("/", "\\") else "/"
            response = RedirectResponse(f"{root}{target}", status_code=303)
            response.set_cookie(
                SESSION_COOKIE,
                f"{username}:{self._signature(username)}",
                httponly=True,
                samesite="lax",
            )
            return response

        @router.post("/logout")
        def log_out(request: Request) -> RedirectResponse:
            response = RedirectResponse(f"{request.scope.get('root_path', '')}/", status_code=303)
            response.delete_cookie(SESSION_COOKIE)
            return response

        return router


PASSWORD_VARIABLES = {
    "lead": (Role.LEAD, "HUB_CONSOLE_LEAD_PASSWORD"),
    "operator": (Role.OPERATOR, "HUB_CONSOLE_OPERATOR_PASSWORD"),
}
"""The local users: name → role and the environment variable holding the password."""


def local_users(environment: dict[str, str]) -> tuple[dict[str, tuple[Role, str]], list[str]]:
    """The users ``lead`` and ``operator``, their passwords from ``environment`` or made now.

    Returns:
        The users, and the names whose password was made now (to be shown once).
    """
    users: dict[str, tuple[Role, str]] = {}
    made = []
    for name, (role, variable) in PASSWORD_VARIABLES.items():
        password = environment.get(variable)
        if not password:
            password = secrets.token_urlsafe(12)
            made.append(name)
        users[name] = (role, password)
    return users, made
