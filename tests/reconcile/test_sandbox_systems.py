"""End to end: the province delivers, the platform collects, Credit China and GSXT (loopback HTTP)
repair, and the reconciliation brings the three in step; checked against the sandbox's truth."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from hub.collect.run import collect_source
from hub.collect.sources import enabled_sources
from hub.reconcile.run import reconcile_day
from hub.store.reconcile_schema import reconcile_finding
from hub.store.schema import RECORD_TABLES
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox
from sandbox.repair_scenario import RepairScenario, decide, decide_repairs, delivered_records
from sandbox.repair_systems import serve_repair_systems
from tests.conftest import sandbox_in_environment

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 2)
NEXT = date(2026, 11, 3)
# Every system repairs a third of what was delivered on the same day; GSXT shares its repairs
# the next day, except a quarter it never shares; no revocations.
SCENARIO = RepairScenario(
    repair_rate=0.35,
    repair_within_days=0,
    revoke_rate=0.0,
    never_shared_rate=0.25,
    share_lag_days={"credit_china": 1, "gsxt": 1},
    unknown_per_day=1,
)


@pytest.fixture
def province(
    tmp_path: Path, platform_url: str, platform_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SandboxConfig, object]]:
    """A day delivered and collected; both systems served with that day's repairs decided."""
    config = SandboxConfig(tmp_path / "sandbox", seed=11)
    init_sandbox(config)
    deliver(config, DAY, count=20)
    with sandbox_in_environment(config, monkeypatch, database_url=platform_url):
        for source in enabled_sources():
            collect_source(source.id, DAY, engine=platform_engine)
        with serve_repair_systems(config) as systems:
            for name, value in systems.connection_env().items():
                monkeypatch.setenv(name, value)
            yield config, systems


def _status_by_key(engine: sa.Engine) -> dict[str, str]:
    statuses = {}
    with engine.connect() as connection:
        for table in RECORD_TABLES.values():
            statuses |= dict(
                connection.execute(sa.select(table.c.record_key, table.c.status)).all()
            )
    return statuses


def _findings(engine: sa.Engine) -> list[tuple]:
    f = reconcile_finding
    with engine.connect() as connection:
        return sorted(
            connection.execute(
                sa.select(f.c.finding_class, f.c.document_no, f.c.responsible, f.c.resolved_on)
            ).all(),
            key=str,
        )


def test_repairs_reach_the_platform_and_the_lagging_system_once(province, platform_engine) -> None:
    config, systems = province
    truth = decide_repairs(config, DAY, SCENARIO)
    own = [d for d in truth["decisions"] if d["decision"] == "repaired"]
    known = [d for d in own if d["record"]["known"]]
    unknown = [d for d in own if not d["record"]["known"]]
    assert known and unknown, "the scenario must repair known and unknown records"

    summary = reconcile_day(DAY, engine=platform_engine)

    assert summary.status == "succeeded", summary.errors
    assert summary.fetched == {
        system: sum(1 for d in own if d["system"] == system) for system in ("credit_china", "gsxt")
    }
    # Every repaired record the platform holds is now repaired on the platform.
    statuses = _status_by_key(platform_engine)
    assert {statuses[d["record"]["record_key"]] for d in known} == {"repaired"}
    assert list(statuses.values()).count("repaired") == len(known)
    # GSXT's repairs are not shared before tomorrow: the hub pushed each to Credit China.
    from_gsxt = sorted(d["record"]["document_no"] for d in known if d["system"] == "gsxt")
    received = systems.pushed("credit_china")
    pushed = sorted(p["item"]["cfjdswh"] for p in received)
    assert pushed == from_gsxt
    assert {p["outcome"] for p in received} == {"accepted"}
    assert systems.pushed("gsxt") == []
    found = _findings(platform_engine)
    open_unknown = [f for f in found if f[0] == "unknown_record" and f[3] is None]
    assert sorted(f[1] for f in open_unknown) == sorted(d["record"]["document_no"] for d in unknown)
    lagging = [f for f in found if f[0] == "repaired_in_one_system"]
    assert sorted(f[1] for f in lagging) == from_gsxt
    assert {f[2] for f in lagging} <= {"信用中国"}

    # Credit China now serves the pushed repairs as synced from GSXT: the next run sees them
    # and the lagging findings are resolved; a run after that changes nothing.
    confirmed = reconcile_day(DAY, engine=platform_engine)

    assert confirmed.fetched == {"credit_china": len(from_gsxt), "gsxt": 0}
    after = _findings(platform_engine)
    assert {f[3] for f in after if f[0] == "repaired_in_one_system"} == {DAY}
    assert [f for f in after if f[0] != "repaired_in_one_system"] == [
        f for f in found if f[0] != "repaired_in_one_system"
    ]

    again = reconcile_day(DAY, engine=platform_engine)

    assert again.fetched == {"credit_china": 0, "gsxt": 0}
    assert _findings(platform_engine) == after
    assert _status_by_key(platform_engine) == statuses
    assert len(systems.pushed("credit_china")) == len(pushed)


def test_a_revoked_repair_and_a_repair_the_owner_lacks_through_the_systems(
    province, platform_engine
) -> None:
    config, systems = province
    records = delivered_records(config, DAY)
    health = next(r for r in records if r.source_id == "zj_wjw_penalty_api")  # Credit China's
    market = next(r for r in records if r.source_id == "zj_scjg_penalty_api")  # GSXT's
    morning = datetime(2026, 11, 2, 9, 30, tzinfo=SHANGHAI)
    decide(config, "credit_china", health, "repaired", morning)
    # Credit China shows a market-supervision penalty repaired that GSXT, its owner, has not.
    decide(config, "credit_china", market, "repaired", morning)
    reconcile_day(DAY, engine=platform_engine)
    decide(config, "credit_china", health, "revoked", morning + timedelta(hours=6))

    reconcile_day(NEXT, engine=platform_engine)

    statuses = _status_by_key(platform_engine)
    assert statuses[health.record_key] == "published"  # the repair was taken back
    assert statuses[market.record_key] == "published"  # GSXT has not repaired it
    found = {(f[0], f[1]): f for f in _findings(platform_engine)}
    republished = found[("platform_repaired_unconfirmed", health.document_no)]
    assert republished[3] == NEXT  # settled by the run that republished it
    owner_lags = found[("repaired_in_one_system", market.document_no)]
    assert (owner_lags[2], owner_lags[3]) == (market.authority_name, None)
    assert systems.pushed("gsxt") == []  # nothing is repaired on the owner's behalf
