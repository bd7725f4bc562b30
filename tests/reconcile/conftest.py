"""Shared for the reconciliation tests: a small platform and both outside systems in memory.

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

from connectors.repair_systems import FACT_COLUMNS
from hub.store.bulk import insert_frame
from hub.store.schema import RECORD_TABLES

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
    "nearly_eligible": _record(9, ENVIRONMENT, date(2026, 9, 1)),
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
