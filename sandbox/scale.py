"""The province at scale: 40 departments delivering through eight sources, and their faults.

The default sandbox has eight agencies, one department each. At province scale most departments
do not run a channel of their own: they write into a shared exchange-database table (前置库) or
deliver through a joint API or file drop run by a lead department, and the platform reads each
such channel as one source, with one cursor and one batch a day. ``province_agencies`` clones the
eight sandbox agencies into that shape (same column names, quirks and channel kinds; their own
API prefix, table or drop folder), ``write_source_files`` writes the matching source files for
the hub (derived from the templates' own files in ``mappings/sources/``), and ``registered``
makes the sandbox serve and deliver them for the duration of a block.

The faults a province sees in a year are made here too: a file cut off in transfer
(``truncate_drop``) and dropped again whole (``drop_again``), and a month re-sent into the
exchange database (``resend_rows``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import sqlalchemy as sa
import yaml

from hub.core.settings import MAPPINGS_DIR
from sandbox import drops, exchange
from sandbox.agencies import AGENCIES, Agency, ApiChannel, FileChannel, TableChannel
from sandbox.config import SandboxConfig
from sandbox.timestamps import row_time

TEMPLATE_DIR = MAPPINGS_DIR / "sources"
WEEKEND_SHARE = 0.3
"""A weekend day's volume against a working day's (``sandbox.records.record_count``)."""
CALENDAR_SHARE = (5 + 2 * WEEKEND_SHARE) / 7
"""An average calendar day's volume against a working day's."""
DEPARTMENT_COLUMNS = ("source_department", "source_department_code")


@dataclass(frozen=True)
class ScaleSource:
    """One source of the province at scale, cloned from a sandbox agency.

    Attributes:
        template: the sandbox agency (and source file) it is cloned from.
        source_id: its source id.
        name: what it is called in reports.
        short: its channel's own name: the API prefix, the exchange table or the drop folder.
        departments: the departments it delivers for, the lead department first.
        per_department: new records per working day and department, before scaling.
        doc_prefix: its document numbers' prefix (the template's when ``None``).
        department_columns: the columns naming the deciding department, where the template
            sends it as a constant but the clone carries several departments.
    """

    template: str
    source_id: str
    name: str
    short: str
    departments: tuple[str, ...]
    per_department: int
    doc_prefix: str | None = None
    department_columns: tuple[str, str] | None = None


_EXCHANGE_DEPARTMENTS = (
    "省应急管理厅", "省委宣传部", "省委网信办", "省发展改革委", "省经信厅", "省教育厅",
    "省科技厅", "省公安厅", "省民政厅", "省司法厅", "省财政厅", "省农业农村厅", "省商务厅",
    "省文化广电和旅游厅", "省地方金融监管局", "省体育局", "省统计局", "省粮食物资局", "省国动办",
    "省数据局（省政务服务办）", "省文物局", "省消防救援总队", "省地震局", "省气象局",
    "省烟草专卖局",
)  # fmt: skip

CATALOGUE = (
    ScaleSource(
        "zj_scjg_penalty_api", "prov_market_penalty_api", "省市场监管局行政处罚（接口）",
        "prov_market", ("省市场监管局",), 1300,
    ),
    ScaleSource(
        "zj_scjg_abnormal_db", "prov_abnormal_exchange_db", "经营异常名录（前置库）",
        "prov_abnormal", ("省市场监管局",), 1500,
    ),
    ScaleSource(
        "zj_tax_serious_api", "prov_tax_serious_api", "重大税收违法失信主体（税务接口）",
        "prov_tax", ("省税务局", "宁波市税务局"), 60,
    ),
    ScaleSource(
        "zj_wjw_penalty_api", "prov_health_penalty_api", "卫生健康、医保、药监行政处罚（接口）",
        "prov_health", ("省卫生健康委", "省医保局", "省药监局"), 150,
    ),
    ScaleSource(
        "zj_yjt_penalty_db", "prov_penalty_exchange_db", "省级部门行政处罚（前置库共享表）",
        "prov_penalty", _EXCHANGE_DEPARTMENTS, 80, "浙行罚", ("SJLY", "SJLYDM"),
    ),
    ScaleSource(
        "zj_sthjt_penalty_file", "prov_resources_penalty_file", "资源环境行政处罚（文件）",
        "prov_resources", ("省生态环境厅", "省自然资源厅", "省水利厅", "省林业局", "省建设厅"),
        80, "浙资环罚", ("数据来源单位", "数据来源单位统一社会信用代码"),
    ),
    ScaleSource(
        "zj_rst_serious_file", "prov_wages_serious_file",
        "拖欠农民工工资失信联合惩戒对象名单（文件）", "prov_wages", ("省人社厅",), 40,
    ),
    ScaleSource(
        "zj_jtt_penalty_file", "prov_transport_penalty_file", "交通运输、海关行政处罚（文件）",
        "prov_transport", ("省交通运输厅", "杭州海关", "宁波海关"), 150,
    ),
)  # fmt: skip

DEPARTMENT_ORDER = (
    "省市场监管局", "省税务局", "省卫生健康委", "省应急管理厅", "省生态环境厅", "省人社厅",
    "省交通运输厅", "宁波市税务局", "省医保局", "省药监局", "省自然资源厅", "省水利厅", "省林业局",
    "省建设厅", "杭州海关", "宁波海关", *_EXCHANGE_DEPARTMENTS[1:],
)  # fmt: skip
"""The order departments join in (``departments=N`` takes the first N): the first seven already
cover every source, so a small province still has every channel, kind and fault."""
MAX_DEPARTMENTS = len(DEPARTMENT_ORDER)


def _clone(source: ScaleSource, departments: tuple[str, ...], per_day: int) -> Agency:
    template = AGENCIES[source.template]
    columns, constants = dict(template.columns), template.constants
    if len(departments) > 1 and source.department_columns:
        columns |= dict(zip(DEPARTMENT_COLUMNS, source.department_columns, strict=True))
        constants = tuple(c for c in constants if c not in DEPARTMENT_COLUMNS)
    return replace(
        template,
        source_id=source.source_id,
        name=source.name,
        department=departments[0],
        departments=departments if len(departments) > 1 else (),
        doc_prefix=source.doc_prefix or template.doc_prefix,
        channel=_channel(template.channel, source.short),
        columns=columns,
        constants=constants,
        records_per_day=per_day,
    )


def _channel(
    channel: ApiChannel | TableChannel | FileChannel, short: str
) -> ApiChannel | TableChannel | FileChannel:
    if isinstance(channel, ApiChannel):
        return replace(channel, prefix=short.replace("_", "-"))
    if isinstance(channel, TableChannel):
        return replace(channel, table=short)
    return replace(channel, folder=short)


def province_agencies(
    departments: int = MAX_DEPARTMENTS, records_per_day: int = 5500
) -> list[Agency]:
    """The sources of a province of ``departments`` departments, as sandbox agencies.

    Args:
        departments: how many departments (the first of ``DEPARTMENT_ORDER``), 1 to 40.
        records_per_day: new records per calendar day in all, on average (weekends bring less).
    """
    if not 1 <= departments <= MAX_DEPARTMENTS:
        raise ValueError(f"departments must be 1 to {MAX_DEPARTMENTS}, not {departments}")
    joined = set(DEPARTMENT_ORDER[:departments])
    chosen = [(source, tuple(d for d in source.departments if d in joined)) for source in CATALOGUE]
    chosen = [(source, depts) for source, depts in chosen if depts]
    base = sum(source.per_department * len(depts) for source, depts in chosen)
    scale = records_per_day / (base * CALENDAR_SHARE)
    return [
        _clone(source, depts, max(1, math.floor(source.per_department * len(depts) * scale)))
        for source, depts in chosen
    ]


def source_file(agency: Agency, http_options: dict | None = None) -> dict:
    """The hub's source file of a cloned agency: its template's, pointed at the clone.

    Args:
        agency: a clone made by ``province_agencies``.
        http_options: connector settings given to HTTP sources (e.g. a short retry backoff).
    """
    source = next(s for s in CATALOGUE if s.source_id == agency.source_id)
    data = yaml.safe_load((TEMPLATE_DIR / f"{source.template}.yaml").read_text(encoding="utf-8"))
    data |= {"id": agency.source_id, "name": agency.name, "department": agency.department}
    if "pool" in data:
        data["pool"] = {"name": f"agency_{source.short}", "slots": 1}
    channel, connector = agency.channel, data["connector"]
    if isinstance(channel, ApiChannel):
        connector |= {"connection": f"zj_{source.short}_api", **(http_options or {})}
    elif isinstance(channel, TableChannel):
        connector |= {"connection": f"zj_{source.short}_exchange_db", "table": channel.table}
    else:
        connector |= {
            "connection": f"zj_{source.short}_file_drop",
            "folder": channel.folder,
            "pattern": f"{channel.stem}_*.{channel.format}",
        }
    fields = data["mapping"]["fields"]
    for name in DEPARTMENT_COLUMNS:
        if name in agency.columns:
            fields[name] = agency.columns[name]
    return data


def write_source_files(
    agencies: list[Agency], directory: Path, http_options: dict | None = None
) -> None:
    """Write one source file per agency into ``directory`` (the hub's ``HUB_SOURCES_DIR``)."""
    directory.mkdir(parents=True, exist_ok=True)
    for agency in agencies:
        data = source_file(agency, http_options)
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        header = "# Generated by sandbox/scale.py from its template's source file.\n"
        (directory / f"{agency.source_id}.yaml").write_text(header + text, encoding="utf-8")


@contextlib.contextmanager
def registered(agencies: list[Agency]) -> Iterator[None]:
    """Make the sandbox know ``agencies`` (serve, deliver, decide repairs) for the block."""
    clashes = sorted(a.source_id for a in agencies if a.source_id in AGENCIES)
    if clashes:
        raise ValueError(f"sandbox agencies already known: {', '.join(clashes)}")
    AGENCIES.update({a.source_id: a for a in agencies})
    try:
        yield
    finally:
        for agency in agencies:
            AGENCIES.pop(agency.source_id, None)


def truncate_drop(config: SandboxConfig, agency: Agency, day: date, keep: float = 0.6) -> bytes:
    """Cut ``agency``'s dropped file of ``day`` off inside a record, as a broken transfer does.

    Returns:
        The whole file, which the agency still has (``keep``: the share of it left in the drop).
    """
    path = drops.drop_path(agency, day, config.drop_root)
    whole = path.read_bytes()
    # Cut just before a field separator inside a record: the last record is left half written.
    middle = int(len(whole) * keep)
    line_start = whole.rfind(b"\n", 0, middle) + 1
    cut = whole.rfind(b",", line_start, whole.find(b"\n", middle))
    if cut <= line_start:
        raise ValueError(f"{path.name} has no record to cut off")
    path.write_bytes(whole[:cut])
    return whole


def drop_again(config: SandboxConfig, agency: Agency, day: date, data: bytes, tag: str) -> Path:
    """Drop ``data`` as ``agency``'s file of ``day`` once more, under a new name (``tag`` added)."""
    path = drops.drop_path(agency, day, config.drop_root)
    again = path.with_name(f"{path.stem}_{tag}{path.suffix}")
    temporary = again.with_name(f".{again.name}.part")
    temporary.write_bytes(data)
    temporary.replace(again)
    return again


def resend_rows(
    config: SandboxConfig, agency: Agency, first: date, last: date, on_day: date
) -> int:
    """Re-send into the exchange table, on ``on_day``, every row delivered ``first`` to ``last``.

    The rows keep their content and get new row keys and cursor values, as when an agency's
    export job replays a month. Returns how many rows were re-sent.
    """
    channel = agency.channel
    if not isinstance(channel, TableChannel):
        raise ValueError(f"{agency.source_id} does not deliver into the exchange database")
    engine = sa.create_engine(config.exchange_database_url)
    try:
        table = exchange.exchange_table(agency, sa.MetaData())
        key, cursor = table.c[channel.id_column], table.c[channel.cursor_column]
        bounds = (f"{first:%Y%m%d}-", f"{last:%Y%m%d}-999999")
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(table).where(key.between(*bounds)).order_by(cursor)
            ).mappings()
            copies = [dict(row) for row in rows]
            last_cursor = conn.scalar(sa.select(sa.func.max(cursor))) or 0
            for i, row in enumerate(copies):
                row[channel.id_column] = f"R{on_day:%Y%m%d}-{i:06d}"
                row[channel.cursor_column] = (
                    last_cursor + i + 1
                    if channel.cursor_kind == "sequence"
                    else row_time(on_day, i, len(copies))
                )
            if copies:
                conn.execute(table.insert(), copies)
    finally:
        engine.dispose()
    return len(copies)
