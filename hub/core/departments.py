"""The department registry: every department under one name, whatever name a record gives it.

A record's 数据来源单位 may say 浙江省交通运输厅 where the registry and the source file say
省交通运输厅; a report must show one department, not two. The registry
(``mappings/reference/departments.yaml``) names each department once (``name``) and knows it by
its other names too: its ``aliases``, its full name with the province (浙江省 + 交通运输厅), its
platform ``code`` and its unified social credit code. Collection writes the registry's name; a
name the registry does not know is kept as delivered and reported (quality report, ``hub
status``), never turned into a new department silently.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from hub.core.errors import ConfigurationError
from hub.core.settings import MAPPINGS_DIR

REGISTRY_FILE = MAPPINGS_DIR / "reference" / "departments.yaml"


class DepartmentRegistryError(ConfigurationError):
    """The registry file is malformed, or one name stands for two departments."""


@dataclass(frozen=True)
class Department:
    """One department as the registry knows it.

    Attributes:
        code: the platform's stable key (province division + ordinal).
        name: the one name reports use.
        credit_code: its unified social credit code, where the deployment filled it in.
        aliases: every other name it is known by (the full name with the province included).
    """

    code: str
    name: str
    credit_code: str | None
    aliases: tuple[str, ...]


def _key(text: str) -> str:
    """The look-up form of a name or code: NFKC, no spaces, upper case."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


class DepartmentRegistry:
    """Every department of the province, found by any of its names or codes."""

    def __init__(self, departments: list[Department]) -> None:
        self.departments = departments
        self._by_key: dict[str, str] = {}
        for department in departments:
            names = (department.name, department.code, department.credit_code, *department.aliases)
            for name in names:
                if not name:
                    continue
                taken = self._by_key.setdefault(_key(name), department.name)
                if taken != department.name:
                    raise DepartmentRegistryError(
                        f"{REGISTRY_FILE.name}: {name!r} names both {taken} and {department.name}"
                    )

    @property
    def names(self) -> list[str]:
        """The departments' names, in the registry's order."""
        return [d.name for d in self.departments]

    def canonical(self, text: str | None) -> str | None:
        """The registry's name of the department ``text`` names; ``None`` when it knows none."""
        if text is None or not str(text).strip():
            return None
        return self._by_key.get(_key(str(text)))

    def canonical_names(self, values: pd.Series) -> pd.Series:
        """Each value as the registry's name; a name it does not know is left as it is."""
        distinct = values.dropna().unique()
        found = {value: self.canonical(value) or value for value in distinct}
        return values.map(found, na_action="ignore").astype(values.dtype)

    def unknown(self, names: pd.Series) -> pd.Series:
        """Which of ``names`` the registry does not know (missing values are not unknown)."""
        return names.notna() & names.map(lambda n: self.canonical(n) is None, na_action="ignore")


def _full_name(name: str, province: str) -> str | None:
    """省交通运输厅 → 浙江省交通运输厅: how the province's own departments are often written."""
    return province + name.removeprefix("省") if name.startswith("省") else None


def read_registry(path: Path = REGISTRY_FILE) -> DepartmentRegistry:
    """The registry of ``path`` (the reference file by default)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        province = str(data["province"])
        departments = [
            Department(
                code=str(d["code"]),
                name=str(d["name"]),
                credit_code=d.get("credit_code"),
                aliases=tuple(
                    alias
                    for alias in (*map(str, d.get("aliases", ())), _full_name(d["name"], province))
                    if alias
                ),
            )
            for d in data["departments"]
        ]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise DepartmentRegistryError(f"{path.name}: {exc}") from exc
    return DepartmentRegistry(departments)


@cache
def departments() -> DepartmentRegistry:
    """The department registry in force (read once per process)."""
    return read_registry()
