"""The contracts every agency source gets for free, as the Singer SDK gives every tap its tests.

Every YAML file in the source registry (``HUB_SOURCES_DIR``, default ``mappings/sources/``) is
found when the tests are collected, so adding a source adds its tests. Each contract runs against
the source's recorded page (``tests/fixtures/sources/<source id>/``, see ``tests/sources/
recorded.py``), delivered over the source's real transport: its API on loopback, its exchange
table in SQLite (and MariaDB), its file dropped into a folder. No sandbox twin is needed; a source
without a recorded page fails with a message saying what to record and where.

Run them: ``.venv/bin/python -m pytest -q tests/sources -p no:cacheprovider``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from connectors import open_reader
from connectors.base import RawPage, ReadRequest, SourceError
from connectors.connections import env_var_name, from_environment
from connectors.files import ARCHIVE
from connectors.specs import (
    FileConnector,
    HttpConnector,
    OffsetPagination,
    PageNumberPagination,
    SqlConnector,
    TokenEndpointAuth,
)
from hub.collect.mapping import map_page
from hub.collect.run import collect_source, window_end
from hub.collect.sources import (
    SourceConfigError,
    SourceSpec,
    agency_pools,
    get_source,
    load_source_file,
)
from hub.collect.validate import validate
from hub.core.identity import content_hashes, record_keys
from hub.core.model import FieldType, RecordKind, fields_of
from hub.core.settings import settings
from hub.store.schema import RECORD_TABLES, ingest_batch, quarantine, raw_record
from tests.sources.recorded import (
    TRANSPORTS,
    Delivery,
    MissingRecordingError,
    Recorded,
    as_text,
    delivered,
    load_recorded,
    sent_records,
)

pytestmark = pytest.mark.integration

SOURCES_DIR = settings().sources_dir
SOURCE_IDS = [path.stem for path in sorted(SOURCES_DIR.glob("*.yaml"))]


def _connector_type(source_id: str) -> str | None:
    """The connector type a source file declares, read leniently (a broken file fails later)."""
    try:
        data = yaml.safe_load((SOURCES_DIR / f"{source_id}.yaml").read_text(encoding="utf-8"))
        return str(data["connector"]["type"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None


READ_CASES = [
    pytest.param(source_id, transport, id=f"{source_id}-{transport}")
    for source_id in SOURCE_IDS
    for transport in TRANSPORTS.get(_connector_type(source_id) or "", ("unknown",))
]
per_source = pytest.mark.parametrize("source_id", SOURCE_IDS)


def source_spec(source_id: str) -> SourceSpec:
    """The source as its file declares it; fails the test with the problem if it does not load."""
    try:
        return load_source_file(SOURCES_DIR / f"{source_id}.yaml")
    except SourceConfigError as exc:
        problem = f"{source_id}.yaml does not load: {exc}"
    pytest.fail(problem, pytrace=False)


def recorded_page(source_id: str) -> Recorded:
    """The source's recorded page; fails the test saying what to record and where if missing."""
    spec = source_spec(source_id)
    try:
        return load_recorded(spec)
    except MissingRecordingError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)


@contextmanager
def connected(
    recorded: Recorded,
    place: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str | None = None,
) -> Iterator[Delivery]:
    """Deliver the recorded page and configure the connection the source's YAML names
    (``AIRFLOW_CONN_<ID>``) to reach it, for the block."""
    with delivered(recorded, place, database_url) as delivery:
        variable = env_var_name(recorded.spec.connector.connection)
        monkeypatch.setenv(variable, json.dumps(delivery.connection))
        yield delivery


def read_pages(recorded: Recorded) -> list[RawPage]:
    """Every page the source's real connector reads on a first run for the recorded day."""
    reader = open_reader(recorded.spec.id, recorded.spec.connector, from_environment)
    return list(reader.pages(ReadRequest(window_end=window_end(recorded.expected.day))))


@dataclass(frozen=True)
class Mapped:
    """A delivery in canonical form, with the problems the rules found, indexed by ordinal."""

    records: pd.DataFrame
    problems: pd.DataFrame
    drift: list[str]

    def verdicts(self) -> dict[int, frozenset[str]]:
        """Per record ordinal, the rules it fails."""
        return {
            int(ordinal): frozenset(self.problems.loc[self.problems["row"] == ordinal, "rule"])
            for ordinal in self.records.index
        }

    def loaded(self) -> pd.DataFrame:
        """The records no rule quarantines."""
        return self.records[~self.records.index.isin(self.problems["row"])]


def mapped(spec: SourceSpec, pages: list[RawPage]) -> Mapped:
    """Map and validate every page as collection does; records and problems by ordinal."""
    if not pages:
        pytest.fail(f"source {spec.id}: the connector read no page", pytrace=False)
    records, problems, drift = [], [], []
    offset = 0
    for page in pages:
        frame = page.frame.reset_index(drop=True)
        result = map_page(spec, frame)
        found = pd.concat(
            [result.problems, *validate(spec.kind, result.records, result.problems)],
            ignore_index=True,
        )
        records.append(result.records.set_axis(result.records.index + offset + 1))
        problems.append(found.assign(row=found["row"] + offset + 1))
        drift += [d for d in result.drift if d not in drift]
        offset += len(frame)
    return Mapped(pd.concat(records), pd.concat(problems, ignore_index=True), drift)


@dataclass(frozen=True)
class Received:
    """What a source's connector read from its recorded page, and that page in canonical form."""

    pages: list[RawPage]
    canonical: Mapped


@pytest.fixture(scope="session")
def received(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Received]:
    """Each source's recorded page read by its connector (tables from SQLite) and mapped, once
    per session, for the contracts about what the page maps to."""
    cache: dict[str, Received] = {}

    def read(source_id: str) -> Received:
        if source_id not in cache:
            recorded = recorded_page(source_id)
            place = tmp_path_factory.mktemp(source_id)
            with (
                pytest.MonkeyPatch.context() as monkeypatch,
                connected(recorded, place, monkeypatch),
            ):
                pages = read_pages(recorded)
            cache[source_id] = Received(pages, mapped(recorded.spec, pages))
        return cache[source_id]

    return read


def _comparable(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, str | None]]:
    return [{column: as_text(row.get(column)) for column in columns} for row in rows]


def _first_page_query(connector: HttpConnector, recorded: Recorded) -> dict[str, str]:
    """The query a first run's first page request must carry, by the source's declarations."""
    pagination = connector.pagination
    query = dict(connector.params)
    if isinstance(pagination, PageNumberPagination):
        query[pagination.page_param] = str(pagination.first_page)
        query[pagination.size_param] = str(pagination.page_size)
    elif isinstance(pagination, OffsetPagination):
        query[pagination.offset_param] = "0"
        query[pagination.limit_param] = str(pagination.limit)
    elif pagination.size_param:
        query[pagination.size_param] = str(pagination.page_size)
    incremental = connector.incremental
    if incremental and incremental.until_param:
        query[incremental.until_param] = window_end(recorded.expected.day).isoformat()
    return query


def _expected_cursor(recorded: Recorded, sent: list[dict[str, Any]]) -> str | None:
    """The cursor after the page: its greatest cursor value, where the source keeps one."""
    connector = recorded.spec.connector
    if isinstance(connector, SqlConnector):
        values = [row[connector.cursor_column] for row in sent]
    elif isinstance(connector, HttpConnector) and connector.incremental:
        values = [str(row[connector.incremental.cursor_field]) for row in sent]
    else:
        return None
    present = [v for v in values if v is not None]
    return str(max(present)) if present else None


@per_source
def test_source_file_loads_and_validates(source_id: str) -> None:
    spec = load_source_file(SOURCES_DIR / f"{source_id}.yaml")
    assert spec.id == source_id
    assert get_source(source_id, SOURCES_DIR) == spec
    assert agency_pools(SOURCES_DIR)[spec.agency_pool.name] == spec.agency_pool.slots


@per_source
def test_maps_only_canonical_fields(source_id: str) -> None:
    data = yaml.safe_load((SOURCES_DIR / f"{source_id}.yaml").read_text(encoding="utf-8"))
    kind = RecordKind(data["kind"])
    fields = {f.name: f for f in fields_of(kind)}
    mapping = data["mapping"]
    mapped_fields = set(mapping["fields"])
    assert mapped_fields <= set(fields), (
        f"{source_id}.yaml maps fields {kind} records do not have: "
        f"{sorted(mapped_fields - set(fields))}"
    )
    code_fields = {name for name, f in fields.items() if f.type is FieldType.CODE}
    assert set(mapping.get("codes") or {}) <= code_fields, "codes: are only for code fields"
    mandatory = {name for name, f in fields.items() if f.mandatory}
    assert mandatory <= mapped_fields, (
        f"{source_id}.yaml leaves mandatory fields unmapped, so every record would be "
        f"quarantined: {sorted(mandatory - mapped_fields)}"
    )
    columns = {v if isinstance(v, str) else v.get("column") for v in mapping["fields"].values()}
    assert not columns & set(mapping.get("ignore") or ()), "a column is both mapped and ignored"


@per_source
def test_has_a_recorded_page(source_id: str) -> None:
    recorded = recorded_page(source_id)
    sent = sent_records(recorded)
    expected = recorded.expected
    assert len(sent) == len(expected.verdicts), (
        f"expected.yaml names {len(expected.verdicts)} records, the page holds {len(sent)}"
    )
    texts = [value for row in sent for value in row.values() if isinstance(value, str)]
    assert any(not text.isascii() for text in texts), "the page holds no non-ASCII text"
    assert expected.quarantined, "no record of the page is one a rule quarantines"
    assert len(expected.quarantined) < len(sent), "no record of the page loads"


@pytest.mark.parametrize(("source_id", "transport"), READ_CASES)
def test_reads_the_page_through_its_connector(
    source_id: str,
    transport: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    recorded = recorded_page(source_id)
    database_url = request.getfixturevalue("mariadb_url") if transport == "mariadb" else None
    with connected(recorded, tmp_path, monkeypatch, database_url) as delivery:
        try:
            pages, failure = read_pages(recorded), None
        except SourceError as exc:
            pages, failure = [], f"{exc}; requests: {delivery.api.seen if delivery.api else '-'}"
    if failure:
        pytest.fail(f"reading the recorded page failed: {failure}", pytrace=False)
    assert [page.error for page in pages if page.error] == []
    sent = sent_records(recorded)
    got = [row for page in pages for row in page.frame.to_dict("records")]
    columns = list(dict.fromkeys(c for page in pages for c in page.frame.columns))
    assert set(columns) == {c for row in sent for c in row}
    assert _comparable(got, columns) == _comparable(sent, columns)
    assert pages[-1].cursor == _expected_cursor(recorded, sent)
    connector = recorded.spec.connector
    if isinstance(connector, HttpConnector):
        assert delivery.api is not None
        calls = [(seen.method, seen.path) for seen in delivery.api.seen]
        auth = connector.auth
        login = [("POST", f"/agency{auth.path}")] if isinstance(auth, TokenEndpointAuth) else []
        assert calls == [*login, ("GET", f"/agency{connector.path}")]
        assert delivery.api.seen[-1].query == _first_page_query(connector, recorded)
    if isinstance(connector, FileConnector):
        assert [page.file.path.name for page in pages] == [f.name for f in recorded.files]
        if connector.name_date_format:
            assert all(page.file.exported_on is not None for page in pages)


@per_source
def test_maps_without_unexpected_drift(source_id: str, received: Callable[[str], Received]) -> None:
    recorded = recorded_page(source_id)
    assert received(source_id).canonical.drift == list(recorded.expected.drift)


@per_source
def test_rules_give_the_expected_verdicts(
    source_id: str, received: Callable[[str], Received]
) -> None:
    recorded = recorded_page(source_id)
    result = received(source_id).canonical
    verdicts = result.verdicts()
    expected = recorded.expected.verdicts
    wrong = []
    for ordinal in sorted(set(verdicts) | set(expected)):
        want, got = expected.get(ordinal, frozenset()), verdicts.get(ordinal, frozenset())
        if want != got:
            messages = result.problems.loc[result.problems["row"] == ordinal, "message"]
            document = result.records["document_no"].get(ordinal)
            wrong.append(
                f"record {ordinal} ({document}): expected {sorted(want) or 'loads'}, the rules "
                f"say {sorted(got) or 'loads'} {list(messages)}"
            )
    assert not wrong, "\n".join(wrong)


@per_source
def test_identity_is_stable(source_id: str, received: Callable[[str], Received]) -> None:
    recorded = recorded_page(source_id)
    spec, delivery = recorded.spec, received(source_id)
    kind = spec.kind
    loaded = delivery.canonical.loaded()
    assert loaded.index.size, "no record loads"
    keys = dict(zip(loaded.index, record_keys(kind, loaded), strict=True))
    hashes = dict(zip(loaded.index, content_hashes(kind, loaded), strict=True))
    assert all(re.fullmatch("[0-9a-f]{32}", key) for key in keys.values())
    # Mapped again, the same records delivered in reverse order, their columns too, keep their
    # keys and hashes.
    again = []
    offset = 0
    for page in delivery.pages:
        flipped = page.frame.iloc[::-1, ::-1].reset_index(drop=True)
        records = map_page(spec, flipped).records
        size = len(records)
        again.append(records.set_axis([offset + size - row for row in records.index]))
        offset += size
    remapped = pd.concat(again).loc[loaded.index]
    assert dict(zip(loaded.index, record_keys(kind, remapped), strict=True)) == keys
    assert dict(zip(loaded.index, content_hashes(kind, remapped), strict=True)) == hashes


@per_source
def test_collects_into_a_fresh_platform(
    source_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_platform: sa.Engine,
    received: Callable[[str], Received],
) -> None:
    recorded = recorded_page(source_id)
    spec, expected = recorded.spec, recorded.expected
    received_at = datetime.combine(expected.day, time(20), tzinfo=settings().timezone)
    with connected(recorded, tmp_path, monkeypatch) as delivery:
        summary = collect_source(
            source_id,
            expected.day,
            engine=fresh_platform,
            resolve=from_environment,
            received_at=received_at,
        )
    n, bad = len(expected.verdicts), len(expected.quarantined)
    assert (summary.status, summary.read, summary.quarantined) == ("succeeded", n, bad)
    assert summary.read == summary.loaded + summary.quarantined
    with fresh_platform.connect() as connection:
        batch = connection.execute(
            sa.select(ingest_batch).where(ingest_batch.c.id == summary.batch_id)
        ).one()
        outcomes = dict(
            connection.execute(
                sa.select(raw_record.c.seq, raw_record.c.outcome).where(
                    raw_record.c.batch_id == summary.batch_id
                )
            ).all()
        )
        quarantined = connection.execute(
            sa.select(quarantine).where(quarantine.c.batch_id == summary.batch_id)
        ).all()
        record_table = RECORD_TABLES[spec.kind]
        stored_keys = connection.scalars(
            sa.select(record_table.c.record_key).where(record_table.c.source_id == source_id)
        ).all()
    assert (batch.status, batch.n_read, batch.n_quarantined) == ("succeeded", n, bad)
    assert Counter(outcomes.values()) == Counter(loaded=n - bad, quarantined=bad)
    assert {seq + 1 for seq, outcome in outcomes.items() if outcome == "quarantined"} == (
        expected.quarantined
    )
    assert {(row.raw_seq + 1, row.rule) for row in quarantined} == {
        (ordinal, rule) for ordinal, rules in expected.verdicts.items() for rule in rules
    }
    canonical = received(source_id).canonical
    for row in quarantined:
        assert row.source_id == source_id
        assert row.message.startswith(
            f"source {source_id}, batch {summary.batch_id} record {row.raw_seq}"
        ), row.message
        document = canonical.records["document_no"].get(row.raw_seq + 1)
        assert row.document_no == (None if pd.isna(document) else document)
    loaded = canonical.loaded()
    assert sorted(stored_keys) == sorted(set(record_keys(spec.kind, loaded)))
    if delivery.drop_folder is not None:
        archive = delivery.drop_folder / ARCHIVE / expected.day.isoformat()
        assert sorted(p.name for p in archive.iterdir()) == sorted(f.name for f in recorded.files)
        assert not any(delivery.drop_folder.glob(spec.connector.pattern))
