"""``hub fanout`` and the outbox in ``hub status``, as an operator uses them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli.main import app
from hub.core.settings import settings
from hub.fanout.deliver import deliver, utc_now
from sandbox.receivers import ReceiversHandle
from tests.fanout.conftest import (
    change,
    expected_keys,
    insert_records,
    make_subjects,
    received_keys,
    write_targets,
)


@pytest.fixture
def hub_database(platform_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The hub's commands pointed at ``platform_url``."""
    monkeypatch.setenv("HUB_DATABASE_URL", platform_url)
    settings.cache_clear()
    yield platform_url
    settings.cache_clear()


def _row(output: str, table_title: str, first_cell: str) -> dict[str, str]:
    """The cells of a rich table's row (its first line), by column header."""
    lines = output[output.index(table_title) :].splitlines()
    headers = [c.strip() for c in next(ln for ln in lines if "┃" in ln).strip("┃").split("┃")]
    row = next(ln for ln in lines if ln.startswith(f"│ {first_cell} "))
    return dict(zip(headers, (c.strip() for c in row.strip("│").split("│")), strict=True))


@pytest.mark.integration
def test_dead_letters_show_in_status_and_retry_dead_delivers_them(
    hub_database: str,
    platform_engine: sa.Engine,
    receivers: ReceiversHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_targets(tmp_path, monkeypatch, max_attempts=2)
    subjects = make_subjects(24)
    insert_records(platform_engine, subjects)
    change(platform_engine, subjects)
    receivers.set_faults("huzhou", mode="down")
    runner = CliRunner()

    first = runner.invoke(app, ["fanout"])
    assert first.exit_code == 1, first.output
    assert "huzhou: gave up after 4 attempts: 503 Service Unavailable" in first.output
    run_row = _row(first.output, "delivery run", "hangzhou")
    assert (run_row["delivered"], run_row["failed"]) == ("2", "0")
    # The second attempt, once its backoff has passed, is the last one (max_attempts 2).
    second = deliver(platform_engine, clock=lambda: utc_now() + timedelta(hours=1))
    assert second.targets["huzhou"].dead == 2

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    dead = _row(status.output, "push delivery outbox", "huzhou")
    assert (dead["delivered"], dead["pending"], dead["dead letters"]) == ("0", "0", "2")
    assert dead["last error"].startswith("huzhou: gave up after 4")
    assert "hub fanout --retry-dead" in status.output
    assert _row(status.output, "push delivery outbox", "zj_gov_service")["delivered"] == "22"

    receivers.set_faults("huzhou", mode="normal")
    revived = runner.invoke(app, ["fanout", "--retry-dead", "--target", "huzhou"])
    assert revived.exit_code == 0, revived.output
    assert "2 dead letters made pending again" in revived.output
    assert _row(revived.output, "delivery run", "huzhou")["delivered"] == "2"
    assert received_keys(receivers)["huzhou"] == expected_keys(subjects)["huzhou"]
    after = _row(runner.invoke(app, ["status"]).output, "push delivery outbox", "huzhou")
    assert (after["delivered"], after["pending"], after["dead letters"]) == ("2", "0", "0")


def test_fanout_refuses_a_pull_site_and_an_unknown_target() -> None:
    runner = CliRunner()
    pull = runner.invoke(app, ["fanout", "--target", "wenzhou"])
    unknown = runner.invoke(app, ["fanout", "--target", "xian"])

    def said(result) -> str:
        return re.sub(r"[\s│╭╮╰╯─]+", " ", result.output)

    assert pull.exit_code == unknown.exit_code == 2
    assert "wenzhou pulls delta files (delivery: pull): it has no outbox" in said(pull)
    assert (
        "'xian' is not a target of zhejiang.yaml; push targets: hangzhou, huzhou, jinhua, "
        "ningbo, zj_gov_service" in said(unknown)
    )
