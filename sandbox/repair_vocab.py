"""Credit China and GSXT as they speak: their field names, codes, time formats and messages.

Each outside system has its own vocabulary; the sandbox keeps every repair decision in neutral
terms (``sandbox.repair_store.Decision``) and speaks to the hub only through these. The hub's
side of the same interface is ``mappings/repair_systems/<system>.yaml``; the tests check that the
two agree by fetching and pushing over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.core.model import RecordKind

CREDIT_CHINA = "credit_china"
GSXT = "gsxt"
SYSTEMS = (CREDIT_CHINA, GSXT)
DECISIONS = ("repaired", "revoked")

# Push outcomes, as the receiver records them.
ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"


@dataclass(frozen=True)
class Vocabulary:
    """How one repair system names and writes things.

    Attributes:
        system: ``credit_china`` or ``gsxt``.
        name: the system's Chinese name.
        prefix: the URL prefix of the system on the sandbox server (its base URL's path).
        feed_path: the repair-result feed, below the prefix.
        push_path: where other parties push repair results, below the prefix.
        push_items_key: the key of the items list in a push body.
        fields: neutral name → the system's field name, in the order items are written. Neutral
            names: ``seq`` (the feed position), ``external_id``, ``kind``, ``document_no``,
            ``subject_name``, ``credit_code``, ``id_number``, ``authority_name``, ``decision``,
            ``decided_at``, ``origin_system`` (who decided), ``origin_id`` (its id there).
        sync_key_field: the push item's idempotency-key field.
        kind_codes: record kind → the system's code.
        decision_codes: ``repaired`` / ``revoked`` → the system's code.
        system_codes: system id → how this system names it (``origin_system`` values).
        time_format: how ``decided_at`` is written (``strftime``); GSXT keeps only the day.
        id_format: its ids, from the feed position ``seq`` and the decision's ``day``.
        outcome_codes: push outcome → the code the system answers per item.
        messages: rejection reason → the system's message (``str.format`` with ``value``).
    """

    system: str
    name: str
    prefix: str
    feed_path: str
    push_path: str
    push_items_key: str
    fields: dict[str, str]
    sync_key_field: str
    kind_codes: dict[str, str]
    decision_codes: dict[str, str]
    system_codes: dict[str, str]
    time_format: str
    id_format: str
    outcome_codes: dict[str, str]
    messages: dict[str, str]

    def external_id(self, seq: int, decided_at: datetime) -> str:
        """The system's own id of the ``seq``-th item of its feed."""
        return self.id_format.format(seq=seq, day=decided_at)

    def cursor(self, seq: int) -> str:
        """The feed position as the system writes it: fixed width, so text order is feed order."""
        return f"{seq:012d}"

    def precise(self, moment: datetime) -> datetime:
        """``moment`` as far as the system keeps it: what survives writing it in its format."""
        kept = datetime.strptime(moment.strftime(self.time_format), self.time_format)
        return kept.replace(tzinfo=moment.tzinfo)


def _decode(codes: dict[str, str]) -> dict[str, str]:
    return {code: value for value, code in codes.items()}


VOCABULARIES: dict[str, Vocabulary] = {
    CREDIT_CHINA: Vocabulary(
        system=CREDIT_CHINA,
        name="信用中国",
        prefix="creditchina",
        feed_path="/api/xyxf/v1/xfjg",
        push_path="/api/xyxf/v1/tbjg",
        push_items_key="list",
        fields={
            "seq": "xh",
            "external_id": "xfjlbh",
            "kind": "xxlb",
            "document_no": "cfjdswh",
            "subject_name": "xzxdrmc",
            "credit_code": "tyshxydm",
            "id_number": "zjhm",
            "authority_name": "jdjg",
            "decision": "xfzt",
            "decided_at": "xfsj",
            "origin_system": "sjly",
            "origin_id": "lyjlbh",
        },
        sync_key_field="tbwyid",
        kind_codes={
            RecordKind.PENALTY: "XZCF",
            RecordKind.ABNORMAL: "JYYC",
            RecordKind.SERIOUS: "YZSX",
        },
        decision_codes={"repaired": "YXF", "revoked": "CXXF"},
        system_codes={CREDIT_CHINA: "XYZG", GSXT: "GSXT"},
        time_format="%Y-%m-%d %H:%M:%S",
        id_format="XF{day:%Y%m%d}{seq:06d}",
        outcome_codes={ACCEPTED: "成功", DUPLICATE: "重复", REJECTED: "失败"},
        messages={
            "no_key": "同步唯一标识（tbwyid）不能为空",
            "no_document": "决定书文号（cfjdswh）不能为空",
            "no_name": "行政相对人名称（xzxdrmc）不能为空",
            "no_subject": "统一社会信用代码（tyshxydm）与证件号码（zjhm）不能同时为空",
            "bad_kind": "信息类别（xxlb）取值无效：{value}",
            "bad_decision": "修复状态（xfzt）取值无效：{value}",
            "bad_time": "修复时间（xfsj）格式应为yyyy-MM-dd HH:mm:ss：{value}",
            "bad_origin": "数据来源（sjly）须为其他系统：{value}",
            "key_conflict": "同步唯一标识{value}已用于内容不同的修复结果",
        },
    ),
    GSXT: Vocabulary(
        system=GSXT,
        name="国家企业信用信息公示系统",
        prefix="gsxt",
        feed_path="/openapi/repair/results",
        push_path="/openapi/repair/sync",
        push_items_key="items",
        fields={
            "seq": "seqNo",
            "external_id": "repairId",
            "kind": "infoType",
            "document_no": "penDecNo",
            "subject_name": "entName",
            "credit_code": "uniscid",
            "id_number": "cerNo",
            "authority_name": "decOrg",
            "decision": "repairState",
            "decided_at": "repairDate",
            "origin_system": "dataSource",
            "origin_id": "srcRepairId",
        },
        sync_key_field="reqId",
        kind_codes={RecordKind.PENALTY: "01", RecordKind.ABNORMAL: "02", RecordKind.SERIOUS: "03"},
        decision_codes={"repaired": "1", "revoked": "0"},
        system_codes={GSXT: "1", CREDIT_CHINA: "2"},
        time_format="%Y%m%d",
        id_format="{day:%Y%m%d}33{seq:08d}",
        outcome_codes={ACCEPTED: "0", DUPLICATE: "1", REJECTED: "2"},
        messages={
            "no_key": "请求标识reqId为空",
            "no_document": "决定书文号penDecNo为空",
            "no_name": "主体名称entName为空",
            "no_subject": "统一社会信用代码uniscid与证件号码cerNo均为空",
            "bad_kind": "信息类型infoType非法：{value}",
            "bad_decision": "修复状态repairState非法：{value}",
            "bad_time": "修复日期repairDate应为yyyyMMdd：{value}",
            "bad_origin": "数据来源dataSource非法：{value}",
            "key_conflict": "请求标识{value}重复且内容不一致",
        },
    ),
}


def vocabulary(system: str) -> Vocabulary:
    """The vocabulary of ``system``; ``KeyError`` names the known systems."""
    if system not in VOCABULARIES:
        raise KeyError(f"no repair system {system!r}; known: {', '.join(SYSTEMS)}")
    return VOCABULARIES[system]


def other_system(system: str) -> str:
    """The repair system that is not ``system``."""
    return GSXT if system == CREDIT_CHINA else CREDIT_CHINA


def decode_kind(vocab: Vocabulary, code: object) -> str | None:
    """The record kind a system's kind code stands for (``None``: no such code)."""
    return _decode(vocab.kind_codes).get(str(code))


def decode_decision(vocab: Vocabulary, code: object) -> str | None:
    """``repaired`` / ``revoked`` for a system's decision code (``None``: no such code)."""
    return _decode(vocab.decision_codes).get(str(code))


def decode_system(vocab: Vocabulary, code: object) -> str | None:
    """The system id a system's origin code stands for (``None``: no such code)."""
    return _decode(vocab.system_codes).get(str(code))
