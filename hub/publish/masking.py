"""The last guard before a delta file is written: no resident ID number leaves unmasked.

``status_change`` already holds a natural person's ID number masked (``hub.reconcile.changes``), but
free text (a reason, a name typed into the wrong field) can still carry one. Any token of 17 digits
and a digit or ``X`` (not part of a longer run of letters and digits, such as a hex record key)
whose GB 11643 check character is right is masked like ``hub.collect.validate.mask_id_number``. The
birth date is deliberately not required: masking a number that only looks like an ID costs nothing,
publishing a real one is a breach. (So an all-digit credit code that happens to pass the ID check is
masked too.)
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from hub.core.logs import get_logger
from hub.core.privacy import mask_id_number

log = get_logger(__name__)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECKS = "10X98765432"
# Arrow's regex engine (RE2) has no look-around: it finds candidate rows, Python's confirms.
_CANDIDATE = "[0-9]{17}[0-9Xx]"
_TOKEN = re.compile("(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def looks_like_id_number(text: str) -> bool:
    """Whether ``text`` (18 characters) is 17 digits and the right GB 11643 check character."""
    if len(text) != 18 or not text[:17].isdigit() or not text[:17].isascii():
        return False
    total = sum(int(c) * w for c, w in zip(text[:17], _WEIGHTS, strict=True))
    return text[17].upper() == _CHECKS[total % 11]


def _mask_text(text: str) -> str:
    """``text`` with every ID-number token masked."""

    def mask(token: re.Match[str]) -> str:
        found = token.group()
        return mask_id_number(found) if looks_like_id_number(found) else found

    return _TOKEN.sub(mask, text)


def mask_id_numbers(table: pa.Table, context: str) -> pa.Table:
    """``table`` with every ID number found in its text columns masked.

    Args:
        table: the rows about to be written.
        context: what is being written (site and day), for the warning logged when one is found.

    Returns:
        The same table when nothing was found (the usual case), else a copy with the finds masked.
    """
    for index, field in enumerate(table.schema):
        if not pa.types.is_string(field.type):
            continue
        column = table.column(index)
        hits = pc.fill_null(pc.match_substring_regex(column, _CANDIDATE), False)
        if not pc.any(hits).as_py():
            continue
        values = column.to_pylist()
        found = 0
        for row in pc.indices_nonzero(hits).to_pylist():
            masked = _mask_text(values[row])
            found += masked != values[row]
            values[row] = masked
        if found:
            log.warning("%s: masked ID numbers in %d %s values", context, found, field.name)
            table = table.set_column(index, field, pa.array(values, type=field.type))
    return table
