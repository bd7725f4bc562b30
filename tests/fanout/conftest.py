"""Records on the platform, status changes, and the push targets' receivers on loopback."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from hub.core.settings import MAPPINGS_DIR
from hub.reconcile.changes import AppliedChanges, apply_status_changes
from hub.store.bulk import insert_frame
from hub.store.schema import RECORD_TABLES
from sandbox.codes import make_resident_id, make_uscc, ric_check
from sandbox.receivers import ReceiverFaults, ReceiversHandle, serve_receivers

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
GOV = "zj_gov_service"
# One county of every Zhejiang city, and one of Shanghai (outside the province).
COUNTIES = {
    "3301": "330106", "3302": "330203", "3303": "330302", "3304": "330402", "3305": "330521",
    "3306": "330602", "3307": "330702", "3308": "330802", "3309": "330902", "3310": "331002",
    "3311": "331102", "3101": "310115",
}  # fmt: skip
# The cities whose sites take pushes in mappings/targets/zhejiang.yaml; the others pull.
PUSH_CITIES = {"3301": "hangzhou", "3302": "ningbo", "3305": "huzhou", "3307": "jinhua"}
# The HTTP policy of the push client in tests: quick retries, short timeouts.
FAST_HTTP = {
    # Long enough that a busy machine's slow answer is not taken for a lost one (and resent);
    # the timeout test sets its own.
    "timeout_seconds": 10.0,
    "max_retries": 3,
    "backoff_seconds": 0.01,
    "max_backoff_seconds": 0.05,
}


@dataclass(frozen=True)
class Subject:
    record_key: str
    city: str
    id_number: str | None = None
    credit_code: str | None = None


def make_subjects(count: int, seed: int = 1, cities: tuple[str, ...] = tuple(COUNTIES)) -> list:
    """``count`` subjects over ``cities`` in turn; every third a natural person."""
    rng = random.Random(seed)
    subjects = []
    for i in range(count):
        city = cities[i % len(cities)]
        key = f"{seed:04d}{i:028d}"
        if i % 3 == 2:
            subjects.append(Subject(key, city, id_number=make_resident_id(rng, COUNTIES[city])))
        else:
            subjects.append(Subject(key, city, credit_code=make_uscc(rng, COUNTIES[city])))
    return subjects


def insert_records(engine: sa.Engine, subjects: list[Subject]) -> None:
    """Published penalty records of ``subjects`` on the platform."""
    rows = [
        {
            "record_key": s.record_key,
            "document_no": f"浙罚〔2026〕{i}号",
            "subject_name": "张某" if s.id_number else f"浙江某某{i}有限公司",
            "credit_code": s.credit_code,
            "id_number": s.id_number,
            "decision_date": date(2026, 3, 2),
            "authority_name": "浙江省市场监督管理局",
            "source_id": "test",
            "batch_id": 1,
            "raw_seq": i,
            "received_at": NOW,
            "updated_at": NOW,
            "content_hash": "0" * 32,
            "version": 1,
        }
        for i, s in enumerate(subjects)
    ]
    with engine.begin() as connection:
        insert_frame(connection, RECORD_TABLES["penalty"], pd.DataFrame(rows))


def change(
    engine: sa.Engine,
    subjects: list[Subject],
    status: str = "repaired",
    reason: str = "信用中国已修复",
) -> AppliedChanges:
    """Move the records of ``subjects`` to ``status`` (``apply_status_changes``)."""
    frame = pd.DataFrame(
        {
            "record_key": [s.record_key for s in subjects],
            "kind": "penalty",
            "new_status": status,
            "reason": reason,
            "decided_by": "credit_china",
            "effective_date": date(2026, 11, 19),
        }
    )
    with engine.begin() as connection:
        return apply_status_changes(connection, frame)


def expected_keys(subjects: list[Subject]) -> dict[str, set[str]]:
    """The record keys each push target must receive: its city's, and the province's for GOV."""
    expected: dict[str, set[str]] = {target: set() for target in [*PUSH_CITIES.values(), GOV]}
    for s in subjects:
        if s.city in PUSH_CITIES:
            expected[PUSH_CITIES[s.city]].add(s.record_key)
        if s.city.startswith("33"):
            expected[GOV].add(s.record_key)
    return expected


def received_keys(handle: ReceiversHandle) -> dict[str, set[str]]:
    """The record keys each receiver took (one copy per idempotency key)."""
    with handle.lock:
        return {
            target_id: {m["record_key"] for m in r.messages.values()}
            for target_id, r in handle.receivers.items()
        }


_ID_SHAPED = re.compile(rb"(?<![0-9A-Za-z])\d{17}[0-9X](?![0-9A-Za-z])")


def unmasked_id_numbers(data: bytes) -> list[str]:
    """Resident ID numbers in ``data`` with a right check character and a real birth date.

    Written apart from the hub's own masking code, so a fault there cannot hide here.
    """
    found = []
    for match in _ID_SHAPED.finditer(data):
        number = match.group().decode()
        try:
            date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        except ValueError:
            continue
        if ric_check(number[:17]) == number[17]:
            found.append(number)
    return found


@pytest.fixture
def receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReceiversHandle]:
    """A receiver per push target, without faults, and their connections in the environment."""
    with serve_receivers(seed=3, faults=ReceiverFaults()) as handle:
        for name, value in handle.connection_env(**FAST_HTTP).items():
            monkeypatch.setenv(name, value)
        yield handle


def write_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **push_options: int) -> Path:
    """A copy of the Zhejiang targets file whose push targets get ``push_options`` (e.g.
    ``batch_size=10``), put in force through ``HUB_TARGETS_FILE``."""
    source = yaml.safe_load((MAPPINGS_DIR / "targets" / "zhejiang.yaml").read_text("utf-8"))
    for entry in source["targets"]:
        if entry["delivery"] == "push":
            entry.update(push_options)
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(source, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("HUB_TARGETS_FILE", str(path))
    return path
