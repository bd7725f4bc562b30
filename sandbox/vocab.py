"""The words the sandbox writes with: names, and what each theme of agency decides about.

Plain data; ``sandbox.province`` and ``sandbox.records`` draw from it with a seeded ``Random``.
Every character here is in GBK, so the GBK file drops can carry any generated value.
"""

from __future__ import annotations

from dataclasses import dataclass

CITIES = {
    "3301": "杭州", "3302": "宁波", "3303": "温州", "3304": "嘉兴", "3305": "湖州",
    "3306": "绍兴", "3307": "金华", "3308": "衢州",
}  # fmt: skip
TRADE_NAME_CHARS = "鑫源恒泰华盛达兴隆丰裕宏远明德嘉禾瑞康海天顺安新创博信通和美佳诚汇金晟"
INDUSTRIES = (
    "科技", "贸易", "建材", "餐饮管理", "物流", "机械制造", "纺织", "食品", "医药", "建筑工程",
    "环保科技", "电子商务", "化工", "汽车服务", "网络科技", "印染", "家居用品", "农业开发",
)  # fmt: skip
COMPANY_FORMS = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
SHOP_TYPES = ("小吃店", "便利店", "五金店", "理发店", "水果店", "汽车修理部", "服装店", "餐馆")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN_NAME_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文斌"


@dataclass(frozen=True)
class PenaltyKind:
    """One combination of penalty categories, in both vocabularies agencies use.

    Attributes:
        labels: the canonical labels (art. 9 of the 2021 Administrative Penalty Law).
        legacy: the legacy 双公示 codes 0-6, or ``None`` where that vocabulary has no equivalent.
        law2021: how an agency using the 2021 names writes it.
    """

    labels: tuple[str, ...]
    legacy: tuple[str, ...] | None
    law2021: str

    @property
    def fines(self) -> bool:
        """Whether the decision includes a fine (so ``fine_amount`` is mandatory)."""
        return "罚款" in self.labels

    @property
    def confiscates(self) -> bool:
        """Whether the decision confiscates illegal gains or property."""
        return "没收违法所得" in self.labels


LEGACY_NAMES = {
    "0": "警告",
    "1": "罚款",
    "2": "没收违法所得、没收非法财物",
    "3": "责令停产停业",
    "4": "暂扣或者吊销许可证、暂扣或者吊销执照",
    "5": "行政拘留",
    "6": "其他",
}

WARNING = PenaltyKind(("警告",), ("0",), "警告")
FINE = PenaltyKind(("罚款",), ("1",), "罚款")
WARNING_FINE = PenaltyKind(("警告", "罚款"), ("0", "1"), "警告；罚款")
FINE_CONFISCATION = PenaltyKind(
    ("罚款", "没收违法所得", "没收非法财物"), ("1", "2"), "罚款；没收违法所得、没收非法财物"
)
FINE_SUSPENSION = PenaltyKind(("罚款", "责令停产停业"), ("1", "3"), "罚款；责令停产停业")
REVOCATION = PenaltyKind(("暂扣许可证件", "吊销许可证件"), ("4",), "暂扣许可证件、吊销许可证件")
CRITICISM = PenaltyKind(("通报批评",), None, "通报批评")
FINE_BAN = PenaltyKind(("罚款", "限制从业"), None, "罚款；限制从业")


@dataclass(frozen=True)
class Scenario:
    """A kind of violation an agency decides on, with its legal basis and usual penalties."""

    violation_type: str
    facts: str  # ``{name}`` is the subject, ``{place}`` its city
    legal_basis: str
    penalties: tuple[PenaltyKind, ...]
    fine_yuan: tuple[int, int]


PENALTY_SCENARIOS: dict[str, tuple[Scenario, ...]] = {
    "market": (
        Scenario(
            "销售不符合食品安全标准的食品",
            "经查，{name}在{place}经营场所销售的食品经抽检不符合食品安全标准，货值金额较小。",
            "《中华人民共和国食品安全法》第一百二十四条",
            (FINE, FINE_CONFISCATION, WARNING_FINE),
            (5000, 100000),
        ),
        Scenario(
            "虚假宣传",
            "{name}通过网络平台对其商品的功能、质量作虚假的商业宣传，欺骗、误导消费者。",
            "《中华人民共和国反不正当竞争法》第二十条",
            (FINE, WARNING, CRITICISM),
            (10000, 200000),
        ),
        Scenario(
            "未按规定办理变更登记",
            "{name}变更住所后未在规定期限内向登记机关申请办理变更登记。",
            "《中华人民共和国市场主体登记管理条例》第四十六条",
            (WARNING, FINE),
            (1000, 10000),
        ),
    ),
    "health": (
        Scenario(
            "未取得医疗机构执业许可证擅自执业",
            "{name}在{place}未取得《医疗机构执业许可证》擅自开展诊疗活动。",
            "《医疗机构管理条例》第四十三条",
            (FINE_CONFISCATION, FINE),
            (10000, 100000),
        ),
        Scenario(
            "公共场所卫生不合格",
            "{name}经营的公共场所经卫生检测，空气质量指标不符合卫生标准。",
            "《公共场所卫生管理条例实施细则》第三十六条",
            (WARNING, WARNING_FINE),
            (500, 5000),
        ),
    ),
    "emergency": (
        Scenario(
            "未按规定开展安全生产教育培训",
            "{name}未按照规定对从业人员进行安全生产教育和培训。",
            "《中华人民共和国安全生产法》第九十七条",
            (FINE, WARNING_FINE),
            (10000, 100000),
        ),
        Scenario(
            "未采取措施消除事故隐患",
            "{name}对检查发现的重大事故隐患未采取措施消除，经责令仍拒不执行。",
            "《中华人民共和国安全生产法》第一百零二条",
            (FINE_SUSPENSION, FINE),
            (50000, 200000),
        ),
        Scenario(
            "危险化学品储存不符合规定",
            "{name}未按规定储存危险化学品，存在重大安全风险。",
            "《危险化学品安全管理条例》第八十条",
            (REVOCATION, FINE_SUSPENSION),
            (50000, 200000),
        ),
    ),
    "ecology": (
        Scenario(
            "超标排放水污染物",
            "{name}位于{place}的生产车间废水排放口化学需氧量浓度超过国家排放标准。",
            "《中华人民共和国水污染防治法》第八十三条",
            (FINE, FINE_SUSPENSION),
            (100000, 1000000),
        ),
        Scenario(
            "未批先建",
            "{name}建设项目环境影响报告表未经批准擅自开工建设。",
            "《中华人民共和国环境影响评价法》第三十一条",
            (FINE, WARNING_FINE),
            (50000, 500000),
        ),
        Scenario(
            "危险废物贮存不规范",
            "{name}未按规定设置危险废物识别标志，危险废物露天堆放。",
            "《中华人民共和国固体废物污染环境防治法》第一百一十二条",
            (FINE_CONFISCATION, FINE),
            (100000, 500000),
        ),
    ),
    "transport": (
        Scenario(
            "道路运输车辆超限运输",
            "{name}所属车辆在{place}境内超限运输，经检测车货总质量超过规定限值。",
            "《公路安全保护条例》第六十四条",
            (FINE, WARNING_FINE),
            (1000, 30000),
        ),
        Scenario(
            "未取得道路运输经营许可擅自从事经营",
            "{name}未取得道路运输经营许可，擅自从事道路货物运输经营。",
            "《中华人民共和国道路运输条例》第六十三条",
            (FINE_CONFISCATION, FINE_BAN),
            (30000, 100000),
        ),
    ),
}

LISTING_REASONS: dict[str, tuple[str, ...]] = {
    "abnormal": (
        "未按照《企业信息公示暂行条例》第八条规定的期限公示年度报告",
        "通过登记的住所或者经营场所无法联系",
        "未在市场监督管理部门依照《企业信息公示暂行条例》第十条规定责令的期限内公示有关企业信息",
        "公示企业信息隐瞒真实情况、弄虚作假",
    ),
    "tax": (
        "伪造、变造、隐匿、擅自销毁账簿、记账凭证，偷税数额在100万元以上且占应纳税额10%以上",
        "虚开增值税专用发票，经税务机关检查确认",
        "骗取国家出口退税款，经税务机关检查确认",
    ),
    "wages": (
        "克扣、无故拖欠农民工工资，数额达到认定拒不支付劳动报酬罪数额标准",
        "因拖欠农民工工资违法行为引发群体性事件、极端事件造成严重不良社会影响",
    ),
}

LIST_TYPES = {"tax": "重大税收违法失信主体", "wages": "拖欠农民工工资失信联合惩戒对象名单"}
"""The canonical serious-list type each listing theme decides."""

REMARKS = ("当事人已履行处罚决定", "当事人已申请行政复议", "案件移送公安机关")
