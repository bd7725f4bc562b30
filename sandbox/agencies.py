"""The catalogue of simulated agencies: one source each, with its channel, field names and quirks.

An agency is what the platform sees of a department's delivery: which record kind, through which
channel (HTTP API, exchange-database table, file drop), under which column names, and how it
writes dates, amounts and codes. ``mappings/sources/<source_id>.yaml`` describes the same agency
to the pipeline; ``tests/sandbox/test_sources.py`` checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hub.core.model import SUBJECT_INDIVIDUAL_BUSINESS, SUBJECT_LEGAL, SUBJECT_PERSON, RecordKind

RULES = ("mandatory", "credit_code_check", "id_number_check", "date_format", "code_table")
"""The pipeline's rule names, under which injected defects are recorded."""

DateStyle = Literal["iso", "slash", "compact", "chinese", "datetime", "excel"]
Vocabulary = Literal["law2021", "legacy_codes", "legacy_names"]


@dataclass
class Faults:
    """How an agency's API misbehaves; changeable while the server runs.

    Attributes:
        fail_rate: share of requests answered 503 or 500.
        rate_limit_rate: share of requests answered 429 with ``Retry-After: 1``.
        slow_rate: share of requests answered only after ``slow_seconds``.
        slow_seconds: the delay of a slow answer.
        mode: ``normal``; ``html`` answers every request with an HTML page (status 200);
            ``down`` answers every request 503.
    """

    fail_rate: float = 0.0
    rate_limit_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 5.0
    mode: Literal["normal", "html", "down"] = "normal"


@dataclass(frozen=True)
class ApiChannel:
    """Delivery through the agency's JSON API (served by ``sandbox.server``).

    Attributes:
        prefix: the URL prefix of this agency on the sandbox server (its base URL's path).
        path: the records endpoint below the prefix.
        pagination: ``page_number``, ``offset`` or ``cursor``.
        auth: ``bearer`` (a fixed token) or ``token_endpoint`` (POST ``/auth/token`` first).
        records_key: the key of the records list in each answer.
        id_field: the record id the API adds to every record.
        cursor_field: the update timestamp the API adds to every record.
        faults: how the API misbehaves by default.
    """

    prefix: str
    path: str
    pagination: Literal["page_number", "offset", "cursor"]
    auth: Literal["bearer", "token_endpoint"]
    records_key: str
    id_field: str
    cursor_field: str
    faults: Faults = field(default_factory=Faults)

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Columns the channel adds to every record (not mapped to canonical fields)."""
        return (self.id_field, self.cursor_field)


@dataclass(frozen=True)
class TableChannel:
    """Delivery into a table of the exchange database (前置库).

    Attributes:
        table: the table name.
        id_column: the row key (``<yyyymmdd>-<n>``, makes re-delivery of a day a no-op).
        cursor_column: ``update_time`` (naive local DATETIME) or ``seq`` (increasing integer).
        cursor_kind: ``timestamp`` or ``sequence``.
    """

    table: str
    id_column: str
    cursor_column: str
    cursor_kind: Literal["timestamp", "sequence"]

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Columns the channel adds to every row."""
        return (self.id_column, self.cursor_column)


@dataclass(frozen=True)
class FileChannel:
    """Delivery as one file a day into ``<drop root>/<folder>/``.

    Attributes:
        folder: the drop folder below the drop root.
        stem: the file name before ``_<yyyymmdd>.<format>``.
        format: ``csv``, ``xlsx`` or ``jsonl``.
        encoding: the text encoding (csv and jsonl).
        row_number_column: a running row number column the agency adds, if any.
    """

    folder: str
    stem: str
    format: Literal["csv", "xlsx", "jsonl"]
    encoding: Literal["utf-8", "gbk"] = "utf-8"
    row_number_column: str | None = None

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Columns the channel adds to every row."""
        return (self.row_number_column,) if self.row_number_column else ()

    def file_name(self, day_stamp: str) -> str:
        """The name of the file delivered on the day ``day_stamp`` (``yyyymmdd``)."""
        return f"{self.stem}_{day_stamp}.{self.format}"


Channel = ApiChannel | TableChannel | FileChannel

DEFAULT_DEFECT_RATES = {
    "mandatory": 0.02,
    "credit_code_check": 0.01,
    "id_number_check": 0.01,
    "date_format": 0.01,
    "code_table": 0.01,
}
PENALTY_SUBJECTS = {SUBJECT_LEGAL: 0.7, SUBJECT_INDIVIDUAL_BUSINESS: 0.15, SUBJECT_PERSON: 0.15}


@dataclass(frozen=True)
class Rates:
    """How often an agency's deliveries go wrong, per record (defects) or per day's records.

    Attributes:
        defects: rule name → share of new records injected with a defect the rule finds.
        duplicate: share of the day's records delivered twice in the same delivery.
        resend: share re-sent unchanged from the previous three days.
        correction: share re-sent from the previous three days with a changed content.
        late: share decided more than 7 working days before delivery.
    """

    defects: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DEFECT_RATES))
    duplicate: float = 0.02
    resend: float = 0.03
    correction: float = 0.01
    late: float = 0.03


@dataclass(frozen=True)
class Agency:
    """One simulated agency source.

    Attributes:
        source_id: the source id (also the name of its file under ``mappings/sources/``).
        name: what the source is called in reports.
        department: the department answering for it (a name in ``departments.yaml``).
        kind: the record kind it delivers.
        theme: what it decides about (a key of ``vocab.PENALTY_SCENARIOS`` or ``LISTING_REASONS``).
        doc_prefix: its document numbers' prefix, as in ``浙市监罚〔2026〕3070001号``.
        channel: how it delivers.
        columns: canonical field → the agency's column name, in the agency's column order.
        constants: canonical fields the agency does not send (the source file gives them as
            constants: its department's name and credit code, or a fixed subject category).
        date_style: how it writes dates.
        amount_unit: ``yuan`` or ``wan`` (万元).
        vocabulary: how it writes penalty categories.
        subject_labels: canonical subject category → what the agency writes instead.
        codes: the agency's own code values, as the source file's ``mapping.codes``.
        list_type_text: how it names its serious list (serious lists only).
        fullwidth_digits: it writes document numbers with full-width digits.
        subjects: subject category → share of its records.
        records_per_day: its usual number of new records on a working day.
        rates: its defect and anomaly rates.
        departments: the departments it delivers for when it carries several (a shared exchange
            table, a joint API): each record is decided by one of them, drawn per record; empty
            when it delivers only for ``department``.
    """

    source_id: str
    name: str
    department: str
    kind: RecordKind
    theme: str
    doc_prefix: str
    channel: Channel
    columns: dict[str, str]
    constants: tuple[str, ...] = ("source_department", "source_department_code")
    date_style: DateStyle = "iso"
    amount_unit: Literal["yuan", "wan"] = "wan"
    vocabulary: Vocabulary = "law2021"
    subject_labels: dict[str, str] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    list_type_text: str | None = None
    fullwidth_digits: bool = False
    subjects: dict[str, float] = field(default_factory=lambda: dict(PENALTY_SUBJECTS))
    records_per_day: int = 60
    rates: Rates = field(default_factory=Rates)
    departments: tuple[str, ...] = ()


def _columns(pairs: str) -> dict[str, str]:
    """Whitespace-separated ``field=column`` pairs → an ordered field → column dict."""
    return dict(pair.split("=", 1) for pair in pairs.split())


_CATALOGUE = (
    Agency(
        source_id="zj_scjg_penalty_api",
        name="省市场监管局行政处罚（接口）",
        department="省市场监管局",
        kind=RecordKind.PENALTY,
        theme="market",
        doc_prefix="浙市监罚",
        channel=ApiChannel(
            prefix="scjg",
            path="/v1/penalties",
            pagination="page_number",
            auth="bearer",
            records_key="data",
            id_field="recordId",
            cursor_field="updatedAt",
        ),
        columns=_columns(
            """
            document_no=caseNo subject_name=partyName subject_category=partyType
            credit_code=creditCode id_type=idType id_number=idNumber
            legal_rep=legalRepresentative violation_type=violationType
            violation_facts=violationFacts legal_basis=legalBasis
            penalty_categories=penaltyTypes penalty_content=penaltyContent
            fine_amount=fineAmount confiscated_amount=confiscatedAmount
            decision_date=decisionDate valid_until=validUntil authority_name=authorityName
            authority_code=authorityCode remarks=remarks
            """
        ),
        amount_unit="yuan",
        records_per_day=120,
    ),
    Agency(
        source_id="zj_tax_serious_api",
        name="省税务局重大税收违法失信主体（接口）",
        department="省税务局",
        kind=RecordKind.SERIOUS,
        theme="tax",
        doc_prefix="浙税稽处",
        channel=ApiChannel(
            prefix="tax",
            path="/api/blacklist",
            pagination="cursor",
            auth="token_endpoint",
            records_key="items",
            id_field="id",
            cursor_field="modified_at",
        ),
        columns=_columns(
            """
            document_no=case_no subject_name=taxpayer_name subject_category=taxpayer_type
            credit_code=taxpayer_id id_number=id_card_no list_type=list_name
            listing_reason=case_nature decision_date=listed_on authority_name=decided_by
            authority_code=decided_by_code source_department=reported_by
            source_department_code=reported_by_code
            """
        ),
        constants=(),
        date_style="slash",
        subject_labels={SUBJECT_LEGAL: "法人", SUBJECT_PERSON: "个人", "个体工商户": "个体户"},
        list_type_text="重大税收违法案件当事人",
        subjects={SUBJECT_LEGAL: 0.85, SUBJECT_INDIVIDUAL_BUSINESS: 0.05, SUBJECT_PERSON: 0.1},
        records_per_day=20,
    ),
    Agency(
        source_id="zj_wjw_penalty_api",
        name="省卫生健康委行政处罚（接口）",
        department="省卫生健康委",
        kind=RecordKind.PENALTY,
        theme="health",
        doc_prefix="浙卫罚",
        channel=ApiChannel(
            prefix="wjw",
            path="/sgs/xzcf",
            pagination="offset",
            auth="bearer",
            records_key="rows",
            id_field="ID",
            cursor_field="GXSJ",
            faults=Faults(fail_rate=0.1, rate_limit_rate=0.05),
        ),
        columns=_columns(
            """
            document_no=CF_WSH subject_name=CF_XDR_MC subject_category=CF_XDR_LB
            credit_code=CF_XDR_SHXYM id_type=CF_XDR_ZJLX id_number=CF_XDR_ZJHM
            legal_rep=CF_FRDB violation_type=CF_WFXW violation_facts=CF_SY legal_basis=CF_YJ
            penalty_categories=CF_CFLB penalty_content=CF_NR fine_amount=CF_NR_FK
            confiscated_amount=CF_NR_WFFF decision_date=CF_JDRQ valid_until=CF_YXQ
            authority_name=CF_CFJG authority_code=CF_CFJGDM source_department=CF_SJLY
            source_department_code=CF_SJLYDM remarks=BZ
            """
        ),
        constants=(),
        date_style="compact",
        vocabulary="legacy_names",
        records_per_day=50,
    ),
    Agency(
        source_id="zj_yjt_penalty_db",
        name="省应急管理厅行政处罚（前置库）",
        department="省应急管理厅",
        kind=RecordKind.PENALTY,
        theme="emergency",
        doc_prefix="浙应急罚",
        channel=TableChannel(
            table="yj_xzcf",
            id_column="id",
            cursor_column="update_time",
            cursor_kind="timestamp",
        ),
        columns=_columns(
            """
            document_no=WSH subject_name=XDRMC subject_category=XDRLB credit_code=TYSHXYDM
            id_type=ZJLX id_number=ZJHM legal_rep=FDDBR violation_type=WFXWLX
            violation_facts=WFSS legal_basis=CFYJ penalty_categories=CFLB
            penalty_content=CFNR fine_amount=FKJE confiscated_amount=MSJE
            decision_date=CFJDRQ valid_until=CFYXQ authority_name=CFJG authority_code=CFJGDM
            """
        ),
        date_style="datetime",
        vocabulary="legacy_codes",
        subject_labels={SUBJECT_LEGAL: "1", SUBJECT_PERSON: "2", SUBJECT_INDIVIDUAL_BUSINESS: "3"},
        codes={
            "subject_category": {
                "1": SUBJECT_LEGAL,
                "2": SUBJECT_PERSON,
                "3": SUBJECT_INDIVIDUAL_BUSINESS,
            }
        },
        subjects={SUBJECT_LEGAL: 0.85, SUBJECT_INDIVIDUAL_BUSINESS: 0.1, SUBJECT_PERSON: 0.05},
        records_per_day=40,
    ),
    Agency(
        source_id="zj_scjg_abnormal_db",
        name="省市场监管局经营异常名录（前置库）",
        department="省市场监管局",
        kind=RecordKind.ABNORMAL,
        theme="abnormal",
        doc_prefix="浙市监异列",
        channel=TableChannel(
            table="gsxt_abnormal_list",
            id_column="id",
            cursor_column="seq",
            cursor_kind="sequence",
        ),
        columns=_columns(
            """
            document_no=PENDECNO subject_name=ENTNAME credit_code=UNISCID
            listing_reason=SPECAUSE decision_date=ABNTIME authority_name=DECORG
            authority_code=DECORGCODE
            """
        ),
        constants=("subject_category", "source_department", "source_department_code"),
        date_style="slash",
        subjects={SUBJECT_LEGAL: 1.0},
        records_per_day=150,
        rates=Rates(defects={"mandatory": 0.02, "credit_code_check": 0.01, "date_format": 0.01}),
    ),
    Agency(
        source_id="zj_sthjt_penalty_file",
        name="省生态环境厅行政处罚（文件）",
        department="省生态环境厅",
        kind=RecordKind.PENALTY,
        theme="ecology",
        doc_prefix="浙环罚",
        channel=FileChannel(
            folder="sthjt",
            stem="sthjt_xzcf",
            format="csv",
            encoding="gbk",
            row_number_column="序号",
        ),
        columns=_columns(
            """
            document_no=行政处罚决定书文号 subject_name=行政相对人名称
            subject_category=行政相对人类别 credit_code=统一社会信用代码
            id_type=证件类型 id_number=证件号码
            legal_rep=法定代表人 violation_type=违法行为类型
            violation_facts=违法事实 legal_basis=处罚依据
            penalty_categories=处罚类别 penalty_content=处罚内容
            fine_amount=罚款金额（元） confiscated_amount=没收违法所得、没收非法财物的金额（元）
            decision_date=处罚决定日期 valid_until=处罚有效期
            authority_name=处罚机关 authority_code=处罚机关统一社会信用代码
            remarks=备注
            """
        ),
        date_style="chinese",
        amount_unit="yuan",
        subjects={SUBJECT_LEGAL: 0.9, SUBJECT_INDIVIDUAL_BUSINESS: 0.05, SUBJECT_PERSON: 0.05},
        records_per_day=30,
    ),
    Agency(
        source_id="zj_rst_serious_file",
        name="省人社厅拖欠农民工工资失信联合惩戒对象名单（文件）",
        department="省人社厅",
        kind=RecordKind.SERIOUS,
        theme="wages",
        doc_prefix="浙人社欠薪",
        channel=FileChannel(folder="rst", stem="rst_qxmd", format="xlsx"),
        columns=_columns(
            """
            document_no=列入决定书文号 subject_name=失信主体名称
            subject_category=主体类别 credit_code=统一社会信用代码
            id_number=身份证号码 list_type=名单类型
            listing_reason=列入原因 decision_date=列入日期
            authority_name=认定部门 authority_code=认定部门统一社会信用代码
            remarks=备注
            """
        ),
        date_style="excel",
        list_type_text="拖欠农民工工资失信联合惩戒对象名单",
        subjects={SUBJECT_LEGAL: 0.8, SUBJECT_INDIVIDUAL_BUSINESS: 0.1, SUBJECT_PERSON: 0.1},
        records_per_day=10,
    ),
    Agency(
        source_id="zj_jtt_penalty_file",
        name="省交通运输厅行政处罚（文件）",
        department="省交通运输厅",
        kind=RecordKind.PENALTY,
        theme="transport",
        doc_prefix="浙交执罚",
        channel=FileChannel(folder="jtt", stem="jtt_xzcf", format="jsonl"),
        columns=_columns(
            """
            document_no=decision_no subject_name=party_name subject_category=party_type
            credit_code=uscc id_type=cert_type id_number=cert_no legal_rep=legal_person
            violation_type=illegal_act violation_facts=illegal_facts legal_basis=basis
            penalty_categories=punish_type penalty_content=punish_content
            fine_amount=fine_yuan confiscated_amount=confiscated_yuan
            decision_date=punish_date valid_until=valid_date authority_name=enforce_org
            authority_code=enforce_org_uscc source_department=data_source
            source_department_code=data_source_uscc
            """
        ),
        constants=(),
        amount_unit="yuan",
        fullwidth_digits=True,
        records_per_day=80,
    ),
)

AGENCIES: dict[str, Agency] = {a.source_id: a for a in _CATALOGUE}


def get_agency(source_id: str) -> Agency:
    """The agency delivering ``source_id``; ``KeyError`` names the known ones."""
    if source_id not in AGENCIES:
        raise KeyError(f"no sandbox agency {source_id!r}; known: {', '.join(AGENCIES)}")
    return AGENCIES[source_id]


def api_agencies() -> list[Agency]:
    """The agencies delivering through the sandbox API server."""
    return [a for a in AGENCIES.values() if isinstance(a.channel, ApiChannel)]
