"""Subjects about to become eligible for repair: the reminder list (Gansu 六, Jiangsu 七)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from hub.core.model import RecordKind, RecordStatus
from hub.core.privacy import masked_id_sql
from hub.store.schema import RECORD_TABLES

REMINDER_COLUMNS = (
    "subject_id",
    "subject_name",
    "kind",
    "document_no",
    "authority_name",
    "publicity_min_end",
)


def reminders(connection: sa.Connection, day: date, within_days: int) -> pd.DataFrame:
    """Published records whose minimum publicity ends within ``within_days`` after ``day``.

    One row per record, ordered by subject and date, subjects named by credit code or masked
    ID number; a subject with several records appears once per record.
    """
    frames = []
    for kind in RecordKind:
        record = RECORD_TABLES[kind]
        person = record.c.credit_code.is_(None)
        query = sa.select(
            sa.case((person, masked_id_sql(record.c.id_number)), else_=record.c.credit_code).label(
                "subject_id"
            ),
            record.c.subject_name,
            sa.literal(str(kind)).label("kind"),
            record.c.document_no,
            record.c.authority_name,
            record.c.publicity_min_end,
        ).where(
            record.c.status == RecordStatus.PUBLISHED,
            record.c.publicity_min_end > day,
            record.c.publicity_min_end <= day + timedelta(days=within_days),
        )
        rows = connection.execute(query).mappings().all()
        if rows:
            frames.append(pd.DataFrame(rows))
    if not frames:
        return pd.DataFrame(columns=REMINDER_COLUMNS)
    found = pd.concat(frames, ignore_index=True)
    return found.sort_values(["subject_id", "publicity_min_end"], ignore_index=True)
