"""Where the quality reports stand, for ``hub status``: the last report written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub.core.settings import settings


def reports_dir() -> Path:
    """Where each period's report gets its folder: ``<var>/reports/quality``."""
    return settings().var_dir / "reports" / "quality"


def last_report(folder: Path | None = None) -> dict[str, Any] | None:
    """The JSON document of the report generated last under ``folder`` (``None``: none yet)."""
    documents = []
    for path in (folder or reports_dir()).glob("*/report.json"):
        try:
            documents.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return max(documents, key=lambda d: d.get("generated_at", ""), default=None)
