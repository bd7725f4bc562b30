"""``hub sandbox``: set up the simulated province, run its API server, deliver days."""

from __future__ import annotations

import shlex
import signal
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sandbox import server
from sandbox.config import (
    CONFIG_FILE,
    DEFAULT_PORT,
    DEFAULT_REPAIR_PORT,
    DEFAULT_SEED,
    SandboxConfig,
    connection_env,
    default_dir,
)
from sandbox.deliver import deliver as deliver_days
from sandbox.deliver import init_sandbox
from sandbox.recording import FIXTURES_DIR, RECORD_DAY, record_sources
from sandbox.repair_cli import app as repairs_app
from sandbox.repair_systems import repair_connection_env
from sandbox.services import serve_province

app = typer.Typer(help="模拟省份（沙箱）：部门数据交付、接口服务。", no_args_is_help=True)
console = Console(width=None if Console().is_terminal else 150)
app.add_typer(repairs_app, name="repairs")

DirOption = Annotated[
    Path | None, typer.Option("--dir", help="Sandbox directory (default: <var dir>/sandbox).")
]


def _config(directory: Path | None) -> SandboxConfig:
    return SandboxConfig.load((directory or default_dir()).resolve())


@app.command()
def init(
    directory: DirOption = None,
    seed: Annotated[int, typer.Option(help="Seed of every generated record.")] = DEFAULT_SEED,
    port: Annotated[int, typer.Option(help="Port of the background API server.")] = DEFAULT_PORT,
    exchange_url: Annotated[
        str, typer.Option(help="Exchange database URL (default: SQLite file in the sandbox).")
    ] = "",
    repair_port: Annotated[
        int, typer.Option(help="Port of Credit China / GSXT (hub sandbox repairs serve).")
    ] = DEFAULT_REPAIR_PORT,
) -> None:
    """Create the sandbox: store, exchange tables, drop folders and connections.env."""
    directory = (directory or default_dir()).resolve()
    config = SandboxConfig(directory, seed, port, exchange_url, repair_port)
    init_sandbox(config)
    env = connection_env(config.dir, config.api_base_url, config.exchange_database_url, seed)
    env |= repair_connection_env(config.repair_base_url, seed)
    lines = [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    (config.dir / "connections.env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    console.print(
        f"sandbox ready in {config.dir} (seed {seed}); source {config.dir}/connections.env"
    )


@app.command()
def start(directory: DirOption = None) -> None:
    """Start the sandbox API server in the background."""
    config = _config(directory)
    pid = server.start_background(config)
    console.print(f"sandbox API server running at {config.api_base_url} (pid {pid})")


@app.command()
def stop(directory: DirOption = None) -> None:
    """Stop the background sandbox API server."""
    stopped = server.stop_background(_config(directory))
    console.print("sandbox API server stopped" if stopped else "sandbox API server was not running")


@app.command()
def status(directory: DirOption = None) -> None:
    """Show whether the sandbox API server runs, and its request counts."""
    state = server.background_status(_config(directory))
    if state is None:
        console.print("sandbox API server is not running")
        raise typer.Exit(1)
    console.print(state)


WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


@app.command()
def serve(
    directory: DirOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    base_port: Annotated[
        int,
        typer.Option(
            help="Agencies' APIs on this port, Credit China and GSXT on the next, "
            "the push receivers on the ones after."
        ),
    ] = DEFAULT_PORT,
    public_host: Annotated[
        str | None,
        typer.Option(help="Host name the connections give (default: --host)."),
    ] = None,
    connections_file: Annotated[
        Path | None,
        typer.Option(help="Write every connection here (Airflow's JSON form) once listening."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed, when the sandbox is created here.")] = (
        DEFAULT_SEED
    ),
) -> None:
    """Serve the whole province in the foreground until SIGTERM or Ctrl-C.

    Agencies' APIs, Credit China and GSXT, and a receiver per push target, on fixed ports. The
    sandbox is created first when the directory holds none. The connections file is written
    once every system listens, and removed when they stop.
    """
    if host in WILDCARD_HOSTS and not public_host:
        raise typer.BadParameter("give --public-host when listening on every interface")
    directory = (directory or default_dir()).resolve()
    if not (directory / CONFIG_FILE).exists():
        init_sandbox(SandboxConfig(directory, seed))
    config = SandboxConfig.load(directory)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with serve_province(config, host=host, base_port=base_port, public_host=public_host) as sims:
        if connections_file is not None:
            sims.write_connections(connections_file)
        table = Table("system", "URL")
        table.add_row("agencies' APIs", sims.agencies.base_url)
        table.add_row("Credit China, GSXT", sims.repair_systems.base_url)
        for target_id, url in sims.receivers.base_urls.items():
            table.add_row(f"receiver {target_id}", url)
        console.print(table)
        console.print(f"sandbox {config.dir} served; connections: {connections_file or '-'}")
        try:
            stop.wait()
        finally:
            if connections_file is not None:
                connections_file.unlink(missing_ok=True)


@app.command()
def deliver(
    day: Annotated[str, typer.Option("--date", help="First delivery day, YYYY-MM-DD.")],
    days: Annotated[int, typer.Option(help="Number of consecutive days.")] = 1,
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable).")] = None,
    directory: DirOption = None,
) -> None:
    """Deliver one or more days of every agency (or of --source) to their channels."""
    config = _config(directory)
    first = date.fromisoformat(day)
    table = Table("date", "source", "records", "rows", "defects", "dup", "resend", "corr", "late")
    for offset in range(days):
        for delivery in deliver_days(config, first + timedelta(days=offset), source or None):
            truth = delivery.truth
            table.add_row(
                truth["date"],
                truth["source_id"] + ("" if delivery.written else " (already delivered)"),
                *(str(truth[k]) for k in ("records", "rows")),
                str(sum(truth["defects"].values())),
                *(str(truth[k]) for k in ("duplicates", "resends", "corrections", "late")),
            )
    console.print(table)


@app.command()
def record(
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable).")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Fixtures folder (default: tests/fixtures/sources of the project)."),
    ] = None,
    day: Annotated[str, typer.Option("--date", help="Delivery day, YYYY-MM-DD.")] = (
        RECORD_DAY.isoformat()
    ),
    seed: Annotated[int, typer.Option(help="Seed of the generated records.")] = DEFAULT_SEED,
) -> None:
    """Record one page of every agency (or of --source) as its source's contract-test fixture.

    Writes <out>/<source id>/: the page as the agency sends it and expected.yaml (the rules each
    record fails, from the sandbox's ground truth). See docs/sources.md, "Contract tests".
    """
    try:
        recordings = record_sources(
            source or None, out or FIXTURES_DIR, date.fromisoformat(day), seed
        )
    except KeyError as exc:
        raise typer.BadParameter(
            f"{exc.args[0]}; a source without a sandbox twin has its fixture written by hand "
            '(docs/sources.md, "Contract tests")'
        ) from None
    table = Table("source", "records", "quarantined", "files", "folder")
    for recording in recordings:
        failing = sum(1 for rules in recording.verdicts.values() if rules)
        table.add_row(
            recording.source_id,
            str(len(recording.verdicts)),
            str(failing),
            ", ".join(recording.files),
            str(recording.folder),
        )
    console.print(table)


def demo(
    days: Annotated[
        int | None, typer.Option(help="How many consecutive days to run (default 14).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="The first day (default 2026-09-28: the fortnight of National Day)."),
    ] = None,
) -> None:
    """Run the daily cycle through the real DAGs over the sandbox province (under var/demo/)."""
    from sandbox.demo import DEFAULT_DAYS, DEFAULT_START, run_demo

    first = DEFAULT_START
    if start:
        try:
            first = date.fromisoformat(start)
        except ValueError as exc:
            raise typer.BadParameter(f"{start!r} is not a date like 2026-09-28") from exc
    run_demo(console, days or DEFAULT_DAYS, first)


def register(hub_app: typer.Typer) -> None:
    """Add the sandbox's commands to ``hub``: ``hub sandbox …`` and ``hub demo``."""
    hub_app.add_typer(app, name="sandbox")
    hub_app.command("demo")(demo)
