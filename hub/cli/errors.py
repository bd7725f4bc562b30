"""How the ``hub`` command line reports what a person must fix: one line, exit code 2.

A configuration error (``hub.core.errors.ConfigurationError``: a variable, file or connection), a
platform database that cannot be opened, or a var directory that cannot be written is printed as
one line naming what to change, and the command exits 2; ``-v`` adds the traceback. Anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import traceback
from typing import Any

import click
import sqlalchemy as sa
import typer
from typer.core import TyperGroup

from hub.cli.common import errors
from hub.core.errors import ConfigurationError
from hub.core.settings import settings

USAGE_ERROR = 2
VERBOSE = "hub_verbose"
"""Where the callback keeps ``-v``'s count, in the context's ``meta``."""


def one_line(exc: BaseException) -> str | None:
    """What to tell a person about ``exc`` in one line, or ``None`` when it is not theirs to fix."""
    if isinstance(exc, ConfigurationError):
        return " ".join(str(exc).split())
    if isinstance(exc, sa.exc.OperationalError) and exc.statement is None:
        url = sa.make_url(settings().database_url).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return f"cannot open the platform database HUB_DATABASE_URL={url}: {reason}"
    if isinstance(exc, OSError) and exc.filename and _under_var_dir(str(exc.filename)):
        return (
            f"HUB_VAR_DIR={settings().var_dir}: cannot write {exc.filename}: {exc.strerror or exc}"
        )
    return None


def _under_var_dir(path: str) -> bool:
    try:
        var_dir = settings().var_dir
    except ConfigurationError:
        return False
    return path.startswith(str(var_dir))


class HubGroup(TyperGroup):
    """The ``hub`` group: configuration errors become one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; report what a person must fix in one line."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            message = one_line(exc)
            if message is None:
                raise
            if ctx.meta.get(VERBOSE):
                traceback.print_exception(exc)
            errors.print(
                f"hub: {message}", style="red", markup=False, highlight=False, soft_wrap=True
            )
            raise typer.Exit(USAGE_ERROR) from None
