"""``hub sandbox repairs``: run Credit China and GSXT by hand, and make them decide days."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from sandbox.config import SandboxConfig, default_dir
from sandbox.repair_scenario import decide_repairs
from sandbox.repair_systems import create_app
from sandbox.repair_vocab import SYSTEMS, vocabulary

app = typer.Typer(help="信用中国与公示系统（沙箱）：修复决定、接口服务。", no_args_is_help=True)
console = Console(width=None if Console().is_terminal else 150)

DirOption = Annotated[
    Path | None, typer.Option("--dir", help="Sandbox directory (default: <var dir>/sandbox).")
]


def _config(directory: Path | None) -> SandboxConfig:
    return SandboxConfig.load((directory or default_dir()).resolve())


@app.command()
def serve(
    directory: DirOption = None,
    port: Annotated[int | None, typer.Option(help="Port (default: the sandbox's).")] = None,
) -> None:
    """Serve Credit China and GSXT in the foreground until interrupted (Ctrl-C)."""
    config = _config(directory)
    port = port or config.repair_port
    for system in SYSTEMS:
        vocab = vocabulary(system)
        console.print(f"{vocab.name} ({system}): http://127.0.0.1:{port}/{vocab.prefix}")
    console.print(f"connections: source {config.dir / 'connections.env'}")
    uvicorn.run(create_app(config), host="127.0.0.1", port=port, log_level="warning")


@app.command()
def decide(
    day: Annotated[str, typer.Option("--date", help="First day to decide, YYYY-MM-DD.")],
    days: Annotated[int, typer.Option(help="Number of consecutive days.")] = 1,
    directory: DirOption = None,
) -> None:
    """Make both systems decide repairs of what the sandbox delivered, day by day."""
    config = _config(directory)
    first = date.fromisoformat(day)
    table = Table("date", "system", "repaired", "revoked", "of unknown records", "taken over")
    for offset in range(days):
        truth = decide_repairs(config, first + timedelta(days=offset))
        for system, counts in truth["counts"].items():
            figures = (counts[k] for k in ("repaired", "revoked", "unknown", "shared_in"))
            table.add_row(truth["date"], vocabulary(system).name, *map(str, figures))
    console.print(table)
    console.print(f"truth: {config.truth_dir}/<date>/repair_systems.json")
