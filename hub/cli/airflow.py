"""``hub airflow``: what an Airflow installation needs from the hub, for Airflow's importers.

- ``hub airflow pools``: the agency pools, JSON for ``airflow pools import``.
- ``hub airflow variables``: the thresholds' defaults, JSON for ``airflow variables import``.
- ``hub airflow queues``: every Celery queue, for ``airflow celery worker --queues``.

All print to standard output and touch no database; docs/airflow.md has the whole set-up.
"""

from __future__ import annotations

import json

import typer

from hub.cli.common import console
from hub.core.thresholds import THRESHOLDS
from hub_airflow.collect import worker_queues
from hub_airflow.pools import pools_document

app = typer.Typer(
    help="What Airflow needs from the hub: pools, variables, queues.", no_args_is_help=True
)


@app.command("pools")
def pools() -> None:
    """Print every agency pool as JSON for `airflow pools import`."""
    console.out(json.dumps(pools_document(), ensure_ascii=False, indent=2))


@app.command("variables")
def variables() -> None:
    """Print every threshold's default as JSON for `airflow variables import`."""
    console.out(json.dumps({t.name: str(t.default) for t in THRESHOLDS}, indent=2))


@app.command("queues")
def queues() -> None:
    """Print every Celery queue (`default`, then each agency's), comma-separated."""
    console.out(",".join(worker_queues()))
