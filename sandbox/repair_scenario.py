"""What Credit China and GSXT decide, day by day, about the records the sandbox delivered.

Whoever decided a record repairs it (谁认定、谁修复): market supervision's records and the
business-abnormal list are repaired in GSXT, every other department's penalties and
serious-dishonesty lists in Credit China. On each day ``decide_repairs``:

1. revokes the repairs planned for revocation that day (an earlier repair annulled);
2. repairs the delivered records whose fate says so: each record the sandbox delivered without a
   defect draws its own fate from its own seed (repaired or not, how many days after delivery,
   shared with the other system or never, revoked some days later or not), so a day's decisions
   do not depend on which other days were decided;
3. decides repairs of records the platform never received (other authorities' documents);
4. shares every decision whose lag has run with the other system, which then serves it in its own
   feed as synced (``share_lag_days`` per system, 1 by default: Jiangsu's daily exchange).

It writes the day's truth to ``truth/<date>/repair_systems.json`` and keeps it in the repair
store, so deciding a day again changes nothing. ``decide`` makes a system decide one specific
repair or revocation directly, for tests.

The scenario ignores minimum publicity periods: over a demo of a few days no record would be
eligible yet. The truth gives each record's decision date for whoever checks eligibility.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from hub.core.identity import record_keys
from hub.core.model import SUBJECT_LEGAL, RecordKind
from sandbox.agencies import AGENCIES, Agency
from sandbox.config import SandboxConfig
from sandbox.deliver import read_truth, truth_path
from sandbox.province import Province
from sandbox.records import generate_record
from sandbox.repair_store import SHANGHAI, Decision, PlanStep, RepairStore, Transaction
from sandbox.repair_vocab import CREDIT_CHINA, GSXT, SYSTEMS, other_system

TRUTH_NAME = "repair_systems"
MARKET_SUPERVISION = ("市场监督管理", "市场监管", "工商行政管理")
"""An authority whose name holds one of these is market supervision: GSXT repairs its records."""
WORKING_HOURS = (time(9, 0), time(17, 30))

# Deciders whose records never reach the platform: (kind, authority, document-number prefix).
_UNKNOWN_DECIDERS = {
    GSXT: (
        (RecordKind.PENALTY, "杭州市市场监督管理局", "杭市监罚"),
        (RecordKind.ABNORMAL, "宁波市市场监督管理局", "甬市监异列"),
    ),
    CREDIT_CHINA: (
        (RecordKind.PENALTY, "温州市生态环境局", "温环罚"),
        (RecordKind.SERIOUS, "国家税务总局嘉兴市税务局", "嘉税稽处"),
    ),
}


@dataclass(frozen=True)
class RepairScenario:
    """How often the systems repair, revoke and share; the same for every day of a run.

    Attributes:
        repair_rate: share of the delivered records that get repaired.
        repair_within_days: a record is repaired 0 to this many days after its delivery.
        revoke_rate: share of repairs revoked later.
        revoke_after_days: a revocation comes this many days (range) after the repair.
        never_shared_rate: share of repairs a system never shares with the other (their later
            revocations are not shared either): the hub must push them.
        share_lag_days: per system, days between a decision and its sharing (0: the same day).
        unknown_per_day: per system and day, repairs of records the platform never received.
    """

    repair_rate: float = 0.05
    repair_within_days: int = 6
    revoke_rate: float = 0.1
    revoke_after_days: tuple[int, int] = (1, 5)
    never_shared_rate: float = 0.1
    share_lag_days: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SYSTEMS, 1))
    unknown_per_day: int = 1


@dataclass(frozen=True)
class RecordRef:
    """A record a repair is about, as the deciding system knows it.

    Attributes:
        kind: ``penalty``, ``abnormal`` or ``serious``.
        document_no: the decision document number, as the platform holds it.
        subject_name: the subject's name.
        credit_code: the subject's credit code (organisations, individual businesses).
        id_number: a natural person's full ID number.
        authority_name: the authority that decided the record.
        authority_code: its credit code, where the sandbox knows it (delivered records).
        decision_date: the record's decision date, where known.
        source_id: the agency source that delivered it (``None``: never delivered).
        delivered_on: the day it was delivered.
    """

    kind: str
    document_no: str
    subject_name: str
    credit_code: str | None
    id_number: str | None
    authority_name: str
    authority_code: str | None = None
    decision_date: date | None = None
    source_id: str | None = None
    delivered_on: date | None = None

    @property
    def record_key(self) -> str | None:
        """The platform's key of the record (``hub.core.identity``); ``None`` if never delivered."""
        if self.source_id is None:
            return None
        frame = pd.DataFrame([asdict(self)], dtype="str")
        return record_keys(RecordKind(self.kind), frame)[0]

    def truth(self) -> dict[str, Any]:
        """The record as the truth files describe it."""
        values = asdict(self)
        for name in ("decision_date", "delivered_on"):
            values[name] = values[name] and values[name].isoformat()
        return values | {"known": self.source_id is not None, "record_key": self.record_key}


def deciding_system(kind: str, authority_name: str) -> str:
    """The system that repairs a record (谁认定、谁修复).

    GSXT for market supervision's records (penalties, its serious list) and the business-abnormal
    list; Credit China for every other department's penalties and serious lists.
    """
    market = any(marker in authority_name for marker in MARKET_SUPERVISION)
    return GSXT if market or kind == RecordKind.ABNORMAL else CREDIT_CHINA


@lru_cache(maxsize=4)
def _province(seed: int) -> Province:
    """The province of ``seed``; built once, as drawing its subjects takes a while."""
    return Province(seed)


def repair_truth_path(config: SandboxConfig, day: date) -> Path:
    """Where the truth of the systems' decisions of ``day`` is written."""
    return config.truth_dir / day.isoformat() / f"{TRUTH_NAME}.json"


def read_repair_truth(config: SandboxConfig, day: date) -> dict[str, Any]:
    """The truth of a day ``decide_repairs`` decided."""
    return json.loads(repair_truth_path(config, day).read_text(encoding="utf-8"))


def _ref(agency: Agency, record: dict[str, Any], delivered_on: date) -> RecordRef:
    return RecordRef(
        kind=str(agency.kind),
        document_no=record["document_no"],
        subject_name=record["subject_name"],
        credit_code=record["credit_code"],
        id_number=record["id_number"],
        authority_name=record["authority_name"],
        authority_code=record["authority_code"],
        decision_date=record["decision_date"],
        source_id=agency.source_id,
        delivered_on=delivered_on,
    )


def _delivered_counts(config: SandboxConfig, day: date) -> dict[str, int]:
    """New records per agency delivered on ``day``, from the delivery truth files."""
    return {
        source_id: read_truth(config, day, source_id)["records"]
        for source_id in AGENCIES
        if truth_path(config, day, source_id).exists()
    }


def delivered_records(
    config: SandboxConfig, day: date, source_id: str | None = None
) -> list[RecordRef]:
    """The records delivered on ``day`` (by ``source_id`` only, if given) that had no defect.

    Those are the records the platform holds after collecting the day; defective ones are
    quarantined there.
    """
    province = _province(config.seed)
    refs = []
    for sid, count in _delivered_counts(config, day).items():
        if source_id not in (None, sid):
            continue
        for index in range(count):
            generated = generate_record(province, AGENCIES[sid], day, index)
            if generated.defect is None:
                refs.append(_ref(AGENCIES[sid], generated.record, day))
    return refs


@dataclass(frozen=True)
class _Fate:
    repair_on: date
    at: datetime
    share_lag: int | None
    revoke_after: int | None


def _moment(day: date, rng: random.Random) -> datetime:
    start, end = (datetime.combine(day, t, SHANGHAI) for t in WORKING_HOURS)
    return start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))


def _fate(
    rng: random.Random, scenario: RepairScenario, delivered_on: date, system: str
) -> _Fate | None:
    """A record's repair fate (``None``: never repaired); every draw is made, in one order."""
    repaired = rng.random() < scenario.repair_rate
    repair_on = delivered_on + timedelta(days=rng.randint(0, scenario.repair_within_days))
    at = _moment(repair_on, rng)
    shared = rng.random() >= scenario.never_shared_rate
    revoked = rng.random() < scenario.revoke_rate
    revoke_after = rng.randint(*scenario.revoke_after_days)
    if not repaired:
        return None
    return _Fate(
        repair_on=repair_on,
        at=at,
        share_lag=scenario.share_lag_days[system] if shared else None,
        revoke_after=revoke_after if revoked else None,
    )


def _repairs_of_delivered(
    config: SandboxConfig, province: Province, day: date, scenario: RepairScenario
) -> list[tuple[RecordRef, _Fate]]:
    """The delivered records whose fate is a repair on ``day``."""
    due = []
    for back in range(scenario.repair_within_days + 1):
        delivered_on = day - timedelta(days=back)
        for source_id, count in _delivered_counts(config, delivered_on).items():
            agency = AGENCIES[source_id]
            for index in range(count):
                seed = f"{config.seed}|repair|{source_id}|{delivered_on.isoformat()}|{index}"
                if random.Random(seed).random() >= scenario.repair_rate:
                    continue
                generated = generate_record(province, agency, delivered_on, index)
                if generated.defect is not None:
                    continue
                ref = _ref(agency, generated.record, delivered_on)
                system = deciding_system(ref.kind, ref.authority_name)
                fate = _fate(random.Random(seed), scenario, delivered_on, system)
                if fate is not None and fate.repair_on == day:
                    due.append((ref, fate))
    return due


def _unknown_repairs(
    province: Province, day: date, scenario: RepairScenario
) -> list[tuple[RecordRef, _Fate]]:
    """Repairs of records the platform never received: documents of non-delivering deciders."""
    made = []
    for system in SYSTEMS:
        for index in range(scenario.unknown_per_day):
            rng = random.Random(f"{province.seed}|repair unknown|{system}|{day}|{index}")
            kind, authority, prefix = rng.choice(_UNKNOWN_DECIDERS[system])
            subject = province.pick(SUBJECT_LEGAL, rng)
            ref = RecordRef(
                kind=str(kind),
                document_no=f"{prefix}〔{day.year}〕{rng.randrange(1, 10000)}号",
                subject_name=subject.name,
                credit_code=subject.credit_code,
                id_number=None,
                authority_name=authority,
            )
            shared = rng.random() >= scenario.never_shared_rate
            share_lag = scenario.share_lag_days[system] if shared else None
            made.append((ref, _Fate(day, _moment(day, rng), share_lag, revoke_after=None)))
    return made


def _decision(
    system: str, ref: RecordRef, decision: str, at: datetime, channel: str = "own"
) -> Decision:
    return Decision(
        system=system,
        kind=ref.kind,
        document_no=ref.document_no,
        subject_name=ref.subject_name,
        credit_code=ref.credit_code,
        id_number=ref.id_number,
        authority_name=ref.authority_name,
        decision=decision,
        decided_at=at,
        origin_system=system,
        channel=channel,
    )


def _entry(decision: Decision, record: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A decision's truth entry."""
    return {
        "system": decision.system,
        "external_id": decision.external_id,
        "decision": decision.decision,
        "decided_at": decision.decided_at.isoformat(),
        "record": record,
        **more,
    }


@dataclass
class _Day:
    """The decisions of one day, drafted, then written in time order."""

    day: date
    tx: Transaction
    drafts: list[tuple[Decision, dict[str, Any], int | None, int | None, PlanStep | None]] = field(
        default_factory=list
    )
    decisions: list[dict[str, Any]] = field(default_factory=list)
    shares: list[dict[str, Any]] = field(default_factory=list)

    def draft(
        self,
        decision: Decision,
        record: dict[str, Any],
        share_lag: int | None,
        revoke_after: int | None = None,
        revokes: PlanStep | None = None,
    ) -> None:
        self.drafts.append((decision, record, share_lag, revoke_after, revokes))

    def write(self) -> None:
        """Store the drafted decisions in time order and plan their shares and revocations."""
        self.drafts.sort(key=lambda d: (d[0].decided_at, d[0].system, d[0].document_no or ""))
        for draft, record, share_lag, revoke_after, revokes in self.drafts:
            decision = self.tx.add(draft)
            share_due = None if share_lag is None else self.day + timedelta(days=share_lag)
            revoke_due = None if revoke_after is None else self.day + timedelta(days=revoke_after)
            entry = _entry(
                decision,
                record,
                share_due=share_due and share_due.isoformat(),
                revoke_due=revoke_due and revoke_due.isoformat(),
                revokes=revokes.external_id if revokes else None,
            )
            self.decisions.append(entry)
            if share_due is not None:
                self.tx.plan(share_due, "share", decision, None, entry)
            if revoke_due is not None:
                self.tx.plan(revoke_due, "revoke", decision, share_lag, entry)
            if revokes is not None:
                self.tx.mark_done(revokes, self.day)

    def share_due(self) -> None:
        """Share every decision due today with the other system."""
        for step in self.tx.due("share", self.day):
            original = self.tx.get(step.system, step.external_id)
            synced = self.tx.add(
                replace(
                    original,
                    system=other_system(original.system),
                    origin_id=original.external_id,
                    channel="shared",
                    seq=None,
                    external_id=None,
                )
            )
            entry = _entry(synced, step.entry["record"], from_system=original.system)
            self.shares.append(entry | {"from_id": original.external_id})
            self.tx.mark_done(step, self.day)


def decide_repairs(
    config: SandboxConfig, day: date, scenario: RepairScenario | None = None
) -> dict[str, Any]:
    """Make Credit China and GSXT decide ``day``: revocations, repairs, then shares.

    Deciding a day again returns its truth unchanged. Days are decided in order: a day before
    the last decided one is refused.

    Args:
        config: the sandbox (its delivery truth files say what was delivered).
        day: the day to decide.
        scenario: the rates and lags (default: ``RepairScenario()``).

    Returns:
        The day's truth, as written to ``truth/<day>/repair_systems.json``: ``decisions`` (each
        system's own repairs and revocations: which record, when, shared on which day or never,
        revoked on which day), ``shares`` (what each system took over from the other) and
        ``counts``.
    """
    scenario = scenario or RepairScenario()
    store = RepairStore(config.repair_store_path)
    store.create()
    truth = store.day_truth(day)
    if truth is None:
        latest = store.last_day()
        if latest is not None and latest > day:
            raise ValueError(
                f"repairs are decided day by day: {latest} is decided already, "
                f"{day} cannot follow it"
            )
        truth = _decide(config, store, day, scenario)
    text = json.dumps(truth, ensure_ascii=False, indent=2)
    path = repair_truth_path(config, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    return json.loads(text)


def _decide(
    config: SandboxConfig, store: RepairStore, day: date, scenario: RepairScenario
) -> dict[str, Any]:
    province = _province(config.seed)
    rng = random.Random(f"{config.seed}|revocations|{day.isoformat()}")
    with store.transaction() as tx:
        today = _Day(day, tx)
        for step in tx.due("revoke", day):
            repair = tx.get(step.system, step.external_id)
            revocation = replace(
                repair, decision="revoked", decided_at=_moment(day, rng), seq=None, external_id=None
            )
            today.draft(revocation, step.entry["record"], step.share_lag, revokes=step)
        for ref, fate in [
            *_repairs_of_delivered(config, province, day, scenario),
            *_unknown_repairs(province, day, scenario),
        ]:
            system = deciding_system(ref.kind, ref.authority_name)
            repair = _decision(system, ref, "repaired", fate.at)
            today.draft(repair, ref.truth(), fate.share_lag, fate.revoke_after)
        today.write()
        today.share_due()
        truth = {
            "date": day.isoformat(),
            "seed": config.seed,
            "scenario": asdict(scenario),
            "decisions": today.decisions,
            "shares": today.shares,
            "counts": _counts(today),
        }
        tx.save_day(day, truth)
    return truth


def _counts(today: _Day) -> dict[str, dict[str, int]]:
    counts = {s: {"repaired": 0, "revoked": 0, "unknown": 0, "shared_in": 0} for s in SYSTEMS}
    for entry in today.decisions:
        counts[entry["system"]][entry["decision"]] += 1
        counts[entry["system"]]["unknown"] += not entry["record"]["known"]
    for entry in today.shares:
        counts[entry["system"]]["shared_in"] += 1
    return counts


def decide(
    config: SandboxConfig,
    system: str,
    record: RecordRef,
    decision: str,
    decided_at: datetime,
    shared: bool = False,
) -> Decision:
    """Make ``system`` decide one repair or revocation of ``record`` now, outside the scenario.

    Args:
        config: the sandbox.
        system: ``credit_china`` or ``gsxt``.
        record: the record (see ``delivered_records`` for the ones the platform received).
        decision: ``repaired`` or ``revoked``.
        decided_at: when (tz-aware); kept at the system's precision (GSXT: the day).
        shared: also share it with the other system at once.

    Returns:
        The decision as ``system`` holds it (with its ``external_id``).
    """
    if decision not in ("repaired", "revoked"):
        raise ValueError(f"decision must be 'repaired' or 'revoked', not {decision!r}")
    store = RepairStore(config.repair_store_path)
    store.create()
    with store.transaction() as tx:
        made = tx.add(_decision(system, record, decision, decided_at))
        if shared:
            synced = _decision(other_system(system), record, decision, decided_at, "shared")
            tx.add(replace(synced, origin_system=system, origin_id=made.external_id))
    return made
