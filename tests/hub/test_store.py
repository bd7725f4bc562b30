"""The platform store on real SQLite and PostgreSQL: migrations, reference data, upsert."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.collect.upsert import UpsertCounts, upsert_records
from hub.core.identity import content_hashes, record_keys
from hub.core.model import RecordKind, field_names
from hub.store.schema import RECORD_TABLES, department, record_history
from hub.store.tables import metadata

pytestmark = pytest.mark.integration


def test_migrations_build_exactly_the_declared_schema(platform_engine: sa.Engine) -> None:
    with platform_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []


def test_reference_data_holds_the_seed_departments(platform_engine: sa.Engine) -> None:
    with platform_engine.connect() as connection:
        names = connection.scalars(sa.select(department.c.name).order_by(department.c.code)).all()
        units = connection.scalars(
            sa.text("SELECT unit FROM repair_responsibility WHERE item = '失信被执行人信息'")
        ).all()
    assert len(names) == 41
    assert names[0] == "省委宣传部" and names[-1] == "宁波海关"
    assert "省市场监管局" in names
    assert sorted(units) == ["省法院", "省经济研究院"]


def _penalties(
    documents: list[str], fine: float, batch_id: int, exported_on: date | None = None
) -> pd.DataFrame:
    records = pd.DataFrame(
        {name: None for name in field_names(RecordKind.PENALTY)}, index=range(len(documents))
    )
    records["document_no"] = documents
    records["subject_name"] = "杭州某某有限公司"
    records["credit_code"] = "91310110666007217T"
    records["authority_code"] = "11330000002482410Y"
    records["fine_amount"] = fine
    records["decision_date"] = pd.Timestamp("2026-11-03")
    now = datetime(2026, 11, 4, 9, tzinfo=UTC)
    return records.assign(
        record_key=record_keys(RecordKind.PENALTY, records),
        source_id="test",
        batch_id=batch_id,
        raw_seq=range(len(documents)),
        received_at=now,
        updated_at=now,
        exported_on=exported_on,
        content_hash=content_hashes(RecordKind.PENALTY, records),
        version=1,
    )


def test_upsert_is_idempotent_and_keeps_corrected_versions(platform_engine: sa.Engine) -> None:
    table = RECORD_TABLES[RecordKind.PENALTY]
    first = _penalties(["罚〔2026〕1号", "罚〔2026〕2号"], 0.2, batch_id=1)
    with platform_engine.begin() as connection:
        assert upsert_records(connection, RecordKind.PENALTY, first) == UpsertCounts(2, 0, 0)
    with platform_engine.begin() as connection:
        assert upsert_records(connection, RecordKind.PENALTY, first) == UpsertCounts(0, 0, 2)
    corrected = _penalties(["罚〔2026〕1号", "罚〔2026〕3号"], 0.5, batch_id=2)
    with platform_engine.begin() as connection:
        assert upsert_records(connection, RecordKind.PENALTY, corrected) == UpsertCounts(1, 1, 0)

    with platform_engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                table.c.document_no,
                table.c.fine_amount,
                table.c.version,
                table.c.batch_id,
                table.c.status,
            ).order_by(table.c.document_no)
        ).all()
        history = connection.execute(sa.select(record_history)).mappings().all()
    assert [
        (r.document_no, float(r.fine_amount), r.version, r.batch_id, r.status) for r in rows
    ] == [
        ("罚〔2026〕1号", 0.5, 2, 2, "published"),
        ("罚〔2026〕2号", 0.2, 1, 1, "published"),
        ("罚〔2026〕3号", 0.5, 1, 2, "published"),
    ]
    assert len(history) == 1
    old = json.loads(history[0]["data"])
    assert (old["document_no"], float(old["fine_amount"]), history[0]["version"]) == (
        "罚〔2026〕1号",
        0.2,
        1,
    )
    assert (history[0]["batch_id"], history[0]["superseded_by_batch"]) == (1, 2)


def test_a_resent_unchanged_record_writes_no_canonical_row(platform_engine: sa.Engine) -> None:
    table = RECORD_TABLES[RecordKind.PENALTY]
    documents = ["罚〔2026〕1号", "罚〔2026〕2号"]
    with platform_engine.begin() as connection:
        upsert_records(connection, RecordKind.PENALTY, _penalties(documents, 0.2, batch_id=1))
    postgresql = platform_engine.dialect.name == "postgresql"
    # xmin: the transaction that wrote the row version; any write, even of equal values, moves it.
    written_by = [sa.literal_column("xmin::text")] if postgresql else []
    stored = sa.select(table.c.batch_id, table.c.updated_at, *written_by).order_by(
        table.c.document_no
    )
    with platform_engine.connect() as connection:
        before = connection.execute(stored).all()
    # The page is sent again a day later, with the second record corrected.
    resent = pd.concat(
        [_penalties(documents[:1], 0.2, batch_id=2), _penalties(documents[1:], 0.5, batch_id=2)]
    ).assign(updated_at=datetime(2026, 11, 5, 9, tzinfo=UTC))
    with platform_engine.begin() as connection:
        counts = upsert_records(connection, RecordKind.PENALTY, resent)
    with platform_engine.connect() as connection:
        after = connection.execute(stored).all()
        history = connection.scalars(sa.select(record_history.c.record_key)).all()

    assert counts == UpsertCounts(updated=1, unchanged=1)
    assert after[0] == before[0]
    assert (after[1].batch_id, after[1].updated_at) == (2, datetime(2026, 11, 5, 9, tzinfo=UTC))
    assert history == resent["record_key"].tolist()[1:]


def test_a_replayed_earlier_version_does_not_undo_a_correction(
    platform_engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    table = RECORD_TABLES[RecordKind.PENALTY]
    documents = ["罚〔2026〕1号", "罚〔2026〕2号"]
    with platform_engine.begin() as connection:
        upsert_records(connection, RecordKind.PENALTY, _penalties(documents, 0.2, batch_id=1))
    with platform_engine.begin() as connection:
        upsert_records(connection, RecordKind.PENALTY, _penalties(documents[:1], 0.5, batch_id=2))
    # The agency's export replays both original rows: one was corrected since, one was not.
    replayed = _penalties(documents, 0.2, batch_id=3)
    with platform_engine.begin() as connection:
        counts = upsert_records(connection, RecordKind.PENALTY, replayed)
    # A third version, never seen before, is a correction again.
    with platform_engine.begin() as connection:
        again = upsert_records(connection, RecordKind.PENALTY, _penalties(documents[:1], 0.7, 4))

    assert counts == UpsertCounts(unchanged=1, outdated=1)
    assert again == UpsertCounts(updated=1)
    with platform_engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                table.c.document_no, table.c.fine_amount, table.c.version, table.c.batch_id
            ).order_by(table.c.document_no)
        ).all()
        history = connection.execute(sa.select(record_history.c.batch_id)).scalars().all()
    assert [(r.document_no, float(r.fine_amount), r.version, r.batch_id) for r in rows] == [
        ("罚〔2026〕1号", 0.7, 3, 4),
        ("罚〔2026〕2号", 0.2, 1, 1),
    ]
    assert sorted(history) == [1, 2]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "outdated version not applied: the record was corrected since "
        "[source=test batch=3 seq=0 document_no=罚〔2026〕1号]"
    ]


def test_an_export_dropped_late_does_not_undo_a_later_exported_correction(
    platform_engine: sa.Engine,
) -> None:
    table = RECORD_TABLES[RecordKind.PENALTY]
    documents = ["罚〔2026〕1号", "罚〔2026〕2号"]
    # The file of 27 May was rejected in transfer; the correction of 28 May loaded first.
    with platform_engine.begin() as connection:
        upsert_records(
            connection, RecordKind.PENALTY, _penalties(documents[:1], 0.5, 1, date(2026, 5, 28))
        )
    # The agency drops the file of 27 May again: its original version was never seen here.
    with platform_engine.begin() as connection:
        late = upsert_records(
            connection, RecordKind.PENALTY, _penalties(documents, 0.2, 2, date(2026, 5, 27))
        )
    # An export of 29 May changes the record again: a correction.
    with platform_engine.begin() as connection:
        later = upsert_records(
            connection, RecordKind.PENALTY, _penalties(documents[:1], 0.7, 3, date(2026, 5, 29))
        )

    assert late == UpsertCounts(inserted=1, outdated=1)
    assert later == UpsertCounts(updated=1)
    with platform_engine.connect() as connection:
        rows = connection.execute(
            sa.select(table.c.document_no, table.c.fine_amount, table.c.exported_on).order_by(
                table.c.document_no
            )
        ).all()
    assert [(r.document_no, float(r.fine_amount), r.exported_on) for r in rows] == [
        ("罚〔2026〕1号", 0.7, date(2026, 5, 29)),
        ("罚〔2026〕2号", 0.2, date(2026, 5, 27)),
    ]
