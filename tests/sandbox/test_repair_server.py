"""Credit China and GSXT over loopback HTTP, spoken to in their own words (no hub connector)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import requests

from sandbox.agencies import Faults
from sandbox.config import SandboxConfig, api_token
from sandbox.deliver import deliver, init_sandbox
from sandbox.repair_scenario import RepairScenario, decide, decide_repairs, delivered_records
from sandbox.repair_store import SHANGHAI
from sandbox.repair_systems import RepairSystemsHandle, repair_connection_env, serve_repair_systems

pytestmark = pytest.mark.integration

SEED = 9
DAY = date(2026, 11, 3)
FEED = {"credit_china": "/api/xyxf/v1/xfjg", "gsxt": "/openapi/repair/results"}
BUSY = RepairScenario(repair_rate=0.4, repair_within_days=0)
PUSH = {"credit_china": "/api/xyxf/v1/tbjg", "gsxt": "/openapi/repair/sync"}


@pytest.fixture(scope="module")
def delivered_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox that delivered ``DAY``, made once and copied for each test."""
    config = SandboxConfig(tmp_path_factory.mktemp("delivered") / "sandbox", seed=SEED)
    init_sandbox(config)
    deliver(config, DAY, count=20)
    return config.dir


@pytest.fixture
def config(delivered_dir: Path, tmp_path: Path) -> SandboxConfig:
    shutil.copytree(delivered_dir, tmp_path / "sandbox")
    return SandboxConfig.load(tmp_path / "sandbox")


@pytest.fixture
def systems(config: SandboxConfig) -> Iterator[RepairSystemsHandle]:
    with serve_repair_systems(config) as handle:
        yield handle


def auth(system: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(SEED, system)}"}


def get(handle: RepairSystemsHandle, system: str, **params: object) -> requests.Response:
    return requests.get(handle.url(system) + FEED[system], params=params, headers=auth(system))


def post(handle: RepairSystemsHandle, system: str, body: object) -> requests.Response:
    return requests.post(handle.url(system) + PUSH[system], json=body, headers=auth(system))


@pytest.mark.parametrize("system", ["credit_china", "gsxt"])
def test_every_endpoint_checks_the_token(systems: RepairSystemsHandle, system: str) -> None:
    other = "gsxt" if system == "credit_china" else "credit_china"
    feed, push = systems.url(system) + FEED[system], systems.url(system) + PUSH[system]
    for headers in ({}, {"Authorization": "Bearer wrong"}, auth(other)):
        assert requests.get(feed, headers=headers).status_code == 401
        assert requests.post(push, json={}, headers=headers).status_code == 401
    assert requests.get(feed, headers=auth(system)).status_code == 200
    assert systems.pushed(system) == []


def test_unauthorised_answers_are_in_each_systems_envelope(systems: RepairSystemsHandle) -> None:
    cc = requests.get(systems.url("credit_china") + FEED["credit_china"])
    gsxt = requests.get(systems.url("gsxt") + FEED["gsxt"])
    assert cc.json() == {"code": "401", "msg": "令牌无效或已过期", "data": None}
    assert gsxt.json() == {"status": "401", "message": "invalid access token"}


def test_feeds_are_written_in_each_systems_vocabulary(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    penalties = [r for r in delivered_records(config, DAY) if r.kind == "penalty"]
    [company, *_] = [r for r in penalties if r.id_number is None]
    moment = datetime(2026, 11, 4, 10, 5, 9, tzinfo=SHANGHAI)
    repair = decide(config, "credit_china", company, "repaired", moment, shared=True)

    [cc_item] = get(systems, "credit_china").json()["data"]["list"]
    assert cc_item == {
        "xh": "000000000001",
        "xfjlbh": "XF20261104000001",
        "xxlb": "XZCF",
        "cfjdswh": company.document_no,
        "xzxdrmc": company.subject_name,
        "tyshxydm": company.credit_code,
        "zjhm": None,
        "jdjg": company.authority_name,
        "xfzt": "YXF",
        "xfsj": "2026-11-04 10:05:09",
        "sjly": "XYZG",
        "lyjlbh": None,
    }
    assert repair.external_id == "XF20261104000001"
    [gsxt_item] = get(systems, "gsxt").json()["result"]["items"]
    assert gsxt_item == {
        "seqNo": "000000000001",
        "repairId": "202611043300000001",
        "infoType": "01",
        "penDecNo": company.document_no,
        "entName": company.subject_name,
        "uniscid": company.credit_code,
        "cerNo": None,
        "decOrg": company.authority_name,
        "repairState": "1",
        "repairDate": "20261104",
        "dataSource": "2",
        "srcRepairId": "XF20261104000001",
    }


def test_credit_china_pages_by_number_from_a_feed_position(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    decide_repairs(config, DAY, BUSY)
    total = len(get(systems, "credit_china", pageSize=1000).json()["data"]["list"])
    assert total >= 5
    first = get(systems, "credit_china", pageNo=1, pageSize=2).json()["data"]
    assert (first["total"], first["pages"], first["pageNo"]) == (total, -(-total // 2), 1)
    seqs = [
        item["xh"]
        for page in range(1, first["pages"] + 1)
        for item in get(systems, "credit_china", pageNo=page, pageSize=2).json()["data"]["list"]
    ]
    assert seqs == [f"{n:012d}" for n in range(1, total + 1)]
    after = get(systems, "credit_china", qsxh=seqs[2]).json()["data"]
    assert after["total"] == total - 3
    assert [i["xh"] for i in after["list"]] == seqs[3:]


def test_gsxt_pages_by_cursor_from_a_feed_position(
    config: SandboxConfig, systems: RepairSystemsHandle
) -> None:
    decide_repairs(config, DAY, BUSY)
    cursor, seqs = None, []
    while True:
        params = {"pageSize": 1, **({"pageCursor": cursor} if cursor else {})}
        result = get(systems, "gsxt", **params).json()["result"]
        seqs += [item["seqNo"] for item in result["items"]]
        cursor = result["nextPageCursor"]
        if cursor is None:
            break
    assert len(seqs) >= 2
    assert seqs == [f"{n:012d}" for n in range(1, len(seqs) + 1)]
    later = get(systems, "gsxt", sinceSeq=seqs[0]).json()["result"]["items"]
    assert [i["seqNo"] for i in later] == seqs[1:]


def test_a_bad_parameter_is_refused_in_the_systems_envelope(systems: RepairSystemsHandle) -> None:
    answer = get(systems, "credit_china", pageNo="first")
    assert answer.status_code == 400
    assert answer.json()["msg"] == "bad request: pageNo='first' is not a whole number"


def cc_push_item(key: str, **changes: object) -> dict[str, object]:
    item = {
        "tbwyid": key,
        "sjly": "GSXT",
        "lyjlbh": "202611033300000007",
        "xxlb": "JYYC",
        "cfjdswh": "浙市监异列〔2026〕3070001号",
        "tyshxydm": "91330106MA2H0Y7K5A",
        "zjhm": None,
        "xzxdrmc": "杭州测试贸易有限公司",
        "jdjg": "省市场监管局",
        "xfzt": "YXF",
        "xfsj": "2026-11-03 00:00:00",
    }
    return item | changes


def test_a_push_is_taken_in_once_per_key_and_served_as_synced(systems: RepairSystemsHandle) -> None:
    first = post(systems, "credit_china", {"list": [cc_push_item("gsxt:1")]})
    assert first.json()["data"] == [{"tbwyid": "gsxt:1", "jg": "成功", "yy": ""}]
    again = post(systems, "credit_china", {"list": [cc_push_item("gsxt:1")]})
    assert again.json()["data"] == [{"tbwyid": "gsxt:1", "jg": "重复", "yy": ""}]
    changed = cc_push_item("gsxt:1", xfzt="CXXF")
    conflict = post(systems, "credit_china", {"list": [changed]})
    assert conflict.json()["data"] == [
        {"tbwyid": "gsxt:1", "jg": "失败", "yy": "同步唯一标识gsxt:1已用于内容不同的修复结果"}
    ]

    [item] = get(systems, "credit_china").json()["data"]["list"]
    assert (item["xfzt"], item["sjly"], item["lyjlbh"], item["xfsj"]) == (
        "YXF",
        "GSXT",
        "202611033300000007",
        "2026-11-03 00:00:00",
    )
    pushed = systems.pushed("credit_china")
    assert [(p["batch"], p["outcome"], p["external_id"]) for p in pushed] == [
        (1, "accepted", item["xfjlbh"]),
        (2, "duplicate", item["xfjlbh"]),
        (3, "rejected", None),
    ]
    assert pushed[2]["item"] == changed
    assert pushed[2]["reason"] == "同步唯一标识gsxt:1已用于内容不同的修复结果"


def test_pushed_items_are_checked_by_the_receivers_rules(systems: RepairSystemsHandle) -> None:
    base = {
        "reqId": "k",
        "dataSource": "2",
        "srcRepairId": "XF1",
        "infoType": "01",
        "penDecNo": "浙卫罚〔2026〕3070001号",
        "uniscid": None,
        "cerNo": "330102********1234",
        "entName": "张三",
        "decOrg": "省卫生健康委",
        "repairState": "1",
        "repairDate": "20261103",
    }
    cases = [
        (base | {"reqId": " "}, "请求标识reqId为空"),
        (base | {"reqId": "a", "penDecNo": ""}, "决定书文号penDecNo为空"),
        (base | {"reqId": "b", "entName": None}, "主体名称entName为空"),
        (base | {"reqId": "c", "cerNo": None}, "统一社会信用代码uniscid与证件号码cerNo均为空"),
        (base | {"reqId": "d", "infoType": "09"}, "信息类型infoType非法：09"),
        (base | {"reqId": "e", "repairState": "Y"}, "修复状态repairState非法：Y"),
        (
            base | {"reqId": "f", "repairDate": "2026-11-03"},
            "修复日期repairDate应为yyyyMMdd：2026-11-03",
        ),
        (base | {"reqId": "g", "dataSource": "1"}, "数据来源dataSource非法：1"),
        (base | {"reqId": "h"}, "ok"),
    ]
    answer = post(systems, "gsxt", {"items": [item for item, _ in cases]})
    assert [(r["code"], r["msg"]) for r in answer.json()["result"]] == [
        *(("2", reason) for _, reason in cases[:-1]),
        ("0", "ok"),
    ]
    [item] = get(systems, "gsxt").json()["result"]["items"]
    assert (item["cerNo"], item["entName"], item["dataSource"]) == (
        "330102********1234",
        "张三",
        "2",
    )


def test_a_push_body_must_hold_the_items_list(systems: RepairSystemsHandle) -> None:
    url = systems.url("gsxt") + PUSH["gsxt"]
    for body in (b"not json", json.dumps({"list": []}).encode(), json.dumps([1]).encode()):
        answer = requests.post(url, data=body, headers=auth("gsxt"))
        assert answer.status_code == 400
        assert answer.json()["status"] == "400"
    too_many = post(systems, "gsxt", {"items": [{}] * 501})
    assert too_many.json()["message"] == "bad request: at most 500 items per request, got 501"
    assert systems.pushed("gsxt") == []


def test_faults_are_injected_per_system(systems: RepairSystemsHandle) -> None:
    systems.set_faults("gsxt", Faults(mode="down"))
    assert get(systems, "gsxt").status_code == 503
    assert get(systems, "credit_china").status_code == 200
    systems.set_faults("gsxt", Faults(mode="html"))
    html = get(systems, "gsxt")
    assert (html.status_code, html.headers["content-type"][:9]) == (200, "text/html")
    changed = requests.put(f"{systems.base_url}/_admin/faults/gsxt", json={"mode": "normal"})
    assert changed.json()["mode"] == "normal"
    assert get(systems, "gsxt").status_code == 200
    assert systems.request_counts() == {"credit_china": 1, "gsxt": 3}
    flaky = requests.put(f"{systems.base_url}/_admin/faults/gsxt", json={"fail_rate": 1.0})
    assert flaky.json()["fail_rate"] == 1.0
    assert get(systems, "gsxt").status_code in (500, 503)
    unknown = requests.put(f"{systems.base_url}/_admin/faults/nowhere", json={})
    assert unknown.status_code == 404


def test_connection_env_points_at_each_system_with_its_token(systems: RepairSystemsHandle) -> None:
    env = systems.connection_env()
    assert env == repair_connection_env(systems.base_url, SEED)
    cc = json.loads(env["AIRFLOW_CONN_CREDIT_CHINA_REPAIR"])
    gsxt = json.loads(env["AIRFLOW_CONN_GSXT_REPAIR"])
    assert cc["extra"]["base_url"] == systems.url("credit_china")
    assert gsxt["extra"]["base_url"] == systems.url("gsxt")
    headers = {"Authorization": f"Bearer {gsxt['password']}"}
    assert requests.get(gsxt["extra"]["base_url"] + FEED["gsxt"], headers=headers).ok
