"""Compare the platform, Credit China and GSXT on every record where they could disagree.

Only three kinds of record can disagree, and indexes find each: records no longer published on
the platform, records some system has a word on (``system_status``), and published records past
their maximum publicity end. Every other record is published everywhere and agrees by
construction, so a day's work grows with repairs and expiries, not with the store.

After the first run a day only looks again at what can have changed since the last finished
comparison: the records pending comparison (``reconcile_pending``: a system's word or the
publicity period changed), those whose status moved (``status_change`` past the last run's
watermark) and those whose publicity ends. Every other record compares as it did then: it agreed,
or its open finding still stands and is carried forward.

The comparison runs in the database, the same on PostgreSQL and SQLite: the records that may
disagree are copied into a temporary table, and each class of finding, each status change and
each push is an ``INSERT ... SELECT`` from it; no record passes through Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa

from hub.core.model import RecordKind, RecordStatus
from hub.core.privacy import masked_id_sql
from hub.core.settings import settings
from hub.reconcile.changes import analyze, change_staging
from hub.reconcile.publicity import CREDIT_CHINA, GSXT
from hub.store.reconcile_schema import (
    reconcile_pending,
    reconcile_run,
    repair_fact,
    system_status,
)
from hub.store.schema import RECORD_TABLES, RecordKey, Timestamp, status_change

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


_STATUS = sa.String(16)
_SAID = ("status", "decided_at")


def _temporary(connection: sa.Connection, name: str, *columns: sa.Column) -> sa.Table:
    table = sa.Table(name, sa.MetaData(), *columns, prefixes=["TEMPORARY"])
    table.drop(connection, checkfirst=True)
    table.create(connection)
    return table


def _candidate_table(connection: sa.Connection) -> sa.Table:
    return _temporary(
        connection,
        "reconcile_candidate",
        sa.Column("record_key", RecordKey, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("system", sa.String(16), nullable=False),
        sa.Column("publicity_max_end", sa.Date),
        sa.Column("authority_name", sa.String(200)),
        sa.Column("document_no", sa.String(128)),
        sa.Column("subject_name", sa.String(200)),
        sa.Column("subject_id", sa.String(64)),
        *(sa.Column(f"{s}_status", _STATUS) for s in (CREDIT_CHINA, GSXT)),
        *(sa.Column(f"{s}_decided_at", Timestamp) for s in (CREDIT_CHINA, GSXT)),
        sa.Column(f"{GSXT}_fact_id", sa.BigInteger),
    )


def _finding_table(connection: sa.Connection) -> sa.Table:
    return _temporary(
        connection,
        "staging_finding",
        sa.Column("finding_key", sa.String(80), primary_key=True),
        sa.Column("finding_class", sa.String(40), nullable=False),
        sa.Column("record_key", RecordKey),
        sa.Column("fact_id", sa.BigInteger),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("document_no", sa.String(128), nullable=False),
        sa.Column("subject_name", sa.String(200), nullable=False),
        sa.Column("subject_id", sa.String(64)),
        sa.Column("responsible", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("action", sa.Text),
        sa.Column("resolved", sa.Boolean, nullable=False),
    )


def _push_table(connection: sa.Connection) -> sa.Table:
    return _temporary(
        connection,
        "reconcile_push",
        sa.Column("fact_id", sa.BigInteger, primary_key=True),
        sa.Column("target_system", sa.String(16), primary_key=True),
    )


@dataclass(frozen=True)
class Comparison:
    """What one day's comparison found, as temporary tables of the connection that compared.

    Attributes:
        findings: one row per finding (``FINDING_COLUMNS``); ``resolved`` where today's action
            settles it.
        pushes: repairs to push to the system that lags: ``fact_id``, ``target_system``.
        changes: platform status changes, for ``hub.reconcile.changes.apply_staged_changes``.
        compared: the keys of the records compared (``record_key``); None when every record was.
        watermark: the last ``status_change`` id when the comparison began.
    """

    findings: sa.Table
    pushes: sa.Table
    changes: sa.Table
    compared: sa.Table | None
    watermark: int

    def drop(self, connection: sa.Connection) -> None:
        """Drop the tables (a pooled connection outlives the run)."""
        for table in (self.findings, self.pushes, self.changes, self.compared):
            if table is not None:
                table.drop(connection)


def compare(connection: sa.Connection, day: date) -> Comparison:
    """Compare the three on ``day``: findings, pushes and changes, in temporary tables."""
    since = _last_watermark(connection)
    watermark = connection.scalar(sa.select(sa.func.max(status_change.c.id))) or 0
    compared = None if since is None else _changed(connection, day, since)
    candidates = _candidate_table(connection)
    for kind in RecordKind:
        record = RECORD_TABLES[kind]
        touched = _everything(record, day) if compared is None else compared
        _stage_candidates(connection, candidates, record, kind, touched, day)
    comparison = Comparison(
        _finding_table(connection),
        _push_table(connection),
        change_staging(connection),
        compared,
        watermark,
    )
    _classify(connection, _Candidates(candidates, day), comparison)
    connection.execute(
        comparison.findings.insert().from_select(list(FINDING_COLUMNS), _unknown_facts())
    )
    candidates.drop(connection)
    return comparison


def _last_watermark(connection: sa.Connection) -> int | None:
    """The last status change the last finished run took into account; None before the first."""
    return connection.scalar(
        sa.select(reconcile_run.c.status_change_watermark)
        .where(reconcile_run.c.status_change_watermark.is_not(None))
        .order_by(reconcile_run.c.id.desc())
        .limit(1)
    )


def _expiring(record: sa.Table, day: date) -> sa.Select:
    return sa.select(record.c.record_key).where(
        record.c.status == RecordStatus.PUBLISHED, record.c.publicity_max_end <= day
    )


def _everything(record: sa.Table, day: date) -> sa.Subquery:
    """Every record that can disagree: left publicity, a system's word on it, or expiring."""
    return sa.union(
        sa.select(record.c.record_key).where(record.c.status != RecordStatus.PUBLISHED),
        sa.select(system_status.c.record_key).join(
            record, record.c.record_key == system_status.c.record_key
        ),
        _expiring(record, day),
    ).subquery()


def _changed(connection: sa.Connection, day: date, since: int) -> sa.Table:
    """The records that can have come to disagree since the run of watermark ``since``."""
    compared = _temporary(
        connection, "reconcile_compared", sa.Column("record_key", RecordKey, primary_key=True)
    )
    keys = sa.union(
        sa.select(reconcile_pending.c.record_key),
        sa.select(status_change.c.record_key).where(status_change.c.id > since),
        *(_expiring(record, day) for record in RECORD_TABLES.values()),
    )
    connection.execute(compared.insert().from_select(["record_key"], keys))
    analyze(connection, compared)
    return compared


def _stage_candidates(
    connection: sa.Connection,
    candidates: sa.Table,
    record: sa.Table,
    kind: RecordKind,
    touched: sa.FromClause,
    day: date,
) -> None:
    """Copy the ``touched`` records that may disagree on ``day``, the systems' words beside."""
    statuses = {s: system_status.alias(f"status_{s}") for s in (CREDIT_CHINA, GSXT)}
    joined = touched.join(record, record.c.record_key == touched.c.record_key)
    for system, alias in statuses.items():
        joined = joined.outerjoin(
            alias, sa.and_(alias.c.system == system, alias.c.record_key == record.c.record_key)
        )
    person = record.c.credit_code.is_(None)
    query = sa.select(
        record.c.record_key,
        sa.literal(str(kind)),
        record.c.status,
        sa.func.coalesce(record.c.responsible_system, CREDIT_CHINA),
        record.c.publicity_max_end,
        record.c.authority_name,
        record.c.document_no,
        record.c.subject_name,
        sa.case((person, masked_id_sql(record.c.id_number)), else_=record.c.credit_code),
        *(statuses[s].c[c] for c in _SAID for s in (CREDIT_CHINA, GSXT)),
        statuses[GSXT].c.fact_id,
    ).select_from(joined)
    said = {s: sa.func.coalesce(a.c.status, RecordStatus.PUBLISHED) for s, a in statuses.items()}
    connection.execute(
        candidates.insert().from_select(
            [c.name for c in candidates.columns], query.where(_may_disagree(record, said, day))
        )
    )


def _may_disagree(
    record: sa.Table, said: dict[str, sa.ColumnElement], day: date
) -> sa.ColumnElement[bool]:
    """Where the three may disagree, as SQL: most touched records agree and stay out.

    The same conditions as ``_classify`` (which decides), loosened: this only narrows what is
    copied.
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


def _system_name(system: sa.ColumnElement) -> sa.ColumnElement[str]:
    return sa.case(SYSTEM_NAMES, value=system, else_=sa.null())


class _Candidates:
    """The candidate table with the conditions of the comparison, as SQL over its columns."""

    def __init__(self, table: sa.Table, day: date) -> None:
        c = table.c
        self.table, self.day = table, day
        repaired = RecordStatus.REPAIRED
        self.cc = sa.func.coalesce(c[f"{CREDIT_CHINA}_status"], "") == repaired
        self.gsxt = sa.func.coalesce(c[f"{GSXT}_status"], "") == repaired
        self.by_gsxt = c.system == GSXT
        by_cc = c.system != GSXT
        self.owner_repaired = sa.or_(sa.and_(self.by_gsxt, self.gsxt), sa.and_(by_cc, self.cc))
        self.owner_said = sa.or_(
            sa.and_(self.by_gsxt, c[f"{GSXT}_status"].is_not(None)),
            sa.and_(by_cc, c[f"{CREDIT_CHINA}_status"].is_not(None)),
        )
        self.owner_decided_at = sa.case(
            (self.by_gsxt, c[f"{GSXT}_decided_at"]), else_=c[f"{CREDIT_CHINA}_decided_at"]
        )
        self.published = c.status == RecordStatus.PUBLISHED
        self.repaired = c.status == RecordStatus.REPAIRED
        self.unconfirmed = sa.and_(self.repaired, ~self.cc, ~self.gsxt)
        self.expired = sa.and_(self.published, ~self.owner_repaired, c.publicity_max_end <= day)

    def finding(
        self,
        finding_class: str,
        where: sa.ColumnElement[bool],
        *,
        responsible: sa.ColumnElement | str,
        detail: sa.ColumnElement | str,
        action: str | None,
        resolved: bool,
    ) -> sa.Select:
        """The findings of one class among the candidates, in ``FINDING_COLUMNS`` order."""
        c = self.table.c
        return sa.select(
            sa.literal(f"{finding_class}:") + c.record_key,
            sa.literal(finding_class),
            c.record_key,
            sa.null(),
            c.kind,
            c.document_no,
            c.subject_name,
            c.subject_id,
            _value(responsible),
            _value(detail),
            sa.literal(action, type_=sa.Text) if action else sa.null(),
            sa.literal(resolved),
        ).where(where)

    def change(
        self,
        where: sa.ColumnElement[bool],
        new_status: RecordStatus,
        *,
        reason: sa.ColumnElement | str,
        decided_by: sa.ColumnElement | str,
        effective: sa.ColumnElement,
    ) -> sa.Select:
        """Status changes among the candidates, in ``changes.CHANGE_COLUMNS`` order."""
        c = self.table.c
        return sa.select(
            c.record_key,
            c.kind,
            sa.literal(str(new_status)),
            _value(reason),
            _value(decided_by),
            effective,
        ).where(where)


def _value(value: sa.ColumnElement | str) -> sa.ColumnElement:
    return sa.literal(value) if isinstance(value, str) else value


def _local_date(connection: sa.Connection, stamp: sa.ColumnElement, day: date) -> sa.ColumnElement:
    """The platform's day (``HUB_TIMEZONE``) of an instant, as SQL."""
    zone = settings().timezone
    if connection.dialect.name == "postgresql":
        return sa.cast(sa.func.timezone(zone.key, stamp), sa.Date)
    # SQLite keeps instants as UTC wall time: shift by the zone's offset around the run's day.
    offset = zone.utcoffset(datetime.combine(day, time(12)))
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return sa.func.date(stamp, f"{minutes:+d} minutes", type_=sa.Date)


def _classify(connection: sa.Connection, c: _Candidates, comparison: Comparison) -> None:
    """Write each class's findings, the pushes and the platform's status changes."""
    columns = c.table.c
    system = _system_name(columns.system)
    findings = (
        # GSXT repaired a market-supervision record; Credit China has not: push it there.
        c.finding(
            REPAIRED_IN_ONE_SYSTEM,
            sa.and_(c.by_gsxt, c.gsxt, ~c.cc),
            responsible=SYSTEM_NAMES[CREDIT_CHINA],
            detail="国家企业信用信息公示系统已修复，信用中国未修复",
            action="已推送信用中国",
            resolved=False,
        ),
        # Credit China shows a market-supervision record repaired that GSXT has not: the deciding
        # department must repair it in GSXT (谁认定、谁修复); nothing is pushed on its behalf.
        c.finding(
            REPAIRED_IN_ONE_SYSTEM,
            sa.and_(c.by_gsxt, c.cc, ~c.gsxt),
            responsible=columns.authority_name,
            detail="信用中国已修复，国家企业信用信息公示系统未修复（应由决定机关在该系统修复）",
            action=None,
            resolved=False,
        ),
        # The system that repairs the record has repaired it; the platform still publishes it.
        c.finding(
            REPAIRED_STILL_PUBLISHED,
            sa.and_(c.published, c.owner_repaired),
            responsible=PLATFORM,
            detail=system + "已修复，平台仍在公示",
            action="平台已标记为已修复并通知下游",
            resolved=True,
        ),
        # The platform shows a repair no system confirms. If the repairing system took its
        # repair back, the record is published again; otherwise the decider must repair it.
        c.finding(
            PLATFORM_REPAIRED_UNCONFIRMED,
            sa.and_(c.unconfirmed, c.owner_said),
            responsible=PLATFORM,
            detail=system + "已撤销修复，平台恢复公示",
            action="平台已恢复公示并通知下游",
            resolved=True,
        ),
        c.finding(
            PLATFORM_REPAIRED_UNCONFIRMED,
            sa.and_(c.unconfirmed, ~c.owner_said),
            responsible=columns.authority_name,
            detail="平台已修复，信用中国与国家企业信用信息公示系统均无修复结果",
            action=None,
            resolved=False,
        ),
        # Publicity has run its full term: it stops by itself.
        c.finding(
            EXPIRED_STILL_PUBLISHED,
            c.expired,
            responsible=PLATFORM,
            detail="最长公示期已于" + sa.cast(columns.publicity_max_end, sa.String) + "届满",
            action="平台已停止公示并通知下游",
            resolved=True,
        ),
    )
    for query in findings:
        connection.execute(comparison.findings.insert().from_select(list(FINDING_COLUMNS), query))
    changes = (
        c.change(
            sa.and_(c.published, c.owner_repaired),
            RecordStatus.REPAIRED,
            reason=system + "已修复",
            decided_by=columns.system,
            effective=_local_date(connection, c.owner_decided_at, c.day),
        ),
        c.change(
            sa.and_(c.unconfirmed, c.owner_said),
            RecordStatus.PUBLISHED,
            reason=system + "撤销修复",
            decided_by=columns.system,
            effective=sa.literal(c.day, type_=sa.Date),
        ),
        c.change(
            c.expired,
            RecordStatus.EXPIRED,
            reason="最长公示期届满",
            decided_by="platform",
            effective=columns.publicity_max_end,
        ),
    )
    change_columns = [col.name for col in comparison.changes.columns]
    for query in changes:
        connection.execute(comparison.changes.insert().from_select(change_columns, query))
    lagging = sa.select(columns[f"{GSXT}_fact_id"], sa.literal(CREDIT_CHINA)).where(
        c.by_gsxt, c.gsxt, ~c.cc
    )
    connection.execute(
        comparison.pushes.insert().from_select(["fact_id", "target_system"], lagging)
    )


def _unknown_facts() -> sa.Select:
    """Findings for repairs of records the platform does not hold, in ``FINDING_COLUMNS`` order."""
    f = repair_fact.c
    return sa.select(
        sa.literal(f"{UNKNOWN_RECORD}:fact") + sa.cast(f.id, sa.String),
        sa.literal(UNKNOWN_RECORD),
        sa.null(),
        f.id,
        f.kind,
        f.document_no,
        f.subject_name,
        sa.func.coalesce(f.credit_code, masked_id_sql(f.id_number)),
        sa.func.coalesce(f.authority_name, "未知决定机关"),
        _system_name(f.system) + "已修复，平台未归集该信息",
        sa.null(),
        sa.literal(False),
    ).where(f.record_key.is_(None), f.decision == "repaired")
