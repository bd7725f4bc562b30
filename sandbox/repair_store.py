"""The repair systems' memory, one SQLite file of the sandbox.

It holds every decision each system holds, every push it received, and the scenario's plan
(shares and revocations still to come).

Decisions are kept in neutral terms; the server renders them in each system's vocabulary. A
system's feed is its decisions in the order it took them in (``seq``, per system, from 1).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.repair_vocab import ACCEPTED, DUPLICATE, REJECTED, vocabulary

SHANGHAI = ZoneInfo("Asia/Shanghai")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS repair_feed (
    system TEXT NOT NULL,
    seq INTEGER NOT NULL,
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    document_no TEXT,
    subject_name TEXT,
    credit_code TEXT,
    id_number TEXT,
    authority_name TEXT,
    decision TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    origin_system TEXT NOT NULL,
    origin_id TEXT,
    channel TEXT NOT NULL,
    PRIMARY KEY (system, seq),
    UNIQUE (system, external_id)
);
CREATE TABLE IF NOT EXISTS repair_push (
    system TEXT NOT NULL,
    n INTEGER NOT NULL,
    batch INTEGER NOT NULL,
    idempotency_key TEXT,
    item TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    external_id TEXT,
    PRIMARY KEY (system, n)
);
CREATE TABLE IF NOT EXISTS repair_plan (
    id INTEGER PRIMARY KEY,
    due TEXT NOT NULL,
    action TEXT NOT NULL,
    system TEXT NOT NULL,
    external_id TEXT NOT NULL,
    share_lag INTEGER,
    entry TEXT NOT NULL,
    done TEXT
);
CREATE TABLE IF NOT EXISTS repair_day (day TEXT PRIMARY KEY, truth TEXT NOT NULL);
"""
_CONTENT = (
    "kind",
    "document_no",
    "subject_name",
    "credit_code",
    "id_number",
    "authority_name",
    "decision",
    "decided_at",
    "origin_system",
    "origin_id",
)


@dataclass(frozen=True)
class Decision:
    """One repair decision as a system holds it, in neutral terms.

    Attributes:
        system: the system holding it (``credit_china`` or ``gsxt``).
        kind: the record kind (``penalty``, ``abnormal``, ``serious``).
        document_no: the decision document number of the record.
        subject_name: the subject's name.
        credit_code: the subject's unified social credit code.
        id_number: a natural person's ID number (masked when it came by a push from the hub).
        authority_name: the authority that decided the record.
        decision: ``repaired`` or ``revoked``.
        decided_at: when, in local time, at the system's precision.
        origin_system: who decided it: ``system`` itself, or the other system it was synced from.
        origin_id: the decision's id in ``origin_system`` (synced decisions).
        channel: how the system learnt of it: ``own`` (decided here), ``shared`` (the other system
            shared it), ``pushed`` (the hub pushed it).
        seq: its position in the system's feed (set when stored).
        external_id: the system's own id of it (set when stored).
    """

    system: str
    kind: str
    document_no: str | None
    subject_name: str | None
    credit_code: str | None
    id_number: str | None
    authority_name: str | None
    decision: str
    decided_at: datetime
    origin_system: str
    origin_id: str | None = None
    channel: str = "own"
    seq: int | None = None
    external_id: str | None = None

    def same_content(self, other: Decision) -> bool:
        """Whether both say the same thing about the same record (ids and channel aside)."""
        return all(getattr(self, name) == getattr(other, name) for name in _CONTENT)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form (``decided_at`` as ISO text with its offset)."""
        return asdict(self) | {"decided_at": self.decided_at.isoformat()}


@dataclass(frozen=True)
class PushedItem:
    """One item of a push as the receiver checked it: its key and what it says, or why not."""

    key: str | None
    item: dict[str, Any]
    decision: Decision | None
    reason: str | None


@dataclass(frozen=True)
class PlanStep:
    """A share or revocation the scenario planned for a later day."""

    id: int
    due: date
    action: str
    system: str
    external_id: str
    share_lag: int | None
    entry: dict[str, Any]


def _decision(row: sqlite3.Row) -> Decision:
    values = dict(row)
    values["decided_at"] = datetime.fromisoformat(values["decided_at"]).astimezone(SHANGHAI)
    return Decision(**values)


class RepairStore:
    """The SQLite file holding both systems' decisions, pushes and the scenario's plan."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            conn.row_factory = sqlite3.Row
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction, holding the write lock from its start.

        Seq numbers are read, then used, so no other writer may come between. Committed at the
        end of the block, rolled back on an exception.
        """
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
            conn.row_factory = sqlite3.Row
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def create(self) -> None:
        """Create the tables if they do not exist yet."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path)) as conn, conn:
            conn.executescript(_SCHEMA)

    def feed(
        self, system: str, after: int = 0, offset: int = 0, limit: int = 100
    ) -> tuple[list[Decision], int]:
        """A page of ``system``'s feed after position ``after``, and how many follow it in all."""
        with self._read() as conn:
            (total,) = conn.execute(
                "SELECT count(*) FROM repair_feed WHERE system = ? AND seq > ?", (system, after)
            ).fetchone()
            rows = conn.execute(
                "SELECT * FROM repair_feed WHERE system = ? AND seq > ? ORDER BY seq "
                "LIMIT ? OFFSET ?",
                (system, after, limit, offset),
            ).fetchall()
        return [_decision(row) for row in rows], total

    def decisions(self, system: str) -> list[Decision]:
        """Every decision ``system`` holds, in feed order."""
        return self.feed(system, limit=-1)[0]

    def receive_push(self, system: str, items: list[PushedItem]) -> list[tuple[str, str | None]]:
        """Take in one push request: each item accepted, a duplicate, or rejected.

        An item whose key was accepted before is a duplicate when it says the same, and rejected
        (``key_conflict``) when it does not; a duplicate changes nothing in the feed.

        Returns:
            Per item, its outcome and the reason (rejected) or the system's id of the decision.
        """
        with self.transaction() as tx:
            return tx.receive_push(system, items)

    def pushed(self, system: str) -> list[dict[str, Any]]:
        """Every pushed item ``system`` received, in order, with what it made of it.

        Each entry: ``batch`` (the request's number), ``item`` (as received), ``outcome``
        (``accepted``, ``duplicate``, ``rejected``), ``reason`` and ``external_id`` (the id of
        the decision it holds for it).
        """
        with self._read() as conn:
            rows = conn.execute(
                "SELECT batch, item, outcome, reason, external_id FROM repair_push "
                "WHERE system = ? ORDER BY n",
                (system,),
            ).fetchall()
        return [dict(row) | {"item": json.loads(row["item"])} for row in rows]

    def last_day(self) -> date | None:
        """The latest day the scenario decided, if any."""
        with self._read() as conn:
            (day,) = conn.execute("SELECT max(day) FROM repair_day").fetchone()
        return None if day is None else date.fromisoformat(day)

    def day_truth(self, day: date) -> dict[str, Any] | None:
        """The truth of ``day`` if the scenario decided it already."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT truth FROM repair_day WHERE day = ?", (day.isoformat(),)
            ).fetchone()
        return None if row is None else json.loads(row["truth"])


class Transaction:
    """What can be done inside one ``RepairStore.transaction``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def add(self, decision: Decision) -> Decision:
        """Append a decision to its system's feed; returns it with its seq and id."""
        (last,) = self._conn.execute(
            "SELECT coalesce(max(seq), 0) FROM repair_feed WHERE system = ?", (decision.system,)
        ).fetchone()
        seq = last + 1
        vocab = vocabulary(decision.system)
        decided_at = vocab.precise(decision.decided_at)
        stored = replace(
            decision, seq=seq, decided_at=decided_at, external_id=vocab.external_id(seq, decided_at)
        )
        values = asdict(stored) | {"decided_at": decided_at.isoformat()}
        columns, marks = ", ".join(values), ", ".join("?" for _ in values)
        self._conn.execute(
            f"INSERT INTO repair_feed ({columns}) VALUES ({marks})", list(values.values())
        )
        return stored

    def get(self, system: str, external_id: str) -> Decision:
        """The decision ``system`` holds under ``external_id`` (``KeyError`` if none)."""
        row = self._conn.execute(
            "SELECT * FROM repair_feed WHERE system = ? AND external_id = ?",
            (system, external_id),
        ).fetchone()
        if row is None:
            raise KeyError(f"{system} holds no decision {external_id}")
        return _decision(row)

    def receive_push(self, system: str, items: list[PushedItem]) -> list[tuple[str, str | None]]:
        """See ``RepairStore.receive_push``."""
        (batch, n) = self._conn.execute(
            "SELECT coalesce(max(batch), 0) + 1, coalesce(max(n), 0) FROM repair_push "
            "WHERE system = ?",
            (system,),
        ).fetchone()
        outcomes = []
        for item in items:
            outcome, detail = self._check(system, item)
            n += 1
            self._conn.execute(
                "INSERT INTO repair_push VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    system,
                    n,
                    batch,
                    item.key,
                    json.dumps(item.item, ensure_ascii=False),
                    outcome,
                    detail if outcome == REJECTED else None,
                    None if outcome == REJECTED else detail,
                ),
            )
            outcomes.append((outcome, detail))
        return outcomes

    def _check(self, system: str, item: PushedItem) -> tuple[str, str | None]:
        if item.decision is None:
            return REJECTED, item.reason
        earlier = self._conn.execute(
            "SELECT external_id FROM repair_push WHERE system = ? AND idempotency_key = ? "
            "AND outcome = ?",
            (system, item.key, ACCEPTED),
        ).fetchone()
        if earlier is None:
            return ACCEPTED, self.add(item.decision).external_id
        held = self.get(system, earlier["external_id"])
        if held.same_content(item.decision):
            return DUPLICATE, held.external_id
        return REJECTED, vocabulary(system).messages["key_conflict"].format(value=item.key)

    def plan(
        self,
        due: date,
        action: str,
        decision: Decision,
        share_lag: int | None,
        entry: dict[str, Any],
    ) -> None:
        """Plan ``action`` (``share`` or ``revoke``) of ``decision`` for ``due``.

        Args:
            due: the day it is due.
            action: ``share`` (to the other system) or ``revoke`` (by its own system).
            decision: the decision shared or revoked.
            share_lag: for a revocation, the days after which it is shared (``None``: never).
            entry: the decision's truth entry, carried to the truth of the day it happens.
        """
        self._conn.execute(
            "INSERT INTO repair_plan (due, action, system, external_id, share_lag, entry) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                due.isoformat(),
                action,
                decision.system,
                decision.external_id,
                share_lag,
                json.dumps(entry, ensure_ascii=False),
            ),
        )

    def due(self, action: str, day: date) -> list[PlanStep]:
        """Planned ``action`` steps due on or before ``day`` and not done, in plan order."""
        rows = self._conn.execute(
            "SELECT id, due, action, system, external_id, share_lag, entry FROM repair_plan "
            "WHERE action = ? AND due <= ? AND done IS NULL ORDER BY due, id",
            (action, day.isoformat()),
        ).fetchall()
        return [
            PlanStep(
                id=row["id"],
                due=date.fromisoformat(row["due"]),
                action=row["action"],
                system=row["system"],
                external_id=row["external_id"],
                share_lag=row["share_lag"],
                entry=json.loads(row["entry"]),
            )
            for row in rows
        ]

    def mark_done(self, step: PlanStep, day: date) -> None:
        """Record that ``step`` was carried out on ``day``."""
        self._conn.execute(
            "UPDATE repair_plan SET done = ? WHERE id = ?", (day.isoformat(), step.id)
        )

    def save_day(self, day: date, truth: dict[str, Any]) -> None:
        """Record that the scenario decided ``day``, with its truth."""
        self._conn.execute(
            "INSERT INTO repair_day VALUES (?, ?)",
            (day.isoformat(), json.dumps(truth, ensure_ascii=False)),
        )
