"""``hub console``: the web console on one machine, with a local login (no Airflow needed)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from hub.cli.common import console


def serve_console(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8790,
) -> None:
    """Serve the console for leads and operators (Airflow's plugin serves the same app).

    Two users: ``lead`` and ``operator``, their passwords from HUB_CONSOLE_LEAD_PASSWORD and
    HUB_CONSOLE_OPERATOR_PASSWORD, else made at start and printed once.
    """
    import uvicorn

    from hub.console.app import create_app
    from hub.console.local import LocalLogin, local_users

    users, made = local_users(dict(os.environ))
    for name in made:
        console.print(f"password for {name} (made now, valid until this console stops): ", end="")
        print(users[name][1])
    console.print(f"console at http://{host}:{port}/ (users: {', '.join(users)})")
    uvicorn.run(create_app(LocalLogin(users)), host=host, port=port, log_level="info")
