"""Deterministic record identity and content fingerprints, a whole column at a time."""

from __future__ import annotations

import hashlib

import pandas as pd

from hub.core.model import RecordKind, field_names
from hub.core.text import join_columns

_SEP = "\x1f"  # ASCII unit separator: cannot occur in normalised text


def _digests(rows: list[str]) -> list[str]:
    return [hashlib.blake2b(row.encode(), digest_size=16).hexdigest() for row in rows]


def record_keys(kind: RecordKind, records: pd.DataFrame) -> list[str]:
    """The identity of each record, a 32-hex-digit key.

    The same decision about the same subject by the same authority is one record, however often
    and by whichever channel it is delivered. The key hashes (kind, authority code, document
    number, subject), the subject being its credit code, else its ID number, else its name.
    """
    subject = records["credit_code"].fillna(records["id_number"]).fillna(records["subject_name"])
    kind_column = pd.Series(kind.value, index=records.index, dtype="str")
    return _digests(
        join_columns(
            [kind_column, records["authority_code"], records["document_no"], subject], _SEP
        )
    )


def content_hashes(kind: RecordKind, records: pd.DataFrame) -> list[str]:
    """A fingerprint of each record's canonical content: equal exactly when nothing changed."""
    return _digests(join_columns([records[name] for name in field_names(kind)], _SEP))
