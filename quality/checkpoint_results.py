"""What the GE checkpoints found, saved beside the Data Docs so reports can link to them.

Kept apart from ``quality.checkpoint`` so that reading results does not import GE.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hub.core.model import RecordKind
from hub.core.privacy import mask_document

RESULTS_FILE = "checkpoints.json"


@dataclass(frozen=True)
class CheckpointOutcome:
    """What one department's checkpoint for one record kind found.

    Attributes:
        department: the department.
        kind: the record kind (its suite).
        records: records validated.
        expectations: expectations evaluated.
        met: expectations every record met.
        unexpected: records failing, per (rule, column) of the suite's expectations.
        page: the Data Docs page of the validation, relative to the docs folder.
    """

    department: str
    kind: RecordKind
    records: int
    expectations: int
    met: int
    unexpected: dict[tuple[str, str], int]
    page: str


def save_outcomes(outcomes: list[CheckpointOutcome], docs_dir: Path) -> Path:
    """Write ``outcomes`` to ``<docs_dir>/checkpoints.json``."""
    path = docs_dir / RESULTS_FILE
    document = [
        {
            "department": o.department,
            "kind": o.kind.value,
            "records": o.records,
            "expectations": o.expectations,
            "met": o.met,
            "unexpected": [[rule, column, n] for (rule, column), n in o.unexpected.items()],
            "page": o.page,
        }
        for o in outcomes
    ]
    text = json.dumps(mask_document(document), ensure_ascii=False, indent=2)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def load_outcomes(docs_dir: Path) -> list[CheckpointOutcome]:
    """The outcomes saved in ``docs_dir`` (none if no checkpoint ran)."""
    path = docs_dir / RESULTS_FILE
    if not path.exists():
        return []
    return [
        CheckpointOutcome(
            department=o["department"],
            kind=RecordKind(o["kind"]),
            records=o["records"],
            expectations=o["expectations"],
            met=o["met"],
            unexpected={(rule, column): n for rule, column, n in o["unexpected"]},
            page=o["page"],
        )
        for o in json.loads(path.read_text(encoding="utf-8"))
    ]
