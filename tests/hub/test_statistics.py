"""Planner statistics refreshed for the tables a step reads, when they went stale (PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.db import analyze_stale
from hub.store.schema import department, status_change


def test_a_table_filled_since_its_last_analysis_is_analysed_once(
    platform_engine: sa.Engine,
) -> None:
    with platform_engine.begin() as connection:
        first = analyze_stale(connection, [department, status_change])
    with platform_engine.begin() as connection:
        again = analyze_stale(connection, [department, status_change])

    if platform_engine.dialect.name == "postgresql":
        # The reference data loaded the departments; nobody analysed them yet.
        assert "department" in first
    else:
        assert first == []
    assert again == []
