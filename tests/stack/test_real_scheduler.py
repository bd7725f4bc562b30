"""Two sandbox days under the real Airflow scheduler on PostgreSQL, LocalExecutor and Celery.

What only a scheduler shows: the REST API's runs cover the day their logical date names, each
collect task runs in its agency's pool, the Asset-triggered runs do the day the records arrived,
the deadline alert reaches the webhook, and the pull API answers through the api-server. With
Celery, a worker on a second host collects the one agency group whose queue it takes. The
figures are the fortnight test's (tests/dags/test_cycle.py): what was collected and quarantined
against the sandbox's truth, the reconciliation's findings, what every push target received,
and every pull site's delta files.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from hub.collect.sources import enabled_sources
from hub.core.targets import pull_targets, push_targets
from hub.store.outbox_schema import outbox
from hub.store.publish_schema import delta_day, delta_manifest
from hub.store.reconcile_schema import reconcile_finding, reconcile_run
from hub.store.schema import ingest_batch, raw_record, status_change
from hub_airflow.collect import collect_queue, source_pools
from sandbox.agencies import RULES
from sandbox.config import SandboxConfig
from sandbox.deliver import read_truth
from sandbox.repair_scenario import read_repair_truth
from tests.fanout.conftest import unmasked_id_numbers
from tests.stack.conftest import ALERT_TOKEN, SECOND_HOST_QUEUE, SHANGHAI, TwoDays

# Starting the stack and running the two days counts against the first test: up to 15 minutes.
pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]


def local_day(instant: str) -> date:
    """The Shanghai day of an instant the REST API gives."""
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(SHANGHAI).date()


def days_of(two_days: TwoDays) -> list[date]:
    return [day.day for day in two_days.days]


def test_a_rest_run_with_logical_date_the_next_midnight_covers_the_day(
    two_days: TwoDays,
) -> None:
    print(
        f"\nstack ({two_days.stack.executor}): two days and the late run: {two_days.seconds:.0f} s"
    )
    for day in two_days.days:
        for dag_id in ("collect_credit_records", "publish_deltas"):
            [run] = day.runs[dag_id]
            interval = (local_day(run["data_interval_start"]), local_day(run["data_interval_end"]))
            assert (run["run_type"], interval) == ("manual", (day.day, day.day + timedelta(1)))
    # The same logical date again is refused, not run twice.
    again = two_days.stack.api.call(
        "POST",
        "/dags/collect_credit_records/dagRuns",
        json={"logical_date": two_days.days[0].runs["collect_credit_records"][0]["logical_date"]},
    )
    assert again.status_code == 409


def test_each_collect_task_ran_in_its_agencys_pool(two_days: TwoDays) -> None:
    api = two_days.stack.api
    expected = {f"collect.{source}": pool for source, pool in source_pools().items()}
    for day in two_days.days:
        [run] = day.runs["collect_credit_records"]
        ran = {
            ti["task_id"]: ti["pool"]
            for ti in api.task_instances("collect_credit_records", run["dag_run_id"])
            if ti["task_id"].startswith("collect.")
        }
        assert ran == expected
    assert len(set(expected.values())) > 1


def test_the_asset_triggered_runs_do_the_day_the_records_arrived(two_days: TwoDays) -> None:
    api = two_days.stack.api
    with two_days.stack.engine().connect() as connection:
        reconciled = connection.execute(
            sa.select(reconcile_run.c.run_date, reconcile_run.c.status).order_by(reconcile_run.c.id)
        ).all()
    for day in two_days.days:
        [report] = day.runs["quality_report"]
        assert report["run_type"] == "asset_triggered"
        # The report of the receipt day (collection ran in the night after the day), not of
        # last month, which is what a run type compared as a string made of it.
        periods = api.xcom("quality_report", report["dag_run_id"], "periods")
        assert periods == [(day.day + timedelta(days=1)).isoformat()]
        [reconcile] = day.runs["reconcile_repairs"]
        assert reconcile["run_type"] == "asset_triggered"
    # One reconciliation per day by Asset, and the late run of the last day again.
    days = days_of(two_days)
    assert reconciled == [(d, "succeeded") for d in [*days, days[-1]]]


def test_collection_matches_the_sandbox_truth(two_days: TwoDays) -> None:
    config = SandboxConfig(two_days.stack.layout.var_dir / "sandbox")
    truths = [read_truth(config, day, s.id) for day in days_of(two_days) for s in enabled_sources()]
    rows = sum(t["rows"] for t in truths)
    defects = sum(t["defects"][rule] for t in truths for rule in RULES)
    b = ingest_batch.c
    with two_days.stack.engine().connect() as connection:
        read, quarantined, failed = connection.execute(
            sa.select(
                sa.func.sum(b.n_read),
                sa.func.sum(b.n_quarantined),
                sa.func.count().filter(b.status != "succeeded"),
            )
        ).one()
        raw = connection.scalar(sa.select(sa.func.count()).select_from(raw_record))
        for day in days_of(two_days):
            folder = two_days.stack.layout.var_dir / "reports" / "quality"
            report = json.loads(
                (folder / str(day + timedelta(days=1)) / "report.json").read_text(encoding="utf-8")
            )
            counted = connection.execute(
                sa.select(sa.func.sum(b.n_read), sa.func.sum(b.n_quarantined)).where(
                    b.logical_date == day
                )
            ).one()
            delivered = sum(d["delivered"] for d in report["departments"])
            held = sum(d["quarantined"] for d in report["departments"])
            assert (delivered, held) == tuple(counted), day
    assert (read, quarantined, failed, raw) == (rows, defects, 0, rows)
    assert rows > 0 and defects > 0


def test_the_reconciliation_finds_the_repairs_of_unknown_records(two_days: TwoDays) -> None:
    config = SandboxConfig(two_days.stack.layout.var_dir / "sandbox")
    truths = [read_repair_truth(config, day) for day in days_of(two_days)]
    unknown = sum(
        1
        for truth in truths
        for fact in truth["decisions"] + truth["shares"]
        if not fact["record"]["known"] and fact["decision"] == "repaired"
    )
    f = reconcile_finding.c
    with two_days.stack.engine().connect() as connection:
        found = connection.scalar(
            sa.select(sa.func.count()).where(f.finding_class == "unknown_record")
        )
    assert found == unknown > 0


def test_every_change_reached_every_push_target_once(two_days: TwoDays) -> None:
    with two_days.stack.engine().connect() as connection:
        pending = connection.scalar(
            sa.select(sa.func.count()).where(outbox.c.acknowledged_at.is_(None))
        )
        assert pending == 0
        for target in push_targets():
            in_region = sa.or_(*(status_change.c.region_code.startswith(p) for p in target.regions))
            changes = connection.scalar(sa.select(sa.func.count()).where(in_region))
            received = two_days.received[target.id]
            assert (received["messages"], received["most_copies"]) == (changes, 1), target.id
    assert sum(r["messages"] for r in two_days.received.values()) > 0


def test_every_pull_site_has_one_set_per_day_holding_its_changes(two_days: TwoDays) -> None:
    m = delta_manifest.c
    with two_days.stack.engine().connect() as connection:
        published = connection.execute(
            sa.select(delta_day.c.day, delta_day.c.watermark_to).order_by(delta_day.c.day)
        ).all()
        assert [day for day, _ in published] == days_of(two_days)
        last = published[-1].watermark_to
        for site in pull_targets():
            sets = connection.execute(
                sa.select(m.sequence, m.day, m.row_count).where(m.site_id == site.id)
            ).all()
            in_region = sa.or_(*(status_change.c.region_code.startswith(p) for p in site.regions))
            changes = connection.scalar(
                sa.select(sa.func.count()).where(in_region, status_change.c.id <= last)
            )
            assert sorted((s.sequence, s.day) for s in sets) == list(
                enumerate(days_of(two_days), start=1)
            ), site.id
            assert sum(s.row_count for s in sets) == changes, site.id


def test_the_late_reconciliation_alerts_the_webhook_with_its_day_in_beijing_time(
    two_days: TwoDays,
) -> None:
    last = days_of(two_days)[-1]
    alerts = [
        a
        for a in two_days.stack.alerts
        if a["body"]["run_id"] == two_days.deadline_run["dag_run_id"]
    ]
    [alert] = alerts
    assert alert["auth"] == f"Bearer {ALERT_TOKEN}"
    assert alert["body"]["day"] == last.isoformat()
    deadline = (last + timedelta(days=2)).isoformat()
    assert alert["body"]["deadline"] == f"{deadline}T08:00:00+08:00"
    assert alert["body"]["dag_id"] == "reconcile_repairs"


def test_a_site_pulls_its_files_through_the_api_server(two_days: TwoDays) -> None:
    running = two_days.stack
    base = f"{running.layout.base_url}/credit-deltas"
    token = running.hub("token", "--site", "wenzhou").strip().splitlines()[-1].strip()
    other = running.hub("token", "--site", "jiaxing").strip().splitlines()[-1].strip()
    bearer = {"Authorization": f"Bearer {token}"}

    listing = requests.get(f"{base}/sites/wenzhou/deltas?since=0", headers=bearer, timeout=30)
    assert listing.status_code == 200, listing.text
    sets = listing.json()["deltas"]
    assert [s["sequence"] for s in sets] == [1, 2]
    parquet = next(f for f in sets[-1]["files"] if f["format"] == "parquet")
    download = requests.get(parquet["url"], headers=bearer, timeout=30)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == parquet["sha256"]

    assert requests.get(f"{base}/sites/wenzhou/deltas", timeout=30).status_code == 401
    foreign = {"Authorization": f"Bearer {other}"}
    assert (
        requests.get(f"{base}/sites/wenzhou/deltas", headers=foreign, timeout=30).status_code == 403
    )
    assert (
        requests.get(f"{base}/sites/nowhere/deltas", headers=bearer, timeout=30).status_code == 404
    )


def test_the_console_answers_through_the_api_server_behind_airflows_login(
    two_days: TwoDays,
) -> None:
    stack = two_days.stack
    base = f"{stack.layout.base_url}/credit-console"
    nobody = requests.get(f"{base}/", timeout=30, allow_redirects=False)
    assert nobody.status_code == 303 and "login" in nobody.headers["location"]
    # The stack's API user may read Connections: an operator, who sees every page.
    pages = {
        path: stack.api.session.get(f"{base}{path}", timeout=60)
        for path in ("/", "/departments", "/reconciliation", "/sources")
    }
    assert {path: page.status_code for path, page in pages.items()} == dict.fromkeys(pages, 200)
    sources = pages["/sources"].text
    assert all(source.id in sources for source in enabled_sources())
    for page in pages.values():
        assert unmasked_id_numbers(page.content) == []


WORKLOAD = re.compile(r"dag_id=([^/]+)/run_id=([^/]+)/task_id=([^/]+)/")
"""A workload's log path, in a worker's "Executing workload in Celery" line: DAG, run, task."""


def executed(log: Path) -> set[tuple[str, str, str]]:
    """Every (DAG, run, task) a Celery worker's log says it executed."""
    lines = log.read_text(errors="replace").splitlines()
    found = (WORKLOAD.search(line) for line in lines if "Executing workload in Celery" in line)
    return {match.groups() for match in found if match}


def second_host_tasks() -> set[str]:
    """The collect tasks of the agency group whose queue the second host takes."""
    pools = source_pools()
    return {f"collect.{s}" for s, pool in pools.items() if collect_queue(pool) == SECOND_HOST_QUEUE}


def test_with_celery_every_dags_tasks_ran_on_the_worker(two_days: TwoDays) -> None:
    worker_log = two_days.stack.layout.folder / "logs" / "airflow-worker.log"
    if two_days.stack.executor == "local":
        assert not worker_log.exists()  # the scheduler ran them
        return
    ran = executed(worker_log)
    for dag_id in two_days.days[0].runs:
        assert any(dag == dag_id for dag, _, _ in ran), dag_id
    # Not the agency group the second host takes: the stack's worker does not listen to its queue.
    assert not {task for _, _, task in ran} & second_host_tasks()


def test_with_celery_a_worker_on_a_second_host_collected_its_agency_group(
    two_days: TwoDays,
) -> None:
    if two_days.stack.executor == "local":
        assert two_days.stack.second_host_log is None
        return
    # In its own network namespace, reaching only the broker, the databases, the Execution API and
    # the sandbox's systems through relays, sharing only the files; listening to collect_scjg only.
    collects = {
        run["dag_run_id"] for day in two_days.days for run in day.runs["collect_credit_records"]
    }
    wanted = {
        ("collect_credit_records", run, task) for run in collects for task in second_host_tasks()
    }
    assert second_host_tasks() == {"collect.zj_scjg_abnormal_db", "collect.zj_scjg_penalty_api"}
    assert executed(two_days.stack.second_host_log) == wanted
