"""Findings are written when something about them changes, not every day they are seen again.

Every row update of the findings table is logged by a trigger the test adds, so what is counted
is what the database wrote, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from hub.reconcile.ledger import mark_pending
from hub.reconcile.report import build_report
from hub.reconcile.run import reconcile_day
from hub.store.reconcile_schema import reconcile_finding
from hub.store.schema import RECORD_TABLES
from tests.reconcile.conftest import DAY, ENVIRONMENT, RECORDS

# Friday 20 November 2026, then the next working days.
MONDAY, TUESDAY, WEDNESDAY = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)
OPEN = ["文号〔2026〕1号", "文号〔2026〕3号", "文号〔2026〕4号", "文号〔2026〕99号"]

_LOG_POSTGRESQL = (
    "CREATE TABLE finding_write (finding_key text NOT NULL)",
    """CREATE FUNCTION log_finding_write() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO finding_write VALUES (NEW.finding_key); RETURN NEW; END $$""",
    """CREATE TRIGGER finding_written AFTER UPDATE ON reconcile_finding
    FOR EACH ROW EXECUTE FUNCTION log_finding_write()""",
)
_LOG_SQLITE = (
    "CREATE TABLE finding_write (finding_key TEXT NOT NULL)",
    """CREATE TRIGGER finding_written AFTER UPDATE ON reconcile_finding
    BEGIN INSERT INTO finding_write VALUES (new.finding_key); END""",
)


@pytest.fixture
def writes(platform: sa.Engine) -> sa.Engine:
    """The platform with every row update of ``reconcile_finding`` logged in ``finding_write``."""
    statements = _LOG_POSTGRESQL if platform.dialect.name == "postgresql" else _LOG_SQLITE
    with platform.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    return platform


def _written(engine: sa.Engine) -> list[str]:
    """The finding keys updated since the last call, one per row written; the log is emptied."""
    with engine.begin() as connection:
        keys = connection.scalars(sa.text("SELECT finding_key FROM finding_write")).all()
        connection.execute(sa.text("DELETE FROM finding_write"))
    return sorted(keys)


def _compare_every_record_again(engine: sa.Engine) -> None:
    """Have the next run compare every record, as if each system had said something about it."""
    with engine.begin() as connection:
        mark_pending(connection, sa.select(RECORD_TABLES["penalty"].c.record_key))


def _open(engine: sa.Engine, day: date) -> dict[str, tuple]:
    """Document number → (whose move, age in working days, last changed) in ``day``'s report."""
    with engine.connect() as connection:
        report = build_report(connection, day, reminder_days=10)
        last_changed = dict(
            connection.execute(
                sa.select(reconcile_finding.c.document_no, reconcile_finding.c.last_changed).where(
                    reconcile_finding.c.resolved_on.is_(None)
                )
            ).all()
        )
    return {
        row.document_no: (row.responsible, row.age_workdays, last_changed[row.document_no])
        for row in report.open_findings.itertuples()
    }


@pytest.mark.integration
def test_a_findings_age_grows_with_no_write(writes, systems) -> None:
    reconcile_day(DAY, engine=writes, systems=systems)
    _written(writes)
    figures = {}
    for day in (MONDAY, TUESDAY, WEDNESDAY):
        if day == TUESDAY:
            _compare_every_record_again(writes)
        summary = reconcile_day(day, engine=writes, systems=systems)
        assert summary.status == "succeeded"
        # Seen again, compared again (Tuesday) or not: nothing about them is written.
        assert _written(writes) == []
        figures[day] = _open(writes, day)
        by_class = summary.findings
        assert (by_class["opened"], by_class["resolved"], by_class["open"]) == (0, 0, 4)

    assert sorted(figures[WEDNESDAY]) == OPEN
    for document_no in OPEN:
        ages = [figures[day][document_no][1] for day in (MONDAY, TUESDAY, WEDNESDAY)]
        assert ages == [1, 2, 3]
        assert {figures[day][document_no][2] for day in figures} == {DAY}


@pytest.mark.integration
def test_a_finding_whose_responsible_party_changes_is_written_once_that_day(
    writes, systems
) -> None:
    reconcile_day(DAY, engine=writes, systems=systems)
    assert _open(writes, DAY)["文号〔2026〕4号"] == (ENVIRONMENT, 0, DAY)
    # The department's corrected record names its district office as the decider.
    office = "杭州市生态环境局西湖分局"
    penalty = RECORD_TABLES["penalty"]
    with writes.begin() as connection:
        connection.execute(
            penalty.update()
            .where(penalty.c.record_key == RECORDS["unconfirmed"]["record_key"])
            .values(authority_name=office)
        )
    _compare_every_record_again(writes)
    _written(writes)

    reconcile_day(MONDAY, engine=writes, systems=systems)
    assert _written(writes) == [
        f"platform_repaired_unconfirmed:{RECORDS['unconfirmed']['record_key']}"
    ]
    assert _open(writes, MONDAY)["文号〔2026〕4号"] == (office, 1, MONDAY)

    _compare_every_record_again(writes)
    reconcile_day(TUESDAY, engine=writes, systems=systems)
    assert _written(writes) == []
    # Still the same finding: first seen on Friday, two working days old.
    assert _open(writes, TUESDAY)["文号〔2026〕4号"] == (office, 2, MONDAY)
