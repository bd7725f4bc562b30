"""Chinese labels for what the reports show."""

from __future__ import annotations

FIGURES = {
    "rank": "排名",
    "department": "部门",
    "delivered": "归集条数",
    "complete_pct": "完整率",
    "valid_pct": "合规率",
    "on_time_pct": "及时率",
    "score": "综合得分",
    "quarantined": "隔离条数",
    "incomplete": "缺项条数",
    "duplicates": "重复条数",
    "timed": "首次归集",
    "on_time": "按时",
    "late": "迟报",
    "median_delay": "延迟中位数（工作日）",
    "max_delay": "最长延迟（工作日）",
    "allow_listed": "允许名单代码",
    "missed_deliveries": "未成功交付",
    "rank_change": "名次变化",
    "delivered_change": "归集变化",
    "complete_pct_change": "完整率变化",
    "valid_pct_change": "合规率变化",
    "on_time_pct_change": "及时率变化",
}
RULES = {
    "mandatory": "必填项缺失",
    "credit_code_check": "统一社会信用代码校验不通过",
    "id_number_check": "身份证号码校验不通过",
    "code_table": "不在代码表内",
    "date_order": "日期先后不合理",
    "amount_range": "金额超出合理范围",
    "max_length": "超过标准长度",
    "date_format": "日期格式错误",
    "amount_format": "金额格式错误",
    "unstorable_text": "含无法存储的字符",
}
KINDS = {"penalty": "行政处罚", "abnormal": "经营异常名录", "serious": "严重失信主体名单"}


def rule_label(rule: str) -> str:
    """The Chinese name of a rule, the rule's own name where none is given."""
    return RULES.get(rule, rule)
