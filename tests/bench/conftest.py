"""The benchmarks' modules import each other by name, as when run as scripts from ``bench/``."""

from __future__ import annotations

import sys

from hub.core.settings import PROJECT_ROOT

BENCH_DIR = str(PROJECT_ROOT / "bench")
if BENCH_DIR not in sys.path:
    sys.path.insert(0, BENCH_DIR)
