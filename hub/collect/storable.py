"""Text no platform column can hold: U+0000 and lone surrogates (half of a UTF-16 pair).

PostgreSQL refuses U+0000 in text, and neither database driver can encode a lone surrogate as
UTF-8; one such character in one record would otherwise fail its whole batch on every retry. So a
record holding one is quarantined under the rule ``unstorable_text``, naming the column and the
character, on SQLite and PostgreSQL alike; the character is replaced by U+FFFD in what the
mapping sees, so the quarantine row itself can be written. The raw payload keeps the record
exactly, as a JSON escape (``hub.collect.payloads``).
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hub.collect.mapping import problem_frame

RULE = "unstorable_text"
REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _holds_unstorable(values: pd.Series) -> pd.Series:
    """Whether each value is text holding an unstorable character."""
    try:
        # Arrow refuses lone surrogates outright; text without them is searched natively.
        text = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (UnicodeEncodeError, pa.ArrowException):
        found = [isinstance(v, str) and _UNSTORABLE.search(v) is not None for v in values]
        return pd.Series(found, index=values.index, dtype=bool)
    found = pc.fill_null(pc.match_substring(text, "\x00"), False)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)


def _described(value: str) -> str:
    character = _UNSTORABLE.search(value)
    assert character is not None
    return f"U+{ord(character.group()):04X} at character {character.start() + 1}"


def unstorable_text(
    frame: pd.DataFrame, fields_by_column: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The problems of ``frame``'s records holding unstorable text, and ``frame`` made storable.

    Args:
        frame: a page of raw records (one column per source column).
        fields_by_column: source column → the canonical field it is mapped to.

    Returns:
        One problem per column and record (``row``, ``rule``, ``field``, ``message``), and the
        frame with each unstorable character replaced by U+FFFD (``frame`` itself when clean).
    """
    problems = []
    cleaned = frame
    for column in frame.columns:
        values = frame[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        bad = _holds_unstorable(values)
        if not bad.any():
            continue
        if cleaned is frame:
            cleaned = frame.copy()
        found = values[bad].astype(object)
        messages = (
            f"column {column!r} holds "
            + found.map(_described)
            + (", a character the platform cannot store as text")
        )
        problems.append(problem_frame(found.index, RULE, fields_by_column.get(column), messages))
        cleaned[column] = values.astype(object).where(
            ~bad, found.map(lambda v: _UNSTORABLE.sub(REPLACEMENT, v))
        )
    if not problems:
        return problem_frame(pd.Index([]), RULE, None, pd.Series([], dtype="str")), frame
    return pd.concat(problems, ignore_index=True), cleaned
