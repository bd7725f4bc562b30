"""Collection end to end over the sandbox province, through the real parts.

The agencies' APIs are served over loopback HTTP, the exchange tables live in MariaDB, the file
drops are real files; the platform database is a SQLite file, then PostgreSQL. Figures are checked
against what the sandbox says it delivered (its ground truth).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.collect import BatchSummary, collect_source
from hub.sources import enabled_sources, get_source
from hub.store.schema import RECORD_TABLES, quarantine, raw_record
from sandbox.agencies import RULES, Faults
from sandbox.config import SandboxConfig, connection_env
from sandbox.deliver import deliver, init_sandbox, read_truth
from sandbox.server import ServerHandle, serve_in_thread

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 3)
SOURCES = [s.id for s in enabled_sources()]


@dataclass
class Province:
    config: SandboxConfig
    server: ServerHandle
    engine: sa.Engine

    def deliver(self, day: date, *source_ids: str) -> None:
        deliver(self.config, day, list(source_ids) or None)

    def collect(self, day: date, source_id: str) -> BatchSummary:
        return collect_source(source_id, day, engine=self.engine)

    def truth(self, day: date, source_id: str) -> dict:
        return read_truth(self.config, day, source_id)


@pytest.fixture
def province(
    tmp_path: Path, platform_engine: sa.Engine, mariadb_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Province]:
    """A sandbox province (no random faults) wired to a fresh platform database."""
    config = SandboxConfig(tmp_path / "sandbox", seed=11, exchange_url=mariadb_url)
    init_sandbox(config)
    with serve_in_thread(config, faults={source_id: Faults() for source_id in SOURCES}) as server:
        for name, value in connection_env(config.dir, server.base_url, mariadb_url).items():
            monkeypatch.setenv(name, value)
        yield Province(config, server, platform_engine)


def _scalar(engine: sa.Engine, statement: sa.Select) -> int:
    with engine.connect() as connection:
        return connection.execute(statement).scalar_one()


def _quarantined_by_rule(engine: sa.Engine, batch_id: int) -> Counter:
    statement = (
        sa.select(quarantine.c.rule, sa.func.count())
        .where(quarantine.c.batch_id == batch_id)
        .group_by(quarantine.c.rule)
    )
    with engine.connect() as connection:
        return Counter(dict(connection.execute(statement).all()))


@pytest.mark.parametrize("source_id", SOURCES)
def test_a_day_loads_exactly_what_the_agency_delivered(province: Province, source_id: str) -> None:
    province.deliver(DAY, source_id)
    truth = province.truth(DAY, source_id)
    summary = province.collect(DAY, source_id)

    assert summary.status == "succeeded", summary.errors
    assert summary.read == truth["rows"]
    defects = sum(truth["defects"][rule] for rule in RULES)
    assert summary.quarantined == defects
    assert _quarantined_by_rule(province.engine, summary.batch_id) == Counter(
        {rule: n for rule, n in truth["defects"].items() if n}
    )
    # Duplicates in the delivery collapse onto one canonical row.
    assert summary.counts.inserted == truth["rows"] - defects - truth["duplicates"]
    assert summary.loaded + summary.quarantined == summary.read
    raw = _scalar(
        province.engine,
        sa.select(sa.func.count())
        .select_from(raw_record)
        .where(raw_record.c.batch_id == summary.batch_id),
    )
    assert raw == summary.read
    table = _table(source_id)
    assert _scalar(province.engine, sa.select(sa.func.count()).select_from(table)) == (
        summary.counts.inserted
    )


@pytest.mark.parametrize("source_id", SOURCES)
def test_a_second_run_reads_only_new_data_and_a_rerun_loads_nothing_twice(
    province: Province, source_id: str
) -> None:
    province.deliver(DAY, source_id)
    first = province.collect(DAY, source_id)
    again = province.collect(DAY, source_id)
    assert (again.read, again.counts.inserted, again.status) == (0, 0, "succeeded")

    table = _table(source_id)
    with province.engine.connect() as connection:
        known = set(connection.scalars(sa.select(table.c.document_no)))
    next_day = DAY + timedelta(days=1)
    province.deliver(next_day, source_id)
    truth = province.truth(next_day, source_id)
    second = province.collect(next_day, source_id)
    assert second.read == truth["rows"]
    # Re-sends and corrections of records already loaded are recognised as such; those of
    # records the platform never received are new to it. Nothing is loaded twice.
    of_known = {
        what: sum(1 for r in truth["details"][what] if _document_no(r) in known)
        for what in ("resends", "corrections")
    }
    defects = sum(truth["defects"].values())
    assert second.counts.updated == of_known["corrections"]
    assert second.counts.unchanged == of_known["resends"] + truth["duplicates"]
    assert second.counts.inserted == (
        truth["rows"] - defects - truth["duplicates"] - sum(of_known.values())
    )
    total = _scalar(province.engine, sa.select(sa.func.count()).select_from(table))
    assert total == first.counts.inserted + second.counts.inserted
    assert first.read > 0


def _document_no(detail: dict) -> str:
    """The document number as the platform stores it (NFKC-normalised)."""
    return unicodedata.normalize("NFKC", detail["document_no"]).strip()


def _table(source_id: str) -> sa.Table:
    return RECORD_TABLES[get_source(source_id).kind]
