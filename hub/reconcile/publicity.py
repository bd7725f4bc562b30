"""Publicity periods (公示期) as data: when each record's publicity may end early and must end.

The rules live in ``mappings/publicity/rules.yaml`` (``HUB_PUBLICITY_RULES`` overrides): dated rule
sets chosen by the decision date, severity classes from the penalty categories, the one-year
domains of order No. 58, and which outside system repairs a record (谁认定、谁修复). Everything
here works on whole columns: a day's records, or a whole store, in a handful of vectorised steps.
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.core.codes import MULTI_VALUE_SEPARATOR
from hub.core.errors import ConfigurationError
from hub.core.model import RecordKind
from hub.core.settings import MAPPINGS_DIR
from hub.store.schema import PUBLICITY_COLUMNS

SEVERITY_ORDER = ("minor", "general", "serious")
GSXT = "gsxt"
CREDIT_CHINA = "credit_china"


class Period(BaseModel):
    """Months from the decision date: repair possible after ``min``, publicity stops at ``max``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: int = Field(ge=0)
    max: int = Field(gt=0)


class RuleSet(BaseModel):
    """One dated set of publicity rules."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    name: str
    from_date: date = Field(alias="from")
    classes: dict[str, Period]
    one_year_domain_min: int | None = None


class PublicityRules(BaseModel):
    """The whole rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    penalty_classes: dict[str, str]
    list_classes: dict[str, str]
    one_year_domains: dict[str, tuple[str, ...]]
    rule_sets: tuple[RuleSet, ...] = Field(min_length=1)
    gsxt_authorities: tuple[str, ...]

    def rule_set(self, decided: date) -> RuleSet:
        """The rule set in force on ``decided``."""
        return [s for s in self.rule_sets if s.from_date <= decided][-1]


class PublicityRulesError(ConfigurationError, ValueError):
    """The rules file is malformed; the message names the file and the problem."""


def rules_file() -> Path:
    """Where the publicity rules are declared."""
    default = MAPPINGS_DIR / "publicity" / "rules.yaml"
    return Path(os.environ.get("HUB_PUBLICITY_RULES", default))


@cache
def _load(path: Path) -> PublicityRules:
    try:
        rules = PublicityRules.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise PublicityRulesError(f"{path.name}: {exc}") from exc
    starts = [s.from_date for s in rules.rule_sets]
    if starts != sorted(starts):
        raise PublicityRulesError(f"{path.name}: rule sets must be in date order")
    for rule_set in rules.rule_sets:
        missing = set(SEVERITY_ORDER) - set(rule_set.classes)
        if missing:
            raise PublicityRulesError(f"{path.name}: {rule_set.id} lacks classes {sorted(missing)}")
    return rules


def publicity_rules(path: Path | None = None) -> PublicityRules:
    """The rules in force (read once per file)."""
    return _load((path or rules_file()).resolve())


def _severity(records: pd.DataFrame, kind: RecordKind, rules: PublicityRules) -> pd.Series:
    """Each record's class: the most severe of its penalty categories, or its list's class."""
    if kind is not RecordKind.PENALTY:
        return pd.Series(rules.list_classes[str(kind)], index=records.index)
    rank = {name: i for i, name in enumerate(SEVERITY_ORDER)}

    def most_severe(categories: str) -> str:
        labels = categories.split(MULTI_VALUE_SEPARATOR)
        classes = [rules.penalty_classes.get(c, "general") for c in labels]
        return max(classes, key=rank.__getitem__)

    categories = records["penalty_categories"].fillna("其他").astype(str)
    distinct = {c: most_severe(c) for c in categories.unique()}  # a few dozen combinations
    return categories.map(distinct)


def _in_one_year_domain(records: pd.DataFrame, rules: PublicityRules) -> pd.Series:
    keywords = [k for words in rules.one_year_domains.values() for k in words]
    pattern = "|".join(re.escape(k) for k in keywords)
    found = pd.Series(False, index=records.index)
    for column in ("violation_type", "legal_basis", "authority_name", "source_department"):
        if column in records:
            text = records[column].astype("string")
            found |= text.str.contains(pattern, regex=True).fillna(False).astype(bool)
    return found


def _add_months(days: pd.Series, months: pd.Series) -> pd.Series:
    """``days`` plus a per-row number of months (end of month clipped), one step per distinct n."""
    result = pd.Series(pd.NaT, index=days.index, dtype="datetime64[s]")
    for n in months.dropna().unique():
        rows = months == n
        result[rows] = (days[rows] + pd.DateOffset(months=int(n))).astype("datetime64[s]")
    return result


def publicity_of(
    kind: RecordKind, records: pd.DataFrame, rules: PublicityRules | None = None
) -> pd.DataFrame:
    """Publicity start, minimum and maximum end, rule set and repairing system of each record.

    Args:
        kind: the records' kind.
        records: canonical columns; ``decision_date`` and ``authority_name`` at least, plus
            ``penalty_categories`` and the text fields the one-year domains look at for penalties.
        rules: the rules to apply (default: the rules file).

    Returns:
        A frame on ``records``' index with ``PUBLICITY_COLUMNS``; dates are ``datetime64[s]``
        (NaT where the decision date is missing), ``publicity_rule`` is ``<set id>/<class>``.
    """
    rules = rules or publicity_rules()
    decided = pd.to_datetime(records["decision_date"]).astype("datetime64[s]")
    severity = _severity(records, kind, rules)
    set_ids = pd.Series(pd.NA, index=records.index, dtype="string")
    min_months = pd.Series(np.nan, index=records.index)
    max_months = pd.Series(np.nan, index=records.index)
    one_year = _in_one_year_domain(records, rules) if kind is RecordKind.PENALTY else None
    for rule_set, until in zip(
        rules.rule_sets, [*(s.from_date for s in rules.rule_sets[1:]), None], strict=True
    ):
        in_force = decided >= pd.Timestamp(rule_set.from_date)
        if until is not None:
            in_force &= decided < pd.Timestamp(until)
        set_ids[in_force] = rule_set.id
        for name, period in rule_set.classes.items():
            rows = in_force & (severity == name)
            min_months[rows] = period.min
            max_months[rows] = period.max
        if rule_set.one_year_domain_min is not None and one_year is not None:
            rows = in_force & one_year
            min_months[rows] = np.maximum(min_months[rows], rule_set.one_year_domain_min)
    gsxt_pattern = "|".join(re.escape(a) for a in rules.gsxt_authorities)
    by_market_supervision = (
        records["authority_name"].astype("string").str.contains(gsxt_pattern, regex=True)
    ).fillna(False).astype(bool) | (kind is RecordKind.ABNORMAL)
    return pd.DataFrame(
        {
            "publicity_start": decided,
            "publicity_min_end": _add_months(decided, min_months),
            "publicity_max_end": _add_months(decided, max_months),
            "publicity_rule": (set_ids + "/" + severity.astype("string")).where(decided.notna()),
            "responsible_system": np.where(by_market_supervision, GSXT, CREDIT_CHINA),
        },
        index=records.index,
    )[list(PUBLICITY_COLUMNS)]
