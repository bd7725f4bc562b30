"""The "one thing" view (信用修复"一件事"): a subject's whole case in one look-up.

Every record of the subject (all three kinds), each with its status on the platform, in Credit
China and in GSXT, its publicity period, the repair facts seen, the status changes made, the
open findings, and what is still pending where (the lagging system, downstream targets that have
not acknowledged a change). Beside them, what never loaded: the subject's quarantined records
with the rules they failed, and the rejected files that name it. Everything returned goes
through the privacy policy (``hub.core.privacy``): a natural person's ID number is masked
wherever it stands.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from hub.core.model import RecordKind
from hub.core.privacy import MACHINE_IDENTIFIERS, mask_document, mask_id_number, mask_subject_id
from hub.core.text import identifier
from hub.reconcile.compare import FINDING_CLASSES, SYSTEM_NAMES
from hub.reconcile.publicity import CREDIT_CHINA, GSXT
from hub.store.outbox_schema import outbox
from hub.store.reconcile_schema import reconcile_finding, repair_fact, system_status
from hub.store.schema import (
    RECORD_TABLES,
    quarantine,
    rejected_file_subject,
    source_file,
    status_change,
)

_RECORD_FIELDS = (
    "record_key",
    "document_no",
    "subject_name",
    "decision_date",
    "authority_name",
    "source_department",
    "status",
    "publicity_start",
    "publicity_min_end",
    "publicity_max_end",
    "publicity_rule",
    "responsible_system",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(connection: sa.Connection, query: sa.Select) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in connection.execute(query).mappings()]


def _system_statuses(connection: sa.Connection, key: str) -> dict[str, Any]:
    said = {
        row["system"]: row
        for row in _rows(
            connection, sa.select(system_status).where(system_status.c.record_key == key)
        )
    }
    return {
        system: {"status": said[system]["status"], "decided_at": said[system]["decided_at"]}
        if system in said
        else None
        for system in (CREDIT_CHINA, GSXT)
    }


def _history(connection: sa.Connection, key: str) -> list[dict[str, Any]]:
    facts = sa.select(
        repair_fact.c.system,
        repair_fact.c.decision,
        repair_fact.c.decided_at,
        repair_fact.c.external_id,
    ).where(repair_fact.c.record_key == key)
    return _rows(connection, facts.order_by(repair_fact.c.decided_at, repair_fact.c.id))


def _changes(connection: sa.Connection, key: str) -> list[dict[str, Any]]:
    acked = sa.func.count(outbox.c.acknowledged_at)
    query = (
        sa.select(
            status_change.c.id,
            status_change.c.previous_status,
            status_change.c.new_status,
            status_change.c.reason,
            status_change.c.effective_date,
            sa.func.count(outbox.c.id).label("push_targets"),
            acked.label("acknowledged"),
            sa.func.count(outbox.c.dead_at).label("dead_letters"),
        )
        .select_from(
            status_change.outerjoin(outbox, outbox.c.status_change_id == status_change.c.id)
        )
        .where(status_change.c.record_key == key)
        .group_by(status_change.c.id)
        .order_by(status_change.c.id)
    )
    changes = _rows(connection, query)
    for change in changes:
        change["pushes"] = _pushes(connection, change["id"])
    return changes


def _pushes(connection: sa.Connection, change_id: int) -> list[dict[str, Any]]:
    """Each push target of a status change: acknowledged when, dead since when, or pending."""
    o = outbox.c
    query = (
        sa.select(o.target_id, o.acknowledged_at, o.dead_at, o.attempts)
        .where(o.status_change_id == change_id)
        .order_by(o.target_id)
    )
    return _rows(connection, query)


def _open_findings(connection: sa.Connection, key: str) -> list[dict[str, Any]]:
    query = sa.select(
        reconcile_finding.c.finding_class,
        reconcile_finding.c.responsible,
        reconcile_finding.c.detail,
        reconcile_finding.c.first_seen,
    ).where(reconcile_finding.c.record_key == key, reconcile_finding.c.resolved_on.is_(None))
    rows = _rows(connection, query)
    for row in rows:
        row["label"] = FINDING_CLASSES[row["finding_class"]]
    return rows


def _pending(record: dict[str, Any], changes: list[dict[str, Any]], findings: list) -> list[str]:
    pending = [f"{f['label']}：待{f['responsible']}处理" for f in findings]
    for change in changes:
        waiting = [p["target_id"] for p in change["pushes"] if p["acknowledged_at"] is None]
        if waiting:
            pending.append(
                f"状态变更#{change['id']}（{change['new_status']}）：{len(waiting)}个下游目标"
                f"未确认接收（{'、'.join(waiting)}）"
            )
    statuses = record["systems"]
    if record["status"] == "repaired":
        for system, said in statuses.items():
            relevant = system == CREDIT_CHINA or record["responsible_system"] == GSXT
            if relevant and (said is None or said["status"] != "repaired"):
                pending.append(f"{SYSTEM_NAMES[system]}尚未显示已修复")
    return pending


def _quarantined(connection: sa.Connection, subject: str) -> list[dict[str, Any]]:
    """The subject's quarantined records, one per record, with every rule it failed."""
    q = quarantine.c
    query = (
        sa.select(
            q.source_id,
            q.batch_id,
            q.raw_seq,
            q.document_no,
            q.department,
            q.rule,
            q.message,
            q.created_at,
            q.resolved_at,
        )
        .where(q.subject_id == subject)
        .order_by(q.created_at, q.batch_id, q.raw_seq, q.id)
    )
    records: dict[tuple[int, int], dict[str, Any]] = {}
    for row in _rows(connection, query):
        rule = {"rule": row.pop("rule"), "message": row.pop("message")}
        records.setdefault((row["batch_id"], row["raw_seq"]), {**row, "rules": []})
        records[row["batch_id"], row["raw_seq"]]["rules"].append(rule)
    return list(records.values())


def _rejected_files(connection: sa.Connection, subject: str) -> list[dict[str, Any]]:
    """The rejected files that name the subject, with the reason each was rejected."""
    f, named = source_file.c, rejected_file_subject.c
    query = (
        sa.select(f.source_id, f.file_name, f.batch_id, f.reason)
        .join_from(
            rejected_file_subject,
            source_file,
            sa.and_(named.source_id == f.source_id, named.sha256 == f.sha256),
        )
        .where(named.subject_id == subject, f.status == "rejected")
        .order_by(f.batch_id, f.file_name)
    )
    return _rows(connection, query)


def case_of(connection: sa.Connection, subject: str) -> dict[str, Any]:
    """The whole case of the subject with credit code (or ID number) ``subject``, as JSON data.

    ``subject`` may be written in any form a person types it: lower case, full-width, with spaces
    around it (``hub.core.text.identifier``).
    """
    typed, subject = subject, identifier(subject)
    records = []
    by_id_number = False
    for kind in RecordKind:
        table = RECORD_TABLES[kind]
        query = sa.select(
            *(table.c[c] for c in _RECORD_FIELDS), (table.c.id_number == subject).label("by_id")
        ).where(sa.or_(table.c.credit_code == subject, table.c.id_number == subject))
        for record in _rows(connection, query.order_by(table.c.decision_date)):
            by_id_number |= bool(record.pop("by_id"))
            key = record["record_key"]
            record["kind"] = str(kind)
            record["systems"] = _system_statuses(connection, key)
            record["repair_history"] = _history(connection, key)
            record["status_changes"] = _changes(connection, key)
            record["open_findings"] = _open_findings(connection, key)
            record["pending"] = _pending(record, record["status_changes"], record["open_findings"])
            records.append(record)
    # The credit code of the records found stands; an unknown subject is shown as typed, masked
    # (it may be an ID number).
    shown = subject if records else mask_subject_id(typed)
    shown = mask_id_number(subject) if by_id_number else shown
    case = {
        "subject": shown,
        "subject_name": records[0]["subject_name"] if records else None,
        "records": records,
        "pending": [p for r in records for p in r["pending"]],
        "quarantined": _quarantined(connection, subject),
        "rejected_files": _rejected_files(connection, subject),
    }
    return mask_document(case, keep={*MACHINE_IDENTIFIERS, "subject"})
