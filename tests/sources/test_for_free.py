"""A source without a sandbox twin gets the same contract tests as every other, for free.

The test writes two extra sources into a copy of the registry: one with a page recorded by hand
(an agency the sandbox does not simulate), one with no recorded page at all. It runs the contract
module on that registry in a subprocess, as ``HUB_SOURCES_DIR`` and ``HUB_SOURCE_FIXTURES_DIR``
point a developer's run at them, and reads each test's id and outcome from the JUnit report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hub.core.settings import MAPPINGS_DIR, PROJECT_ROOT
from tests.sources import test_source_contracts

pytestmark = pytest.mark.integration

HAND_RECORDED = "zj_zrzyt_penalty_api"
UNRECORDED = "zj_zrzyt_abnormal_file"

# An agency the sandbox does not simulate: 省自然资源厅's open API, amounts in 万元, dates ISO.
HAND_RECORDED_YAML = """\
id: zj_zrzyt_penalty_api
name: 省自然资源厅行政处罚（接口）
department: 省自然资源厅
kind: penalty
connector:
  type: http
  connection: zrzyt_open_api
  path: /open/xzcf/list
  records_path: result.list
  auth: {type: bearer}
  params: {format: json}
  pagination: {type: page_number, page_param: pageNo, size_param: pageSize, page_size: 50}
  incremental: {since_param: startTime, cursor_field: gxsj}
mapping:
  fields:
    document_no: wsh
    subject_name: dsrmc
    subject_category: dsrlx
    credit_code: tyshxydm
    id_type: zjlx
    id_number: zjhm
    legal_rep: fddbr
    violation_type: wfxw
    violation_facts: wfss
    legal_basis: cfyj
    penalty_categories: cflb
    penalty_content: cfnr
    fine_amount: fkje
    decision_date: cfrq
    valid_until: yxq
    authority_name: cfjg
    authority_code: cfjgdm
    source_department: {value: 省自然资源厅}
    source_department_code: {value: 11330000002482000F}
  ignore: [xh, gxsj]
"""

UNRECORDED_YAML = """\
id: zj_zrzyt_abnormal_file
name: 省自然资源厅经营异常名录（文件）
department: 省自然资源厅
kind: abnormal
connector: {type: file, connection: zrzyt_drop, folder: zrzyt, pattern: "*.csv", format: csv}
mapping:
  fields:
    document_no: 列入决定书文号
    subject_name: 企业名称
    subject_category: {value: 法人及非法人组织}
    credit_code: 统一社会信用代码
    listing_reason: 列入原因
    decision_date: 列入日期
    authority_name: 作出决定机关
    authority_code: 作出决定机关统一社会信用代码
    source_department: {value: 省自然资源厅}
    source_department_code: {value: 11330000002482000F}
"""

_AUTHORITY = {"cfjg": "浙江省自然资源厅", "cfjgdm": "11330000002482000F"}
_LEGAL = {"dsrlx": "法人及非法人组织", "zjlx": None, "zjhm": None}


def _record(n: int, **fields: object) -> dict[str, object]:
    return {
        "xh": f"ZR20261103{n:02d}",
        "wsh": f"浙自然资罚〔2026〕{117 + n}号",
        **_LEGAL,
        "wfxw": "非法占用耕地",
        "cfyj": "《中华人民共和国土地管理法》第七十七条",
        "cflb": "罚款",
        "cfrq": "2026-10-28",
        "yxq": "2027-10-27",
        **_AUTHORITY,
        "gxsj": f"2026-11-03 09:{10 + n}:00",
        **fields,
    }


HAND_RECORDED_PAGE = {
    "status": "ok",
    "result": {
        "pageNo": 1,
        "pageSize": 50,
        "total": 7,
        "list": [
            _record(
                1,
                dsrmc="杭州青山矿业有限公司",
                tyshxydm="91330106MA2H3K700K",
                fddbr="王建国",
                wfss="杭州青山矿业有限公司未经批准占用耕地12.5亩建设堆场。",
                cfnr="责令退还非法占用的土地，罚款人民币56000元",
                fkje=5.6,
            ),
            _record(
                2,
                dsrmc="瑞安市陈记石材加工厂",
                dsrlx="个体工商户",
                tyshxydm="92330381MA2J8Q6006",
                fddbr="陈立新",
                wfss="瑞安市陈记石材加工厂在基本农田内堆放石料。",
                cfnr="罚款人民币8000元",
                fkje=0.8,
            ),
            _record(
                3,
                dsrmc="李秀英",
                dsrlx="自然人",
                tyshxydm=None,
                zjlx="身份证",
                zjhm="33010219850312041X",
                wfss="李秀英在承包耕地上擅自建房。",
                cfnr="责令限期拆除，罚款人民币3000元",
                fkje=0.3,
            ),
            _record(
                4,  # the check character is wrong (…006 → …007)
                dsrmc="义乌市恒达物流有限公司",
                tyshxydm="91330782MA7C5W4007",
                fddbr="赵敏",
                wfss="义乌市恒达物流有限公司未经批准将耕地改作停车场。",
                cfnr="罚款人民币20000元",
                fkje=2,
            ),
            _record(
                5,  # valid until before the decision
                dsrmc="湖州南浔丰收农业开发有限公司",
                tyshxydm="91330502MA2B1N900G",
                fddbr="沈丽华",
                wfss="湖州南浔丰收农业开发有限公司擅自改变设施农业用地用途。",
                cfnr="罚款人民币15000元",
                fkje=1.5,
                yxq="2026-04-27",
            ),
            _record(
                6,  # a fine without its amount
                dsrmc="杭州青山矿业有限公司",
                tyshxydm="91330106MA2H3K700K",
                fddbr="王建国",
                wfss="杭州青山矿业有限公司超出批准范围开采建筑用石料。",
                cfnr="罚款",
                fkje=None,
            ),
            _record(
                7,
                dsrmc="瑞安市陈记石材加工厂",
                dsrlx="个体工商户",
                tyshxydm="92330381MA2J8Q6006",
                fddbr="陈立新",
                wfss="瑞安市陈记石材加工厂逾期未清理堆放的石料。",
                cflb="警告",
                cfnr="警告",
                fkje=None,
            ),
        ],
    },
}

HAND_RECORDED_EXPECTED = """\
# Written by hand: 省自然资源厅 has no sandbox twin.
day: 2026-11-03
records:
  1: []
  2: []
  3: []
  4: [credit_code_check]
  5: [date_order]
  6: [mandatory]
  7: []
"""


def _outcomes(report: Path) -> dict[str, tuple[str, str]]:
    """Test name → (outcome, full failure text) from a JUnit XML report."""
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        found = [child for child in case if child.tag in ("failure", "error", "skipped")]
        outcome = found[0].tag if found else "passed"
        message = (found[0].text or found[0].get("message", "")) if found else ""
        outcomes[case.get("name", "")] = (outcome, message)
    return outcomes


def test_a_source_without_a_sandbox_twin_gets_every_contract(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(MAPPINGS_DIR / "sources", sources)
    (sources / f"{HAND_RECORDED}.yaml").write_text(HAND_RECORDED_YAML, encoding="utf-8")
    (sources / f"{UNRECORDED}.yaml").write_text(UNRECORDED_YAML, encoding="utf-8")
    fixtures = tmp_path / "fixtures"
    page = fixtures / HAND_RECORDED
    page.mkdir(parents=True)
    body = json.dumps(HAND_RECORDED_PAGE, ensure_ascii=False, indent=2)
    (page / "page.json").write_text(body, encoding="utf-8")
    (page / "expected.yaml").write_text(HAND_RECORDED_EXPECTED, encoding="utf-8")
    report = tmp_path / "report.xml"
    env = os.environ | {
        "HUB_SOURCES_DIR": str(sources),
        "HUB_SOURCE_FIXTURES_DIR": str(fixtures),
        "HUB_VAR_DIR": str(tmp_path / "var"),
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            test_source_contracts.__file__,
            "-k",
            f"{HAND_RECORDED} or {UNRECORDED}",
            f"--junitxml={report}",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    outcomes = _outcomes(report)
    contracts = {name for name in vars(test_source_contracts) if name.startswith("test_")}
    for source_id in (HAND_RECORDED, UNRECORDED):
        ran = {name.split("[")[0] for name in outcomes if f"[{source_id}" in name}
        assert ran == contracts, run.stdout[-3000:]
    hand_recorded = {n: o for n, o in outcomes.items() if f"[{HAND_RECORDED}" in n}
    assert {n: o for n, (o, _) in hand_recorded.items() if o != "passed"} == {}, run.stdout[-5000:]
    assert "test_reads_the_page_through_its_connector[zj_zrzyt_penalty_api-loopback]" in outcomes

    unrecorded = {n: o for n, o in outcomes.items() if f"[{UNRECORDED}" in n}
    needs_no_page = {
        f"test_source_file_loads_and_validates[{UNRECORDED}]",
        f"test_maps_only_canonical_fields[{UNRECORDED}]",
    }
    assert {n for n, (o, _) in unrecorded.items() if o == "passed"} == needs_no_page
    for name, (outcome, message) in unrecorded.items():
        if name in needs_no_page:
            continue
        assert outcome == "failure", (name, outcome, message)
        assert f"no recorded page: {fixtures / UNRECORDED} does not exist" in message, message
        assert "the file its agency drops into zrzyt/" in message
        assert "expected.yaml" in message
        assert 'docs/sources.md, "Contract tests"' in message
    assert run.returncode == 1, run.stdout[-3000:]
