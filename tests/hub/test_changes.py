"""Status changes: records move, the log gets one row per move, and nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from hub.reconcile.changes import apply_status_changes
from hub.store.bulk import insert_frame
from hub.store.schema import RECORD_TABLES, status_change

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def _record(key: str, **subject: str) -> dict:
    return {
        "record_key": key,
        "document_no": f"杭市监罚〔2026〕{key[-3:]}号",
        "subject_name": subject.pop("subject_name"),
        "decision_date": date(2026, 3, 2),
        "authority_name": "杭州市市场监督管理局",
        "source_id": "test",
        "batch_id": 1,
        "raw_seq": 1,
        "received_at": NOW,
        "updated_at": NOW,
        "content_hash": "0" * 32,
        "version": 1,
        **subject,
    }


@pytest.fixture
def records(platform_engine: sa.Engine) -> sa.Engine:
    company, person, other = ("a" * 29 + n for n in ("001", "002", "003"))
    rows = [
        _record(company, subject_name="杭州鑫源科技有限公司", credit_code="91330106MA2KXXXX1L"),
        _record(person, subject_name="张伟", id_number="33010619850312421X"),
        _record(other, subject_name="宁波恒泰贸易有限公司", credit_code="91330201MA2CXXXX5Q"),
    ]
    with platform_engine.begin() as connection:
        insert_frame(connection, RECORD_TABLES["penalty"], pd.DataFrame(rows))
    return platform_engine


def _changes(*keys: str, status: str = "repaired") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_key": list(keys),
            "kind": "penalty",
            "new_status": status,
            "reason": "信用中国已修复",
            "decided_by": "credit_china",
            "effective_date": date(2026, 11, 19),
        }
    )


@pytest.mark.integration
def test_changes_move_records_and_log_a_masked_snapshot(records: sa.Engine) -> None:
    keys = ("a" * 29 + "001", "a" * 29 + "002")
    with records.begin() as connection:
        applied = apply_status_changes(connection, _changes(*keys), run_id=7)

    assert applied.count == 2
    with records.connect() as connection:
        logged = (
            connection.execute(sa.select(status_change).order_by(status_change.c.id))
            .mappings()
            .all()
        )
        statuses = dict(
            connection.execute(
                sa.select(RECORD_TABLES["penalty"].c.record_key, RECORD_TABLES["penalty"].c.status)
            ).all()
        )
    assert [row["id"] for row in logged] == list(range(applied.first_id, applied.last_id + 1))
    company, person = logged
    assert (company["subject_id"], company["region_code"]) == ("91330106MA2KXXXX1L", "330106")
    assert (person["subject_id"], person["region_code"]) == ("330106********421X", "330106")
    assert {row["previous_status"] for row in logged} == {"published"}
    assert {row["run_id"] for row in logged} == {7}
    assert person["document_no"] == "杭市监罚〔2026〕002号"
    assert statuses == {keys[0]: "repaired", keys[1]: "repaired", "a" * 29 + "003": "published"}


@pytest.mark.integration
def test_applying_the_same_changes_again_writes_nothing(records: sa.Engine) -> None:
    changes = _changes("a" * 29 + "003", "f" * 32)  # the second key is not on the platform
    with records.begin() as connection:
        first = apply_status_changes(connection, changes)
    with records.begin() as connection:
        second = apply_status_changes(connection, changes)

    assert (first.count, second.count) == (1, 0)
    with records.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(status_change)) == 1


@pytest.mark.integration
def test_a_record_moves_back_and_both_moves_are_logged(records: sa.Engine) -> None:
    key = "a" * 29 + "001"
    with records.begin() as connection:
        apply_status_changes(connection, _changes(key, status="repaired"))
        apply_status_changes(connection, _changes(key, status="published"))
    with records.connect() as connection:
        moves = connection.execute(
            sa.select(status_change.c.previous_status, status_change.c.new_status).order_by(
                status_change.c.id
            )
        ).all()
    assert moves == [("published", "repaired"), ("repaired", "published")]


def test_bad_changes_are_refused_with_the_reason() -> None:
    key = "a" * 32
    with pytest.raises(ValueError, match="appears twice"):
        apply_status_changes(None, pd.concat([_changes(key), _changes(key)]))
    with pytest.raises(ValueError, match="unknown record status"):
        apply_status_changes(None, _changes(key, status="deleted"))
    with pytest.raises(ValueError, match="lack the columns"):
        apply_status_changes(None, _changes(key).drop(columns="reason"))
