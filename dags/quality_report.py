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
the report. Same as `hub report --period P`.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, TriggerRule, dag, task

from hub.core.logs import masked_logger
from hub_airflow.conventions import PLATFORM_RECORDS, START_DATE, TIMEZONE, default_args

MONTHLY = "0 6 1 * *"
log = masked_logger(__name__)


@dag(
    dag_id="quality_report",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(MONTHLY, timezone=TIMEZONE), assets=PLATFORM_RECORDS
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["quality", "credit"],
    default_args=default_args(retries=1, backoff=False),
)
def quality_report() -> None:
    """Quality reports of the day just collected, or of the month (and year) just ended."""

    @task
    def periods(dag_run=None) -> list[str]:
        from hub.core import clock
        from hub.core.settings import settings
        from hub.report.schedule import periods_for_run
        from hub_airflow.run_day import triggered_by_asset

        asset_triggered = triggered_by_asset(dag_run)
        # Collection has just received the records: the platform's clock says which day (the
        # same as run_after in production, the replayed day when past days are run again).
        moment = clock.now() if asset_triggered else dag_run.run_after
        chosen = periods_for_run(asset_triggered, moment, dag_run.conf, settings().timezone)
        return [period.label for period in chosen]

    @task(map_index_template="{{ period }}")
    def data_docs(period: str, dag_run=None) -> int:
        from airflow.sdk.exceptions import AirflowSkipException

        from hub import jobs
        from hub_airflow.tasks import task_runtime
        from quality.periods import Granularity, Period

        chosen = Period.parse(period)
        if chosen.granularity is Granularity.DAY and not (dag_run.conf or {}).get("data_docs"):
            raise AirflowSkipException(
                f"no Data Docs for the day {period}: they come with the month's report "
                '(a manual run with {"period": ..., "data_docs": true} makes them for a day)'
            )
        return jobs.data_docs(chosen, task_runtime())

    @task(trigger_rule=TriggerRule.ALL_DONE, map_index_template="{{ period }}")
    def report(period: str) -> dict:
        from hub import jobs
        from hub_airflow.tasks import task_runtime
        from quality.periods import Period

        files = jobs.report(Period.parse(period), task_runtime())
        for warning in files.report.warnings:
            log.warning("quality report %s: %s", period, warning)
        return files.as_dict()

    chosen = periods()
    data_docs.expand(period=chosen) >> report.expand(period=chosen)


quality_report()
