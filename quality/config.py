"""The province's quality settings and the suites' parameters, from ``mappings/quality/``.

``HUB_QUALITY_DIR`` points elsewhere (tests, a deployment's own copy); files are read at each call
so a changed setting applies to the next run without a restart.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hub.core.codes import MULTI_VALUE_SEPARATOR, code_table
from hub.core.model import FieldType, RecordKind, fields_of
from hub.core.settings import MAPPINGS_DIR


def quality_dir() -> Path:
    """Where the quality settings and allow-lists are (``HUB_QUALITY_DIR``)."""
    return Path(os.environ.get("HUB_QUALITY_DIR", MAPPINGS_DIR / "quality")).resolve()


def _read(name: str) -> dict[str, Any]:
    return yaml.safe_load((quality_dir() / name).read_text(encoding="utf-8")) or {}


@dataclass(frozen=True)
class QualitySettings:
    """What counts as on time, and how departments are ranked.

    Attributes:
        working_days_limit: the most working days from decision to receipt that is on time.
        decision_day_counts: whether a decision on a working day is day 1 (else day 0).
        timed_kinds: the record kinds measured for timeliness.
        weights: weight of each percentage (complete, valid, on_time) in the ranking score.
    """

    working_days_limit: int
    decision_day_counts: bool
    timed_kinds: tuple[RecordKind, ...]
    weights: dict[str, float]


def quality_settings() -> QualitySettings:
    """The settings of ``settings.yaml``."""
    data = _read("settings.yaml")
    timeliness, ranking = data["timeliness"], data["ranking"]
    return QualitySettings(
        working_days_limit=int(timeliness["working_days_limit"]),
        decision_day_counts=bool(timeliness["decision_day_counts"]),
        timed_kinds=tuple(RecordKind(k) for k in timeliness["kinds"]),
        weights={k: float(v) for k, v in ranking["weights"].items()},
    )


def credit_code_allow_list() -> dict[str, str]:
    """Accepted non-standard credit codes → why each is accepted."""
    entries = _read("credit_code_allow_list.yaml").get("codes") or []
    return {str(e["code"]).strip().upper(): str(e.get("note", "")) for e in entries}


def _code_pattern(labels: tuple[str, ...]) -> str:
    one = "(?:" + "|".join(re.escape(label) for label in labels) + ")"
    separator = re.escape(MULTI_VALUE_SEPARATOR)
    return f"^{one}(?:{separator}{one})*$"


def suite_parameters() -> dict[str, Any]:
    """The values the suites' ``$PARAMETER`` references stand for.

    ``code_labels_<table>`` (the standard labels of a code table), ``code_pattern_<table>`` (a
    regular expression of one or more labels joined by ``;``) and ``credit_code_allow_list``.
    """
    tables = {
        f.code_table
        for kind in RecordKind
        for f in fields_of(kind)
        if f.type is FieldType.CODE and f.code_table
    }
    parameters: dict[str, Any] = {"credit_code_allow_list": sorted(credit_code_allow_list())}
    for name in sorted(tables):
        labels = code_table(name).labels
        parameters[f"code_labels_{name}"] = list(labels)
        parameters[f"code_pattern_{name}"] = _code_pattern(labels)
    return parameters
