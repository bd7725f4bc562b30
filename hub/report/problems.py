"""The records to send back to their departments: quarantined ones and late ones.

Both lists name each record the way a department finds it in its own system (decision document
number, subject, decision date) and say what is wrong; personal ID numbers are masked.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from hub.core.model import SUBJECT_PERSON
from hub.core.privacy import mask_id_number
from hub.core.workdays import WorkCalendar
from hub.report.frames import read_raw, remap
from hub.store.schema import RECORD_TABLES, quarantine, raw_record
from quality.config import QualitySettings
from quality.periods import Period
from quality.timeliness import delays, earliest_on_time, local_dates

BROKEN_COLUMNS = [
    "department",
    "source_id",
    "batch_id",
    "raw_seq",
    "received",
    "document_no",
    "subject_name",
    "subject_id",
    "decision_date",
    "rule",
    "field",
    "message",
]
LATE_COLUMNS = [
    "department",
    "source_id",
    "document_no",
    "subject_name",
    "subject_id",
    "authority_name",
    "decision_date",
    "received",
    "delay",
]


def subject_ids(records: pd.DataFrame) -> pd.Series:
    """Who a record is about: the credit code, else the ID number masked."""
    numbers = records["id_number"].astype("str")
    masked = numbers.map(mask_id_number, na_action="ignore")
    person = records["subject_category"].astype("str") == SUBJECT_PERSON
    credit = records["credit_code"].astype("str")
    return credit.where(credit.notna() & ~person.fillna(False), masked).fillna(credit)


def broken_records(connection: sa.Connection, period: Period, timezone: ZoneInfo) -> pd.DataFrame:
    """One row per rule a record received in ``period`` failed (``BROKEN_COLUMNS``)."""
    start, end = period.instants(timezone)
    q = quarantine.c
    findings = pd.DataFrame(
        connection.execute(
            sa.select(q.department, q.batch_id, q.raw_seq, q.rule, q.field, q.message)
            .where(q.created_at >= start, q.created_at < end)
            .order_by(q.department, q.batch_id, q.raw_seq, q.id)
        )
        .mappings()
        .all()
    )
    if findings.empty:
        return pd.DataFrame(columns=BROKEN_COLUMNS)
    failed = sa.select(quarantine.c.batch_id, quarantine.c.raw_seq).where(
        quarantine.c.created_at >= start, quarantine.c.created_at < end
    )
    r = raw_record.c
    raw = read_raw(
        connection,
        sa.select(r.batch_id, r.seq, r.source_id, r.payload, r.received_at).where(
            sa.tuple_(r.batch_id, r.seq).in_(failed)
        ),
    )
    mapped = pd.concat(remap(raw).values(), ignore_index=True)
    mapped["subject_id"] = subject_ids(mapped)
    receipts = raw[["batch_id", "seq", "received_at"]].rename(columns={"seq": "raw_seq"})
    mapped = mapped.merge(receipts, on=["batch_id", "raw_seq"])
    mapped["received"] = local_dates(mapped["received_at"], timezone)
    described = mapped[[c for c in BROKEN_COLUMNS if c in mapped and c != "department"]]
    joined = findings.merge(described, on=["batch_id", "raw_seq"], how="left")
    return joined[BROKEN_COLUMNS]


def _late_cut_table(connection: sa.Connection, instants: list, cuts: list) -> sa.Table:
    """A temporary table of receipt instants and the earliest decision date on time for each."""
    table = sa.Table(
        "quality_late_cut",
        sa.MetaData(),
        sa.Column("received_at", raw_record.c.received_at.type),
        sa.Column("earliest", sa.Date),
        prefixes=["TEMPORARY"],
    )
    table.drop(connection, checkfirst=True)
    table.create(connection)
    rows = [{"received_at": i, "earliest": c} for i, c in zip(instants, cuts, strict=True)]
    connection.execute(table.insert(), rows)
    return table


def late_records(
    connection: sa.Connection,
    period: Period,
    *,
    timezone: ZoneInfo,
    calendar: WorkCalendar,
    settings: QualitySettings,
) -> pd.DataFrame:
    """Records first received in ``period`` later than the limit (``LATE_COLUMNS``).

    Sorted by department, then the longest delay first.
    """
    start, end = period.instants(timezone)
    parts = []
    for kind in settings.timed_kinds:
        t = RECORD_TABLES[kind]
        instants = connection.scalars(
            sa.select(t.c.received_at)
            .where(t.c.received_at >= start, t.c.received_at < end)
            .distinct()
        ).all()
        if not instants:
            continue
        days = local_dates(pd.Series(instants), timezone).dt.date
        cuts = [earliest_on_time(day, calendar, settings) for day in days]
        cut = _late_cut_table(connection, instants, cuts)
        statement = sa.select(
            t.c.source_department.label("department"),
            t.c.source_id,
            t.c.document_no,
            t.c.subject_name,
            t.c.subject_category,
            t.c.credit_code,
            t.c.id_number,
            t.c.authority_name,
            t.c.decision_date,
            t.c.received_at,
        ).join_from(
            t, cut, (cut.c.received_at == t.c.received_at) & (t.c.decision_date < cut.c.earliest)
        )
        parts.append(pd.DataFrame(connection.execute(statement).mappings().all()))
        cut.drop(connection)
    found = [part for part in parts if not part.empty]
    if not found:  # nothing received in the period, or nothing of it late
        return pd.DataFrame(columns=LATE_COLUMNS)
    late = pd.concat(found, ignore_index=True)
    late["received"] = local_dates(late["received_at"], timezone)
    late["delay"] = delays(late["decision_date"], late["received"], calendar, settings)
    late["subject_id"] = subject_ids(late)
    late = late.sort_values(["department", "delay", "document_no"], ascending=[True, False, True])
    return late[LATE_COLUMNS].reset_index(drop=True)
