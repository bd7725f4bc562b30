"""Benchmark: a province-scale rehearsal, a year run day by day on PostgreSQL, with faults, then an
audit that nothing was lost or duplicated end to end.

    .venv/bin/python bench/rehearsal.py [--days 365] [--departments 40] [--records-per-day 5500]
        [--seed 20260101] [--database-url URL] [--keep] [--no-report]

The province (``sandbox.scale``): 40 departments delivering through eight sources (two APIs of
their own, a joint API, two exchange-database tables, one shared by 25 departments, and three
file drops), about 5,500 new records a calendar day. Each day runs the daily DAGs' work in their
order (``rehearsal_run``), with the faults on fixed days: a source down for three days, a receiver
down for a day, a file cut off in transfer, a month re-sent. Then the audit (``rehearsal_audit``)
prints each check with its figures and PASS or FAIL; the process exits 1 if any check fails.

Figures printed and written to ``var/bench/rehearsal.json``: totals, each step's time per day at
the start and the end of the run, a day's time against the size of the store month by month, the
fault days, peak memory and the load average. The platform database is a throwaway PostgreSQL
database on the local server (dropped afterwards unless ``--keep``), or ``--database-url``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from common import database_url, drop_database, peak_mb
from rehearsal_audit import Check, audit
from rehearsal_run import STEPS, DayFigures, Options, Rehearsal

from hub.core.settings import PROJECT_ROOT
from hub.store.publish_schema import delta_file
from hub.store.schema import raw_record, status_change

OUT_DIR = PROJECT_ROOT / "var" / "bench"
EDGE_DAYS = 10
"""Days averaged for the per-day time at the start and at the end of the run."""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    defaults = Options()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=defaults.days)
    parser.add_argument("--departments", type=int, default=defaults.departments)
    parser.add_argument("--records-per-day", type=int, default=defaults.records_per_day)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--start", type=date.fromisoformat, default=defaults.start)
    parser.add_argument("--database-url", help="default: a throwaway PostgreSQL database")
    parser.add_argument("--keep", action="store_true", help="keep the database and work folder")
    parser.add_argument("--no-report", action="store_true", help="skip the closing quality report")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "rehearsal.json")
    return parser.parse_args(argv)


def _mean_seconds(days: list[DayFigures]) -> dict[str, float]:
    means = {step: statistics.fmean(d.seconds[step] for d in days) for step in STEPS}
    means["total"] = statistics.fmean(sum(d.seconds.values()) for d in days)
    return {k: round(v, 2) for k, v in means.items()}


def _by_month(days: list[DayFigures]) -> list[dict[str, Any]]:
    months: dict[str, list[DayFigures]] = {}
    for figures in days:
        months.setdefault(f"{figures.day:%Y-%m}", []).append(figures)
    return [
        {
            "month": month,
            "store_records_at_end": of_month[-1].store_records,
            "records_delivered": sum(d.records for d in of_month),
            "mean_day_seconds": _mean_seconds(of_month),
            "slowest_day_seconds": round(max(sum(d.seconds.values()) for d in of_month), 2),
        }
        for month, of_month in months.items()
    ]


def _totals(rehearsal: Rehearsal) -> dict[str, int]:
    days = rehearsal.days
    with rehearsal.engine.connect() as connection:

        def count(table: sa.Table) -> int:
            return connection.scalar(sa.select(sa.func.count()).select_from(table))

        raw, changes, files = count(raw_record), count(status_change), count(delta_file)
    return {
        "records_generated": sum(d.records for d in days),
        "rows_delivered": sum(d.rows for d in days),
        "raw_records": raw,
        "canonical_records": days[-1].store_records if days else 0,
        "quarantined_records": sum(b["quarantined"] for d in days for b in d.batches),
        "batches": sum(len(d.batches) + len(d.collect_failures) for d in days),
        "status_changes": changes,
        "push_deliveries": sum(d.deliveries for d in days) + rehearsal.closing.get("deliveries", 0),
        "delta_files": files,
    }


def _fault_days(rehearsal: Rehearsal) -> list[dict[str, Any]]:
    plan = rehearsal.plan
    marked = {i: "source down" for i in plan.source_down}
    marked |= {
        plan.receiver_down: "receiver down",
        plan.truncated: "file cut off",
        plan.dropped_again: "file dropped again",
        plan.resend_on: "month re-sent",
    }
    return [
        {"day": rehearsal.days[i].day.isoformat(), "fault": what, **rehearsal.days[i].as_dict()}
        for i, what in sorted(marked.items())
        if i < len(rehearsal.days)
    ]


def _quality_report(rehearsal: Rehearsal) -> dict[str, Any]:
    from hub import jobs
    from quality.periods import Period

    last = rehearsal.days[-1].day
    period = Period.parse(f"{last:%Y}" if rehearsal.options.days >= 365 else f"{last:%Y-%m}")
    started = time.perf_counter()
    files = jobs.report(period, jobs.Runtime())
    return {
        "period": period.label,
        "seconds": round(time.perf_counter() - started, 1),
        "departments": len(files.report.departments),
        "html": str(files.html),
    }


def figures(rehearsal: Rehearsal, seconds: float, report: dict | None) -> dict[str, Any]:
    """Every figure of a finished rehearsal, JSON-ready."""
    days = rehearsal.days
    edge = min(EDGE_DAYS, len(days))
    return {
        "options": {k: str(v) for k, v in vars(rehearsal.options).items()},
        "sources": {a.source_id: len(a.departments) or 1 for a in rehearsal.agencies},
        "faults": rehearsal.plan.as_dict(rehearsal.options.start, rehearsal.options.down_receiver),
        "totals": _totals(rehearsal),
        "day_seconds_first_days": _mean_seconds(days[:edge]),
        "day_seconds_last_days": _mean_seconds(days[-edge:]),
        "edge_days": edge,
        "by_month": _by_month(days),
        "fault_days": _fault_days(rehearsal),
        "closing_morning": rehearsal.closing,
        "quality_report": report,
        "run_seconds": round(seconds, 1),
        "peak_memory_mb": round(peak_mb()),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "days": [d.as_dict() for d in days],
    }


def _print_figures(result: dict[str, Any], checks: list[Check]) -> None:
    print("\ntotals:", json.dumps(result["totals"], ensure_ascii=False))
    steps = (*STEPS, "total")
    print(f"\nper-day seconds (mean of {result['edge_days']} days)  " + "  ".join(steps))
    for label in ("first", "last"):
        means = result[f"day_seconds_{label}_days"]
        print(f"  {label:<5} days {'':>26}" + "  ".join(f"{means[s]:>{len(s)}}" for s in steps))
    print(f"\n{'month':<8} {'store records':>14} {'day s (mean)':>13} {'collect':>8} "
          f"{'reconcile':>9} {'slowest':>8}")  # fmt: skip
    for month in result["by_month"]:
        mean = month["mean_day_seconds"]
        print(
            f"{month['month']:<8} {month['store_records_at_end']:>14,} {mean['total']:>13} "
            f"{mean['collect']:>8} {mean['reconcile']:>9} {month['slowest_day_seconds']:>8}"
        )
    print("\nfault days:")
    for day in result["fault_days"]:
        print(f"  {day['day']} {day['fault']:<20} {day['total_seconds']:>7} s  {day['seconds']}")
    print(
        f"\nrun {result['run_seconds']} s, peak memory {result['peak_memory_mb']} MB, "
        f"load average {result['load_average']}"
    )
    print("\naudit:")
    for check in checks:
        print("\n".join(f"  {line}" for line in check.lines()))


def _progress(figures: DayFigures) -> None:
    failures = f" failed: {', '.join(figures.collect_failures)}" if figures.collect_failures else ""
    print(
        f"{figures.day} records {figures.records:>5} store {figures.store_records:>9,} "
        f"{sum(figures.seconds.values()):6.2f} s "
        + " ".join(f"{s} {figures.seconds[s]:.2f}" for s in STEPS)
        + f" (reconcile: {figures.reconcile.get('seconds')})"
        + failures,
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the rehearsal and its audit; 1 if any check fails."""
    args = _arguments(argv)
    # A stopped run still drops its throwaway database (the finally clause below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    options = Options(
        days=args.days,
        departments=args.departments,
        records_per_day=args.records_per_day,
        seed=args.seed,
        start=args.start,
    )
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="rehearsal_", dir=OUT_DIR))  # one per run
    url, throwaway = (
        (args.database_url, None) if args.database_url else database_url("postgresql", workdir)
    )
    print(f"rehearsal: {options}; database {sa.make_url(url).database}; work folder {workdir}")
    started = time.perf_counter()
    try:
        with Rehearsal(options, url, workdir) as rehearsal:
            try:
                rehearsal.run(progress=_progress)
            except (KeyboardInterrupt, SystemExit):
                # Stopped: keep the figures of the days run, marked as such, without an audit.
                seconds = time.perf_counter() - started
                _save(figures(rehearsal, seconds, None) | {"stopped": True}, args.out)
                raise
            seconds = time.perf_counter() - started
            print("auditing…", flush=True)
            checks = audit(rehearsal)
            result = figures(rehearsal, seconds, None) | {"audit": [c.as_dict() for c in checks]}
            _save(result, args.out)
            _print_figures(result, checks)
            if not args.no_report:
                print("\nthe quality report of the period…", flush=True)
                result["quality_report"] = _quality_report(rehearsal)
                print(json.dumps(result["quality_report"], ensure_ascii=False))
                _save(result, args.out)
    finally:
        if throwaway and not args.keep:
            drop_database(throwaway)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nfigures: {args.out}")
    return 0 if all(c.ok for c in checks) else 1


def _save(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
