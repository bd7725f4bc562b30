"""The ``hub`` command line: every job and view of the hub, one command each.

Each command module is thin: it reads its options, makes one call into ``hub.jobs`` and prints
what came back. Packages that bring commands of their own (the simulated province brings ``hub
sandbox`` and ``hub demo``) register them under the ``hub.commands`` entry points, so the
production command line never imports them.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Annotated

import typer

from hub.cli.airflow import app as airflow_app
from hub.cli.collect import collect
from hub.cli.console import serve_console
from hub.cli.errors import VERBOSE, HubGroup
from hub.cli.fanout import fanout
from hub.cli.publish import publish, pull, serve, token
from hub.cli.reconcile import reconcile
from hub.cli.report import report
from hub.cli.sources import app as sources_app
from hub.cli.status import case, init_db, status
from hub.core.logs import configure as configure_logging

COMMAND_PLUGINS = "hub.commands"
"""The entry-point group of ``register(app)`` functions that add commands to ``hub``."""

app = typer.Typer(help="The credit-repair integration hub.", no_args_is_help=True, cls=HubGroup)
app.command("init-db")(init_db)
app.command("collect")(collect)
app.command("status")(status)
app.command("case")(case)
app.command("reconcile")(reconcile)
app.command("fanout")(fanout)
app.command("publish")(publish)
app.command("token")(token)
app.command("serve")(serve)
app.command("console")(serve_console)
app.command("pull")(pull)
app.command("report")(report)
app.add_typer(airflow_app, name="airflow")
app.add_typer(sources_app, name="sources")
for plugin in entry_points(group=COMMAND_PLUGINS):
    plugin.load()(app)


@app.callback()
def _configure(
    ctx: typer.Context,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="-v: log batches, pages and deliveries; -vv: each quarantined record too. "
            "HUB_LOG_FORMAT=json logs JSON lines.",
        ),
    ] = 0,
) -> None:
    ctx.meta[VERBOSE] = verbose
    configure_logging(verbose)
