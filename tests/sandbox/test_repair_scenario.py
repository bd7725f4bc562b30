"""The repair scenario: who decides what, when it is shared, what is revoked, and its truth."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.collect.run import collect_source
from hub.collect.sources import enabled_sources
from hub.core.model import RecordKind
from hub.store.db import make_engine, upgrade
from hub.store.reference import load_reference
from hub.store.schema import RECORD_TABLES
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox
from sandbox.repair_scenario import (
    RepairScenario,
    decide,
    decide_repairs,
    deciding_system,
    delivered_records,
    read_repair_truth,
    repair_truth_path,
)
from sandbox.repair_store import SHANGHAI, RepairStore
from tests.conftest import sandbox_in_environment

pytestmark = pytest.mark.integration

FIRST = date(2026, 11, 2)
DELIVERED = [FIRST, FIRST + timedelta(days=1)]
DECIDED = [FIRST + timedelta(days=k) for k in range(6)]
SCENARIO = RepairScenario(
    repair_rate=0.25,
    repair_within_days=3,
    revoke_rate=0.4,
    revoke_after_days=(1, 2),
    never_shared_rate=0.25,
    share_lag_days={"credit_china": 2, "gsxt": 0},
    unknown_per_day=2,
)


def make_province(directory: Path, seed: int = 5) -> SandboxConfig:
    config = SandboxConfig(directory, seed=seed)
    init_sandbox(config)
    for day in DELIVERED:
        deliver(config, day, count=12)
    return config


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> tuple[SandboxConfig, list[dict]]:
    """A province that delivered two days, then had six days of repairs decided."""
    config = make_province(tmp_path_factory.mktemp("repairs") / "sandbox")
    return config, [decide_repairs(config, day, SCENARIO) for day in DECIDED]


def own_decisions(truths: list[dict]) -> list[dict]:
    return [entry for truth in truths for entry in truth["decisions"]]


def test_each_record_is_repaired_where_it_was_decided(decided) -> None:
    config, truths = decided
    delivered = {
        (r.document_no, r.credit_code or r.id_number): r
        for day in DELIVERED
        for r in delivered_records(config, day)
    }
    known = [e for e in own_decisions(truths) if e["record"]["known"]]
    assert len(known) > 10
    for entry in known:
        record = entry["record"]
        ref = delivered[(record["document_no"], record["credit_code"] or record["id_number"])]
        assert record["subject_name"] == ref.subject_name
        assert record["record_key"] == ref.record_key
        assert entry["system"] == deciding_system(ref.kind, ref.authority_name)
    by_system = {(e["system"], e["record"]["kind"], e["record"]["authority_name"]) for e in known}
    assert ("gsxt", "abnormal", "省市场监管局") in by_system
    assert ("gsxt", "penalty", "省市场监管局") in by_system
    assert {kind for system, kind, _ in by_system if system == "credit_china"} == {
        "penalty",
        "serious",
    }
    assert not {a for s, k, a in by_system if s == "credit_china" and "市场监管" in a}


def test_deciding_system_follows_who_decided() -> None:
    assert deciding_system(RecordKind.ABNORMAL, "省自然资源厅") == "gsxt"
    assert deciding_system(RecordKind.PENALTY, "杭州市市场监督管理局") == "gsxt"
    assert deciding_system(RecordKind.PENALTY, "省卫生健康委") == "credit_china"
    assert deciding_system(RecordKind.SERIOUS, "省市场监管局") == "gsxt"
    assert deciding_system(RecordKind.SERIOUS, "省税务局") == "credit_china"


def test_shares_arrive_after_each_systems_lag_and_unshared_ones_never(decided) -> None:
    config, truths = decided
    shared_on = {
        (e["from_system"], e["from_id"]): date.fromisoformat(truth["date"])
        for truth in truths
        for e in truth["shares"]
    }
    decisions = own_decisions(truths)
    last_day = DECIDED[-1]
    never = [e for e in decisions if e["share_due"] is None]
    due = [
        e for e in decisions if e["share_due"] and date.fromisoformat(e["share_due"]) <= last_day
    ]
    assert never and due
    for entry in due:
        lag = SCENARIO.share_lag_days[entry["system"]]
        decided_on = date.fromisoformat(entry["decided_at"][:10])
        assert shared_on[(entry["system"], entry["external_id"])] == decided_on + timedelta(lag)
    assert not {(e["system"], e["external_id"]) for e in never} & set(shared_on)
    assert len(shared_on) == len(due)

    store = RepairStore(config.repair_store_path)
    for truth in truths:
        for entry in truth["shares"]:
            [held] = [
                d for d in store.decisions(entry["system"]) if d.external_id == entry["external_id"]
            ]
            assert (held.channel, held.origin_system, held.origin_id) == (
                "shared",
                entry["from_system"],
                entry["from_id"],
            )
            assert held.system != entry["from_system"]
            assert held.document_no == entry["record"]["document_no"]


def test_revocations_annul_earlier_repairs_of_the_same_system(decided) -> None:
    _, truths = decided
    decisions = own_decisions(truths)
    repairs = {(e["system"], e["external_id"]): e for e in decisions if e["decision"] == "repaired"}
    revocations = [e for e in decisions if e["decision"] == "revoked"]
    assert revocations
    for revocation in revocations:
        repair = repairs[(revocation["system"], revocation["revokes"])]
        assert revocation["record"] == repair["record"]
        assert revocation["decided_at"][:10] == repair["revoke_due"]
        assert (revocation["share_due"] is None) == (repair["share_due"] is None)
    planned = [
        e
        for e in repairs.values()
        if e["revoke_due"] and date.fromisoformat(e["revoke_due"]) <= DECIDED[-1]
    ]
    assert len(planned) == len(revocations)


def test_repairs_of_unknown_records_name_documents_never_delivered(decided) -> None:
    config, truths = decided
    delivered = {r.document_no for day in DELIVERED for r in delivered_records(config, day)}
    unknown = [e for e in own_decisions(truths) if not e["record"]["known"]]
    assert len(unknown) == len(DECIDED) * 2 * SCENARIO.unknown_per_day
    assert {e["system"] for e in unknown} == {"credit_china", "gsxt"}
    for entry in unknown:
        record = entry["record"]
        assert record["document_no"] not in delivered
        assert record["source_id"] is None and record["record_key"] is None
        assert entry["system"] == deciding_system(record["kind"], record["authority_name"])


def test_truth_files_and_store_hold_the_same_decisions(decided) -> None:
    config, truths = decided
    for truth in truths:
        assert read_repair_truth(config, date.fromisoformat(truth["date"])) == truth
        counts = truth["counts"]
        for system in ("credit_china", "gsxt"):
            own = [e for e in truth["decisions"] if e["system"] == system]
            assert counts[system]["repaired"] + counts[system]["revoked"] == len(own)
    store = RepairStore(config.repair_store_path)
    in_truth = {
        (e["system"], e["external_id"], e["decision"], e["decided_at"], e["record"]["document_no"])
        for truth in truths
        for e in [*truth["decisions"], *truth["shares"]]
    }
    in_store = {
        (d.system, d.external_id, d.decision, d.decided_at.isoformat(), d.document_no)
        for system in ("credit_china", "gsxt")
        for d in store.decisions(system)
    }
    assert in_store == in_truth
    gsxt_times = {d.decided_at.time() for d in store.decisions("gsxt")}
    assert gsxt_times == {datetime.min.time()}  # GSXT keeps the day only


def test_same_seed_same_decisions_and_a_day_decided_again_changes_nothing(
    decided, tmp_path: Path
) -> None:
    _, truths = decided
    again = make_province(tmp_path / "again")
    assert [decide_repairs(again, day, SCENARIO) for day in DECIDED] == truths
    store = RepairStore(again.repair_store_path)
    before = store.decisions("credit_china")
    assert decide_repairs(again, DECIDED[2], SCENARIO) == truths[2]
    assert store.decisions("credit_china") == before
    path = repair_truth_path(again, DECIDED[2])
    assert json.loads(path.read_text(encoding="utf-8")) == truths[2]
    with pytest.raises(ValueError, match="decided day by day"):
        decide_repairs(again, DECIDED[-1] - timedelta(days=10), SCENARIO)


def test_another_seed_decides_otherwise(decided, tmp_path: Path) -> None:
    _, truths = decided
    other = make_province(tmp_path / "other", seed=6)
    mine = {e["record"]["document_no"] for e in truths[1]["decisions"]}
    theirs = {e["record"]["document_no"] for e in decide_repairs(other, DECIDED[1])["decisions"]}
    assert mine != theirs


def test_a_test_can_make_a_system_decide_one_record(tmp_path: Path) -> None:
    config = SandboxConfig(tmp_path / "sandbox", seed=5)
    init_sandbox(config)
    deliver(config, FIRST, ["zj_scjg_penalty_api"], count=5)
    [ref, *_] = delivered_records(config, FIRST, "zj_scjg_penalty_api")
    at = datetime(2026, 11, 4, 15, 30, 12, tzinfo=SHANGHAI)

    made = decide(config, "gsxt", ref, "repaired", at, shared=True)
    revoked = decide(config, "gsxt", ref, "revoked", at + timedelta(days=2))

    store = RepairStore(config.repair_store_path)
    assert [(d.external_id, d.decision, d.decided_at) for d in store.decisions("gsxt")] == [
        (made.external_id, "repaired", datetime(2026, 11, 4, tzinfo=SHANGHAI)),
        (revoked.external_id, "revoked", datetime(2026, 11, 6, tzinfo=SHANGHAI)),
    ]
    [synced] = store.decisions("credit_china")
    assert (synced.decision, synced.decided_at, synced.origin_system, synced.origin_id) == (
        "repaired",
        at,
        "gsxt",
        made.external_id,
    )
    assert (synced.document_no, synced.credit_code) == (ref.document_no, ref.credit_code)
    with pytest.raises(ValueError, match="'repaired' or 'revoked'"):
        decide(config, "gsxt", ref, "withdrawn", at)


def test_delivered_records_are_the_clean_new_records_of_the_day(tmp_path: Path) -> None:
    config = SandboxConfig(tmp_path / "sandbox", seed=5)
    init_sandbox(config)
    [delivery] = deliver(config, FIRST, ["zj_tax_serious_api"], count=40)
    refs = delivered_records(config, FIRST)
    defective = {d["document_no"] for d in delivery.truth["details"]["defects"]}
    assert len(refs) == 40 - len(defective) and defective
    assert not {r.document_no for r in refs} & defective
    assert {(r.kind, r.source_id, r.delivered_on) for r in refs} == {
        ("serious", "zj_tax_serious_api", FIRST)
    }
    assert delivered_records(config, FIRST, "zj_scjg_penalty_api") == []


def test_known_records_are_the_platforms_and_unknown_ones_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collect a delivered day into a real platform database (SQLite), then decide repairs."""
    config = SandboxConfig(tmp_path / "sandbox", seed=5)
    init_sandbox(config)
    deliver(config, FIRST, count=15)
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as connection:
        load_reference(connection)
    try:
        with sandbox_in_environment(config, monkeypatch):
            for source in enabled_sources():
                assert collect_source(source.id, FIRST, engine=engine).status == "succeeded"
        keys, documents = set(), set()
        with engine.connect() as connection:
            for kind, table in RECORD_TABLES.items():
                rows = connection.execute(sa.select(table.c.record_key, table.c.document_no))
                for key, document_no in rows:
                    keys.add((str(kind), key))
                    documents.add(document_no)
    finally:
        engine.dispose()

    truth = decide_repairs(config, FIRST, RepairScenario(repair_rate=0.3, repair_within_days=0))

    known = [e["record"] for e in truth["decisions"] if e["record"]["known"]]
    unknown = [e["record"] for e in truth["decisions"] if not e["record"]["known"]]
    assert len(known) >= 10 and len(unknown) == 2
    assert {(r["kind"], r["record_key"]) for r in known} <= keys
    assert not {r["document_no"] for r in unknown} & documents
