"""The daily reconciliation on a platform database, against both outside systems' feeds.

The outside systems here are an in-memory double that serves facts page by page with a cursor and
keeps what was pushed to it; the loopback sandbox systems are exercised in the end-to-end test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa

from hub.ledger import FACT_COLUMNS
from hub.reconcile import reconcile_day
from hub.store.bulk import insert_frame
from hub.store.reconcile_schema import reconcile_finding, repair_fact, repair_push
from hub.store.schema import RECORD_TABLES, status_change

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 20)
MARKET = "杭州市市场监督管理局"
ENVIRONMENT = "杭州市生态环境局"


@dataclass
class Page:
    facts: pd.DataFrame
    cursor: str


@dataclass
class Outcome:
    accepted: int
    rejected: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Systems:
    """Credit China and GSXT as the reconciliation sees them, held in memory."""

    facts: dict[str, list[dict]] = field(default_factory=lambda: {"credit_china": [], "gsxt": []})
    pushed: dict[str, list[dict]] = field(default_factory=lambda: {"credit_china": [], "gsxt": []})

    def decide(self, system: str, record: dict, decision: str, when: datetime) -> None:
        n = len(self.facts[system]) + 1
        self.facts[system].append(
            {
                "system": system,
                "external_id": f"{system}-{n}",
                "kind": "penalty",
                "document_no": record["document_no"],
                "credit_code": record.get("credit_code"),
                "id_number": record.get("id_number"),
                "subject_name": record["subject_name"],
                "authority_name": record["authority_name"],
                "decision": decision,
                "decided_at": when,
                "payload": "{}",
            }
        )

    def fetch(self, system: str, since: str | None):
        start = int(since or 0)
        facts = self.facts[system][start:]
        frame = pd.DataFrame(facts, columns=list(FACT_COLUMNS))
        yield Page(frame, str(start + len(facts)))

    def push(self, system: str, facts: pd.DataFrame) -> Outcome:
        self.pushed[system] += facts.to_dict("records")
        return Outcome(len(facts))


def _record(n: int, authority: str, decided: date, **extra) -> dict:
    subject = extra.pop(
        "subject", {"credit_code": f"91330106MA2K{n:05d}X", "subject_name": f"公司{n}"}
    )
    return {
        "record_key": f"{n:032x}",
        "document_no": f"文号〔2026〕{n}号",
        "authority_name": authority,
        "decision_date": decided,
        "penalty_categories": "罚款",
        "violation_type": "未按规定申报",
        "source_id": "test",
        "batch_id": 1,
        "raw_seq": n,
        "received_at": datetime(2026, 1, 1, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
        "content_hash": "0" * 32,
        "version": 1,
        **subject,
        **extra,
    }


RECENT = date(2026, 5, 6)
RECORDS = {
    "gsxt_only": _record(1, MARKET, RECENT),
    "cc_repaired": _record(2, ENVIRONMENT, RECENT),
    "cc_only_market": _record(3, MARKET, RECENT),
    "unconfirmed": _record(4, ENVIRONMENT, RECENT, status="repaired"),
    "expired": _record(5, ENVIRONMENT, date(2023, 1, 10)),
    "person": _record(
        6, ENVIRONMENT, RECENT, subject={"id_number": "33010619850312421X", "subject_name": "张伟"}
    ),
    "revoked": _record(7, ENVIRONMENT, RECENT, status="repaired"),
    "untouched": _record(8, ENVIRONMENT, RECENT),
}
AT = datetime(2026, 11, 19, 10, 30, tzinfo=SHANGHAI)


@pytest.fixture
def platform(platform_engine: sa.Engine) -> sa.Engine:
    rows = pd.DataFrame(list(RECORDS.values()))
    rows["status"] = rows["status"].fillna("published")
    with platform_engine.begin() as connection:
        insert_frame(connection, RECORD_TABLES["penalty"], rows)
    return platform_engine


@pytest.fixture
def systems() -> Systems:
    systems = Systems()
    systems.decide("gsxt", RECORDS["gsxt_only"], "repaired", AT)
    systems.decide("credit_china", RECORDS["cc_repaired"], "repaired", AT)
    systems.decide("credit_china", RECORDS["cc_only_market"], "repaired", AT)
    systems.decide("credit_china", RECORDS["person"], "repaired", AT)
    systems.decide("credit_china", RECORDS["revoked"], "repaired", AT.replace(day=1))
    systems.decide("credit_china", RECORDS["revoked"], "revoked", AT)
    unknown = _record(99, "杭州市税务局", RECENT)
    systems.decide("credit_china", unknown, "repaired", AT)
    return systems


def _findings(engine: sa.Engine) -> pd.DataFrame:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(reconcile_finding)).mappings().all()
    return pd.DataFrame(rows).sort_values(["finding_class", "document_no"], ignore_index=True)


def _statuses(engine: sa.Engine) -> dict[str, str]:
    table = RECORD_TABLES["penalty"]
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table.c.document_no, table.c.status)).all()
    return {doc: status for doc, status in rows}


@pytest.mark.integration
def test_every_finding_class_with_its_action_and_whose_move_it_is(platform, systems) -> None:
    summary = reconcile_day(DAY, engine=platform, systems=systems)

    assert summary.status == "succeeded"
    assert summary.fetched == {"credit_china": 6, "gsxt": 1}
    assert summary.unmatched_facts == 1
    found = _findings(platform)
    by_doc = {(row.finding_class, row.document_no): row for row in found.itertuples()}
    assert set(by_doc) == {
        ("repaired_in_one_system", "文号〔2026〕1号"),
        ("repaired_in_one_system", "文号〔2026〕3号"),
        ("repaired_still_published", "文号〔2026〕1号"),
        ("repaired_still_published", "文号〔2026〕2号"),
        ("repaired_still_published", "文号〔2026〕6号"),
        ("platform_repaired_unconfirmed", "文号〔2026〕4号"),
        ("platform_repaired_unconfirmed", "文号〔2026〕7号"),
        ("expired_still_published", "文号〔2026〕5号"),
        ("unknown_record", "文号〔2026〕99号"),
    }
    # Whose move it is: the lagging system, the deciding department, or the platform itself.
    assert by_doc[("repaired_in_one_system", "文号〔2026〕1号")].responsible == "信用中国"
    assert by_doc[("repaired_in_one_system", "文号〔2026〕3号")].responsible == MARKET
    assert by_doc[("platform_repaired_unconfirmed", "文号〔2026〕4号")].responsible == ENVIRONMENT
    assert by_doc[("unknown_record", "文号〔2026〕99号")].responsible == "杭州市税务局"
    open_findings = {k for k, row in by_doc.items() if pd.isna(row.resolved_on)}
    assert open_findings == {
        ("repaired_in_one_system", "文号〔2026〕1号"),
        ("repaired_in_one_system", "文号〔2026〕3号"),
        ("platform_repaired_unconfirmed", "文号〔2026〕4号"),
        ("unknown_record", "文号〔2026〕99号"),
    }
    # A natural person is named by a masked ID number only.
    assert (
        by_doc[("repaired_still_published", "文号〔2026〕6号")].subject_id == "330106********421X"
    )

    # GSXT's repair of a market-supervision penalty went to Credit China; nothing else was pushed.
    assert [p["document_no"] for p in systems.pushed["credit_china"]] == ["文号〔2026〕1号"]
    assert systems.pushed["gsxt"] == []

    assert _statuses(platform) == {
        "文号〔2026〕1号": "repaired",
        "文号〔2026〕2号": "repaired",
        "文号〔2026〕3号": "published",  # GSXT, which repairs it, has not
        "文号〔2026〕4号": "repaired",  # nobody confirms it: a finding, not a guess
        "文号〔2026〕5号": "expired",
        "文号〔2026〕6号": "repaired",
        "文号〔2026〕7号": "published",  # Credit China revoked its repair
        "文号〔2026〕8号": "published",
    }
    with platform.connect() as connection:
        changes = connection.execute(
            sa.select(
                status_change.c.document_no,
                status_change.c.new_status,
                status_change.c.effective_date,
            )
        ).all()
    assert sorted(changes) == [
        ("文号〔2026〕1号", "repaired", date(2026, 11, 19)),
        ("文号〔2026〕2号", "repaired", date(2026, 11, 19)),
        ("文号〔2026〕5号", "expired", date(2024, 1, 10)),
        ("文号〔2026〕6号", "repaired", date(2026, 11, 19)),
        ("文号〔2026〕7号", "published", DAY),
    ]


@pytest.mark.integration
def test_a_second_run_of_the_same_day_changes_nothing(platform, systems) -> None:
    reconcile_day(DAY, engine=platform, systems=systems)
    before = (_findings(platform).drop(columns="id"), _statuses(platform))

    again = reconcile_day(DAY, engine=platform, systems=systems)

    assert again.fetched == {"credit_china": 0, "gsxt": 0}
    assert again.findings["opened"] == again.findings["settled"] == again.findings["resolved"] == 0
    after = (_findings(platform).drop(columns="id"), _statuses(platform))
    pd.testing.assert_frame_equal(before[0], after[0])
    assert before[1] == after[1]
    assert len(systems.pushed["credit_china"]) == 1
    with platform.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(status_change)) == 5
        assert connection.scalar(sa.select(sa.func.count()).select_from(repair_push)) == 1
        assert connection.scalar(sa.select(sa.func.count()).select_from(repair_fact)) == 7


@pytest.mark.integration
def test_findings_carry_forward_and_resolve_when_the_systems_catch_up(platform, systems) -> None:
    reconcile_day(DAY, engine=platform, systems=systems)
    # Next day Credit China shows the pushed repair; GSXT repairs the market record itself.
    systems.decide("credit_china", RECORDS["gsxt_only"], "repaired", AT.replace(day=20))
    systems.decide("gsxt", RECORDS["cc_only_market"], "repaired", AT.replace(day=20))
    next_day = date(2026, 11, 23)

    summary = reconcile_day(next_day, engine=platform, systems=systems)

    found = _findings(platform)
    still_open = found[found["resolved_on"].isna()]
    assert sorted(still_open["document_no"]) == ["文号〔2026〕4号", "文号〔2026〕99号"]
    assert set(still_open["first_seen"]) == {DAY} and set(still_open["last_seen"]) == {next_day}
    assert summary.findings["resolved"] == 2
    assert _statuses(platform)["文号〔2026〕3号"] == "repaired"


@pytest.mark.integration
def test_a_system_that_cannot_be_read_is_reported_and_the_other_goes_on(platform, systems) -> None:
    def broken(system, since):
        if system == "gsxt":
            raise ConnectionError("GSXT answered 503 five times")
        return Systems.fetch(systems, system, since)

    systems.fetch = broken
    summary = reconcile_day(DAY, engine=platform, systems=systems)

    assert summary.status == "partial"
    assert summary.errors == ["repair feed gsxt: GSXT answered 503 five times"]
    assert summary.fetched == {"credit_china": 6}
    assert _statuses(platform)["文号〔2026〕2号"] == "repaired"
