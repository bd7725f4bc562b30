"""The outbox is written with the change: one row per push target covering the record's region."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from hub.reconcile.changes import apply_status_changes
from hub.store.outbox_schema import outbox
from hub.store.schema import RECORD_TABLES, status_change
from tests.fanout.conftest import (
    GOV,
    Subject,
    change,
    expected_keys,
    insert_records,
    make_subjects,
)

pytestmark = pytest.mark.integration


def _outbox_by_target(engine: sa.Engine) -> dict[str, set[str]]:
    query = sa.select(outbox.c.target_id, status_change.c.record_key).join(
        status_change, outbox.c.status_change_id == status_change.c.id
    )
    found: dict[str, set[str]] = {}
    with engine.connect() as connection:
        for target_id, record_key in connection.execute(query):
            found.setdefault(target_id, set()).add(record_key)
    return found


def test_each_change_gets_one_outbox_row_per_push_target_covering_it(
    platform_engine: sa.Engine,
) -> None:
    # Every city of Zhejiang, a Shanghai subject, and a subject with neither code nor ID number.
    subjects = [*make_subjects(24), Subject("f" * 32, "none")]
    insert_records(platform_engine, subjects)
    applied = change(platform_engine, subjects)

    assert applied.count == 25
    expected = {target: keys for target, keys in expected_keys(subjects).items() if keys}
    assert _outbox_by_target(platform_engine) == expected
    with platform_engine.connect() as connection:
        rows = connection.execute(sa.select(outbox)).mappings().all()
        nowhere = connection.scalar(
            sa.select(sa.func.count())
            .select_from(status_change)
            .where(status_change.c.region_code.is_(None))
        )
    assert len(rows) == sum(len(keys) for keys in expected.values())
    assert len({(r["status_change_id"], r["target_id"]) for r in rows}) == len(rows)
    assert {(r["attempts"], r["acknowledged_at"], r["dead_at"]) for r in rows} == {(0, None, None)}
    assert nowhere == 1  # logged for the delta files, but no push target covers it

    # Applying the same changes again logs nothing and enqueues nothing.
    assert change(platform_engine, subjects).count == 0
    with platform_engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(outbox)) == len(rows)


def test_outbox_rows_roll_back_with_their_change(platform_engine: sa.Engine) -> None:
    subjects = make_subjects(6)
    insert_records(platform_engine, subjects)
    frame = pd.DataFrame(
        {
            "record_key": [s.record_key for s in subjects],
            "kind": "penalty",
            "new_status": "withdrawn",
            "reason": "处罚决定已撤销",
            "decided_by": "省市场监管局",
            "effective_date": pd.Timestamp("2026-11-19"),
        }
    )
    failing = pytest.raises(RuntimeError, match="the caller's transaction fails")
    with failing, platform_engine.begin() as connection:
        assert apply_status_changes(connection, frame).count == 6
        assert connection.scalar(sa.select(sa.func.count()).select_from(outbox)) > 0
        raise RuntimeError("the caller's transaction fails after the changes")

    record = RECORD_TABLES["penalty"]
    with platform_engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(outbox)) == 0
        assert connection.scalar(sa.select(sa.func.count()).select_from(status_change)) == 0
        assert set(connection.scalars(sa.select(record.c.status))) == {"published"}


def test_a_target_whose_regions_overlap_gets_each_change_once(
    platform_engine: sa.Engine, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(
        "targets:\n"
        "  - {id: zj_gov_service, name: 浙里办, kind: government_service,\n"
        "     regions: ['33', '3301', '330106'], delivery: push, connection: hub_target_gov}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("HUB_TARGETS_FILE", str(path))
    subjects = make_subjects(12)
    insert_records(platform_engine, subjects)
    change(platform_engine, subjects)
    assert _outbox_by_target(platform_engine) == {"zj_gov_service": expected_keys(subjects)[GOV]}
    with platform_engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(outbox)) == 11
