"""Benchmark: publish a day's delta files from a status-change log of 10,000,000 rows.

    .venv/bin/python bench/publish_deltas.py [--store 10000000] [--days 10000 100000] [--keep]

Builds, in a throwaway PostgreSQL database, a ``status_change`` log of ``--store`` rows with
``generate_series``: a year of history before the measured days, then one day per ``--days``
size (2026-11-02, 2026-11-03, ...), each day's changes spread over its hours and over the
eleven Zhejiang cities, a fifth of them natural persons (masked ID numbers). Then publishes the
days in order with ``hub.publish.publisher.publish`` (every pull site: Parquet, CSV, manifest),
timing each, and publishes the last day again (the byte-for-byte verification path).

Publishing reads only the day's id range of the log (primary-key range scans), so its time
should follow the day's changes and stay flat as the store grows: run with ``--store 1000000``
to compare. Figures, never pass/fail.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from common import database_url, drop_database, peak_mb

from hub.core.targets import pull_targets
from hub.publish.config import PublishSettings
from hub.publish.publisher import publish
from hub.store.db import make_engine, upgrade

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST_DAY = date(2026, 11, 2)
HISTORY_START = datetime(2025, 11, 1, tzinfo=SHANGHAI)

# One block of the log: rows ``first``..``first + count - 1`` of a numbering, changed_at spread
# evenly over [start, start + seconds). ``g`` numbers the row within the whole log.
FILL = """
INSERT INTO status_change (record_key, kind, previous_status, new_status, reason, decided_by,
    effective_date, region_code, subject_name, subject_id, document_no, authority_name,
    decision_date, changed_at, run_id)
SELECT md5(g::text),
       (ARRAY['penalty', 'abnormal', 'serious'])[1 + g % 3],
       'published',
       (ARRAY['repaired', 'expired', 'withdrawn'])[1 + g % 3],
       '信用中国已修复，公示期满提前停止公示',
       'credit_china',
       (CAST(:start AS timestamptz) + (g - :first) * :step * interval '1 second')::date,
       '33' || lpad((1 + g % 11)::text, 2, '0') || '02',
       CASE WHEN g % 5 = 0 THEN '张' || (g % 97) ELSE '浙江测试' || g || '有限公司' END,
       CASE WHEN g % 5 = 0 THEN '330102********' || lpad((g % 10000)::text, 4, '0')
            ELSE '913301MA' || upper(substr(md5('c' || g), 1, 10)) END,
       '浙市监罚〔2026〕' || g || '号',
       '浙江省市场监督管理局',
       DATE '2026-01-01' + (g % 300)::int,
       CAST(:start AS timestamptz) + (g - :first) * :step * interval '1 second',
       g / 100000
FROM generate_series(CAST(:first AS bigint), CAST(:first AS bigint) + :count - 1) AS g
"""
SECONDARY_INDEXES = ("ix_status_change_record_key", "ix_status_change_region_code")


def fill(engine: sa.Engine, store: int, days: list[int]) -> float:
    """Write the log: history up to FIRST_DAY, then each measured day; returns seconds."""
    history = store - sum(days)
    day_start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=SHANGHAI)
    blocks = [(history, HISTORY_START, (day_start - HISTORY_START).total_seconds())]
    for n, size in enumerate(days):
        blocks.append((size, day_start + timedelta(days=n), 86_399.0))
    started = time.perf_counter()
    with engine.begin() as connection:
        for index in SECONDARY_INDEXES:  # built once afterwards: far cheaper than row by row
            connection.execute(sa.text(f"DROP INDEX {index}"))
        first = 1
        for count, start, seconds in blocks:
            connection.execute(
                sa.text(FILL),
                {"first": first, "count": count, "start": start, "step": seconds / count},
            )
            first += count
        connection.execute(
            sa.text("CREATE INDEX ix_status_change_record_key ON status_change (record_key)")
        )
        connection.execute(
            sa.text("CREATE INDEX ix_status_change_region_code ON status_change (region_code)")
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE status_change"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-publish-"))
    url, name = database_url("postgresql", workdir)
    engine = make_engine(url)
    try:
        upgrade(engine)
        built = fill(engine, args.store, args.days)
        print(f"store: {args.store:,} status changes in {built:.1f} s (PostgreSQL {name})")
        config = PublishSettings(workdir / "deltas", 90, tuple(pull_targets()))
        print(f"sites: {len(config.sites)} pull sites, files under {config.delta_dir}")
        print(f"{'day':<12}{'changes':>10}{'rows in files':>15}{'MB written':>12}{'seconds':>9}")
        for n, size in enumerate(args.days):
            day = FIRST_DAY + timedelta(days=n)
            started = time.perf_counter()
            (outcome,) = publish(day, engine, config)
            seconds = time.perf_counter() - started
            assert outcome.range.n_changes == size, outcome.range
            rows = sum(site.row_count or 0 for site in outcome.sites)
            written = sum(
                p.stat().st_size for p in config.delta_dir.rglob(f"*_{day:%Y%m%d}_*") if p.is_file()
            )
            print(f"{day!s:<12}{size:>10,}{rows:>15,}{written / 1e6:>12.1f}{seconds:>9.2f}")
        started = time.perf_counter()
        (again,) = publish(day, engine, config)
        states = {site.state for site in again.sites}
        print(
            f"re-publishing {day} (rebuild and compare): {time.perf_counter() - started:.2f} s, "
            f"states {sorted(states)}"
        )
        print(f"peak memory: {peak_mb():.0f} MB; finished {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    finally:
        engine.dispose()
        if args.keep:
            print(f"kept: database {name}, files {workdir}")
        else:
            drop_database(name)
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
