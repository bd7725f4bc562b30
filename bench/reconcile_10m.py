"""Benchmark: the daily reconciliation over a store of 10 million records, against a bare join.

    .venv/bin/python bench/reconcile_10m.py [--records 10000000] [--backends postgresql sqlite]

Builds, inside the database (generate_series / a recursive CTE, indexes made after the rows), a
store of penalty records with their publicity periods (decided over three years, so a few thousand
expire each day), one fifth market supervision's (repaired in GSXT), and a repair ledger of about a
million facts: 4% of the records repaired by the system that owns them, GSXT's repairs shared with
Credit China for half of them, the platform behind on one repair in seven. Then, each in its own
process (peak memory is its own):
- bare: DuckDB's full outer join of the three inputs (platform status, Credit China status,
  GSXT status per record, as Parquet loaded in memory beforehand) counting where they differ;
- hub, backlog day: `reconcile_day` on a store never reconciled (five days of expiries, every
  lagging repair to push, the platform behind on one repair in seven) with 10,000 new Credit China
  facts arriving through the feed;
- hub, typical day: `reconcile_day` for the next day, the backlog settled: 10,000 new facts (8,000
  from Credit China, 2,000 from GSXT) and one day of expiries.
Prints seconds by step, peak memory and the ratio to the bare join for each day.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter

import pandas as pd
import sqlalchemy as sa
from common import database_url, drop_database, peak_mb

DAY = date(2026, 11, 25)
NEXT_DAY = DAY + timedelta(days=1)
FIRST_DECISION = "2023-11-21"  # three years of decisions: the first five days expire on DAY
# The facts each day brings through the feeds: (system, records' raw_seq % 25, how many). The
# records are published ones their system repairs (raw_seq % 5 = 0 is market supervision's).
ARRIVING = {
    DAY: (("credit_china", 2, 10_000),),
    NEXT_DAY: (("credit_china", 3, 8_000), ("gsxt", 5, 2_000)),
}

_PG_RECORDS = """
INSERT INTO penalty_record (record_key, document_no, subject_name, subject_category,
    credit_code, decision_date, authority_name, authority_code, source_department,
    source_department_code, penalty_categories, source_id, batch_id, raw_seq, received_at,
    updated_at, content_hash, version, status, publicity_start, publicity_min_end,
    publicity_max_end, publicity_rule, responsible_system)
SELECT md5(i::text), 'BENCH-' || i, '企业' || i, '法人及非法人组织',
    '913301' || lpad(i::text, 11, '0') || 'X', d,
    CASE WHEN i % 5 = 0 THEN '杭州市市场监督管理局' ELSE '杭州市生态环境局' END,
    '11330100000000000X', '省生态环境厅', '11330000000000000X', '罚款', 'bench', 1, i,
    now(), now(), md5(i::text), 1,
    CASE WHEN i % 25 IN (0, 1) AND i % 7 <> 0 THEN 'repaired' ELSE 'published' END,
    d, d + interval '3 months', d + interval '3 years', 'bench/general',
    CASE WHEN i % 5 = 0 THEN 'gsxt' ELSE 'credit_china' END
FROM generate_series(1, :n) AS i,
    LATERAL (SELECT date '{first}' + (i % 1095) AS d) AS decided
"""
_SQLITE_RECORDS = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :n),
decided AS (SELECT i, date('{first}', '+' || (i % 1095) || ' days') AS d FROM n)
INSERT INTO penalty_record (record_key, document_no, subject_name, subject_category,
    credit_code, decision_date, authority_name, authority_code, source_department,
    source_department_code, penalty_categories, source_id, batch_id, raw_seq, received_at,
    updated_at, content_hash, version, status, publicity_start, publicity_min_end,
    publicity_max_end, publicity_rule, responsible_system)
SELECT printf('%032x', i), 'BENCH-' || i, '企业' || i, '法人及非法人组织',
    '913301' || printf('%011d', i) || 'X', d,
    CASE WHEN i % 5 = 0 THEN '杭州市市场监督管理局' ELSE '杭州市生态环境局' END,
    '11330100000000000X', '省生态环境厅', '11330000000000000X', '罚款', 'bench', 1, i,
    datetime('now'), datetime('now'), printf('%032x', i), 1,
    CASE WHEN i % 25 IN (0, 1) AND i % 7 <> 0 THEN 'repaired' ELSE 'published' END,
    d, date(d, '+3 months'), date(d, '+3 years'), 'bench/general',
    CASE WHEN i % 5 = 0 THEN 'gsxt' ELSE 'credit_china' END
FROM decided
"""
# Credit China: its own 4% (i % 25 = 1) and half of GSXT's (shared); GSXT: its own 4%.
_FACTS = """
INSERT INTO repair_fact (system, external_id, kind, document_no, credit_code, subject_name,
    authority_name, decision, decided_at, payload, record_key, seen_at, run_id)
SELECT CASE WHEN raw_seq % 25 = 0 AND NOT shared THEN 'gsxt' ELSE 'credit_china' END,
    'F' || raw_seq || CASE WHEN shared THEN 'S' ELSE '' END, 'penalty', document_no,
    credit_code, subject_name, authority_name, 'repaired', {decided}, '{{}}', record_key,
    {decided}, 0
FROM (
    SELECT r.*, FALSE AS shared FROM penalty_record r WHERE raw_seq % 25 IN (0, 1)
    UNION ALL
    SELECT r.*, TRUE AS shared FROM penalty_record r WHERE raw_seq % 50 = 0
) AS repaired
"""


@dataclass
class Page:
    facts: pd.DataFrame
    cursor: str


@dataclass
class Accepted:
    """A push target that takes everything at once (HTTP is not what is measured here)."""

    accepted: int
    rejected: tuple = ()


class ArrivingFacts:
    """One day's new repairs (``ARRIVING``), served as the feeds would; pushes are accepted."""

    def __init__(self, engine: sa.Engine, day: date) -> None:
        self.cursor = day.isoformat()
        with engine.connect() as conn:
            self.facts = {
                system: _facts_of(conn, system, remainder, count, day)
                for system, remainder, count in ARRIVING[day]
            }

    def fetch(self, system: str, since: str | None):
        if system in self.facts and (since is None or since < self.cursor):
            yield Page(self.facts[system], self.cursor)

    def push(self, system: str, facts: pd.DataFrame) -> Accepted:
        return Accepted(len(facts))


def _facts_of(
    conn: sa.Connection, system: str, remainder: int, count: int, day: date
) -> pd.DataFrame:
    from connectors.repair_systems import FACT_COLUMNS

    query = sa.text(
        "SELECT document_no, credit_code, subject_name, authority_name FROM penalty_record "
        "WHERE raw_seq % 25 = :remainder AND status = 'published' ORDER BY raw_seq LIMIT :n"
    )
    facts = pd.DataFrame(conn.execute(query, {"remainder": remainder, "n": count}).mappings().all())
    facts["system"] = system
    facts["external_id"] = f"{system}-{day}-" + facts.index.astype(str)
    facts["kind"] = "penalty"
    facts["id_number"] = None
    facts["decision"] = "repaired"
    facts["decided_at"] = datetime.combine(day - timedelta(days=1), time(10), tzinfo=UTC)
    facts["payload"] = "{}"
    return facts[list(FACT_COLUMNS)].astype(object)


def _index_ddl(conn: sa.Connection, table: str) -> tuple[list[str], list[str]]:
    """The statements dropping ``table``'s indexes and constraints, and those making them again."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(
            sa.text(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
            ),
            {"t": table},
        ).all()
        return [f"DROP INDEX {name}" for name, _ in rows], [sql for _, sql in rows]
    constraints = conn.execute(
        sa.text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u')"
        ),
        {"t": table},
    ).all()
    indexes = conn.execute(
        sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"), {"t": table}
    ).all()
    plain = [(name, ddl) for name, ddl in indexes if name not in {c for c, _ in constraints}]
    drops = [f"ALTER TABLE {table} DROP CONSTRAINT {name}" for name, _ in constraints]
    creates = [f"ALTER TABLE {table} ADD CONSTRAINT {name} {ddl}" for name, ddl in constraints]
    return drops + [f"DROP INDEX {name}" for name, _ in plain], creates + [d for _, d in plain]


def build_store(url: str, backend: str, records: int) -> dict:
    from hub.reconcile.ledger import refresh_system_status
    from hub.store.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    started = perf_counter()
    template = _PG_RECORDS if backend == "postgresql" else _SQLITE_RECORDS
    decided = "now()" if backend == "postgresql" else "datetime('now', '-1 day')"
    with engine.begin() as conn:
        if backend == "postgresql":
            conn.execute(sa.text("SET LOCAL maintenance_work_mem = '1GB'"))
        # Rows first, indexes after: one sort per index instead of ten million random inserts.
        drops, creates = _index_ddl(conn, "penalty_record")
        for statement in drops:
            conn.execute(sa.text(statement))
        conn.execute(sa.text(template.format(first=FIRST_DECISION)), {"n": records})
        for statement in creates:
            conn.execute(sa.text(statement))
        conn.execute(sa.text(_FACTS.format(decided=decided)))
        refresh_system_status(conn)
    if backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    with engine.connect() as conn:
        facts = conn.scalar(sa.text("SELECT count(*) FROM repair_fact"))
    engine.dispose()
    return {"records": records, "facts": facts, "build_seconds": perf_counter() - started}


def export_inputs(url: str, folder: Path) -> None:
    """The three inputs of the bare join, as Parquet: each system's status per record."""
    engine = sa.create_engine(url)
    of_system = "SELECT record_key, status FROM system_status WHERE system = '{}'"
    queries = {
        "platform": "SELECT record_key, status FROM penalty_record",
        "credit_china": of_system.format("credit_china"),
        "gsxt": of_system.format("gsxt"),
    }
    with engine.connect() as conn:
        for name, query in queries.items():
            pd.read_sql(query, conn).to_parquet(folder / f"{name}.parquet")
    engine.dispose()


def measure_hub(url: str, day: date) -> dict:
    from hub.reconcile.run import reconcile_day
    from hub.store.db import make_engine

    engine = make_engine(url)
    systems = ArrivingFacts(engine, day)
    started = perf_counter()
    summary = reconcile_day(day, engine=engine, systems=systems)
    seconds = perf_counter() - started
    engine.dispose()
    return {
        "seconds": seconds,
        "peak_mb": peak_mb(),
        "status": summary.status,
        "findings": summary.findings_by_class,
        "changes": summary.status_changes,
        "pushed": summary.pushed,
        "errors": summary.errors,
        "steps": summary.seconds,
    }


def measure_bare(folder: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    for name in ("platform", "credit_china", "gsxt"):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM '{folder / name}.parquet'")
    started = perf_counter()
    differing = con.execute(
        """
        SELECT count(*) FROM platform p
        FULL OUTER JOIN credit_china c ON c.record_key = p.record_key
        FULL OUTER JOIN gsxt g ON g.record_key = coalesce(p.record_key, c.record_key)
        WHERE p.status IS DISTINCT FROM coalesce(c.status, g.status, 'published')
           OR (c.status IS NOT NULL AND g.status IS NOT NULL AND c.status <> g.status)
        """
    ).fetchone()[0]
    seconds = perf_counter() - started
    return {"seconds": seconds, "peak_mb": peak_mb(), "differing": differing}


def _in_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True
    )
    if out.returncode:
        sys.exit(f"{args[0]} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _report(label: str, hub: dict, bare: dict) -> None:
    print(
        f"  hub, {label}: {hub['seconds']:6.1f} s, peak {hub['peak_mb']:,.0f} MB, "
        f"{hub['seconds'] / bare['seconds']:.1f}x the bare join, status {hub['status']} "
        f"{hub['errors'] or ''}"
    )
    print(f"       findings {hub['findings']}")
    print(f"       platform changes {hub['changes']}; pushed {hub['pushed']}")
    print(f"       seconds by step {hub['steps']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, *rest = args.child
        if what == "build":
            result = build_store(rest[0], rest[1], int(rest[2]))
        elif what == "export":
            export_inputs(rest[0], Path(rest[1]))
            result = {}
        elif what == "hub":
            result = measure_hub(rest[0], date.fromisoformat(rest[1]))
        else:
            result = measure_bare(Path(rest[0]))
        print(json.dumps(result, default=str))
        return

    for backend in args.backends:
        with tempfile.TemporaryDirectory(dir=os.environ.get("HUB_BENCH_TMP")) as tmp:
            folder = Path(tmp)
            url, pg_name = database_url(backend, folder)
            try:
                built = _in_child("build", url, backend, str(args.records))
                print(
                    f"{backend}: store of {built['records']:,} records and {built['facts']:,} "
                    f"repair facts built in {built['build_seconds']:.0f} s"
                )
                # In a child too: Linux carries a parent's peak memory into its children.
                _in_child("export", url, str(folder))
                bare = _in_child("bare", str(folder))
                days = {d: _in_child("hub", url, d.isoformat()) for d in ARRIVING}
            finally:
                if pg_name:
                    drop_database(pg_name)
        print(
            f"  bare DuckDB join: {bare['seconds']:6.1f} s, peak {bare['peak_mb']:,.0f} MB "
            f"({bare['differing']:,} records differ)"
        )
        _report(f"backlog day {DAY}", days[DAY], bare)
        _report(f"typical day {NEXT_DAY}", days[NEXT_DAY], bare)


if __name__ == "__main__":
    main()
