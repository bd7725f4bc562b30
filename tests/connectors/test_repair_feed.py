"""Reading Credit China's and GSXT's feeds as repair facts, over loopback HTTP.

The systems are the sandbox's; what their feeds must give is what the sandbox's truth files say
the systems decided and took over.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from connectors.base import SourceError
from connectors.connections import Connection, from_environment
from connectors.repair_systems import (
    FACT_COLUMNS,
    FactPage,
    RepairSystem,
    decided_in,
    fetch_repairs,
    repair_system,
)
from sandbox.agencies import Faults
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox
from sandbox.repair_scenario import RepairScenario, decide, decide_repairs, delivered_records
from sandbox.repair_store import SHANGHAI
from sandbox.repair_systems import RepairSystemsHandle, serve_repair_systems
from tests.connectors.conftest import FakeApi
from tests.loopback_http import Answer, Seen

pytestmark = pytest.mark.integration

SEED = 13
FIRST = date(2026, 11, 2)
DAYS = [FIRST + timedelta(days=k) for k in range(3)]
BUSY = RepairScenario(
    repair_rate=0.3, repair_within_days=1, revoke_rate=0.3, revoke_after_days=(1, 1)
)
SYSTEMS = ["credit_china", "gsxt"]


@pytest.fixture(scope="module")
def delivered_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox that delivered two days, made once and copied for each test."""
    config = SandboxConfig(tmp_path_factory.mktemp("delivered") / "sandbox", seed=SEED)
    init_sandbox(config)
    for day in DAYS[:2]:
        deliver(config, day, count=10)
    return config.dir


@pytest.fixture
def config(delivered_dir: Path, tmp_path: Path) -> SandboxConfig:
    shutil.copytree(delivered_dir, tmp_path / "sandbox")
    return SandboxConfig.load(tmp_path / "sandbox")


@pytest.fixture
def systems(
    config: SandboxConfig, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RepairSystemsHandle]:
    """Both systems served, their connections in the environment as Airflow would give them."""
    with serve_repair_systems(config, fault_seed=3) as handle:
        for name, value in handle.connection_env().items():
            monkeypatch.setenv(name, value)
        yield handle


def quick(system_id: str, page_size: int = 3, **changes: object) -> RepairSystem:
    """The declared system with small pages and short waits."""
    system = repair_system(system_id)
    pagination = system.feed.pagination.model_copy(update={"page_size": page_size})
    feed = system.feed.model_copy(update={"pagination": pagination})
    fast = {
        "max_retries": 2,
        "backoff_seconds": 0.01,
        "max_backoff_seconds": 0.05,
        "rate_limit_per_second": None,
    }
    return system.model_copy(update={"feed": feed, "timeout_seconds": 2.0, **fast, **changes})


def fetch(system: RepairSystem, since: str | None = None) -> list[FactPage]:
    return list(fetch_repairs(system, since, from_environment(system.connection)))


def facts_of(pages: list[FactPage]) -> pd.DataFrame:
    return pd.concat([page.facts for page in pages], ignore_index=True)


def expected(truths: list[dict], system: str) -> list[dict]:
    """What ``system``'s feed holds by the truth: each day its own decisions, then its shares."""
    rows = []
    for truth in truths:
        for entry in [*truth["decisions"], *truth["shares"]]:
            if entry["system"] == system:
                record = entry["record"]
                rows.append(
                    {
                        "system": system,
                        "external_id": entry["external_id"],
                        "kind": record["kind"],
                        "document_no": record["document_no"],
                        "credit_code": record["credit_code"],
                        "id_number": record["id_number"],
                        "subject_name": record["subject_name"],
                        "authority_name": record["authority_name"],
                        "decision": entry["decision"],
                        "decided_at": pd.Timestamp(entry["decided_at"]).tz_convert(SHANGHAI),
                    }
                )
    return rows


def as_rows(facts: pd.DataFrame) -> list[dict]:
    """The facts but their payload, one dict each, missing values as ``None``."""
    rows = facts.drop(columns="payload").to_dict("records")
    return [{k: None if pd.isna(v) else v for k, v in row.items()} for row in rows]


@pytest.mark.parametrize("system_id", SYSTEMS)
def test_pages_of_facts_are_what_the_system_decided_and_took_over(
    config: SandboxConfig, systems: RepairSystemsHandle, system_id: str
) -> None:
    truths = [decide_repairs(config, day, BUSY) for day in DAYS]
    want = expected(truths, system_id)
    assert len(want) >= 7

    pages = fetch(quick(system_id, page_size=3))

    assert [len(p.facts) for p in pages[:-1]] == [3] * (len(pages) - 1)
    assert len(pages) == -(-len(want) // 3) + (len(want) % 3 == 0 and system_id == "gsxt")
    cursors = [p.cursor for p in pages if not p.facts.empty]
    assert cursors == sorted(set(cursors))
    facts = facts_of(pages)
    assert tuple(facts.columns) == FACT_COLUMNS
    assert {c: str(t) for c, t in facts.dtypes.items()} == {
        **{c: "str" for c in FACT_COLUMNS},
        "decided_at": "datetime64[ns, Asia/Shanghai]",
    }
    assert as_rows(facts) == want
    assert set(facts["decision"]) == {"repaired", "revoked"}
    assert pages[-1].cursor == f"{len(want):012d}"


@pytest.mark.parametrize("system_id", SYSTEMS)
def test_a_fetch_from_the_last_cursor_gives_only_newer_facts(
    config: SandboxConfig, systems: RepairSystemsHandle, system_id: str
) -> None:
    truths = [decide_repairs(config, day, BUSY) for day in DAYS[:2]]
    system = quick(system_id, page_size=4)
    cursor = fetch(system)[-1].cursor
    assert cursor == f"{len(expected(truths, system_id)):012d}"

    [nothing] = fetch(system, cursor)
    assert nothing.facts.empty and nothing.cursor == cursor
    assert tuple(nothing.facts.columns) == FACT_COLUMNS

    third = decide_repairs(config, DAYS[2], BUSY)
    newer = fetch(system, cursor)
    assert as_rows(facts_of(newer)) == expected([third], system_id)
    assert newer[-1].cursor > cursor
    from_start = [facts_of(fetch(system, since)) for since in ("", None)]
    assert as_rows(from_start[0]) == as_rows(from_start[1]) != []


def test_synced_facts_say_who_decided_them_and_keep_a_persons_full_id(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    person = next(
        r for r in delivered_records(config, DAYS[0]) if r.id_number and r.kind == "penalty"
    )
    at = datetime(2026, 11, 5, 16, 45, 1, tzinfo=SHANGHAI)
    made = decide(config, "credit_china", person, "repaired", at, shared=True)

    cc = facts_of(fetch(quick("credit_china")))
    gsxt = facts_of(fetch(quick("gsxt")))

    for facts, system_id, decided_at in (
        (cc, "credit_china", at),
        (gsxt, "gsxt", datetime(2026, 11, 5, tzinfo=SHANGHAI)),
    ):
        [fact] = as_rows(facts)
        assert fact["system"] == system_id
        assert (fact["document_no"], fact["id_number"], fact["credit_code"]) == (
            person.document_no,
            person.id_number,
            None,
        )
        assert fact["decided_at"] == decided_at
    assert cc["external_id"].tolist() == [made.external_id]
    assert decided_in(repair_system("credit_china"), cc).tolist() == ["credit_china"]
    assert decided_in(repair_system("gsxt"), gsxt).tolist() == ["credit_china"]
    assert f'"srcRepairId":"{made.external_id}"' in gsxt["payload"].iloc[0]
    with pytest.raises(
        ValueError, match=r"decided_in\(gsxt\): the facts hold facts of credit_china"
    ):
        decided_in(repair_system("gsxt"), cc)


def test_flaky_answers_are_retried_until_every_page_is_read(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    truths = [decide_repairs(config, day, BUSY) for day in DAYS]
    systems.set_faults("credit_china", Faults(fail_rate=0.4, rate_limit_rate=0.2))
    pages = fetch(quick("credit_china", page_size=3, max_retries=10))
    assert as_rows(facts_of(pages)) == expected(truths, "credit_china")
    assert systems.request_counts()["credit_china"] > len(pages)


@pytest.mark.parametrize(
    ("faults", "changes", "reason"),
    [
        (Faults(mode="down"), {}, "gave up after 3 attempts: 503 Service Unavailable from http://"),
        (Faults(mode="html"), {}, "expected JSON from http://"),
        (
            Faults(slow_rate=1.0, slow_seconds=1.0),
            {"timeout_seconds": 0.3, "max_retries": 1},
            "gave up after 2 attempts: read timed out from http://",
        ),
    ],
)
def test_a_failing_system_is_named_with_the_reason(
    systems: RepairSystemsHandle, faults: Faults, changes: dict, reason: str
) -> None:
    systems.set_faults("gsxt", faults)
    with pytest.raises(SourceError) as raised:
        fetch(quick("gsxt", **changes))
    assert raised.value.source_id == "gsxt"
    assert str(raised.value).startswith(f"source gsxt: {reason}")
    assert "/gsxt/openapi/repair/results" in str(raised.value)


def test_a_refused_token_is_named(systems: RepairSystemsHandle) -> None:
    connection = Connection(
        "gsxt_repair", password="stale", extra={"base_url": systems.url("gsxt")}
    )
    with pytest.raises(
        SourceError, match=r"source gsxt: 401 Unauthorized from .*credentials were refused"
    ):
        list(fetch_repairs(quick("gsxt"), None, connection))


CC_ITEM = {
    "xh": "000000000001",
    "xfjlbh": "XF20261104000001",
    "xxlb": "XZCF",
    "cfjdswh": "浙卫罚〔2026〕3070001号",
    "xzxdrmc": "杭州某某餐饮有限公司",
    "tyshxydm": "91330106MA2H0Y7K5A",
    "zjhm": None,
    "jdjg": "省卫生健康委",
    "xfzt": "YXF",
    "xfsj": "2026-11-04 10:00:00",
    "sjly": "XYZG",
    "lyjlbh": None,
}


def serve_items(fake_api: FakeApi, items: list[dict]) -> Connection:
    @fake_api.route("/api/xyxf/v1/xfjg")
    def feed(seen: Seen) -> Answer:
        return Answer(
            body={"code": "200", "data": {"total": len(items), "pages": 1, "list": items}}
        )

    return Connection("credit_china_repair", password="t", extra={"base_url": fake_api.url})


def test_text_is_normalised_as_the_platform_holds_it_and_the_payload_kept_raw(
    fake_api: FakeApi,
) -> None:
    item = CC_ITEM | {
        "cfjdswh": " 浙卫罚〔２０２６〕３０７０００１号 ",
        "zjhm": "",
        "tyshxydm": 91330106,
    }
    del item["jdjg"]
    connection = serve_items(fake_api, [item])
    [page] = fetch_repairs(quick("credit_china"), None, connection)
    [fact] = as_rows(page.facts)
    assert fact["document_no"] == "浙卫罚〔2026〕3070001号"
    assert (fact["id_number"], fact["credit_code"], fact["authority_name"]) == (
        None,
        "91330106",
        None,
    )
    assert page.facts["payload"].iloc[0] == (
        '{"xh":"000000000001","xfjlbh":"XF20261104000001","xxlb":"XZCF",'
        '"cfjdswh":" 浙卫罚〔２０２６〕３０７０００１号 ","xzxdrmc":"杭州某某餐饮有限公司",'
        '"tyshxydm":91330106,"zjhm":"","xfzt":"YXF","xfsj":"2026-11-04 10:00:00",'
        '"sjly":"XYZG","lyjlbh":null}'
    )
    assert fake_api.seen[0].headers["Authorization"] == "Bearer t"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"xfzt": "XFZ"},
            "item xfjlbh='XF20261104000001': xfzt 'XFZ' is not in codes.decision (YXF, CXXF) "
            "of mappings/repair_systems/credit_china.yaml",
        ),
        (
            {"xxlb": "QT"},
            "item xfjlbh='XF20261104000001': xxlb 'QT' is not in codes.kind (XZCF, JYYC, YZSX)",
        ),
        (
            {"xfsj": "2026/11/04"},
            "item xfjlbh='XF20261104000001': xfsj '2026/11/04' does not match the time format "
            "'%Y-%m-%d %H:%M:%S'",
        ),
        (
            {"cfjdswh": "  "},
            "item xfjlbh='XF20261104000001' has no cfjdswh (document_no), which is required",
        ),
        (
            {"sjly": "CITY"},
            "item xfjlbh='XF20261104000001': sjly 'CITY' is not in feed.origin.codes (XYZG, GSXT)",
        ),
    ],
)
def test_an_unreadable_item_fails_the_fetch_naming_item_field_and_rule(
    fake_api: FakeApi, change: dict, reason: str
) -> None:
    good = CC_ITEM | {"xh": "000000000002", "xfjlbh": "XF20261104000002"}
    connection = serve_items(fake_api, [good, CC_ITEM | change])
    with pytest.raises(SourceError) as raised:
        list(fetch_repairs(quick("credit_china"), None, connection))
    assert str(raised.value).startswith(f"source credit_china: {reason}")
    assert f"in {fake_api.url}/api/xyxf/v1/xfjg?" in str(raised.value)


def test_an_answer_without_the_items_list_is_named(fake_api: FakeApi) -> None:
    @fake_api.route("/api/xyxf/v1/xfjg")
    def feed(seen: Seen) -> Answer:
        return Answer(body={"code": "500", "msg": "系统繁忙"})

    connection = Connection("credit_china_repair", password="t", extra={"base_url": fake_api.url})
    with pytest.raises(
        SourceError, match=r"source credit_china: records_path 'data\.list' is missing"
    ):
        list(fetch_repairs(quick("credit_china"), None, connection))
