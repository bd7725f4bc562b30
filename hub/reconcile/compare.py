"""Compare the platform, Credit China and GSXT on every record where they could disagree.

Only three kinds of record can disagree, and indexes find each: records no longer published on
the platform, records some system has a word on (``system_status``), and published records past
their maximum publicity end. Every other record is published everywhere and agrees by
construction, so a day's work grows with repairs and expiries, not with the store.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa

from hub.changes import masked_id_sql
from hub.model import RecordKind, RecordStatus
from hub.publicity import CREDIT_CHINA, GSXT
from hub.store.reconcile_schema import repair_fact, system_status
from hub.store.schema import RECORD_TABLES

REPAIRED_IN_ONE_SYSTEM = "repaired_in_one_system"
REPAIRED_STILL_PUBLISHED = "repaired_still_published"
PLATFORM_REPAIRED_UNCONFIRMED = "platform_repaired_unconfirmed"
UNKNOWN_RECORD = "unknown_record"
EXPIRED_STILL_PUBLISHED = "expired_still_published"
FINDING_CLASSES = {
    REPAIRED_IN_ONE_SYSTEM: "仅一个系统已修复",
    REPAIRED_STILL_PUBLISHED: "已修复但平台仍在公示",
    PLATFORM_REPAIRED_UNCONFIRMED: "平台已修复但无系统确认",
    UNKNOWN_RECORD: "修复记录在平台无对应信息",
    EXPIRED_STILL_PUBLISHED: "公示期满仍在公示",
}
"""Finding classes and their labels in reports."""
SYSTEM_NAMES = {CREDIT_CHINA: "信用中国", GSXT: "国家企业信用信息公示系统"}
PLATFORM = "省公共信用信息平台"

FINDING_COLUMNS = (
    "finding_key",
    "finding_class",
    "record_key",
    "fact_id",
    "kind",
    "document_no",
    "subject_name",
    "subject_id",
    "responsible",
    "detail",
    "action",
    "resolved",
)


def candidates(connection: sa.Connection, day: date) -> pd.DataFrame:
    """The records that could disagree on ``day``, each system's status beside the platform's."""
    frames = []
    for kind in RecordKind:
        record = RECORD_TABLES[kind]
        touched = sa.union(
            sa.select(record.c.record_key).where(record.c.status != RecordStatus.PUBLISHED),
            sa.select(system_status.c.record_key).join(
                record, record.c.record_key == system_status.c.record_key
            ),
            sa.select(record.c.record_key).where(
                record.c.status == RecordStatus.PUBLISHED, record.c.publicity_max_end <= day
            ),
        ).subquery()
        statuses = {s: system_status.alias(f"status_{s}") for s in (CREDIT_CHINA, GSXT)}
        joined = touched.join(record, record.c.record_key == touched.c.record_key)
        for system, alias in statuses.items():
            joined = joined.outerjoin(
                alias, sa.and_(alias.c.system == system, alias.c.record_key == record.c.record_key)
            )
        person = record.c.credit_code.is_(None)
        query = sa.select(
            record.c.record_key,
            sa.literal(str(kind)).label("kind"),
            record.c.status,
            record.c.responsible_system,
            record.c.publicity_max_end,
            record.c.authority_name,
            record.c.document_no,
            record.c.subject_name,
            sa.case((person, masked_id_sql(record.c.id_number)), else_=record.c.credit_code).label(
                "subject_id"
            ),
            *(
                column.label(f"{system}_{column.name}")
                for system, alias in statuses.items()
                for column in (alias.c.status, alias.c.decided_at, alias.c.fact_id)
            ),
        ).select_from(joined)
        said = {
            s: sa.func.coalesce(a.c.status, RecordStatus.PUBLISHED) for s, a in statuses.items()
        }
        rows = connection.execute(
            query.where(_may_disagree(record, said, day)).order_by(record.c.record_key)
        )
        frame = pd.DataFrame(rows.fetchall(), columns=list(rows.keys()))
        if not frame.empty:
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _may_disagree(
    record: sa.Table, said: dict[str, sa.ColumnElement], day: date
) -> sa.ColumnElement[bool]:
    """Where the three may disagree, as SQL: most touched records agree and stay in the database.

    The same conditions as ``Comparison`` (which decides), loosened: this only narrows what is read.
    """
    repaired, published = RecordStatus.REPAIRED, RecordStatus.PUBLISHED
    cc, gsxt = said[CREDIT_CHINA], said[GSXT]
    by_gsxt = record.c.responsible_system == GSXT
    owner = sa.case((by_gsxt, gsxt), else_=cc)
    return sa.or_(
        sa.and_(record.c.status == published, owner == repaired),
        sa.and_(record.c.status == repaired, cc != repaired, gsxt != repaired),
        sa.and_(by_gsxt, cc != gsxt),
        sa.and_(record.c.status == published, record.c.publicity_max_end <= day),
    )


def unknown_facts(connection: sa.Connection) -> pd.DataFrame:
    """Repairs of records the platform does not hold (latest word per system and case)."""
    query = sa.select(
        repair_fact.c.id.label("fact_id"),
        repair_fact.c.system,
        repair_fact.c.kind,
        repair_fact.c.document_no,
        repair_fact.c.subject_name,
        sa.func.coalesce(repair_fact.c.credit_code, masked_id_sql(repair_fact.c.id_number)).label(
            "subject_id"
        ),
        repair_fact.c.authority_name,
        repair_fact.c.decided_at,
    ).where(repair_fact.c.record_key.is_(None), repair_fact.c.decision == "repaired")
    return pd.DataFrame(connection.execute(query).mappings().all())


def _finding(rows: pd.DataFrame, finding_class: str, **columns: object) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "finding_class": finding_class,
            "record_key": rows.get("record_key"),
            "fact_id": rows.get("fact_id"),
            "kind": rows["kind"],
            "document_no": rows["document_no"],
            "subject_name": rows["subject_name"],
            "subject_id": rows["subject_id"],
            **columns,
        },
        index=rows.index,
    )
    ref = frame["record_key"] if "record_key" in rows else "fact" + rows["fact_id"].astype(str)
    frame["finding_key"] = finding_class + ":" + ref
    return frame


def _date_of(stamp: pd.Series) -> pd.Series:
    return pd.to_datetime(stamp, utc=True).dt.tz_convert("Asia/Shanghai").dt.date


class Comparison:
    """What one day's comparison found, and what to do about it.

    Attributes:
        findings: one row per finding (``FINDING_COLUMNS``); ``resolved`` where today's action
            settles it.
        pushes: repairs to push to the system that lags: ``fact_id``, ``target_system``.
        changes: platform status changes for ``hub.changes.apply_status_changes``.
    """

    def __init__(self, records: pd.DataFrame, unknown: pd.DataFrame, day: date) -> None:
        findings: list[pd.DataFrame] = []
        pushes: list[pd.DataFrame] = []
        changes: list[pd.DataFrame] = []
        if not records.empty:
            self._compare(records, day, findings, pushes, changes)
        if not unknown.empty:
            system = unknown["system"].map(SYSTEM_NAMES)
            findings.append(
                _finding(
                    unknown,
                    UNKNOWN_RECORD,
                    responsible=unknown["authority_name"].fillna("未知决定机关"),
                    detail=system + "已修复，平台未归集该信息",
                    action=None,
                    resolved=False,
                )
            )
        self.findings = (
            pd.concat(findings, ignore_index=True)[list(FINDING_COLUMNS)]
            if findings
            else pd.DataFrame(columns=FINDING_COLUMNS)
        )
        self.pushes = (
            pd.concat(pushes, ignore_index=True)
            if pushes
            else pd.DataFrame(columns=["fact_id", "target_system"])
        )
        self.changes = pd.concat(changes, ignore_index=True) if changes else pd.DataFrame()

    @staticmethod
    def _compare(
        records: pd.DataFrame,
        day: date,
        findings: list[pd.DataFrame],
        pushes: list[pd.DataFrame],
        changes: list[pd.DataFrame],
    ) -> None:
        cc = records[f"{CREDIT_CHINA}_status"] == RecordStatus.REPAIRED
        gx = records[f"{GSXT}_status"] == RecordStatus.REPAIRED
        by_gsxt = records["responsible_system"].fillna(CREDIT_CHINA) == GSXT
        responsible_repaired = np.where(by_gsxt, gx, cc)
        responsible_said = np.where(
            by_gsxt, records[f"{GSXT}_status"].notna(), records[f"{CREDIT_CHINA}_status"].notna()
        )
        published = records["status"] == RecordStatus.PUBLISHED
        repaired = records["status"] == RecordStatus.REPAIRED

        # GSXT repaired a market-supervision record; Credit China has not: push it there.
        only_gsxt = by_gsxt & gx & ~cc
        rows = records[only_gsxt]
        findings.append(
            _finding(
                rows,
                REPAIRED_IN_ONE_SYSTEM,
                responsible=SYSTEM_NAMES[CREDIT_CHINA],
                detail="国家企业信用信息公示系统已修复，信用中国未修复",
                action="已推送信用中国",
                resolved=False,
            )
        )
        pushes.append(
            pd.DataFrame({"fact_id": rows[f"{GSXT}_fact_id"], "target_system": CREDIT_CHINA})
        )
        # Credit China shows a market-supervision record repaired that GSXT has not: the deciding
        # department must repair it in GSXT (谁认定、谁修复); nothing is pushed on its behalf.
        rows = records[by_gsxt & cc & ~gx]
        findings.append(
            _finding(
                rows,
                REPAIRED_IN_ONE_SYSTEM,
                responsible=rows["authority_name"],
                detail="信用中国已修复，国家企业信用信息公示系统未修复（应由决定机关在该系统修复）",
                action=None,
                resolved=False,
            )
        )
        # The system that repairs the record has repaired it; the platform still publishes it.
        rows = records[published & responsible_repaired]
        system = rows["responsible_system"].fillna(CREDIT_CHINA)
        decided = np.where(
            system == GSXT, rows[f"{GSXT}_decided_at"], rows[f"{CREDIT_CHINA}_decided_at"]
        )
        findings.append(
            _finding(
                rows,
                REPAIRED_STILL_PUBLISHED,
                responsible=PLATFORM,
                detail=system.map(SYSTEM_NAMES) + "已修复，平台仍在公示",
                action="平台已标记为已修复并通知下游",
                resolved=True,
            )
        )
        changes.append(
            pd.DataFrame(
                {
                    "record_key": rows["record_key"],
                    "kind": rows["kind"],
                    "new_status": str(RecordStatus.REPAIRED),
                    "reason": system.map(SYSTEM_NAMES) + "已修复",
                    "decided_by": system,
                    "effective_date": _date_of(pd.Series(decided, index=rows.index)),
                }
            )
        )
        # The platform shows a repair no system confirms. If the repairing system took its
        # repair back, the record is published again; otherwise the decider must repair it.
        unconfirmed = repaired & ~cc & ~gx
        rows = records[unconfirmed & responsible_said]
        findings.append(
            _finding(
                rows,
                PLATFORM_REPAIRED_UNCONFIRMED,
                responsible=PLATFORM,
                detail=rows["responsible_system"].map(SYSTEM_NAMES) + "已撤销修复，平台恢复公示",
                action="平台已恢复公示并通知下游",
                resolved=True,
            )
        )
        changes.append(
            pd.DataFrame(
                {
                    "record_key": rows["record_key"],
                    "kind": rows["kind"],
                    "new_status": str(RecordStatus.PUBLISHED),
                    "reason": rows["responsible_system"].map(SYSTEM_NAMES) + "撤销修复",
                    "decided_by": rows["responsible_system"],
                    "effective_date": day,
                }
            )
        )
        rows = records[unconfirmed & ~responsible_said]
        findings.append(
            _finding(
                rows,
                PLATFORM_REPAIRED_UNCONFIRMED,
                responsible=rows["authority_name"],
                detail="平台已修复，信用中国与国家企业信用信息公示系统均无修复结果",
                action=None,
                resolved=False,
            )
        )
        # Publicity has run its full term: it stops by itself.
        max_end = pd.to_datetime(records["publicity_max_end"])
        rows = records[published & ~responsible_repaired & (max_end <= pd.Timestamp(day))]
        findings.append(
            _finding(
                rows,
                EXPIRED_STILL_PUBLISHED,
                responsible=PLATFORM,
                detail="最长公示期已于" + rows["publicity_max_end"].astype(str) + "届满",
                action="平台已停止公示并通知下游",
                resolved=True,
            )
        )
        changes.append(
            pd.DataFrame(
                {
                    "record_key": rows["record_key"],
                    "kind": rows["kind"],
                    "new_status": str(RecordStatus.EXPIRED),
                    "reason": "最长公示期届满",
                    "decided_by": "platform",
                    "effective_date": pd.to_datetime(rows["publicity_max_end"]).dt.date,
                }
            )
        )
