"""Records and status changes on the platform whose every text field carries a privacy case.

One published penalty record per case of ``tests.core.privacy_cases.CASES``: its subject name,
document number and deciding authority carry the case, its status change's ``decided_by`` too, and
every change's reason carries all of them (``PLANTED``). Subjects alternate between natural
persons (a real ID number of their own, which must never show whole either) and legal persons.
The first record's key is the case of a record key with an 18-digit stretch inside.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa

from hub.reconcile.changes import apply_status_changes
from hub.store.bulk import insert_frame
from hub.store.schema import RECORD_TABLES
from sandbox.codes import make_resident_id, make_uscc
from tests.core.privacy_cases import CASES, PLANTED

RECEIVED = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Planted:
    """What was planted: the record keys, and the natural persons' own ID numbers."""

    record_keys: list[str]
    person_ids: list[str]


def planted_records(region: str) -> pd.DataFrame:
    """One penalty record per case, of subjects registered in ``region`` (six digits)."""
    rng = random.Random(region)
    rows = []
    for i, case in enumerate(CASES):
        person = i % 2 == 0
        key = case.text if i == len(CASES) - 1 else hashlib.md5(f"{region}{i}".encode()).hexdigest()
        rows.append(
            {
                "record_key": key,
                "document_no": f"浙罚〔2026〕第{'甲乙丙丁戊己庚辛壬癸子丑'[i]}号{case.text}",
                "subject_name": f"{case.label}{case.text}",
                "subject_category": "自然人" if person else "法人及非法人组织",
                "credit_code": None if person else make_uscc(rng, region),
                "id_number": make_resident_id(rng, region) if person else None,
                "decision_date": date(2026, 3, 2),
                "authority_name": f"{case.label}{case.text}",
                "source_id": "test",
                "batch_id": 1,
                "raw_seq": i,
                "received_at": RECEIVED,
                "updated_at": RECEIVED,
                "content_hash": "0" * 32,
                "version": 1,
            }
        )
    return pd.DataFrame(rows)


def plant(engine: sa.Engine, region: str, effective: date = date(2026, 11, 2)) -> Planted:
    """Insert ``planted_records(region)``; move each to ``repaired``, cases in every field."""
    records = planted_records(region)
    changes = pd.DataFrame(
        {
            "record_key": records["record_key"],
            "kind": "penalty",
            "new_status": "repaired",
            "reason": PLANTED,
            "decided_by": [f"{case.label}{case.text}" for case in CASES],
            "effective_date": effective,
        }
    )
    with engine.begin() as connection:
        insert_frame(connection, RECORD_TABLES["penalty"], records)
        apply_status_changes(connection, changes)
    return Planted(
        record_keys=records["record_key"].tolist(),
        person_ids=records["id_number"].dropna().tolist(),
    )
