"""Recording a sandbox agency's delivery as its source's contract-test fixture.

``hub sandbox record`` writes ``tests/fixtures/sources/<source id>/`` for each agency: one small
delivery exactly as the agency sends it, and what the rules must say about each of its records.

| connector | the recorded page |
|---|---|
| ``http`` | ``page.json``: the body its API answers to the first page request |
| ``sql`` | ``table.json``: its exchange table's column types and rows, in cursor order |
| ``file`` | the dropped file itself, under its own name |

``expected.yaml`` holds the delivery day and, per record ordinal (1 = the page's first record),
the rules the record fails, taken from the sandbox's ground truth (never from the rules under
test). The records are drawn from the sandbox's own generator: a few clean ones, one decided late,
and the first record the agency spoils for each rule it can show. Recording is deterministic: the
same seed and day give the same bytes. The contract tests (``tests/sources/``) read the files
back through the real connectors; ``docs/sources.md`` ("Contract tests") describes them for a
source recorded by hand.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from connectors.specs import (
    HttpConnector,
    OffsetPagination,
    PageNumberPagination,
    TokenEndpointAuth,
)
from hub.collect.run import window_end
from hub.collect.sources import get_source
from hub.core.settings import PROJECT_ROOT
from sandbox import drops, exchange
from sandbox.agencies import (
    AGENCIES,
    RULES,
    Agency,
    ApiChannel,
    Faults,
    TableChannel,
    api_agencies,
    get_agency,
)
from sandbox.config import API_LOGIN, DEFAULT_SEED, SandboxConfig, api_password, api_token
from sandbox.deliver import init_sandbox, write_to_channel
from sandbox.province import Province
from sandbox.records import GeneratedRecord, new_records
from sandbox.server import serve_in_thread

FIXTURES_DIR = PROJECT_ROOT / "tests" / "fixtures" / "sources"
"""Where the contract tests look for recorded pages (``HUB_SOURCE_FIXTURES_DIR`` overrides)."""
RECORD_DAY = date(2026, 11, 3)
PAGE_FILE = "page.json"
TABLE_FILE = "table.json"
EXPECTED_FILE = "expected.yaml"
CLEAN_RECORDS = 8
"""Clean records in a recorded page, besides the late one and one per rule."""
_CANDIDATES = 400
"""New records drawn to find one spoiled for each rule (each rule spoils about 1 in 100)."""


@dataclass(frozen=True)
class Recording:
    """One source's recorded fixture.

    Attributes:
        source_id: the source.
        folder: the fixture folder written.
        files: the names of the files written in it.
        verdicts: per record ordinal, the rules the record fails (empty: it loads).
    """

    source_id: str
    folder: Path
    files: tuple[str, ...]
    verdicts: dict[int, tuple[str, ...]]


def pick_records(province: Province, agency: Agency, day: date) -> list[GeneratedRecord]:
    """The records of a recorded page, in delivery order.

    The first ``CLEAN_RECORDS`` clean records, the first one decided late, and the first record
    spoiled for each rule the agency's data can show, among the day's first ``_CANDIDATES``.
    """
    generated = new_records(province, agency, day, _CANDIDATES)
    chosen = [i for i, g in enumerate(generated) if g.clean][:CLEAN_RECORDS]
    chosen += [i for i, g in enumerate(generated) if g.late][:1]
    for rule in RULES:
        spoiled = [i for i, g in enumerate(generated) if g.defect and g.defect.rule == rule]
        chosen += spoiled[:1]
    return [generated[i] for i in sorted(set(chosen))]


def record_sources(
    source_ids: list[str] | None = None,
    out_dir: Path = FIXTURES_DIR,
    day: date = RECORD_DAY,
    seed: int = DEFAULT_SEED,
) -> list[Recording]:
    """Record the fixtures of ``source_ids`` (default: every sandbox agency) into ``out_dir``.

    Each source's folder is replaced whole. The page's HTTP parameters (page size, the
    incremental window) come from the source's YAML file in the registry.

    Raises:
        KeyError: a source has no sandbox twin (its fixture is written by hand).
    """
    agencies = [get_agency(s) for s in source_ids] if source_ids else list(AGENCIES.values())
    province = Province(seed)
    return [_record(province, agency, out_dir, day, seed) for agency in agencies]


def _record(province: Province, agency: Agency, out_dir: Path, day: date, seed: int) -> Recording:
    picked = pick_records(province, agency, day)
    with tempfile.TemporaryDirectory(prefix="record-") as scratch:
        config = SandboxConfig(Path(scratch), seed=seed)
        init_sandbox(config)
        engine = sa.create_engine(config.exchange_database_url)
        try:
            write_to_channel(config, engine, agency, day, [g.record for g in picked])
            page = _recorded_page(config, engine, agency, day)
        finally:
            engine.dispose()
    verdicts = {n: (g.defect.rule,) if g.defect else () for n, g in enumerate(picked, start=1)}
    files = {**page, EXPECTED_FILE: _expected_yaml(agency, day, seed, picked).encode()}
    folder = out_dir / agency.source_id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return Recording(agency.source_id, folder, tuple(files), verdicts)


def _recorded_page(
    config: SandboxConfig, engine: sa.Engine, agency: Agency, day: date
) -> dict[str, bytes]:
    """The delivery as the platform would receive it: file name → content."""
    channel = agency.channel
    if isinstance(channel, ApiChannel):
        return {PAGE_FILE: _json_bytes(_first_page(config, agency, day))}
    if isinstance(channel, TableChannel):
        return {TABLE_FILE: _json_bytes(_table_rows(engine, agency))}
    path = drops.drop_path(agency, day, config.drop_root)
    return {path.name: path.read_bytes()}


def _first_page_params(connector: HttpConnector, day: date) -> dict[str, Any]:
    """The query of the connector's first page request on a first run for ``day``."""
    pagination = connector.pagination
    if isinstance(pagination, PageNumberPagination):
        paging = {pagination.page_param: pagination.first_page}
        paging[pagination.size_param] = pagination.page_size
    elif isinstance(pagination, OffsetPagination):
        paging = {pagination.offset_param: 0, pagination.limit_param: pagination.limit}
    else:
        size = pagination.size_param
        paging = {size: pagination.page_size} if size else {}
    incremental = connector.incremental
    if incremental and incremental.until_param:
        paging[incremental.until_param] = window_end(day).isoformat()
    return {**connector.params, **paging}


def _first_page(config: SandboxConfig, agency: Agency, day: date) -> Any:
    channel = agency.channel
    assert isinstance(channel, ApiChannel)
    connector = get_source(agency.source_id).connector
    if not isinstance(connector, HttpConnector):
        raise ValueError(f"{agency.source_id}.yaml does not declare an http connector")
    calm = {a.source_id: Faults() for a in api_agencies()}
    with serve_in_thread(config, faults=calm) as server, requests.Session() as session:
        base_url = f"{server.base_url}/{channel.prefix}"
        token = api_token(config.seed, agency.source_id)
        if isinstance(connector.auth, TokenEndpointAuth):
            auth = connector.auth
            credentials = {
                auth.username_field: API_LOGIN,
                auth.password_field: api_password(config.seed, agency.source_id),
            }
            login = session.post(f"{base_url}{auth.path}", json=credentials, timeout=30)
            login.raise_for_status()
            token = login.json()[auth.token_field]
        answer = session.get(
            f"{base_url}{connector.path}",
            params=_first_page_params(connector, day),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()


def _table_rows(engine: sa.Engine, agency: Agency) -> dict[str, Any]:
    """The exchange table's column types (as SQL) and its rows, in cursor order."""
    channel = agency.channel
    assert isinstance(channel, TableChannel)
    table = exchange.exchange_table(agency, sa.MetaData())
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table).order_by(table.c[channel.cursor_column]))
        records = [{k: _plain(v) for k, v in row.items()} for row in rows.mappings()]
    return {"columns": {c.name: str(c.type) for c in table.columns}, "rows": records}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, Decimal):
        return str(value)
    return value


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()


def _expected_yaml(agency: Agency, day: date, seed: int, picked: list[GeneratedRecord]) -> str:
    lines = [
        f"# {agency.source_id}: one page recorded from the sandbox's own generator",
        f"# (hub sandbox record --source {agency.source_id} --date {day} --seed {seed}).",
        "# Re-record rather than edit. Per record ordinal (1 = the page's first record), the rules",
        "# it fails, from the sandbox's ground truth; [] = it loads.",
        f"day: {day.isoformat()}",
        "records:",
    ]
    for ordinal, generated in enumerate(picked, start=1):
        defect = generated.defect
        if defect is not None:
            verdict, note = f"[{defect.rule}]", f"{defect.document_no}: {defect.field} spoiled"
        else:
            document = generated.record["document_no"]
            verdict, note = "[]", document + (": decided late" if generated.late else "")
        lines.append(f"  {ordinal}: {verdict}  # {note}")
    return "\n".join(lines) + "\n"
