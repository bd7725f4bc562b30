"""Benchmark: deliver 100,000 removals to the 12 Zhejiang targets as loopback push receivers.

    .venv/bin/python bench/deliver_removals.py [--changes 100000] [--backends postgresql sqlite]

For each backend, from an empty migrated database: 100,000 published penalty records spread over
the 11 cities (COPY on PostgreSQL), then one `apply_status_changes` repairing them all, which
writes the status-change log and, in the same transaction, the outbox: one row for the record's
city site and one for the government-service platform, 200,000 messages. Then one delivery run
(`hub.fanout.deliver`, what `hub fanout` and the DAG run) posts them to 12 receivers
(`sandbox.receivers`: one uvicorn server with a minimal ASGI app, in a separate process so it does
not share the delivering process's interpreter), every target a push target with the batch size
and concurrency the targets file declares. Prints the enqueue time, deliveries/s, and what the
receivers counted (every message once).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import requests
import yaml
from common import database_url, drop_database

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "fanout"
sys.path.insert(0, str(ROOT))

from hub.core.settings import MAPPINGS_DIR  # noqa: E402
from hub.fanout.deliver import deliver  # noqa: E402
from hub.reconcile.changes import apply_status_changes  # noqa: E402
from hub.store.bulk import insert_frame  # noqa: E402
from hub.store.db import make_engine, upgrade  # noqa: E402
from hub.store.reference import load_reference  # noqa: E402
from hub.store.schema import RECORD_TABLES  # noqa: E402
from sandbox.codes import make_uscc  # noqa: E402

# One county per city; every record's region decides its city site.
COUNTIES = ("330106", "330203", "330302", "330402", "330521", "330602", "330702", "330802",
            "330902", "331002", "331102")  # fmt: skip
HTTP = {"timeout_seconds": 10, "max_retries": 3, "backoff_seconds": 0.2, "max_backoff_seconds": 5}


def all_push_targets(path: Path) -> Path:
    """The Zhejiang targets file with every site a push target (batch size, concurrency kept)."""
    declared = yaml.safe_load((MAPPINGS_DIR / "targets" / "zhejiang.yaml").read_text("utf-8"))
    for entry in declared["targets"]:
        entry.update(delivery="push", connection=f"hub_target_{entry['id']}")
    path.write_text(yaml.safe_dump(declared, allow_unicode=True), encoding="utf-8")
    return path


def records(count: int, seed: int = 11) -> pd.DataFrame:
    rng = random.Random(seed)
    codes = [make_uscc(rng, COUNTIES[i % len(COUNTIES)]) for i in range(count)]
    now = datetime(2026, 11, 20, 2, tzinfo=UTC)
    return pd.DataFrame(
        {
            "record_key": [f"{i:032x}" for i in range(count)],
            "document_no": [f"浙罚〔2026〕{i}号" for i in range(count)],
            "subject_name": [f"浙江某某{i}有限公司" for i in range(count)],
            "credit_code": codes,
            "decision_date": pd.Timestamp("2025-03-02"),
            "authority_name": "浙江省市场监督管理局",
            "source_id": "bench",
            "batch_id": 1,
            "raw_seq": range(count),
            "received_at": now,
            "updated_at": now,
            "content_hash": "0" * 32,
            "version": 1,
        }
    )


def start_receivers() -> tuple[subprocess.Popen, dict]:
    ready = WORK / "receivers.json"
    ready.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.receivers", "--ready-file", str(ready)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 120
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the receivers did not start")
        time.sleep(0.2)
    time.sleep(0.2)  # the file is written whole before the server is asked anything
    return process, json.loads(ready.read_text(encoding="utf-8"))


def receiver_stats(ready: dict) -> dict[str, dict]:
    stats = {}
    for name, value in ready["env"].items():
        conn = json.loads(value)
        answer = requests.get(
            f"{conn['extra']['base_url']}/_admin/stats",
            headers={"Authorization": f"Bearer {conn['password']}"},
            timeout=30,
        )
        stats[name] = answer.json()
    return stats


def run(backend: str, count: int, ready: dict) -> dict:
    workdir = WORK / backend
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "hub.db").unlink(missing_ok=True)
    url, name = database_url(backend, workdir)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            load_reference(connection)
            insert_frame(connection, RECORD_TABLES["penalty"], records(count))
        changes = pd.DataFrame(
            {
                "record_key": [f"{i:032x}" for i in range(count)],
                "kind": "penalty",
                "new_status": "repaired",
                "reason": "信用中国已修复",
                "decided_by": "credit_china",
                "effective_date": date(2026, 11, 19),
            }
        )
        started = time.perf_counter()
        with engine.begin() as connection:
            applied = apply_status_changes(connection, changes)
        enqueue_seconds = time.perf_counter() - started
        before = receiver_stats(ready)
        cpu = time.process_time()
        delivery = deliver(engine)
        cpu = time.process_time() - cpu
        after = receiver_stats(ready)
    finally:
        engine.dispose()
        if name:
            drop_database(name)
    taken = sum(after[k]["messages"] - before[k]["messages"] for k in after)
    copies = sum(after[k]["copies"] - before[k]["copies"] for k in after)
    return {
        "backend": backend,
        "changes": applied.count,
        "enqueue_s": enqueue_seconds,
        "deliveries": delivery.delivered,
        "deliver_s": delivery.seconds,
        "cpu_us": cpu / max(delivery.delivered, 1) * 1e6,
        "requests": sum(t.requests for t in delivery.targets.values()),
        "taken": taken,
        "copies": copies,
        "problems": delivery.problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    os.environ["HUB_TARGETS_FILE"] = str(all_push_targets(WORK / "targets.yaml"))
    receivers, ready = start_receivers()
    for name, value in ready["env"].items():
        conn = json.loads(value)
        conn["extra"].update(HTTP)
        os.environ[name] = json.dumps(conn)
    try:
        results = [run(backend, args.changes, ready) for backend in args.backends]
    finally:
        receivers.terminate()
        receivers.wait(timeout=30)
    print(f"\n{args.changes:,} removals to 12 loopback receivers (uvicorn, minimal ASGI app)")
    print(
        "backend     enqueue    deliveries  seconds  deliveries/s  CPU/delivery  requests  "
        "kept/sent"
    )
    for r in results:
        print(
            f"{r['backend']:<11} {r['enqueue_s']:5.1f} s  {r['deliveries']:>12,}  "
            f"{r['deliver_s']:7.1f}  {r['deliveries'] / r['deliver_s']:>12,.0f}  "
            f"{r['cpu_us']:>9.0f} µs  {r['requests']:>8,}  {r['taken']:,}/{r['copies']:,}"
        )
        for problem in r["problems"]:
            print(f"  problem: {problem}")
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"machine load at the end (1, 5, 15 min): {', '.join(load)}")


if __name__ == "__main__":
    main()
