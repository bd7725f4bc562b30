"""``hub status`` over state made by the real steps, on SQLite and PostgreSQL.

Upstream: a sandbox day collected (one API answering HTML, twice), a quality report written and a
reconciliation with GSXT down. Downstream: status changes delivered to the push receivers (one of
them down), delta files published and pulled by one site. The figures are read back as an
operator sees them: the rows of the tables and the ``--json`` document.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from hub.cli.main import app
from hub.collect.sources import enabled_sources
from hub.core import clock
from hub.core.clock import OFFSET_VARIABLE
from hub.core.targets import push_targets
from hub.fanout.deliver import deliver
from hub.publish.api import create_app
from hub.publish.client import pull_deltas
from hub.publish.publisher import publish
from hub.publish.tokens import issue_token
from hub.reconcile.run import reconcile_day
from hub.report.run import report_folder, write_report
from hub.store.db import alembic_config, make_engine
from quality.periods import Period
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver as deliver_sandbox
from sandbox.deliver import init_sandbox, read_truth
from sandbox.receivers import ReceiversHandle
from tests.conftest import sandbox_in_environment
from tests.fanout.conftest import received_keys, receivers, write_targets  # noqa: F401
from tests.publish.conftest import ChangeLog, delta_dir, local  # noqa: F401
from tests.publish.http import served
from tests.reconcile.conftest import Systems

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 3)
NEXT = DAY + timedelta(days=1)
BROKEN = "zj_scjg_penalty_api"
QUARANTINING = "zj_yjt_penalty_db"
FIVE_DAYS = str(5 * 86400)


def _status_json(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(app, ["status", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _by(items: list[dict], key: str) -> dict[str, dict]:
    return {item[key]: item for item in items}


def _row(output: str, title: str, first_cell: str) -> dict[str, str]:
    """The cells of a rich table's row (its first line) by header (header lines joined)."""
    lines = output[output.index(title) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┃"))
    header_lines = itertools.takewhile(lambda line: line.startswith("┃"), lines[start:])
    columns = [[c.strip() for c in ln.strip("┃").split("┃")] for ln in header_lines]
    headers = [" ".join(part for part in parts if part) for parts in zip(*columns, strict=True)]
    row = next(line for line in lines if line.startswith(f"│ {first_cell} "))
    return dict(zip(headers, (c.strip() for c in row.strip("│").split("│")), strict=True))


@pytest.fixture
def province(
    platform_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SandboxConfig, object]]:
    """A sandbox day delivered and served; the hub on ``platform_url`` with its var in tmp."""
    config = SandboxConfig(tmp_path / "sandbox", seed=3)
    init_sandbox(config)
    deliver_sandbox(config, DAY)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    with sandbox_in_environment(config, monkeypatch, platform_url) as server:
        yield config, server


class _GsxtDown(Systems):
    """Credit China answers; GSXT's feed is down."""

    def fetch(self, system: str, since: str | None):
        if system == "gsxt":
            raise ConnectionError("gave up after 4 attempts: 503 Service Unavailable from gsxt")
        yield from super().fetch(system, since)


def test_status_shows_each_source_its_failures_and_each_upstream_dag(
    province: tuple[SandboxConfig, object], platform_url: str
) -> None:
    config, server = province
    runner = CliRunner()
    server.set_faults(BROKEN, mode="html")
    assert runner.invoke(app, ["collect", "--date", str(DAY)]).exit_code == 1
    assert runner.invoke(app, ["collect", "--date", str(DAY), "--source", BROKEN]).exit_code == 1
    engine = make_engine(platform_url)
    try:
        received = Period.parse(str(clock.today()))  # the report covers what arrived that day
        report = write_report(received, report_folder(received), engine).report
        reconciled = reconcile_day(DAY, engine=engine, systems=_GsxtDown())
    finally:
        engine.dispose()

    status = _status_json(runner)
    sources = _by(status["sources"], "source_id")
    assert sorted(sources) == sorted(s.id for s in enabled_sources())
    truth = read_truth(config, DAY, QUARANTINING)
    good = sources[QUARANTINING]
    assert (good["status"], good["day"], good["failures_in_row"]) == ("succeeded", str(DAY), 0)
    assert (good["read"], good["quarantined"]) == (truth["rows"], sum(truth["defects"].values()))
    assert good["loaded"] == good["read"] - good["quarantined"]
    assert good["days_since_success"] == 0
    broken = sources[BROKEN]
    assert (broken["status"], broken["failures_in_row"], broken["days_since_success"]) == (
        "failed",
        2,
        None,
    )
    assert broken["error"].startswith(f"source {BROKEN}: expected JSON")
    quarantined = sum(q["records"] for q in status["quarantine"] if q["source_id"] == QUARANTINING)
    assert quarantined == good["quarantined"]

    dags = _by(status["dags"], "dag_id")
    collect = dags["collect_credit_records"]
    assert (collect["last"], collect["state"], collect["error"]) == (
        str(DAY),
        f"1 failed, {len(sources) - 1} succeeded",
        f"failed: {BROKEN}",
    )
    quality = dags["quality_report"]
    assert (quality["last"], quality["state"]) == (
        str(clock.today()),
        f"{len(report.departments)} departments",
    )
    assert len(report.departments) > 0
    reconcile = dags["reconcile_repairs"]
    found = sum(reconciled.findings_by_class.values())
    reconciled_state = f"partial, {found} findings ({reconciled.findings['open']} open)"
    assert (reconcile["last"], reconcile["state"]) == (str(DAY), reconciled_state)
    assert reconcile["error"] == "; ".join(reconciled.errors)
    assert reconciled.errors[0] == (
        "repair feed gsxt: gave up after 4 attempts: 503 Service Unavailable from gsxt"
    )
    assert (
        f"source {BROKEN}: batch {broken['batch_id']} failed (2 in a row; last success never): "
        f"{broken['error']}" in status["problems"]
    )
    assert (
        f"reconciliation of {DAY}: {reconciled_state}: {reconcile['error']}" in (status["problems"])
    )

    text = runner.invoke(app, ["status"]).output
    row = _row(text, "sources: last batch", BROKEN)
    assert (row["status"], row["failures in a row"], row["last success"]) == (
        "failed",
        "2",
        "never",
    )
    assert row["error"].startswith("expected JSON")  # cut to one line; problems have it whole
    row = _row(text, "sources: last batch", QUARANTINING)
    assert (row["read"], row["quarantined"], row["last success"]) == (
        str(truth["rows"]),
        str(good["quarantined"]),
        "0 d ago",
    )
    assert _row(text, "DAGs", "reconcile_repairs")["state"] == reconciled_state

    server.set_faults(BROKEN, mode="normal")
    assert runner.invoke(app, ["collect", "--date", str(DAY), "--source", BROKEN]).exit_code == 0
    row = _row(runner.invoke(app, ["status"]).output, "sources: last batch", BROKEN)
    assert (row["status"], row["failures in a row"], row["last success"]) == (
        "succeeded",
        "0",
        "0 d ago",
    )


@pytest.fixture
def hub_on(platform_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The hub's commands on ``platform_url``."""
    from hub.core.settings import settings

    monkeypatch.setenv("HUB_DATABASE_URL", platform_url)
    settings.cache_clear()
    return platform_url


def test_status_shows_push_targets_pull_sites_and_flags_a_site_that_stopped_pulling(
    hub_on: str,
    platform_engine: sa.Engine,
    receivers: ReceiversHandle,  # noqa: F811
    delta_dir: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_targets(tmp_path, monkeypatch, max_attempts=1)
    changes = ChangeLog(platform_engine)
    applied = changes.apply(local(DAY, 10), 60)
    receivers.set_faults("huzhou", mode="down")
    deliver(platform_engine)
    publish(DAY, platform_engine)
    with platform_engine.begin() as connection:
        token = issue_token(connection, "wenzhou")
    with served(create_app(platform_engine, delta_dir)) as url:
        pulled = pull_deltas(url, token, "wenzhou", 0, tmp_path / "pulled")
    assert pulled.last_sequence == 1
    undelivered = changes.apply(local(NEXT, 10), 60)  # enqueued, not delivered yet
    publish(NEXT, platform_engine)
    runner = CliRunner()

    status = _status_json(runner)
    targets = _by(status["targets"], "target_id")
    in_huzhou = sum(1 for c in applied if (c["region_code"] or "").startswith("3305"))
    assert in_huzhou > 0
    assert (targets["huzhou"]["dead"], targets["huzhou"]["delivered"]) == (in_huzhou, 0)
    assert targets["huzhou"]["last_error"].startswith("huzhou: gave up after")
    hangzhou = targets["hangzhou"]
    assert hangzhou["delivered"] == len(received_keys(receivers)["hangzhou"]) > 0
    assert hangzhou["last_delivered_at"] is not None and hangzhou["dead"] == 0
    sites = _by(status["sites"], "site_id")
    wenzhou = sites["wenzhou"]
    assert (wenzhou["last_sequence"], wenzhou["last_day"], wenzhou["pulled_sequence"]) == (
        2,
        str(NEXT),
        1,
    )
    assert (wenzhou["days_since_pull"], wenzhou["stopped_pulling"]) == (0, False)
    fanout = _by(status["dags"], "dag_id")["fanout_removals"]
    delivered = sum(t["delivered"] for t in targets.values())
    pending = sum(1 for c in undelivered for t in push_targets() if t.covers(c["region_code"]))
    assert sum(t["pending"] for t in targets.values()) == pending > 0
    assert fanout["state"] == f"{delivered} delivered, {pending} pending, {in_huzhou} dead letters"
    publish_dag = _by(status["dags"], "dag_id")["publish_deltas"]
    assert (publish_dag["last"], publish_dag["state"]) == (
        str(NEXT),
        "7 of 7 sites at the last day",
    )
    assert (
        f"target huzhou: {in_huzhou} dead letters (hub fanout --retry-dead --target huzhou)"
        in (status["problems"])
    )

    # Five days on, nobody has pulled since: every site with sets waiting is flagged.
    monkeypatch.setenv(OFFSET_VARIABLE, FIVE_DAYS)
    later = _status_json(runner)
    flagged = {s["site_id"]: s for s in later["sites"] if s["stopped_pulling"]}
    assert sorted(flagged) == sorted(sites)
    assert (flagged["wenzhou"]["days_since_pull"], flagged["jiaxing"]["days_since_pull"]) == (5, 5)
    assert (
        "site wenzhou: no pull for 5 days (more than 3); published up to set 2, downloaded up to 1"
        in later["problems"]
    )
    text = runner.invoke(app, ["status"]).output
    row = _row(text, "pull sites", "wenzhou")
    assert (row["last set"], row["downloaded up to"], row["days since"], row["flag"]) == (
        "2",
        "1",
        "5",
        "stopped pulling",
    )
    assert _row(text, "pull sites", "jiaxing")["last pull"] == "never"
    assert _row(text, "push delivery outbox", "huzhou")["dead letters"] == str(in_huzhou)
    relaxed = _status_json(runner, "--stale-pull-days", "10")
    assert not [s for s in relaxed["sites"] if s["stopped_pulling"]]


def test_status_on_a_database_behind_the_code_says_to_run_init_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.core.settings import settings

    url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = make_engine(url)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    engine.dispose()
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    settings.cache_clear()
    runner = CliRunner()

    shown = runner.invoke(app, ["status"])
    machine = runner.invoke(app, ["status", "--json"])
    fixed = runner.invoke(app, ["init-db"])
    after = runner.invoke(app, ["status"])
    settings.cache_clear()

    message = f"platform database at migration 0004, this code needs {head}: run hub init-db"
    assert (shown.exit_code, machine.exit_code) == (1, 1)
    assert f"problem: {message}" in shown.output
    assert json.loads(machine.stdout)["problems"] == [message]
    assert fixed.exit_code == 0
    assert after.exit_code == 0 and f"migration {head} (code: {head})" in after.output
