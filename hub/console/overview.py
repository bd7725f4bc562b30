"""The overview page: the day as ``hub status`` sees it, its figures, and what needs action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.ops.status import PlatformStatus
from hub.ops.totals import Totals

DAG_LABELS = {
    "collect_credit_records": "采集",
    "quality_report": "质量报告",
    "reconcile_repairs": "修复对账",
    "fanout_removals": "下游推送",
    "publish_deltas": "增量文件发布",
}
"""Each DAG of the daily cycle, as a lead calls it."""


@dataclass(frozen=True)
class Problem:
    """A problem of ``hub status``, with the page where it is acted on (``None``: nowhere)."""

    text: str
    page: str | None
    operators_only: bool


@dataclass(frozen=True)
class DayFigures:
    """The last collected day's figures, summed over the sources' last batches of that day."""

    day: date | None
    sources: int
    failed: int
    read: int
    loaded: int
    quarantined: int


def _page_of(problem: str) -> tuple[str | None, bool]:
    """Where ``problem`` (a ``hub status`` sentence) is acted on; whether by operators only."""
    if problem.startswith(("source ", "target ", "site ")):
        return "/sources", True
    if problem.startswith("reconciliation "):
        return "/reconciliation", False
    if problem.startswith("records name departments"):
        return "/departments", False
    return None, False


def problems(status: PlatformStatus) -> list[Problem]:
    """The status's problems, each with the page to act on it."""
    return [Problem(text, *_page_of(text)) for text in status.problems]


def day_figures(status: PlatformStatus) -> DayFigures:
    """The figures of the last day any source was collected for."""
    last = max((s.day for s in status.sources if s.day), default=None)
    of_day = [s for s in status.sources if s.day == last and s.batch_id is not None]
    return DayFigures(
        last,
        len(of_day),
        sum(s.status == "failed" for s in of_day),
        sum(s.read for s in of_day),
        sum(s.loaded for s in of_day),
        sum(s.quarantined for s in of_day),
    )


def held_records(totals: Totals) -> dict[str, int]:
    """Records held on the platform by status, over every kind."""
    held: dict[str, int] = {}
    for by_status in totals.records.values():
        for state, n in by_status.items():
            held[state] = held.get(state, 0) + n
    return dict(sorted(held.items()))
