"""Whole-column text operations in Arrow's C++ kernels (pandas' own fall back to Python)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _clean(text: pa.Array) -> pa.Array:
    text = pc.utf8_trim_whitespace(pc.utf8_normalize(text, "NFKC"))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)


def normalise(values: pd.Series) -> pd.Series:
    """NFKC-normalise (full-width → half-width) and trim; empty strings become missing.

    A column of few distinct values (categories, names, constants) is normalised once per value.
    """
    text = pa.array(values.astype("str"))
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    encoded = pc.dictionary_encode(text)
    if len(encoded.dictionary) * 4 < len(text):
        cleaned = pc.take(_clean(encoded.dictionary), encoded.indices)
    else:
        cleaned = _clean(text)
    return pd.Series(cleaned, dtype="str", index=values.index)


def identifiers(values: pd.Series) -> pd.Series:
    """Codes and ID numbers in their one written form: NFKC, trimmed, upper case.

    ``9135052155323005xl``, ``９１３５０５２１５５３２３００５ＸＬ`` and `` 9135052155323005XL ``
    are one credit code; an ID number's check character ``x`` is ``X``.
    """
    text = normalise(values)
    upper = pc.utf8_upper(pa.array(text, type=pa.large_string(), from_pandas=True))
    return pd.Series(upper, dtype="str", index=values.index)


def identifier(value: str) -> str:
    """One code or ID number in its one written form (see ``identifiers``)."""
    return unicodedata.normalize("NFKC", value).strip().upper()


_IDENTIFIER_IN_TEXT = re.compile(
    r"(?<![0-9A-Z])[0-9A-Z]{18}(?![0-9A-Z])|(?<!\d)\d{17}[\dX](?!\d)|(?<!\d)\d{15}(?!\d)"
)


def identifiers_in(text: str) -> set[str]:
    """Every credit code or ID number written anywhere in ``text``, in its one written form.

    A code stands alone (no letter or digit beside it); an ID number may stand beside letters
    (``张三ID330106199001014211``), as people write it. Used to find the subjects a delivery
    names when its records could not be read one by one.
    """
    return set(_IDENTIFIER_IN_TEXT.findall(unicodedata.normalize("NFKC", text).upper()))


def as_text(values: pd.Series) -> pa.Array:
    """A column as Arrow text: dates as ``YYYY-MM-DD``, numbers in their shortest form."""
    array = pa.array(values, from_pandas=True)
    if pa.types.is_timestamp(array.type):
        array = pc.strftime(array, "%Y-%m-%d")
    return pc.cast(array, pa.large_string())


def join_columns(columns: Sequence[pd.Series], separator: str) -> list[str]:
    """Each row's values joined by ``separator`` (missing values as empty text)."""
    separator_scalar = pa.scalar(separator, pa.large_string())
    joined = pc.binary_join_element_wise(
        *(as_text(c) for c in columns),
        separator_scalar,
        null_handling="replace",
        null_replacement="",
    )
    return joined.to_pylist()
