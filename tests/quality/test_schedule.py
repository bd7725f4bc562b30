"""Which periods a quality_report run reports."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hub.report.schedule import periods_for_run

SHANGHAI = ZoneInfo("Asia/Shanghai")


def labels(run_type: str, run_after: datetime, conf: dict | None = None) -> list[str]:
    asset_triggered = run_type == "asset_triggered"
    return [p.label for p in periods_for_run(asset_triggered, run_after, conf, SHANGHAI)]


def test_collection_triggers_the_report_of_the_receipt_day_in_shanghai() -> None:
    # The nightly collection of 3 November ends at 00:35 on the 4th, Shanghai time.
    assert labels("asset_triggered", datetime(2026, 11, 3, 16, 35, tzinfo=UTC)) == ["2026-11-04"]


def test_the_monthly_run_reports_the_month_before_and_in_january_the_year_too() -> None:
    assert labels("scheduled", datetime(2026, 12, 1, 6, tzinfo=SHANGHAI)) == ["2026-11"]
    assert labels("scheduled", datetime(2026, 3, 1, 6, tzinfo=SHANGHAI)) == ["2026-02"]
    assert labels("scheduled", datetime(2027, 1, 1, 6, tzinfo=SHANGHAI)) == ["2026-12", "2026"]


def test_a_period_in_the_conf_wins() -> None:
    run_after = datetime(2026, 12, 1, 6, tzinfo=SHANGHAI)
    assert labels("manual", run_after, {"period": "2026"}) == ["2026"]
    assert labels("asset_triggered", run_after, {"period": "2026-10-09"}) == ["2026-10-09"]
    assert labels("manual", run_after, {}) == ["2026-11"]
