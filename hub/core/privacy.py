r"""The one privacy policy: no resident ID number leaves the platform or reaches a person whole.

**The rule.** Wherever text leaves the platform (push bodies, delta files, reports, answers of the
pull API, alerts) or reaches an operator or a department (``hub status``, batch and file errors,
reason files, XCom, log lines, the case view), every resident ID number in it is masked:

- an 18-character token: 17 digits and a digit or ``X``/``x``, *whatever its check character*
  (a quarantined number is precisely one whose check character is wrong) and whatever letters
  stand beside it: ``张三ID330106199001014211`` → ``张三ID330106********4211``;
- a 15-digit first-generation number whose positions 7–12 are a real date ``19YYMMDD``:
  ``330106850320031`` → ``330106*****0031``;
- a digit on either side means a longer number (an account, a serial), not an ID: a run of 16,
  17 or 19+ digits is left alone;
- full-width digits (``０``–``９``, and ``Ｘ``) count as digits: an ID number typed with a Chinese
  input method is still an ID number (Python's ``\d`` matches them; so does this rule, on
  purpose), and the masked form keeps the characters it kept as they were written;
- a word of exactly 32, 40 or 64 lowercase hexadecimal characters (a record key, a SHA-1 or
  SHA-256 digest) is a machine identifier, not text: an 18-digit stretch inside one is left alone.

The masked form keeps the first 6 and the last 4 characters: ``110105********002X``.

Masking a number that only looks like an ID costs a reader little; letting a real one out is a
breach. So the rule asks no check character, no region code, and for 18 characters no birth date.

**The flavours**, all from the same rule:

- ``mask_id_number(value)``: a value known to be an ID number (a record's ``id_number``);
- ``mask_text(text)``: free text;
- ``mask_subject_id(value)``: a value that is a credit code or an ID number (a subject typed in);
- ``mask_table(table, keep=..., credit_codes=...)``: an Arrow table (delta files), vectorised:
  Arrow's RE2 (no look-around) finds the candidate cells, Python confirms them;
- ``mask_frame(frame, keep=..., credit_codes=...)``: a pandas frame (reports);
- ``mask_document(document, keep=..., credit_codes=...)``: JSON-like data (dicts, lists, tuples,
  dataclass instances, frames inside them): status documents, XCom, case views, alerts;
- ``masked_id_sql(column)``: the SQL expression of ``mask_id_number``, used where
  ``status_change`` stores a natural person's masked subject id.

``keep`` names columns (or keys) that hold machine identifiers, never personal data: record keys,
digests, idempotency keys (``MACHINE_IDENTIFIERS``). ``credit_codes`` names columns that hold a
legal person's unified social credit code or a natural person's (masked) ID number, such as
``subject_id``: a value that is a valid credit code (GB 32100) stands, anything else gets the rule.
An all-digit credit code in free text is masked like an ID number: text cannot tell them apart.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from hub.core.checks import uscc_valid

MACHINE_IDENTIFIERS = frozenset(
    {"record_key", "idempotency_key", "sha256", "payload_sha256", "content_hash"}
)
"""Column and key names that hold machine identifiers: never masked by the frame flavours."""

_DIGITS = "0-9\uff10-\uff19"
_TOKEN = re.compile(
    rf"(?<!\d)(?:[{_DIGITS}]{{17}}[{_DIGITS}Xx\uff38\uff58]|[{_DIGITS}]{{15}})(?!\d)"
)
# Arrow's RE2 has no look-around: any cell with 15 digits in a row is a candidate, ``_TOKEN``
# decides. Cheaper than the rule, never narrower.
_CANDIDATE = f"[{_DIGITS}]{{15}}"
_CANDIDATE_RE = re.compile(_CANDIDATE)
_ASCII_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_WORD = re.compile("[0-9A-Za-z]")
_DIGEST = re.compile("[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}")
_STARS = "*" * 32


def mask_id_number(value: str) -> str:
    """A value known to be an ID number, masked: ``110105********002X``.

    The first 6 and last 4 characters are kept; a value of 10 characters or fewer is all stars.
    """
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def _plausible_first_generation(token: str) -> bool:
    """Whether the 15-digit ``token`` has a real date ``19YYMMDD`` at positions 7–12."""
    born = token[6:12].translate(_ASCII_DIGITS)
    try:
        date(1900 + int(born[:2]), int(born[2:4]), int(born[4:6]))
    except ValueError:
        return False
    return True


def _in_digest(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` lies inside a word that is a hex digest or record key."""
    while start > 0 and _WORD.match(text, start - 1):
        start -= 1
    while end < len(text) and _WORD.match(text, end):
        end += 1
    return _DIGEST.fullmatch(text, start, end) is not None


def _masked_token(found: re.Match[str]) -> str:
    token = found.group()
    if len(token) == 15 and not _plausible_first_generation(token):
        return token
    if _in_digest(found.string, found.start(), found.end()):
        return token
    return mask_id_number(token)


def mask_text(text: str) -> str:
    """``text`` with every resident ID number in it masked, by the rule of this module."""
    if not _CANDIDATE_RE.search(text):
        return text
    return _TOKEN.sub(_masked_token, text)


def mask_subject_id(value: str) -> str:
    """A value that is a credit code or an ID number: a valid credit code stands, else the rule."""
    return _masked_values([value], credit_code=True)[0]


def _valid_credit_codes(values: list[str]) -> list[bool]:
    return uscc_valid(pd.Series(values, dtype=object)).tolist()


def _masked_values(values: list[str], credit_code: bool) -> list[str]:
    """``values`` (never null) masked; in a credit-code column valid codes stand."""
    masked = [mask_text(v) for v in values]
    if credit_code:
        changed = [i for i, (v, m) in enumerate(zip(values, masked, strict=True)) if v != m]
        valid = _valid_credit_codes([values[i] for i in changed]) if changed else []
        for i, ok in zip(changed, valid, strict=True):
            masked[i] = values[i] if ok else masked[i]
    return masked


def mask_table(
    table: pa.Table, *, keep: Collection[str] = (), credit_codes: Collection[str] = ()
) -> pa.Table:
    """``table`` with every ID number in its text columns masked.

    Args:
        table: the rows about to leave (a delta file's).
        keep: columns holding machine identifiers, left as they are.
        credit_codes: columns holding a credit code or a masked ID number: valid credit codes
            stand.

    Returns:
        ``table`` itself when nothing was found (the usual case), else a copy with the finds
        masked. Only the candidate cells reach Python, so ten million rows cost one RE2 pass.
    """
    for index, column_field in enumerate(table.schema):
        if column_field.name in keep or not (
            pa.types.is_string(column_field.type) or pa.types.is_large_string(column_field.type)
        ):
            continue
        column = table.column(index)
        hits = pc.fill_null(pc.match_substring_regex(column, _CANDIDATE), False)
        if not pc.any(hits).as_py():
            continue
        candidates = pc.filter(column, hits).to_pylist()
        masked = _masked_values(candidates, column_field.name in credit_codes)
        if masked == candidates:
            continue
        replaced = pc.replace_with_mask(
            column.combine_chunks(), hits.combine_chunks(), pa.array(masked, column_field.type)
        )
        table = table.set_column(index, column_field, replaced)
    return table


def _mask_series(values: pd.Series, credit_code: bool) -> pd.Series:
    hits = values.map(lambda v: isinstance(v, str) and _CANDIDATE_RE.search(v) is not None).astype(
        bool
    )
    if not hits.any():
        return values
    masked = _masked_values(values[hits].tolist(), credit_code)
    result = values.copy()
    if result.dtype != object and not pd.api.types.is_string_dtype(result.dtype):
        result = result.astype(object)
    result[hits] = masked
    return result


def mask_frame(
    frame: pd.DataFrame, *, keep: Collection[str] = (), credit_codes: Collection[str] = ()
) -> pd.DataFrame:
    """``frame`` with every ID number in its text cells (and text index) masked.

    Args:
        frame: rows about to be shown or written (a report's).
        keep: columns holding machine identifiers, left as they are.
        credit_codes: columns holding a credit code or a masked ID number: valid credit codes
            stand.

    Returns:
        A copy when something was masked, else ``frame`` itself.
    """
    masked = frame
    for name in frame.columns:
        if name in keep:
            continue
        column = frame[name]
        if not (column.dtype == object or pd.api.types.is_string_dtype(column.dtype)):
            continue
        replaced = _mask_series(column, name in credit_codes)
        if replaced is not column:
            if masked is frame:
                masked = frame.copy()
            masked[name] = replaced
    if masked.index.dtype == object or pd.api.types.is_string_dtype(masked.index.dtype):
        labels = masked.index.to_series()
        index = _mask_series(labels, credit_code=False)
        if index is not labels:
            masked = masked.set_axis(pd.Index(index.tolist(), name=masked.index.name), axis=0)
    return masked


def mask_document(
    document: Any, *, keep: Collection[str] = (), credit_codes: Collection[str] = ()
) -> Any:
    """``document`` with every ID number in its text masked, however deep.

    Walks dicts (keys too), lists, tuples, dataclass instances (a copy through
    ``dataclasses.replace``) and pandas frames (``mask_frame``); other values are returned as
    they are.

    Args:
        document: JSON-like data: a status, a case view, a task's summary, an alert.
        keep: keys (or frame columns) holding machine identifiers, left as they are.
        credit_codes: keys (or frame columns) holding a credit code or a masked ID number.
    """
    if isinstance(document, Mapping) and _flat_and_clean(document):
        return dict(document)  # the usual case, a push message: one search
    return _DocumentWalk(frozenset(keep), frozenset(credit_codes)).masked(document)


_SCALARS = (str, int, float, bool, date, type(None))


def _flat_and_clean(mapping: Mapping) -> bool:
    """Whether ``mapping`` holds only scalars, with no 15 digits in a row in any text of it."""
    values = mapping.values()
    if not all(isinstance(v, _SCALARS) for v in values):
        return False
    texts = [t for t in (*mapping, *values) if isinstance(t, str)]
    return not _CANDIDATE_RE.search("\n".join(texts))


@dataclasses.dataclass(frozen=True)
class _DocumentWalk:
    keep: frozenset[str]
    credit_codes: frozenset[str]

    def masked(self, value: Any, key: Any = None) -> Any:
        if isinstance(value, str):
            if key in self.keep:
                return value
            if key in self.credit_codes:
                return _masked_values([value], credit_code=True)[0]
            return mask_text(value)
        if isinstance(value, Mapping):
            return {self.masked(k): self.masked(v, k) for k, v in value.items()}
        if isinstance(value, list | tuple):
            items = [self.masked(v) for v in value]
            return type(value)(items) if isinstance(value, list) else tuple(items)
        if isinstance(value, pd.DataFrame):
            return mask_frame(value, keep=self.keep, credit_codes=self.credit_codes)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {
                f.name: self.masked(getattr(value, f.name), f.name)
                for f in dataclasses.fields(value)
                if f.init
            }
            return dataclasses.replace(value, **changes)
        return value


def masked_id_sql(column: sa.ColumnElement) -> sa.ColumnElement:
    """SQL for ``mask_id_number`` of ``column``: the first 6 and last 4 characters kept."""
    length = sa.func.length(column)
    text = sa.String()
    return sa.case(
        (
            length > 10,
            sa.func.substr(column, 1, 6, type_=text)
            + sa.func.substr(_STARS, 1, length - 10, type_=text)
            + sa.func.substr(column, length - 3, type_=text),
        ),
        else_=sa.func.substr(_STARS, 1, length, type_=text),
    )
