"""Deterministic record identity and content fingerprints, a whole column at a time."""

from __future__ import annotations

import hashlib

import pandas as pd

from hub.model import RecordKind, field_names

_SEP = "\x1f"  # ASCII unit separator: cannot occur in normalised text


def _as_text(records: pd.DataFrame, column: str) -> pd.Series:
    values = records[column]
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").fillna("")
    if pd.api.types.is_float_dtype(values):
        return values.map(repr, na_action="ignore").astype("str").fillna("")
    return values.astype("str").fillna("")


def _digest(text: pd.Series, size: int) -> list[str]:
    return [hashlib.blake2b(t.encode(), digest_size=size).hexdigest() for t in text.tolist()]


def record_keys(kind: RecordKind, records: pd.DataFrame) -> list[str]:
    """The identity of each record, a 32-hex-digit key.

    The same decision about the same subject by the same authority is one record, however often
    and by whichever channel it is delivered. The key hashes (kind, authority code, document
    number, subject), the subject being its credit code, else its ID number, else its name.
    """
    subject = records["credit_code"].fillna(records["id_number"]).fillna(records["subject_name"])
    text = (
        kind.value
        + _SEP
        + _as_text(records, "authority_code")
        + _SEP
        + _as_text(records, "document_no")
        + _SEP
        + subject.astype("str").fillna("")
    )
    return _digest(text, 16)


def content_hashes(kind: RecordKind, records: pd.DataFrame) -> list[str]:
    """A fingerprint of each record's canonical content: equal exactly when nothing changed."""
    columns = field_names(kind)
    text = _as_text(records, columns[0]).str.cat(
        [_as_text(records, c) for c in columns[1:]], sep=_SEP
    )
    return _digest(text, 16)
