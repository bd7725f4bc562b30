"""Benchmark: validate a million penalty records with the suites, and what that adds to collection.

    .venv/bin/python bench/validate_penalty.py [--rows 1000000] [--backends postgresql sqlite]
                                                [--no-ge]

Uses the CSV file drop of ``load_penalty_csv.py`` (written once to ``var/bench/``). Each
measurement runs in its own process:
- suite: the penalty suite as collection runs it (``hub.collect.validate.validate``, vectorised) on
the
  mapped records, in the collection's pages of 100,000; records/s of validation alone;
- ge: Great Expectations itself validating the same million mapped records with the same suite
  in one batch (SUMMARY results), for comparison;
- load / collect: the real collection of the file (``collect_source``) on an empty database,
  without the suite (``validate`` answering "no problems") and with it, alternately, ``--repeat``
  times; the fastest of each counts (the machine is shared: slower runs measure the neighbours).
  The overhead is (collect - load) / load: what validation adds to collection of the same
  records; beside it, the suite's own time over the load time, which bounds it from above
  (the suite runs on the thread preparing pages while another writes).
Prints records/s, seconds, peak memory and the overhead; figures, never pass/fail.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_penalty_csv as loading  # the sibling benchmark: its file and its loader
from common import peak_mb

PAGE = 100_000


def _mapped_pages(csv_path: Path) -> list[pd.DataFrame]:
    """The file mapped page by page as collection maps it (not timed)."""
    from hub.collect.mapping import map_page
    from hub.collect.sources import SourceSpec

    spec = SourceSpec.model_validate(_spec())
    pages = []
    for frame in pd.read_csv(csv_path, dtype=str, keep_default_na=False, chunksize=PAGE):
        pages.append(map_page(spec, frame.reset_index(drop=True)))
    return pages


def _spec() -> dict:
    import yaml

    return yaml.safe_load(loading.SOURCE_YAML)


def measure_suite(csv_path: Path) -> dict:
    """Time the vectorised suite over every mapped page."""
    from hub.collect.validate import validate
    from hub.core.model import RecordKind
    from quality.config import suite_parameters

    pages = _mapped_pages(csv_path)
    parameters = suite_parameters()
    started = time.perf_counter()
    found = sum(
        len(p)
        for page in pages
        for p in validate(RecordKind.PENALTY, page.records, page.problems, parameters)
    )
    seconds = time.perf_counter() - started
    rows = sum(len(page.records) for page in pages)
    return {"rows": rows, "seconds": seconds, "problems": found, "peak_mb": peak_mb()}


def measure_ge(csv_path: Path) -> dict:
    """Time Great Expectations validating all mapped records with the penalty suite."""
    from hub.core.model import RecordKind
    from quality.config import suite_parameters
    from quality.evaluate import validation_frame

    records = pd.concat([page.records for page in _mapped_pages(csv_path)], ignore_index=True)
    frame = validation_frame(RecordKind.PENALTY, records)
    imported = time.perf_counter()
    from quality import gx

    import_seconds = time.perf_counter() - imported
    started = time.perf_counter()
    result = gx.validate_frame(
        RecordKind.PENALTY, frame, suite_parameters(), result_format={"result_format": "SUMMARY"}
    )
    seconds = time.perf_counter() - started
    return {
        "rows": len(frame),
        "seconds": seconds,
        "import_seconds": import_seconds,
        "expectations": result.statistics["evaluated_expectations"],
        "met": result.statistics["successful_expectations"],
        "peak_mb": peak_mb(),
    }


def measure_collect(backend: str, csv_path: Path, with_suite: bool) -> dict:
    """Time the real collection of the file, with the suite or with validation switched off."""
    if not with_suite:
        import hub.collect.run

        hub.collect.run.validate = lambda *args, **kwargs: []
    return loading.measure_hub(backend, csv_path)


def _in_child(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _child(what: str, backend: str, path: str) -> dict:
    csv_path = Path(path)
    if what == "suite":
        return measure_suite(csv_path)
    if what == "ge":
        return measure_ge(csv_path)
    return measure_collect(backend, csv_path, with_suite=what == "collect")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--no-ge", action="store_true", help="skip GE's own validation")
    parser.add_argument("--repeat", type=int, default=3, help="collections of each kind")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return

    csv_path = loading.WORK / f"penalties_{args.rows}.csv"
    if not csv_path.exists():
        loading.write_csv(csv_path, args.rows)
    suite = _in_child("suite", "-", str(csv_path))
    print(
        f"suite (vectorised, as in collection): {suite['rows']:,} records in "
        f"{suite['seconds']:.2f} s = {suite['rows'] / suite['seconds']:,.0f} rec/s "
        f"({suite['problems']} problems, peak {suite['peak_mb']:,.0f} MB)"
    )
    if not args.no_ge:
        ge = _in_child("ge", "-", str(csv_path))
        print(
            f"Great Expectations, same suite: {ge['rows']:,} records x {ge['expectations']} "
            f"expectations in {ge['seconds']:.1f} s = {ge['rows'] / ge['seconds']:,.0f} rec/s "
            f"(import {ge['import_seconds']:.1f} s, {ge['met']} met, "
            f"peak {ge['peak_mb']:,.0f} MB)"
        )
    print(f"{'backend':<11}{'collection':<22}{'records':>10}{'seconds':>9}{'rec/s':>10}")
    for backend in args.backends:
        runs: dict[str, list[dict]] = {"load": [], "collect": []}
        for _ in range(args.repeat):
            for what in runs:
                runs[what].append(_in_child(what, backend, str(csv_path)))
        load, collect = (min(runs[w], key=lambda r: r["seconds"]) for w in ("load", "collect"))
        for label, r in (("without the suite", load), ("with the suite", collect)):
            rate = r["rows"] / r["seconds"]
            print(f"{backend:<11}{label:<22}{r['rows']:>10,}{r['seconds']:>9.1f}{rate:>10,.0f}")
        overhead = (collect["seconds"] - load["seconds"]) / load["seconds"]
        bound = suite["seconds"] / load["seconds"]
        print(
            f"{backend:<11}validation adds {overhead:.1%} to collection, fastest of "
            f"{args.repeat} each (suite time / load time: {bound:.1%}; target: under 30%)"
        )


if __name__ == "__main__":
    main()
