"""Pushing one system's repair facts to the other, over loopback HTTP, and reading them back."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from connectors.base import SourceError
from connectors.connections import Connection, from_environment
from connectors.repair_systems import (
    PushResult,
    RepairSystem,
    decided_in,
    fetch_repairs,
    idempotency_key,
    push_repairs,
    repair_system,
)
from sandbox.agencies import Faults
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox
from sandbox.repair_scenario import RecordRef, decide, delivered_records
from sandbox.repair_store import SHANGHAI
from sandbox.repair_systems import RepairSystemsHandle, serve_repair_systems
from tests.connectors.conftest import FakeApi
from tests.core.privacy_cases import CASES, PLANTED, assert_masked
from tests.loopback_http import Answer, Seen

pytestmark = pytest.mark.integration

SEED = 17
DAY = date(2026, 11, 3)
AT = datetime(2026, 11, 5, 11, 20, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def delivered_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SandboxConfig(tmp_path_factory.mktemp("delivered") / "sandbox", seed=SEED)
    init_sandbox(config)
    deliver(config, DAY, ["zj_wjw_penalty_api", "zj_scjg_abnormal_db"], count=12)
    return config.dir


@pytest.fixture
def config(delivered_dir: Path, tmp_path: Path) -> SandboxConfig:
    shutil.copytree(delivered_dir, tmp_path / "sandbox")
    return SandboxConfig.load(tmp_path / "sandbox")


@pytest.fixture
def systems(
    config: SandboxConfig, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RepairSystemsHandle]:
    with serve_repair_systems(config, fault_seed=5) as handle:
        for name, value in handle.connection_env().items():
            monkeypatch.setenv(name, value)
        yield handle


def quick(system_id: str, **changes: object) -> RepairSystem:
    fast = {"max_retries": 2, "backoff_seconds": 0.01, "max_backoff_seconds": 0.05}
    return repair_system(system_id).model_copy(
        update={"rate_limit_per_second": None, "timeout_seconds": 2.0, **fast, **changes}
    )


def read(system_id: str, since: str | None = None) -> tuple[pd.DataFrame, str]:
    """Every fact of the system's feed after ``since``, and the cursor after them."""
    system = quick(system_id)
    pages = list(fetch_repairs(system, since, from_environment(system.connection)))
    return pd.concat([p.facts for p in pages], ignore_index=True), pages[-1].cursor


def push(system_id: str, facts: pd.DataFrame, **changes: object) -> PushResult:
    system = quick(system_id, **changes)
    return push_repairs(system, facts, from_environment(system.connection))


def records(config: SandboxConfig, kind: str, person: bool = False) -> list[RecordRef]:
    return [
        r
        for r in delivered_records(config, DAY)
        if r.kind == kind and (r.id_number is not None) == person
    ]


def decide_in(
    config: SandboxConfig, system: str, refs: list[RecordRef], decision: str = "repaired"
):
    return [decide(config, system, ref, decision, AT) for ref in refs]


def test_pushed_repairs_become_the_receivers_own_synced_facts(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    decide_in(config, "credit_china", records(config, "penalty")[:4])
    cc, _ = read("credit_china")
    _, gsxt_cursor = read("gsxt")

    assert push("gsxt", cc) == PushResult(accepted=4, rejected=[], duplicates=0)

    gsxt, _ = read("gsxt", gsxt_cursor)
    same = ["kind", "document_no", "credit_code", "subject_name", "authority_name", "decision"]
    assert gsxt[same].equals(cc[same])
    assert (gsxt["system"] == "gsxt").all()
    assert gsxt["decided_at"].tolist() == [pd.Timestamp("2026-11-05", tz="Asia/Shanghai")] * 4
    assert decided_in(repair_system("gsxt"), gsxt).tolist() == ["credit_china"] * 4
    received = systems.pushed("gsxt")
    assert [p["item"]["reqId"] for p in received] == [
        idempotency_key("credit_china", i) for i in cc["external_id"]
    ]
    assert [p["item"]["srcRepairId"] for p in received] == cc["external_id"].tolist()
    assert [p["external_id"] for p in received] == gsxt["external_id"].tolist()
    assert {p["item"]["repairDate"] for p in received} == {"20261105"}


def test_a_repeated_push_changes_nothing_at_the_receiver(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    decide_in(config, "gsxt", records(config, "abnormal")[:3])
    gsxt, _ = read("gsxt")
    assert push("credit_china", gsxt).accepted == 3
    cc, cursor = read("credit_china")

    assert push("credit_china", gsxt) == PushResult(accepted=3, rejected=[], duplicates=3)

    later, _ = read("credit_china", cursor)
    assert later.empty
    outcomes = [(p["outcome"], p["external_id"]) for p in systems.pushed("credit_china")]
    assert outcomes == [("accepted", i) for i in cc["external_id"]] + [
        ("duplicate", i) for i in cc["external_id"]
    ]


def test_retried_requests_apply_each_fact_once(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    decide_in(config, "credit_china", records(config, "penalty")[:6])
    cc, _ = read("credit_china")
    systems.set_faults("gsxt", Faults(fail_rate=0.5, rate_limit_rate=0.1))
    assert push("gsxt", cc, max_retries=10).accepted == 6
    systems.set_faults("gsxt", Faults())
    gsxt, _ = read("gsxt")
    assert sorted(gsxt["document_no"]) == sorted(cc["document_no"])
    assert systems.request_counts()["gsxt"] > 1


def test_facts_go_in_batches(config: SandboxConfig, systems: RepairSystemsHandle) -> None:
    decide_in(config, "credit_china", records(config, "penalty")[:5])
    cc, _ = read("credit_china")
    gsxt = quick("gsxt")
    small = gsxt.model_copy(update={"push": gsxt.push.model_copy(update={"batch_size": 2})})
    assert push_repairs(small, cc, from_environment("gsxt_repair")).accepted == 5
    assert [p["batch"] for p in systems.pushed("gsxt")] == [1, 1, 2, 2, 3]


def test_refused_facts_are_reported_with_the_receivers_reason(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    decide_in(config, "credit_china", records(config, "penalty")[:3])
    cc, _ = read("credit_china")
    cc.loc[1, "document_no"] = pd.NA
    cc.loc[2, ["credit_code", "id_number"]] = pd.NA

    result = push("gsxt", cc)

    assert result == PushResult(
        accepted=1,
        rejected=[
            (cc.loc[1, "external_id"], "决定书文号penDecNo为空"),
            (cc.loc[2, "external_id"], "统一社会信用代码uniscid与证件号码cerNo均为空"),
        ],
    )
    assert len(read("gsxt")[0]) == 1


def test_revocations_are_pushed_as_revocations(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    [ref] = records(config, "abnormal")[:1]
    decide_in(config, "gsxt", [ref], "revoked")
    gsxt, _ = read("gsxt")
    assert push("credit_china", gsxt).accepted == 1
    [item] = systems.pushed("credit_china")
    assert (item["item"]["xfzt"], item["item"]["xxlb"], item["item"]["sjly"]) == (
        "CXXF",
        "JYYC",
        "GSXT",
    )
    cc, _ = read("credit_china")
    assert cc[["decision", "kind", "document_no"]].values.tolist() == [
        ["revoked", "abnormal", ref.document_no]
    ]
    assert cc["decided_at"].tolist() == [pd.Timestamp("2026-11-05", tz="Asia/Shanghai")]


def test_a_natural_persons_id_number_leaves_the_platform_masked(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    [person] = records(config, "penalty", person=True)[:1]
    decide_in(config, "credit_china", [person])
    cc, _ = read("credit_china")
    assert cc["id_number"].tolist() == [person.id_number]

    assert push("gsxt", cc).accepted == 1

    masked = person.id_number[:6] + "********" + person.id_number[-4:]
    [received] = systems.pushed("gsxt")
    assert received["item"]["cerNo"] == masked
    assert person.id_number not in str(received)
    gsxt, _ = read("gsxt")
    assert gsxt["id_number"].tolist() == [masked]


def test_only_the_other_systems_facts_are_pushed(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    decide_in(config, "gsxt", records(config, "abnormal")[:2])
    gsxt, _ = read("gsxt")
    with pytest.raises(ValueError, match=r"push to gsxt: 2 facts were decided in gsxt itself"):
        push("gsxt", gsxt)
    with pytest.raises(ValueError, match="push to credit_china: facts lack the columns payload"):
        push("credit_china", gsxt.drop(columns="payload"))
    assert systems.pushed("gsxt") == systems.pushed("credit_china") == []
    assert push("credit_china", gsxt.iloc[:0]) == PushResult(accepted=0)
    assert systems.request_counts() == {"credit_china": 0, "gsxt": 1}  # the read alone


def test_a_failing_receiver_is_named_with_the_reason(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    decide_in(config, "gsxt", records(config, "abnormal")[:3])
    gsxt, _ = read("gsxt")
    systems.set_faults("credit_china", Faults(mode="down"))
    with pytest.raises(SourceError) as down:
        push("credit_china", gsxt)
    assert str(down.value).startswith(
        "source credit_china: push gave up after 3 attempts: 503 Service Unavailable from "
        f"{systems.url('credit_china')}/api/xyxf/v1/tbjg"
    )

    systems.set_faults("credit_china", Faults(mode="html"))
    with pytest.raises(SourceError, match="source credit_china: push expected JSON from http://"):
        push("credit_china", gsxt)

    systems.set_faults("credit_china", Faults())
    small = quick("credit_china")
    small = small.model_copy(update={"push": small.push.model_copy(update={"batch_size": 2})})
    stale = Connection(
        "credit_china_repair", password="old", extra={"base_url": systems.url("credit_china")}
    )
    with pytest.raises(
        SourceError, match=r"push answered 401 Unauthorized from .*token was refused"
    ):
        push_repairs(small, gsxt, stale)
    assert systems.pushed("credit_china") == []


def cc_facts(count: int) -> pd.DataFrame:
    """Credit China facts as ``fetch_repairs`` gives them, made up."""
    rows = [
        {
            "system": "credit_china",
            "external_id": f"XF20261105{n:06d}",
            "kind": "penalty",
            "document_no": f"浙卫罚〔2026〕307{n:04d}号",
            "credit_code": "91330106MA2H0Y7K5A",
            "id_number": None,
            "subject_name": "杭州某某餐饮有限公司",
            "authority_name": "省卫生健康委",
            "decision": "repaired",
            "decided_at": pd.Timestamp("2026-11-05 09:00", tz="Asia/Shanghai"),
            "payload": "{}",
        }
        for n in range(1, count + 1)
    ]
    return pd.DataFrame(rows)


def test_a_push_failing_midway_says_how_far_it_got(fake_api: FakeApi) -> None:
    @fake_api.route("/openapi/repair/sync")
    def sync(seen: Seen) -> Answer:
        if len(fake_api.requests_to("/openapi/repair/sync")) > 1:
            return Answer(503, {"status": "503"})
        items = seen.json()["items"]
        return Answer(body={"result": [{"reqId": i["reqId"], "code": "0"} for i in items]})

    gsxt = quick("gsxt")
    gsxt = gsxt.model_copy(update={"push": gsxt.push.model_copy(update={"batch_size": 2})})
    connection = Connection("gsxt_repair", password="t", extra={"base_url": fake_api.url})
    with pytest.raises(SourceError) as raised:
        push_repairs(gsxt, cc_facts(3), connection)
    assert str(raised.value) == (
        "source gsxt: push gave up after 3 attempts: 503 Service Unavailable from "
        f"{fake_api.url}/openapi/repair/sync (the 2 facts before this batch were pushed)"
    )
    first = fake_api.requests_to("/openapi/repair/sync")[0]
    assert first.headers["Authorization"] == "Bearer t"
    assert [i["srcRepairId"] for i in first.json()["items"]] == [
        "XF20261105000001",
        "XF20261105000002",
    ]


def test_an_answer_silent_about_an_item_is_named(fake_api: FakeApi) -> None:
    @fake_api.route("/openapi/repair/sync")
    def sync(seen: Seen) -> Answer:
        return Answer(body={"result": [{"reqId": "credit_china:XF20261105000001", "code": "0"}]})

    connection = Connection("gsxt_repair", password="t", extra={"base_url": fake_api.url})
    with pytest.raises(
        SourceError,
        match="source gsxt: push answer says nothing of the item 'credit_china:XF20261105000002'",
    ):
        push_repairs(quick("gsxt"), cc_facts(2), connection)


def test_times_are_written_as_beijing_time_in_the_receivers_format(fake_api: FakeApi) -> None:
    @fake_api.route("/openapi/repair/sync")
    def sync(seen: Seen) -> Answer:
        items = seen.json()["items"]
        return Answer(body={"result": [{"reqId": i["reqId"], "code": "0"} for i in items]})

    facts = cc_facts(2).astype({"decided_at": object})
    facts.loc[0, "decided_at"] = pd.Timestamp("2026-11-05 20:00", tz="UTC")
    facts.loc[1, "decided_at"] = pd.Timestamp("2026-11-05 23:30")  # naive: Beijing time
    connection = Connection("gsxt_repair", password="t", extra={"base_url": fake_api.url})
    assert push_repairs(quick("gsxt"), facts, connection).accepted == 2
    [seen] = fake_api.requests_to("/openapi/repair/sync")
    assert [i["repairDate"] for i in seen.json()["items"]] == ["20261106", "20261105"]


def test_every_case_in_a_pushed_fact_reaches_the_receiver_masked(fake_api: FakeApi) -> None:
    @fake_api.route("/openapi/repair/sync")
    def sync(seen: Seen) -> Answer:
        items = seen.json()["items"]
        return Answer(body={"result": [{"reqId": i["reqId"], "code": "0"} for i in items]})

    facts = cc_facts(len(CASES))
    facts["subject_name"] = [f"{c.label}{c.text}" for c in CASES]
    facts["document_no"] = [f"文号{c.text}" for c in CASES]
    facts["authority_name"] = PLANTED
    facts.loc[0, ["credit_code", "id_number"]] = [None, "33010619850312421X"]
    connection = Connection("gsxt_repair", password="t", extra={"base_url": fake_api.url})
    assert push_repairs(quick("gsxt"), facts, connection).accepted == len(CASES)

    [seen] = fake_api.requests_to("/openapi/repair/sync")
    assert_masked(seen.body.decode())
    assert "33010619850312421X" not in seen.body.decode()
    assert "330106********421X" in seen.body.decode()
    assert "91330106MA2H0Y7K5A" in seen.body.decode()  # a credit code stands
    assert [i["srcRepairId"] for i in seen.json()["items"]] == list(facts["external_id"])
