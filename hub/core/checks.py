"""Check characters of the two identifiers, computed a whole column at a time.

Equivalent to ``stdnum.cn.uscc.is_valid`` and, for the check character and date of birth,
``stdnum.cn.ric.is_valid`` (the tests compare both on every code the sandbox makes). Region codes
of ID numbers are deliberately not checked: python-stdnum's table lags new and merged divisions
(``440882198503293017`` has a right check character yet stdnum rejects its region), and a record
must not be quarantined for the national division table being out of date.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_RIC_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_RIC_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)

_USCC_VALUE = np.full(256, -1, dtype=np.int64)
for _value, _char in enumerate(USCC_ALPHABET):
    _USCC_VALUE[ord(_char)] = _value


def _as_matrix(codes: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The 18-character ASCII codes as a (n, 18) byte matrix, and the mask of which those are."""
    text = codes.astype("str")
    shaped = (text.str.len() == 18) & text.map(str.isascii, na_action="ignore").fillna(False)
    shaped = shaped.astype(bool).to_numpy()
    joined = "".join(text[shaped].tolist()).encode("ascii")
    return np.frombuffer(joined, dtype=np.uint8).reshape(-1, 18), shaped


def _per_distinct(check: Callable[[pd.Series], pd.Series], values: pd.Series) -> pd.Series:
    """Apply ``check`` once per distinct value (subjects recur across records)."""
    distinct = pd.Series(values.dropna().unique(), dtype="str")
    valid = set(distinct[check(distinct).to_numpy()].tolist())
    return values.isna() | values.isin(valid)


def uscc_valid(codes: pd.Series) -> pd.Series:
    """Whether each unified social credit code (GB 32100) has the right check character.

    Missing values count as valid (mandatory checks are separate).
    """
    return _per_distinct(_uscc_valid, codes)


def ric_valid(numbers: pd.Series) -> pd.Series:
    """Whether each resident ID number (GB 11643) has a real birth date and the right check.

    Missing values count as valid (mandatory checks are separate).
    """
    return _per_distinct(_ric_valid, numbers)


def _uscc_valid(codes: pd.Series) -> pd.Series:
    matrix, shaped = _as_matrix(codes)
    values = _USCC_VALUE[matrix]
    known = (values >= 0).all(axis=1)
    check = (31 - (values[:, :17] * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
    valid = np.zeros(len(codes), dtype=bool)
    valid[shaped] = known & (values[:, 17] == check)
    return pd.Series(valid | codes.isna().to_numpy(), index=codes.index)


def _ric_valid(numbers: pd.Series) -> pd.Series:
    upper = numbers.astype("str").str.upper()
    matrix, shaped = _as_matrix(upper)
    digits = matrix[:, :17].astype(np.int64) - ord("0")
    all_digits = ((digits >= 0) & (digits <= 9)).all(axis=1)
    check = _RIC_CHECK[(digits * _RIC_WEIGHTS).sum(axis=1) % 11]
    births = pd.to_datetime(upper[shaped].str.slice(6, 14), format="%Y%m%d", errors="coerce")
    valid = np.zeros(len(numbers), dtype=bool)
    valid[shaped] = all_digits & (matrix[:, 17] == check) & births.notna().to_numpy()
    return pd.Series(valid | numbers.isna().to_numpy(), index=numbers.index)
