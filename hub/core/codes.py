"""Code tables under ``mappings/codes/``: standard labels, and the aliases agencies send."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import pandas as pd
import yaml

from hub.core.settings import MAPPINGS_DIR

CODES_DIR = MAPPINGS_DIR / "codes"
MULTI_VALUE_SEPARATOR = ";"
_SPLIT = re.compile(r"[;；,，、|]")


@dataclass(frozen=True)
class CodeTable:
    """A code table: its standard labels in order, and what each alias stands for."""

    name: str
    labels: tuple[str, ...]
    aliases: Mapping[str, tuple[str, ...]]

    def resolve(self, value: str, extra: Mapping[str, str]) -> tuple[str, ...] | None:
        """The standard labels ``value`` stands for, or ``None`` when it is not in the table."""
        if value in extra:
            return (extra[value],)
        if value in self.aliases:
            return self.aliases[value]
        if value in self.labels:
            return (value,)
        return None


@cache
def code_table(name: str) -> CodeTable:
    """Load ``mappings/codes/<name>.yaml``."""
    data = yaml.safe_load((CODES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    return CodeTable(
        name=name,
        labels=tuple(data["labels"]),
        aliases={str(k): tuple(v) for k, v in (data.get("aliases") or {}).items()},
    )


def _translate_one(
    value: str, table: CodeTable, extra: Mapping[str, str], multi: bool
) -> str | None:
    whole = table.resolve(value, extra)
    if whole is not None or not multi:
        return MULTI_VALUE_SEPARATOR.join(whole) if whole else None
    labels: set[str] = set()
    for token in filter(None, (t.strip() for t in _SPLIT.split(value))):
        resolved = table.resolve(token, extra)
        if resolved is None:
            return None
        labels.update(resolved)
    ordered = [label for label in table.labels if label in labels]
    return MULTI_VALUE_SEPARATOR.join(ordered) or None


def translate(
    values: pd.Series, table: CodeTable, extra: Mapping[str, str] | None = None, multi: bool = False
) -> tuple[pd.Series, pd.Series]:
    """Translate a column of source codes to standard labels.

    Each distinct value is looked up once, so a million rows cost what their few hundred distinct
    values cost. With ``multi``, a value may list several codes (``1;2``, ``警告、罚款``); the
    result lists the labels in the table's order, separated by ``;``.

    Returns:
        The translated column, and a boolean column marking values not in the table.
    """
    extra = extra or {}
    lookup = {v: _translate_one(v, table, extra, multi) for v in values.dropna().unique().tolist()}
    translated = values.map(lookup).astype("str")
    unknown = values.notna() & translated.isna()
    return translated, unknown
