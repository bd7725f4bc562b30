"""Who is looking: the console's two roles and the logins that tell them.

A *lead* reads the overview, the departments' scorecards, the reconciliation and cases; an
*operator* also sees sources, batches, quarantine and sites and may re-send dead letters. The
console asks a ``Login`` who the request's viewer is: inside Airflow's API server the plugin's
login reads Airflow's own session and auth manager; ``hub console`` on a laptop uses
``hub.console.local.LocalLogin``, users and passwords given at start, a signed cookie per
session.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from fastapi import Request


class Role(StrEnum):
    """What a viewer may see and do."""

    LEAD = "lead"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Viewer:
    """The person behind a request."""

    name: str
    role: Role

    @property
    def is_operator(self) -> bool:
        """Whether the viewer may see sources and sites and re-send dead letters."""
        return self.role is Role.OPERATOR


class Login(Protocol):
    """How the console learns who a request comes from."""

    async def viewer(self, request: Request) -> Viewer | None:
        """The request's viewer, or ``None`` when nobody (allowed) is logged in."""
        ...

    def login_url(self, request: Request) -> str:
        """Where to send a visitor to log in, coming back to ``request``'s page after."""
        ...
