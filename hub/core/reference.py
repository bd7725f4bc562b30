"""Reference data under ``mappings/reference/``: departments and who repairs what, as rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hub.core.settings import MAPPINGS_DIR

REFERENCE_DIR = MAPPINGS_DIR / "reference"


def _read(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def department_rows(path: Path = REFERENCE_DIR / "departments.yaml") -> list[dict[str, Any]]:
    """The provincial departments of the reference file, as ``department`` rows."""
    data = _read(path)
    return [
        {
            "code": d["code"],
            "name": d["name"],
            "credit_code": d.get("credit_code"),
            "level": d.get("level", "province"),
            "region_code": str(d.get("region_code", data["region_code"])),
        }
        for d in data["departments"]
    ]


def responsibility_rows(
    path: Path = REFERENCE_DIR / "repair_responsibility.yaml",
) -> list[dict[str, Any]]:
    """The who-repairs-what table, one row per (item, responsible unit)."""
    data = _read(path)
    return [
        {
            "province": data["province"],
            "seq": item["seq"],
            "unit": unit,
            "item": item["item"],
            "record_kind": item["record_kind"],
            "list_type": item.get("list_type"),
        }
        for item in data["items"]
        for unit in item["responsible"]
    ]
