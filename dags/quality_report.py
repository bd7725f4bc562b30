"""Data-quality report per department: scorecards, problem lists, GE checkpoints, Data Docs.

Runs when collection updates the `platform_credit_records` Asset (the report of the day the
platform received the records) and at 06:00 on the first of every month (the previous month; in
January the previous year too). A manual run reports `{"period": "2026-11"}` (a day, month or
year) from its conf. Per period: the GE checkpoint of every department with Data Docs
(`data_docs`; months and years only, as each checkpoint takes seconds: a day's run skips it
unless its conf says `"data_docs": true`), then the HTML, XLSX and JSON report (`report`),
written even if GE failed or was skipped, into `<var>/reports/quality/<period>/`. What is
reported is always read from the platform's tables: an Asset event is a nudge. A year without a
State Council holiday schedule is counted Monday to Friday, with a warning in the task log and in
the report.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import (
    Asset,
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    TriggerRule,
    dag,
    task,
)

SHANGHAI = pendulum.timezone("Asia/Shanghai")
PLATFORM_RECORDS = Asset(name="platform_credit_records", uri="hub://platform/credit_records")
MONTHLY = "0 6 1 * *"
log = logging.getLogger(__name__)


@dag(
    dag_id="quality_report",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(MONTHLY, timezone=SHANGHAI), assets=PLATFORM_RECORDS
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz=SHANGHAI),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["quality", "credit"],
    default_args={
        "owner": "data-engineering",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
    },
)
def quality_report() -> None:
    """Quality reports of the day just collected, or of the month (and year) just ended."""

    @task
    def periods(dag_run=None) -> list[str]:
        from hub.core.settings import settings
        from hub.report.schedule import periods_for_run

        chosen = periods_for_run(
            str(dag_run.run_type), dag_run.run_after, dag_run.conf, settings().timezone
        )
        return [period.label for period in chosen]

    @task(map_index_template="{{ period }}")
    def data_docs(period: str, dag_run=None) -> int:
        from airflow.sdk.exceptions import AirflowSkipException

        from hub.report.run import report_folder, write_data_docs
        from quality.periods import Granularity, Period

        chosen = Period.parse(period)
        asked = bool((dag_run.conf or {}).get("data_docs"))
        if chosen.granularity is Granularity.DAY and not asked:
            raise AirflowSkipException(
                f"no Data Docs for the day {period}: they come with the month's report "
                '(a manual run with {"period": ..., "data_docs": true} makes them for a day)'
            )
        return len(write_data_docs(chosen, report_folder(chosen)))

    @task(trigger_rule=TriggerRule.ALL_DONE, map_index_template="{{ period }}")
    def report(period: str) -> dict:
        from hub.report.run import report_folder, write_report
        from quality.periods import Period

        chosen = Period.parse(period)
        files = write_report(chosen, report_folder(chosen))
        for warning in files.report.warnings:
            log.warning("quality report %s: %s", period, warning)
        return {
            "html": str(files.html),
            "xlsx": str(files.xlsx),
            "json": str(files.json),
            "data_docs": str(files.data_docs) if files.data_docs else None,
            "warnings": files.report.warnings,
        }

    chosen = periods()
    data_docs.expand(period=chosen) >> report.expand(period=chosen)


quality_report()
