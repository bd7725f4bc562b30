"""Push messages: what a target is sent about one status change.

A message is the change's snapshot from ``status_change`` (the record's identity as published:
document number, subject, deciding authority; a natural person's ID number already masked there)
plus its idempotency key. Free-text fields come from departments and systems outside our control,
so any resident ID number written into them is masked too: nothing leaves the platform with an
unmasked one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from hub.core.privacy import mask_id_number

_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECKS = "10X98765432"
# 18 characters standing alone: 17 digits and a check digit or X.
_ID_SHAPED = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
FREE_TEXT = ("reason", "decided_by", "subject_name", "document_no", "authority_name")
"""The message fields written by people, scrubbed of ID numbers."""


def is_id_number(text: str) -> bool:
    """Whether ``text`` is a resident ID number (GB 11643).

    It must have a real birth date and the right check character; region codes are not checked
    (the division table lags).
    """
    if not _ID_SHAPED.fullmatch(text):
        return False
    try:
        date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    total = sum(int(c) * w for c, w in zip(text[:17], _RIC_WEIGHTS, strict=True))
    return _RIC_CHECKS[total % 11] == text[17].upper()


def find_id_numbers(text: str) -> list[str]:
    """Every resident ID number standing alone in ``text``."""
    return [m.group() for m in _ID_SHAPED.finditer(text) if is_id_number(m.group())]


def scrub_id_numbers(text: str) -> str:
    """``text`` with every resident ID number in it masked (``330106********421X``)."""
    return _ID_SHAPED.sub(
        lambda m: mask_id_number(m.group()) if is_id_number(m.group()) else m.group(), text
    )


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
    # One look over all free text first: it nearly never holds anything ID-shaped.
    if _ID_SHAPED.search("|".join(message[name] for name in FREE_TEXT)):
        for name in FREE_TEXT:
            message[name] = scrub_id_numbers(message[name])
    return message
