"""Raw payloads: each record as received, as one compact JSON object, with its SHA-256."""

from __future__ import annotations

import hashlib
import json
import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# JSON's escapes for the characters Arrow can replace as plain substrings; any other control
# character sends the page down the exact, slower path.
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_NEEDS_ESCAPE = '[\\x00-\\x1f\\\\"]'
_OTHER_CONTROL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]"
_SURROGATE = re.compile("[\\ud800-\\udfff]")


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _escaped(values: pd.Series) -> pa.Array | None:
    """The column's text with JSON escapes applied; ``None`` if it needs an escape Arrow lacks."""
    text = pa.array(values, type=pa.large_string(), from_pandas=True)
    if not pc.any(pc.match_substring_regex(text, _NEEDS_ESCAPE)).as_py():
        return text
    if pc.any(pc.match_substring_regex(text, _OTHER_CONTROL)).as_py():
        return None
    for plain, escaped in _ESCAPES:
        text = pc.replace_substring(text, plain, escaped)
    return text


def _text_frame_lines(frame: pd.DataFrame) -> list[str] | None:
    """JSON of an all-text frame, assembled column-wise in Arrow (no per-row Python).

    Returns ``None`` when a value holds a control character that needs a unicode escape.
    """
    pieces: list[pa.Array | pa.Scalar] = []
    for position, name in enumerate(frame.columns):
        text = _escaped(frame[name])
        if text is None:
            return None
        key = ("{" if position == 0 else ",") + json.dumps(str(name), ensure_ascii=False) + ":"
        if text.null_count:
            quoted = pc.binary_join_element_wise(_text('"'), text, _text('"'), _text(""))
            pieces += [_text(key), pc.fill_null(quoted, _text("null"))]
        else:
            pieces += [_text(key + '"'), text, _text('"')]
    pieces.append(_text("}"))
    return pc.binary_join_element_wise(*pieces, _text("")).to_pylist()


def json_lines(frame: pd.DataFrame) -> list[str]:
    """Each row of ``frame`` as a compact JSON object (UTF-8 text, keys in column order)."""
    if frame.empty:
        return []
    if all(isinstance(dtype, pd.StringDtype) for dtype in frame.dtypes):
        lines = _text_frame_lines(frame)
        if lines is not None:
            return lines
    try:
        return _pandas_lines(frame)
    except UnicodeEncodeError:
        pass
    # Lone surrogates: those rows written escaped, the others as always (so a row's payload, and
    # its fingerprint, never depend on the page it came in).
    odd = frame.apply(lambda row: any(_holds_surrogate(v) for v in row), axis=1).to_numpy()
    lines = pd.Series("", index=frame.index, dtype=object)
    if not odd.all():
        lines[~odd] = _pandas_lines(frame[~odd])
    lines[odd] = _with_surrogates_escaped(frame[odd])
    return lines.tolist()


def _pandas_lines(frame: pd.DataFrame) -> list[str]:
    text = frame.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    return text.rstrip("\n").split("\n")


def _holds_surrogate(value: object) -> bool:
    return isinstance(value, str) and _SURROGATE.search(value) is not None


def _with_surrogates_escaped(frame: pd.DataFrame) -> list[str]:
    """Rows as JSON, a lone surrogate written as its escape: exact, and encodable as UTF-8."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [
        _SURROGATE.sub(
            lambda found: f"\\u{ord(found.group()):04x}",
            json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str),
        )
        for row in rows
    ]


def sha256s(payloads: list[str]) -> list[str]:
    """The SHA-256 (hex) of each payload's UTF-8 bytes."""
    return [hashlib.sha256(p.encode()).hexdigest() for p in payloads]
