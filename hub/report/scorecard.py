"""Per-department scorecards of a period, computed set-based from the platform's own tables.

A record belongs to the period in which the platform received it (``received_at``, local days).
Per department:

- ``delivered``: rows received (``raw_record``), duplicates and re-sends included;
- ``quarantined`` / ``incomplete``: rows quarantined for any rule / for a ``mandatory`` one;
- ``duplicates``: rows that changed nothing (the batches' ``n_unchanged``: a record sent twice in
  one delivery, or re-sent unchanged);
- ``timed`` / ``on_time`` / ``late``: records first received in the period, measured for
  timeliness (``quality.timeliness``), with the median and worst delay in working days;
- ``allow_listed``: records accepted with an allow-listed non-standard credit code;
- ``missed_deliveries``: deliveries of the agency the platform rejected, by the batches of the
  period's days (a dropped file it could not read: ``source_file``), whether or not the agency
  has sent them again since;
- ``complete_pct`` = 1 - incomplete / delivered, ``valid_pct`` = 1 - quarantined / delivered,
  ``on_time_pct`` = on_time / timed, ``score`` their weighted mean, and ``rank`` by score.

Attribution: a finding belongs to the department responsible for the record, its 数据来源单位
(``quarantine.department``, the canonical ``source_department``), falling back to the department
answering for the source when the record names none. Rows loaded and duplicates, counted before a
record's fields matter, belong to the department answering for the source; the two agree whenever
a source carries its own department's records, as every declared source does.

Counting happens in SQL (``GROUP BY``); delays are computed on the distinct (department, decision
date, receipt instant) groups, vectorised, so a year of records costs a few thousand groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa

from hub.collect.sources import all_sources
from hub.core.workdays import WorkCalendar
from hub.store.schema import RECORD_TABLES, ingest_batch, quarantine, raw_record, source_file
from quality.config import QualitySettings, credit_code_allow_list
from quality.periods import Period
from quality.timeliness import delays, local_dates

COUNTS = (
    "delivered",
    "quarantined",
    "incomplete",
    "duplicates",
    "timed",
    "on_time",
    "late",
    "allow_listed",
    "missed_deliveries",
)
PERCENTAGES = ("complete_pct", "valid_pct", "on_time_pct")
CHANGES = ("delivered", *PERCENTAGES)


@dataclass
class Scorecard:
    """The scorecards of one period.

    Attributes:
        period: the period.
        departments: one row per department (``COUNTS``, ``median_delay``, ``max_delay``,
            ``PERCENTAGES``, ``score``, ``rank``), best first.
        by_rule: quarantined rows per department and rule (``department``, ``rule``,
            ``records``).
        calendar_years: the years the delays touched that the working-day calendar lacks.
    """

    period: Period
    departments: pd.DataFrame
    by_rule: pd.DataFrame
    calendar_years: list[int]


def _between(column: sa.ColumnElement, period: Period, timezone: ZoneInfo) -> sa.ColumnElement:
    start, end = period.instants(timezone)
    return (column >= start) & (column < end)


def _by_source_department(rows: list[tuple[str, int]], name: str) -> pd.Series:
    """Counts per source, added up per department answering for each source."""
    sources = all_sources()
    counts: dict[str, int] = {}
    for source_id, n in rows:
        department = sources[source_id].department if source_id in sources else source_id
        counts[department] = counts.get(department, 0) + int(n or 0)
    return pd.Series(counts, name=name, dtype="int64")


def _quarantine_counts(
    connection: sa.Connection, period: Period, timezone: ZoneInfo
) -> tuple[pd.DataFrame, pd.DataFrame]:
    q = quarantine.c
    when = _between(q.created_at, period, timezone)
    per_row = (
        sa.select(
            q.department,
            sa.func.max(sa.case((q.rule == "mandatory", 1), else_=0)).label("incomplete"),
        )
        .where(when)
        .group_by(q.department, q.batch_id, q.raw_seq)
        .subquery()
    )
    rows = connection.execute(
        sa.select(
            per_row.c.department,
            sa.func.count().label("quarantined"),
            sa.func.sum(per_row.c.incomplete).label("incomplete"),
        ).group_by(per_row.c.department)
    ).all()
    totals = pd.DataFrame(rows, columns=["department", "quarantined", "incomplete"])
    findings = (
        sa.select(q.department, q.rule, q.batch_id, q.raw_seq).where(when).distinct().subquery()
    )
    by_rule = connection.execute(
        sa.select(findings.c.department, findings.c.rule, sa.func.count().label("records"))
        .group_by(findings.c.department, findings.c.rule)
        .order_by(findings.c.department, sa.desc("records"), findings.c.rule)
    ).all()
    return totals.set_index("department"), pd.DataFrame(
        by_rule, columns=["department", "rule", "records"]
    )


def _delivery_counts(
    connection: sa.Connection, period: Period, timezone: ZoneInfo
) -> tuple[pd.Series, pd.Series]:
    r = raw_record.c
    when = _between(r.received_at, period, timezone)
    loaded = connection.execute(
        sa.select(r.source_id, sa.func.count())
        .where(when, r.outcome == "loaded")
        .group_by(r.source_id)
    ).all()
    batches = sa.select(r.batch_id).where(when).distinct()
    unchanged = connection.execute(
        sa.select(ingest_batch.c.source_id, sa.func.sum(ingest_batch.c.n_unchanged))
        .where(ingest_batch.c.id.in_(batches))
        .group_by(ingest_batch.c.source_id)
    ).all()
    return _by_source_department(loaded, "loaded"), _by_source_department(unchanged, "duplicates")


def _missed_deliveries(connection: sa.Connection, period: Period) -> pd.Series:
    """Files rejected by batches of the period's days, per department answering for the source."""
    f, b = source_file.c, ingest_batch.c
    rejected = connection.execute(
        sa.select(f.source_id, sa.func.count())
        .join(ingest_batch, b.id == f.batch_id)
        .where(f.status == "rejected", b.logical_date >= period.start, b.logical_date < period.end)
        .group_by(f.source_id)
    ).all()
    return _by_source_department(rejected, "missed_deliveries")


def delay_groups(
    connection: sa.Connection,
    period: Period,
    timezone: ZoneInfo,
    calendar: WorkCalendar,
    settings: QualitySettings,
) -> pd.DataFrame:
    """Records first received in the period, grouped, with their delays.

    One row per (department, decision date, receipt instant) with ``records``, ``received``
    (the local receipt date) and ``delay`` in working days.
    """
    parts = []
    for kind in settings.timed_kinds:
        t = RECORD_TABLES[kind].c
        statement = (
            sa.select(
                t.source_department.label("department"),
                t.decision_date,
                t.received_at,
                sa.func.count().label("records"),
            )
            .where(_between(t.received_at, period, timezone))
            .group_by(t.source_department, t.decision_date, t.received_at)
        )
        parts.append(pd.DataFrame(connection.execute(statement).mappings().all()))
    groups = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if groups.empty:
        return pd.DataFrame(columns=["department", "decision_date", "received", "records", "delay"])
    groups["received"] = local_dates(groups["received_at"], timezone)
    groups["delay"] = delays(groups["decision_date"], groups["received"], calendar, settings)
    return groups.drop(columns="received_at")


def _weighted_median(delay: pd.Series, weight: pd.Series) -> float:
    order = np.argsort(delay.to_numpy(dtype="float64"), kind="stable")
    values = delay.to_numpy(dtype="float64")[order]
    cumulative = np.cumsum(weight.to_numpy(dtype="int64")[order])
    total = cumulative[-1]
    low = values[np.searchsorted(cumulative, (total - 1) // 2 + 1)]
    high = values[np.searchsorted(cumulative, total // 2 + 1)]
    return (low + high) / 2


def _timeliness(groups: pd.DataFrame, settings: QualitySettings) -> pd.DataFrame:
    columns = ["timed", "on_time", "late", "median_delay", "max_delay"]
    measured = groups.dropna(subset=["delay"])
    if measured.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="department"))
    late = measured["delay"] > settings.working_days_limit
    measured = measured.assign(late=measured["records"].where(late, 0))
    summary = measured.groupby("department").agg(
        timed=("records", "sum"), late=("late", "sum"), max_delay=("delay", "max")
    )
    summary["on_time"] = summary["timed"] - summary["late"]
    summary["median_delay"] = measured.groupby("department")[["delay", "records"]].apply(
        lambda g: _weighted_median(g["delay"], g["records"])
    )
    return summary[columns]


def allow_listed_codes(
    connection: sa.Connection, period: Period, timezone: ZoneInfo
) -> pd.DataFrame:
    """Records accepted with an allow-listed credit code, per department and code.

    Columns ``department``, ``credit_code``, ``note`` (why the code is accepted), ``records``.
    """
    notes = credit_code_allow_list()
    columns = ["department", "credit_code", "note", "records"]
    rows = []
    for table in RECORD_TABLES.values() if notes else ():
        statement = (
            sa.select(table.c.source_department, table.c.credit_code, sa.func.count())
            .where(_between(table.c.received_at, period, timezone))
            .where(table.c.credit_code.in_(sorted(notes)))
            .group_by(table.c.source_department, table.c.credit_code)
        )
        rows += [(d, c, notes[c], n) for d, c, n in connection.execute(statement)]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.groupby(columns[:3], as_index=False)["records"].sum()


def _percentages(frame: pd.DataFrame, settings: QualitySettings) -> pd.DataFrame:
    delivered = frame["delivered"].where(frame["delivered"] > 0)
    frame["complete_pct"] = 1 - frame["incomplete"] / delivered
    frame["valid_pct"] = 1 - frame["quarantined"] / delivered
    frame["on_time_pct"] = frame["on_time"] / frame["timed"].where(frame["timed"] > 0)
    weights = pd.Series({f"{k}_pct": w for k, w in settings.weights.items()})
    values = frame[list(weights.index)]
    present = values.notna()
    total = present.mul(weights, axis=1).sum(axis=1)
    frame["score"] = values.fillna(0).mul(weights, axis=1).sum(axis=1) / total.where(total > 0)
    frame["rank"] = frame["score"].rank(method="min", ascending=False).astype("Int64")
    return frame.sort_values(["rank", "department"], na_position="last", ignore_index=True)


def compute_scorecard(
    connection: sa.Connection,
    period: Period,
    *,
    timezone: ZoneInfo,
    calendar: WorkCalendar,
    settings: QualitySettings,
) -> Scorecard:
    """Every department's figures for ``period``."""
    totals, by_rule = _quarantine_counts(connection, period, timezone)
    loaded, duplicates = _delivery_counts(connection, period, timezone)
    groups = delay_groups(connection, period, timezone, calendar, settings)
    frame = pd.concat(
        [
            loaded,
            totals,
            duplicates,
            _timeliness(groups, settings),
            allow_listed_codes(connection, period, timezone)
            .groupby("department")["records"]
            .sum()
            .rename("allow_listed"),
            _missed_deliveries(connection, period),
        ],
        axis=1,
    )
    frame.index.name = "department"
    counts = [c for c in COUNTS if c != "delivered"]
    frame[counts] = frame.reindex(columns=counts).fillna(0).astype("int64")
    frame["delivered"] = frame["loaded"].fillna(0).astype("int64") + frame["quarantined"]
    frame = frame.drop(columns="loaded").reset_index()
    years = {*period.years()}
    if not groups.empty:
        years |= set(pd.to_datetime(groups["decision_date"]).dt.year.dropna().astype(int))
        years |= set(groups["received"].dt.year)
    return Scorecard(
        period=period,
        departments=_percentages(frame, settings),
        by_rule=by_rule,
        calendar_years=calendar.uncovered_years(years),
    )


def with_changes(current: Scorecard, previous: Scorecard) -> pd.DataFrame:
    """``current``'s departments with the previous period's figures and the change since.

    Adds ``previous_<figure>`` and ``<figure>_change`` for delivered and each percentage (points
    of a fraction), ``previous_rank`` and ``rank_change`` (positive: moved up).
    """
    before = previous.departments.set_index("department")
    frame = current.departments.set_index("department")
    for column in CHANGES:
        frame[f"previous_{column}"] = before[column].reindex(frame.index)
        frame[f"{column}_change"] = frame[column] - frame[f"previous_{column}"]
    frame["previous_rank"] = before["rank"].reindex(frame.index).astype("Int64")
    frame["rank_change"] = frame["previous_rank"] - frame["rank"]
    return frame.reset_index()
