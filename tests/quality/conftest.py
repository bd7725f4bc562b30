"""A sandbox province delivered and collected into a fresh platform database, with its truth."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from hub.collect.run import collect_source
from hub.collect.sources import enabled_sources, get_source
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox, read_truth
from tests.conftest import sandbox_in_environment

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 3)


def received_at(day: date) -> datetime:
    """When the nightly run collects ``day``: half past midnight the next day, Shanghai time."""
    return datetime.combine(day + timedelta(days=1), time(0, 30), tzinfo=SHANGHAI)


@dataclass
class Expected:
    """What the sandbox says one department delivered, summed over its sources."""

    rows: int = 0
    defects: Counter = field(default_factory=Counter)
    duplicates: int = 0
    late: int = 0

    @property
    def quarantined(self) -> int:
        return sum(self.defects.values())

    @property
    def timed(self) -> int:
        """Records first received (day one, empty platform: all but defects and duplicates)."""
        return self.rows - self.quarantined - self.duplicates


@dataclass
class CollectedProvince:
    config: SandboxConfig
    engine: sa.Engine

    def deliver(self, day: date, count: int | None = None) -> None:
        deliver(self.config, day, count=count)

    def collect(self, day: date) -> None:
        for source in enabled_sources():
            collect_source(source.id, day, engine=self.engine, received_at=received_at(day))

    def deliver_and_collect(self, day: date, count: int | None = None) -> None:
        self.deliver(day, count)
        self.collect(day)

    def expected(self, day: date) -> dict[str, Expected]:
        by_department: dict[str, Expected] = {}
        for source in enabled_sources():
            truth = read_truth(self.config, day, source.id)
            entry = by_department.setdefault(get_source(source.id).department, Expected())
            entry.rows += truth["rows"]
            entry.defects.update({rule: n for rule, n in truth["defects"].items() if n})
            entry.duplicates += truth["duplicates"]
            entry.late += truth["late"]
        return by_department


@pytest.fixture
def province(
    tmp_path: Path, platform_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CollectedProvince]:
    """A sandbox province (no random faults) wired to a fresh platform database; nothing
    delivered yet."""
    config = SandboxConfig(tmp_path / "sandbox", seed=31)
    init_sandbox(config)
    with sandbox_in_environment(config, monkeypatch):
        yield CollectedProvince(config, platform_engine)
