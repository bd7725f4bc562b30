"""Status changes made through the real ``apply_status_changes``, and a folder for delta files.

The Airflow fixtures of ``tests/dags`` are shared here for the DAG and plugin tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from hub.core.model import SUBJECT_LEGAL, SUBJECT_PERSON
from hub.core.settings import settings
from hub.reconcile.changes import apply_status_changes
from hub.store.bulk import insert_frame
from hub.store.db import make_engine, upgrade
from hub.store.schema import RECORD_TABLES, status_change
from sandbox.province import Province
from tests.dags.conftest import airflow_db, dagbag  # noqa: F401 (shared fixtures)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 3)

# The pull sites of mappings/targets/zhejiang.yaml and their cities' division prefixes. The
# sandbox's subjects live in Hangzhou, Ningbo, Wenzhou, Jiaxing, Huzhou, Shaoxing, Jinhua and
# Quzhou: Zhoushan, Taizhou and Lishui get empty files.
PULL_SITES = {
    "jiaxing": "3304",
    "lishui": "3311",
    "quzhou": "3308",
    "shaoxing": "3306",
    "taizhou": "3310",
    "wenzhou": "3303",
    "zhoushan": "3309",
}


def local(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """A moment of ``day`` in Asia/Shanghai."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=SHANGHAI)


class ChangeLog:
    """Penalty records of sandbox subjects, moved to ``repaired`` at chosen moments.

    Each call takes fresh subjects (organisations and natural persons alternating), loads
    their records and applies the changes with ``hub.reconcile.changes.apply_status_changes``; then
    ``changed_at`` is set to the moment asked for, as if the change had been applied then.
    """

    def __init__(self, engine: sa.Engine, seed: int = 7) -> None:
        self.engine = engine
        province = Province(seed, companies=300, businesses=0, persons=300)
        companies, persons = province.subjects[SUBJECT_LEGAL], province.subjects[SUBJECT_PERSON]
        self.subjects = [s for pair in zip(companies, persons, strict=True) for s in pair]
        self.made = 0

    def apply(self, when: datetime, count: int, reason: str = "信用中国已修复") -> list[dict]:
        """Apply ``count`` changes at ``when``; returns their ``status_change`` rows."""
        subjects = self.subjects[self.made : self.made + count]
        received = datetime(2026, 10, 1, tzinfo=UTC)
        records = pd.DataFrame(
            {
                "record_key": hashlib.blake2b(
                    f"{self.made + i}".encode(), digest_size=16
                ).hexdigest(),
                "document_no": f"浙罚〔2026〕{self.made + i}号",
                "subject_name": s.name,
                "subject_category": s.category,
                "credit_code": s.credit_code,
                "id_number": s.id_number,
                "decision_date": date(2026, 3, 2),
                "authority_name": "浙江省市场监督管理局",
                "source_id": "test",
                "batch_id": 1,
                "raw_seq": self.made + i,
                "received_at": received,
                "updated_at": received,
                "content_hash": "0" * 32,
                "version": 1,
            }
            for i, s in enumerate(subjects)
        )
        self.made += count
        changes = records[["record_key"]].assign(
            kind="penalty",
            new_status="repaired",
            reason=reason,
            decided_by="credit_china",
            effective_date=when.date(),
        )
        with self.engine.begin() as connection:
            insert_frame(connection, RECORD_TABLES["penalty"], records)
            applied = apply_status_changes(connection, changes)
            in_call = status_change.c.id.between(applied.first_id, applied.last_id)
            # Stored in UTC, as apply_status_changes does (SQLite keeps the wall time it is given).
            at = when.astimezone(UTC)
            connection.execute(status_change.update().where(in_call).values(changed_at=at))
            rows = connection.execute(
                sa.select(status_change).where(in_call).order_by(status_change.c.id)
            )
            return [dict(row) for row in rows.mappings()]

    def raw_id_numbers(self) -> list[str]:
        """The unmasked ID numbers of the natural persons used so far."""
        return [s.id_number for s in self.subjects[: self.made] if s.id_number]


@pytest.fixture
def delta_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty delta folder in ``HUB_DELTA_DIR``, the default retention."""
    folder = tmp_path / "deltas"
    monkeypatch.setenv("HUB_DELTA_DIR", str(folder))
    monkeypatch.delenv("HUB_DELTA_RETENTION_DAYS", raising=False)
    monkeypatch.delenv("HUB_DELTA_PUSH_SITES", raising=False)
    settings.cache_clear()
    yield folder
    settings.cache_clear()


@pytest.fixture
def log(platform_engine: sa.Engine) -> ChangeLog:
    """A change log on the platform database (SQLite file, then PostgreSQL)."""
    return ChangeLog(platform_engine)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated platform database in a SQLite file, for tests where one database suffices."""
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_log(sqlite_engine: sa.Engine) -> ChangeLog:
    """A change log on a SQLite file."""
    return ChangeLog(sqlite_engine)
