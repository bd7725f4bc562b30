"""``hub fanout``: deliver the outbox to the push targets now, and revive dead letters."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hub import jobs
from hub.cli.common import console, runtime
from hub.core.targets import Target, all_targets, push_targets, targets_file
from hub.fanout.deliver import DeliveryRun
from hub.fanout.status import outbox_table


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
        float | None,
        typer.Option(help="How long a claimed batch is held from other runs (default 300)."),
    ] = None,
) -> None:
    """Deliver every due outbox message to the push targets now.

    Exits 1 when a target could not be delivered to or messages became dead letters.
    """
    outcome = jobs.fanout(
        runtime(),
        targets=_chosen(target),
        retry_dead_letters=retry_dead_letters,
        lease_seconds=lease_seconds,
    )
    if retry_dead_letters:
        console.print(f"{outcome.revived} dead letters made pending again")
    console.print(_run_table(outcome.run))
    console.print(outbox_table(outcome.outbox))
    for problem in outcome.problems:
        console.print(f"[red]{problem}[/]")
    if outcome.problems:
        raise typer.Exit(1)
