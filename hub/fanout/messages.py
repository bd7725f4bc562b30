"""Push messages: what a target is sent about one status change.

A message is the change's snapshot from ``status_change`` (the record's identity as published:
document number, subject, deciding authority; a natural person's ID number already masked there)
plus its idempotency key. Free-text fields come from departments and systems outside our control,
so the whole message goes through the privacy policy (``hub.core.privacy``) before it is sent:
any resident ID number written into any field is masked, whatever its check character; the
idempotency key and the record key (machine identifiers) and a legal person's credit code stand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hub.core.privacy import MACHINE_IDENTIFIERS, mask_document


def idempotency_key(change: Mapping[str, Any], target_id: str) -> str:
    """The idempotency key of the message of ``change`` to ``target_id``.

    The same on every attempt, so a receiver that has the message already drops a resend:
    ``<target>:<change id>:<digest of record, new status and change time>``. The digest keeps a
    key from ever naming two changes, should the log's ids start again (a rebuilt or migrated
    platform database); a receiver would otherwise drop a new change as a resend.
    """
    return _key(change, _utc_iso(change["changed_at"]), target_id)


def _key(change: Mapping[str, Any], changed_at: str, target_id: str) -> str:
    identity = f"{change['record_key']}|{change['new_status']}|{changed_at}"
    return f"{target_id}:{change['id']}:{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def _utc_iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        return moment.replace(tzinfo=UTC).isoformat()
    return moment.astimezone(UTC).isoformat()


def build_message(change: Mapping[str, Any], target_id: str) -> dict[str, Any]:
    """The push message of one ``status_change`` row (its columns, ``id`` as ``change_id``)."""
    changed_at = _utc_iso(change["changed_at"])
    message = {
        "idempotency_key": _key(change, changed_at, target_id),
        "change_id": change["id"],
        "record_key": change["record_key"],
        "kind": change["kind"],
        "previous_status": change["previous_status"],
        "new_status": change["new_status"],
        "effective_date": change["effective_date"].isoformat(),
        "reason": change["reason"],
        "decided_by": change["decided_by"],
        "region_code": change["region_code"],
        "subject_name": change["subject_name"],
        "subject_id": change["subject_id"],
        "document_no": change["document_no"],
        "authority_name": change["authority_name"],
        "decision_date": change["decision_date"].isoformat(),
        "changed_at": changed_at,
    }
    return mask_document(message, keep=MACHINE_IDENTIFIERS, credit_codes=("subject_id",))
