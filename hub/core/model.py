"""The canonical record model: one field list per record kind, the single source of truth.

The platform tables (``hub.store.schema``), the mapping step and the validation rules are all
derived from these lists, so a field is declared once. Field names say what they hold; the
national 双公示 column code (``CF_*``) or the list column's Chinese name is kept beside each
field so mappings and reports can speak the agencies' language.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RecordKind(StrEnum):
    """The three record kinds the platform collects."""

    PENALTY = "penalty"
    ABNORMAL = "abnormal"
    SERIOUS = "serious"


class RecordStatus(StrEnum):
    """Where a canonical record stands in its publicity lifecycle on the platform."""

    PUBLISHED = "published"
    REPAIRED = "repaired"  # publicity ended early by a credit repair (信用修复)
    EXPIRED = "expired"  # publicity ran to its maximum end
    WITHDRAWN = "withdrawn"  # the decision was revoked by the deciding department


class FieldType(StrEnum):
    """How a canonical field's value is parsed and stored."""

    TEXT = "text"
    DATE = "date"
    AMOUNT = "amount"  # 万元, numeric(18, 6)
    CODE = "code"  # a value from a code table, stored as its standard Chinese label


@dataclass(frozen=True)
class Field:
    """One canonical field.

    Attributes:
        name: column name in the platform database.
        label: the standard's Chinese name, used in reports and error messages.
        type: how values are parsed.
        max_length: the standard's length limit for text (``None``: unlimited).
        mandatory: a record without a value is quarantined.
        code: the national column code (双公示) where one exists.
        code_table: for ``CODE`` fields, the code table under ``mappings/codes/``.
    """

    name: str
    label: str
    type: FieldType = FieldType.TEXT
    max_length: int | None = None
    mandatory: bool = False
    code: str | None = None
    code_table: str | None = None


T, D, A, C = FieldType.TEXT, FieldType.DATE, FieldType.AMOUNT, FieldType.CODE

SUBJECT_LEGAL = "法人及非法人组织"
SUBJECT_PERSON = "自然人"
SUBJECT_INDIVIDUAL_BUSINESS = "个体工商户"

# Fields every kind shares: who the subject is, who decided, who delivered the record.
_SUBJECT_AND_AUTHORITY: tuple[Field, ...] = (
    Field("document_no", "决定书文号", T, 128, True, "CF_WSH"),
    Field("subject_name", "行政相对人名称", T, 200, True, "CF_XDR_MC"),
    Field("subject_category", "行政相对人类别", C, 16, True, "CF_XDR_LB", "subject_category"),
    Field("credit_code", "统一社会信用代码", T, 18, False, "CF_XDR_SHXYM"),
    Field("id_type", "证件类型", T, 64, False, "CF_XDR_ZJLX"),
    Field("id_number", "证件号码", T, 64, False, "CF_XDR_ZJHM"),
    Field("decision_date", "决定日期", D, None, True, "CF_JDRQ"),
    Field("authority_name", "决定机关", T, 200, True, "CF_CFJG"),
    Field("authority_code", "决定机关统一社会信用代码", T, 18, True, "CF_CFJGDM"),
    Field("source_department", "数据来源单位", T, 200, True, "CF_SJLY"),
    Field("source_department_code", "数据来源单位统一社会信用代码", T, 18, True, "CF_SJLYDM"),
    Field("remarks", "备注", T, 512, False, "BZ"),
)

_CONFISCATED = "没收违法所得、没收非法财物的金额（万元）"
_PENALTY_ONLY: tuple[Field, ...] = (
    Field("business_reg_no", "工商注册号", T, 50, False, "CF_XDR_GSZC"),
    Field("org_code", "组织机构代码", T, 9, False, "CF_XDR_ZZJG"),
    Field("tax_reg_no", "税务登记号", T, 15, False, "CF_XDR_SWDJ"),
    Field("institution_cert_no", "事业单位证书号", T, 12, False, "CF_XDR_SYDW"),
    Field("social_org_reg_no", "社会组织登记证号", T, 50, False, "CF_XDR_SHZZ"),
    Field("legal_rep", "法定代表人", T, 50, False, "CF_FRDB"),
    Field("legal_rep_id_type", "法定代表人证件类型", T, 64, False, "CF_FR_ZJLX"),
    Field("legal_rep_id_number", "法定代表人证件号码", T, 64, False, "CF_FR_ZJHM"),
    Field("violation_type", "违法行为类型", T, 2000, True, "CF_WFXW"),
    Field("violation_facts", "违法事实", T, 5000, True, "CF_SY"),
    Field("legal_basis", "处罚依据", T, 2000, True, "CF_YJ"),
    Field("penalty_categories", "处罚类别", C, 256, True, "CF_CFLB", "penalty_category"),
    Field("penalty_content", "处罚内容", T, 4000, True, "CF_NR"),
    Field("fine_amount", "罚款金额（万元）", A, None, False, "CF_NR_FK"),
    Field("confiscated_amount", _CONFISCATED, A, None, False, "CF_NR_WFFF"),
    Field("license_revoked", "暂扣或吊销证照名称及编号", T, 200, False, "CF_NR_ZKDX"),
    Field("valid_until", "处罚有效期", D, None, True, "CF_YXQ"),
    Field("publicity_deadline", "公示截止期", D, None, False, "CF_GSJZQ"),
)

_LISTING_ONLY: tuple[Field, ...] = (
    Field("listing_reason", "列入原因", T, 2000, True),
    Field("removal_document_no", "移出决定书文号", T, 128, False),
    Field("removal_reason", "移出原因", T, 2000, False),
    Field("removal_date", "移出日期", D, None, False),
    Field("removal_authority", "作出移出决定机关", T, 200, False),
)

_SERIOUS_ONLY: tuple[Field, ...] = (
    Field("list_type", "名单类型", C, 64, True, None, "serious_list_type"),
)

FIELDS: dict[RecordKind, tuple[Field, ...]] = {
    RecordKind.PENALTY: _SUBJECT_AND_AUTHORITY + _PENALTY_ONLY,
    RecordKind.ABNORMAL: _SUBJECT_AND_AUTHORITY + _LISTING_ONLY,
    RecordKind.SERIOUS: _SUBJECT_AND_AUTHORITY + _SERIOUS_ONLY + _LISTING_ONLY,
}


IDENTIFIER_FIELDS = frozenset(
    {
        "credit_code",
        "id_number",
        "authority_code",
        "source_department_code",
        "business_reg_no",
        "org_code",
        "tax_reg_no",
        "institution_cert_no",
        "social_org_reg_no",
        "legal_rep_id_number",
    }
)
"""Fields holding codes and ID numbers: one written form (``hub.core.text.identifiers``) before
any check, in collection and in every look-up."""


def fields_of(kind: RecordKind) -> tuple[Field, ...]:
    """Return the canonical fields of ``kind`` in table order."""
    return FIELDS[kind]


def field_names(kind: RecordKind) -> list[str]:
    """Return the canonical field names of ``kind`` in table order."""
    return [f.name for f in FIELDS[kind]]
