"""The delta-file commands: ``hub publish``, ``hub token``, ``hub serve`` and ``hub pull``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from connectors.connections import MissingConnectionError, from_environment
from connectors.http_session import GaveUpError
from hub import jobs
from hub.cli.common import console, fail, parse_day, runtime
from hub.core.settings import settings
from hub.publish.client import PullError, pull_deltas
from hub.publish.config import PublishConfigError, publish_settings
from hub.publish.publisher import DayOutcome, PublishError
from hub.publish.ranges import DayOrderError
from hub.publish.retention import ExpiredSet
from hub.publish.tokens import issue_token


def _publication_table(outcomes: list[DayOutcome], expired: list[ExpiredSet]) -> Table:
    table = Table(title="delta files")
    for header in ("day", "changes (from, to]", "site", "sequence", "rows", "state"):
        table.add_column(header, justify="right" if header in ("sequence", "rows") else "left")
    for outcome in outcomes:
        window = f"{outcome.range.n_changes} ({outcome.range.watermark_from}, "
        window += f"{outcome.range.watermark_to}]"
        for site in outcome.sites:
            table.add_row(
                str(outcome.range.day),
                window,
                site.site_id,
                "" if site.sequence is None else str(site.sequence),
                "" if site.row_count is None else str(site.row_count),
                site.state,
            )
    for gone in expired:
        state = f"expired now ({gone.files_deleted} files deleted)"
        table.add_row(str(gone.day), "", gone.site_id, str(gone.sequence), "", state)
    return table


def publish(
    day: Annotated[str, typer.Option("--date", help="The day to publish, e.g. 2026-11-03.")],
) -> None:
    """Publish a day's delta files for every pull site, then delete files past the retention."""
    try:
        outcome = jobs.publish(parse_day(day), runtime())
    except (DayOrderError, PublishError) as exc:
        raise fail(str(exc)) from exc
    console.print(_publication_table(outcome.days, outcome.expired))
    console.print(f"files under {outcome.config.delta_dir}")


def token(
    site: Annotated[str, typer.Option("--site", help="The site the token is for.")],
) -> None:
    """Issue a site's pull API token (revoking its previous one) and print it, once."""
    try:
        publish_settings().site(site)
    except (KeyError, PublishConfigError) as exc:
        raise fail(str(exc.args[0])) from exc
    with runtime().engine() as engine, engine.begin() as connection:
        issued = issue_token(connection, site)
    console.print(f"token for {site} (shown only now; any earlier token of {site} is revoked):")
    print(issued)


def serve(
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8780,
) -> None:
    """Serve the pull API standalone (the Airflow plugin serves the same app)."""
    import uvicorn

    from hub.publish.api import create_app

    # X-Forwarded-For is the app's to judge (HUB_PULL_TRUSTED_PROXIES), not uvicorn's.
    uvicorn.run(create_app(), host=host, port=port, log_level="info", proxy_headers=False)


def pull(
    site: Annotated[str, typer.Option("--site", help="The site pulling.")],
    since: Annotated[int, typer.Option(help="The last sequence already held.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Folder for the files.")] = None,
    connection: Annotated[
        str, typer.Option(help="Connection with the API's URL and the token as password.")
    ] = "hub_pull",
) -> None:
    """Download a site's delta files above a sequence, verify their checksums, write them."""
    try:
        conn = from_environment(connection)
    except MissingConnectionError as exc:
        raise fail(str(exc)) from exc
    folder = out or settings().var_dir / "pulled"
    try:
        result = pull_deltas(conn.base_url(), conn.password, site, since, folder)
    except (PullError, GaveUpError) as exc:
        raise fail(str(exc)) from exc
    table = Table(title=f"pulled by {site}")
    for header in ("sequence", "day", "rows", "files"):
        table.add_column(header)
    for pulled in result.sets:
        files = "expired (deleted by retention)" if pulled.expired else ""
        files = files or ", ".join(path.name for path in pulled.files)
        table.add_row(str(pulled.sequence), pulled.day, str(pulled.row_count), files)
    console.print(table)
    console.print(f"files under {folder / site}; next time: --since {result.last_sequence}")
