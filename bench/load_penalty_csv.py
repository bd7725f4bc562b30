"""Benchmark: load penalty records from a CSV file drop, beside the loaders it must beat.

    .venv/bin/python bench/load_penalty_csv.py [--rows 1000000] [--backends postgresql sqlite]

Writes a CSV in the national 双公示 column layout (valid credit codes, fines in yuan, legacy
category codes), then for each backend runs each loader in its own process (so peak memory is
its own), on a fresh database, for a first load and for the same file sent again:
- bare: the file into an unindexed table of the same columns, all text (PostgreSQL: COPY;
  SQLite, which has no COPY: Arrow read + executemany), i.e. what any loader pays;
- floor: COPY into a temporary staging table, then one ``INSERT ... SELECT ... ON CONFLICT
  (decision number) DO UPDATE ... WHERE`` the row differs (PostgreSQL only): the idempotent
  upsert's floor;
- dlt: dlt's ``merge`` on the decision number, Arrow batches in, its defaults (PostgreSQL only);
- hub: the real pipeline (`collect_source` through the file connector): raw landing, mapping,
  rules, identity, staging and upsert, file ledger, all in one transaction. The re-sent file has
  one blank line more, so that the file ledger does not skip it as already processed.
Prints records/s, peak memory, the ratios hub/floor and hub/dlt, and the load average.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from common import database_url, drop_database, peak_mb

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench"
SOURCE_ID = "bench_penalty_csv"
SOURCE_YAML = f"""
id: {SOURCE_ID}
name: benchmark penalty file drop
department: 省生态环境厅
kind: penalty
connector: {{type: file, connection: bench_drop, folder: drop, pattern: "*.csv", format: csv}}
mapping:
  fields:
    document_no: CF_WSH
    subject_name: CF_XDR_MC
    subject_category: CF_XDR_LB
    credit_code: CF_XDR_SHXYM
    legal_rep: CF_FRDB
    violation_type: CF_WFXW
    violation_facts: CF_SY
    legal_basis: CF_YJ
    penalty_categories: CF_CFLB
    penalty_content: CF_NR
    fine_amount: {{column: CF_NR_FK, unit: yuan}}
    decision_date: CF_JDRQ
    valid_until: CF_YXQ
    authority_name: CF_CFJG
    authority_code: CF_CFJGDM
    source_department: CF_SJLY
    source_department_code: CF_SJLYDM
"""


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A realistic penalty file: 20,000 subjects, a few departments, fines in yuan."""
    from sandbox.codes import make_uscc

    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    subjects = [make_uscc(rng, "330100") for _ in range(20_000)]
    authorities = [(f"浙江省某厅{i:02d}", make_uscc(rng, "330000", "1", "1")) for i in range(12)]
    who = np_rng.integers(0, len(subjects), rows)
    by = np_rng.integers(0, len(authorities), rows)
    days = pd.to_datetime("2026-01-01") + pd.to_timedelta(np_rng.integers(0, 300, rows), unit="D")
    frame = pd.DataFrame(
        {
            "CF_WSH": [f"浙罚〔2026〕{i}号" for i in range(rows)],
            "CF_XDR_MC": [f"杭州某某{w}有限公司" for w in who],
            "CF_XDR_LB": "法人及非法人组织",
            "CF_XDR_SHXYM": np.array(subjects)[who],
            "CF_FRDB": "张三",
            "CF_WFXW": "未按规定履行义务",
            "CF_SY": "经查，当事人存在违法行为，事实清楚，证据确凿。",
            "CF_YJ": "《中华人民共和国行政处罚法》第二十八条",
            "CF_CFLB": np_rng.choice(["1", "0;1", "罚款", "警告"], rows),
            "CF_NR": "罚款人民币若干元",
            "CF_NR_FK": np_rng.integers(1, 500, rows) * 1000,
            "CF_JDRQ": days.strftime("%Y-%m-%d"),
            "CF_YXQ": "2099-12-31",
            "CF_CFJG": np.array([a[0] for a in authorities])[by],
            "CF_CFJGDM": np.array([a[1] for a in authorities])[by],
            "CF_SJLY": np.array([a[0] for a in authorities])[by],
            "CF_SJLYDM": np.array([a[1] for a in authorities])[by],
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)


def measure_bare(backend: str, csv_path: Path) -> dict:
    """Time the floor: the file into a same-shaped all-text table."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import sqlalchemy as sa

    with tempfile.TemporaryDirectory() as tmp:
        url, pg_name = database_url(backend, Path(tmp))
        engine = sa.create_engine(url)
        header = csv_path.open(encoding="utf-8").readline().strip().split(",")
        columns = ", ".join(f'"{c}" text' for c in header)
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE bare ({columns})"))
            if backend == "postgresql":
                cursor = conn.connection.driver_connection.cursor()
                with (
                    cursor.copy("COPY bare FROM STDIN (FORMAT csv, HEADER true)") as copy,
                    csv_path.open("rb") as f,
                ):
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
            else:
                as_text = pacsv.ConvertOptions(column_types={c: pa.string() for c in header})
                table = pacsv.read_csv(csv_path, convert_options=as_text)
                marks = ", ".join("?" * len(header))
                raw = conn.connection.driver_connection
                for batch in table.to_batches(100_000):
                    raw.executemany(
                        f"INSERT INTO bare VALUES ({marks})",
                        zip(*(col.to_pylist() for col in batch.columns), strict=True),
                    )
            rows = conn.execute(sa.text("SELECT count(*) FROM bare")).scalar_one()
        seconds = time.perf_counter() - started
        engine.dispose()
        if pg_name:
            drop_database(pg_name)
    return {"rows": rows, "seconds": seconds, "peak_mb": peak_mb()}


def _timed(load: Callable[[], object]) -> float:
    started = time.perf_counter()
    load()
    return time.perf_counter() - started


def measure_floor(backend: str, csv_path: Path) -> dict:
    """Time the idempotent upsert's floor: staging COPY and one ``INSERT ... ON CONFLICT``."""
    import sqlalchemy as sa

    with tempfile.TemporaryDirectory() as tmp:
        url, pg_name = database_url(backend, Path(tmp))
        engine = sa.create_engine(url)
        header = csv_path.open(encoding="utf-8").readline().strip().split(",")
        columns = ", ".join(f'"{c}" text' for c in header)
        changes = ", ".join(f'"{c}" = excluded."{c}"' for c in header[1:])
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE TABLE keyed ({columns}, PRIMARY KEY ("CF_WSH"))'))

        def load() -> None:
            with engine.begin() as conn:
                conn.execute(sa.text(f"CREATE TEMPORARY TABLE staging ({columns}) ON COMMIT DROP"))
                cursor = conn.connection.driver_connection.cursor()
                with (
                    cursor.copy("COPY staging FROM STDIN (FORMAT csv, HEADER true)") as copy,
                    csv_path.open("rb") as f,
                ):
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
                conn.execute(
                    sa.text(
                        f'INSERT INTO keyed SELECT * FROM staging ON CONFLICT ("CF_WSH") '
                        f"DO UPDATE SET {changes} WHERE (keyed.*) IS DISTINCT FROM (excluded.*)"
                    )
                )

        first, resent = _timed(load), _timed(load)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM keyed")).scalar_one()
        engine.dispose()
        if pg_name:
            drop_database(pg_name)
    return {"rows": rows, "seconds": first, "resent_seconds": resent, "peak_mb": peak_mb()}


def _arrow_batches(csv_path: Path) -> Iterator[object]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = csv_path.open(encoding="utf-8").readline().strip().split(",")
    as_text = pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()))
    with pacsv.open_csv(csv_path, convert_options=as_text) as reader:
        yield from reader


def measure_dlt(backend: str, csv_path: Path) -> dict:
    """Time dlt's ``merge`` on the decision number, Arrow batches in, its defaults."""
    # No usage reports leave this machine.
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    import dlt
    import sqlalchemy as sa

    with tempfile.TemporaryDirectory() as tmp:
        url, pg_name = database_url(backend, Path(tmp))
        server = sa.make_url(url).set(drivername="postgresql")
        # dlt insists on a password; a server that trusts local connections ignores it.
        server = server.set(password=server.password or "unused")
        credentials = server.render_as_string(hide_password=False)

        def load() -> None:
            pipeline = dlt.pipeline(
                pipeline_name="bench_penalty",
                pipelines_dir=tmp,
                destination=dlt.destinations.postgres(credentials=credentials),
                dataset_name="bench",
            )
            resource = dlt.resource(
                _arrow_batches(csv_path),
                name="penalty",
                write_disposition="merge",
                primary_key="CF_WSH",
            )
            pipeline.run(resource)

        first, resent = _timed(load), _timed(load)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM bench.penalty")).scalar_one()
        engine.dispose()
        if pg_name:
            drop_database(pg_name)
    return {"rows": rows, "seconds": first, "resent_seconds": resent, "peak_mb": peak_mb()}


def measure_hub(backend: str, csv_path: Path) -> dict:
    """Time the real pipeline on the file, from an empty migrated database, then sent again."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url, pg_name = database_url(backend, workdir)
        (workdir / "sources").mkdir()
        (workdir / "sources" / f"{SOURCE_ID}.yaml").write_text(SOURCE_YAML, encoding="utf-8")
        (workdir / "drop").mkdir()
        shutil.copy(csv_path, workdir / "drop" / csv_path.name)
        os.environ.update(
            HUB_DATABASE_URL=url,
            HUB_SOURCES_DIR=str(workdir / "sources"),
            AIRFLOW_CONN_BENCH_DROP=json.dumps({"conn_type": "fs", "extra": {"path": tmp}}),
        )
        from hub.collect.run import collect_source
        from hub.store.db import make_engine, upgrade

        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        summary = collect_source(SOURCE_ID, date(2026, 11, 3), engine=engine)
        seconds = time.perf_counter() - started
        # The same rows again: the blank line only makes the file new to the file ledger.
        resent = workdir / "drop" / f"resent_{csv_path.name}"
        resent.write_bytes(csv_path.read_bytes() + b"\n")
        started = time.perf_counter()
        again = collect_source(SOURCE_ID, date(2026, 11, 4), engine=engine)
        resent_seconds = time.perf_counter() - started
        engine.dispose()
        if pg_name:
            drop_database(pg_name)
    return {
        "rows": summary.read,
        "loaded": summary.loaded,
        "quarantined": summary.quarantined,
        "seconds": seconds,
        "resent_unchanged": again.counts.unchanged,
        "resent_seconds": resent_seconds,
        "peak_mb": peak_mb(),
    }


MEASURES: dict[str, Callable[[str, Path], dict]] = {
    "bare": measure_bare,
    "floor": measure_floor,
    "dlt": measure_dlt,
    "hub": measure_hub,
}


def _in_child(what: str, backend: str, csv_path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", what, backend, str(csv_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _skipped(what: str, backend: str) -> str | None:
    """Why ``what`` is not measured on ``backend``, if it is not."""
    if what in ("floor", "dlt") and backend != "postgresql":
        return "PostgreSQL only"
    if what == "dlt" and importlib.util.find_spec("dlt") is None:
        return "dlt is not installed (a development dependency: ./dev sets it up)"
    return None


def _rate(rows: int, seconds: float | None) -> float | None:
    return rows / seconds if seconds else None


def _load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, backend, path = args.child
        print(json.dumps(MEASURES[what](backend, Path(path))))
        return

    csv_path = WORK / f"penalties_{args.rows}.csv"
    if not csv_path.exists():
        started = time.perf_counter()
        write_csv(csv_path, args.rows)
        print(
            f"wrote {csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - started:.1f} s"
        )
    print(f"load average (1, 5, 15 min) at the start: {_load_average()}")
    print(
        f"{'backend':<11}{'what':<7}{'records':>10}{'first rec/s':>13}{'re-sent rec/s':>15}"
        f"{'peak MB':>9}"
    )
    for backend in args.backends:
        rates: dict[str, tuple[float | None, float | None]] = {}
        for what in MEASURES:
            if reason := _skipped(what, backend):
                print(f"{backend:<11}{what:<7}skipped: {reason}")
                continue
            r = _in_child(what, backend, csv_path)
            rates[what] = (
                _rate(r["rows"], r["seconds"]),
                _rate(r["rows"], r.get("resent_seconds")),
            )
            first, resent = (f"{x:,.0f}" if x else "-" for x in rates[what])
            print(
                f"{backend:<11}{what:<7}{r['rows']:>10,}{first:>13}{resent:>15}"
                f"{r['peak_mb']:>9,.0f}   (load average {_load_average()})"
            )
            if what == "hub":
                print(
                    f"{backend:<11}hub loaded {r['loaded']:,}, quarantined {r['quarantined']:,};"
                    f" re-sent: {r['resent_unchanged']:,} unchanged"
                )
        hub_first, hub_resent = rates["hub"]
        for anchor in ("bare", "floor", "dlt"):
            if anchor in rates:
                first, resent = rates[anchor]
                again = f", re-sent {hub_resent / resent:.2f}" if resent else ""
                print(f"{backend:<11}hub/{anchor}: first load {hub_first / first:.2f}{again}")


if __name__ == "__main__":
    main()
