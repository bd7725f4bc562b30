"""``hub fanout``: deliver the outbox to the push targets now, and revive dead letters."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.core.targets import Target, all_targets, push_targets, targets_file
from hub.fanout.claims import retry_dead
from hub.fanout.deliver import DeliveryRun, deliver, utc_now
from hub.fanout.status import outbox_figures, outbox_table
from hub.store.db import make_engine

console = Console(width=None if Console().is_terminal else 150)


def _chosen(target_ids: list[str] | None) -> list[Target]:
    if not target_ids:
        return push_targets()
    declared = all_targets()
    chosen = []
    for target_id in target_ids:
        target = declared.get(target_id)
        if target is None:
            raise typer.BadParameter(
                f"{target_id!r} is not a target of {targets_file().name}; push targets: "
                + ", ".join(t.id for t in push_targets()),
                param_hint="--target",
            )
        if target.delivery != "push":
            raise typer.BadParameter(
                f"{target_id} pulls delta files (delivery: pull): it has no outbox",
                param_hint="--target",
            )
        chosen.append(target)
    return chosen


def _run_table(run: DeliveryRun) -> Table:
    table = Table(title=f"delivery run {run.holder} ({run.seconds:.1f} s)")
    for header in ("target", "delivered", "already there", "failed", "new dead", "requests"):
        table.add_column(header, justify="left" if header == "target" else "right")
    table.add_column("stopped because")
    for t in run.targets.values():
        table.add_row(
            t.target_id,
            str(t.delivered),
            str(t.duplicates),
            str(t.failed),
            f"[red]{t.dead}[/]" if t.dead else "0",
            str(t.requests),
            f"[red]{t.stopped}[/]" if t.stopped else "",
        )
    return table


def fanout(
    target: Annotated[
        list[str] | None, typer.Option("--target", help="Only this push target (repeatable).")
    ] = None,
    retry_dead_letters: Annotated[
        bool, typer.Option("--retry-dead", help="Make dead letters pending again, then deliver.")
    ] = False,
    lease_seconds: Annotated[
        float, typer.Option(help="How long a claimed batch is held from other runs.")
    ] = 300.0,
) -> None:
    """Deliver every due outbox message to the push targets now.

    Exits 1 when a target could not be delivered to or messages became dead letters.
    """
    targets = _chosen(target)
    engine = make_engine()
    if retry_dead_letters:
        revived = retry_dead(engine, [t.id for t in targets], utc_now())
        console.print(f"{revived} dead letters made pending again")
    run = deliver(engine, targets, lease_seconds=lease_seconds)
    with engine.connect() as connection:
        figures = outbox_figures(connection, utc_now())
    engine.dispose()
    console.print(_run_table(run))
    console.print(outbox_table([f for f in figures if f.target_id in run.targets]))
    for problem in run.problems:
        console.print(f"[red]{problem}[/]")
    if run.problems:
        raise typer.Exit(1)
