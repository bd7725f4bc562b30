"""One day's reconciliation, end to end.

1. Fetch each system's repair facts since its cursor into the ledger (one transaction per
   system, cursor included); a system that cannot be read is reported and the others go on.
2. Compute publicity periods for records that have none yet (new or corrected ones).
3. Compare the platform with both systems (``compare``, in SQL, into temporary tables of one
   session), push repairs to the system that lags (once per fact and system), and in one
   transaction: move platform statuses (which writes the outbox for the fan-out), record pushes
   and findings, and close the run with its figures.

Rerunning a day finds the same state and changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date

import pandas as pd
import sqlalchemy as sa

from connectors.repair_systems import FACT_COLUMNS
from hub.core import clock
from hub.core.logs import masked_logger
from hub.core.model import RecordKind
from hub.core.privacy import mask_document, mask_text
from hub.reconcile.changes import apply_staged_changes
from hub.reconcile.compare import Comparison, compare
from hub.reconcile.findings import record_findings
from hub.reconcile.ledger import append_facts, mark_pending, update_ledger
from hub.reconcile.publicity import publicity_of
from hub.reconcile.systems import SYSTEMS, RepairSystems
from hub.store.bulk import insert_frame
from hub.store.db import analyze_stale
from hub.store.reconcile_schema import (
    reconcile_finding,
    reconcile_pending,
    reconcile_run,
    repair_fact,
    repair_feed_cursor,
    repair_push,
    system_status,
)
from hub.store.schema import PUBLICITY_COLUMNS, RECORD_TABLES, status_change

log = masked_logger(__name__)

_PUBLICITY_INPUTS = (
    "record_key",
    "decision_date",
    "authority_name",
    "source_department",
)
_PENALTY_INPUTS = ("penalty_categories", "violation_type", "legal_basis")
_COMPARED_TABLES = [
    *RECORD_TABLES.values(),
    system_status,
    reconcile_pending,
    reconcile_finding,
    status_change,
    repair_fact,
]
"""What the comparison reads: its plans need their statistics (``analyze_stale``)."""


@dataclass
class ReconcileSummary:
    """What one run did: facts fetched, findings by class, actions taken, feed errors."""

    run_id: int
    day: date
    status: str = "running"
    fetched: dict[str, int] = field(default_factory=dict)
    unmatched_facts: int = 0
    periods_computed: int = 0
    findings_by_class: dict[str, int] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    pushed: dict[str, int] = field(default_factory=dict)
    push_rejected: list[str] = field(default_factory=list)
    status_changes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain JSON-ready figures (for XCom and the run's row), by the privacy policy."""
        figures = asdict(self)
        figures["day"] = self.day.isoformat()
        return mask_document(figures)


class _Stopwatch:
    """Times named steps into a dict, for the run's figures and the log."""

    def __init__(self, seconds: dict[str, float]) -> None:
        self._seconds = seconds

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._seconds[name] = round(time.perf_counter() - started, 3)


def _open_run(engine: sa.Engine, day: date) -> int:
    with engine.begin() as connection:
        return connection.execute(
            reconcile_run.insert().values(run_date=day, status="running", started_at=clock.now())
        ).inserted_primary_key[0]


def _fetch(engine: sa.Engine, systems: RepairSystems, summary: ReconcileSummary) -> None:
    for system in SYSTEMS:
        try:
            with engine.begin() as connection:
                cursor = connection.scalar(
                    sa.select(repair_feed_cursor.c.cursor).where(
                        repair_feed_cursor.c.system == system
                    )
                )
                for page in systems.fetch(system, cursor):
                    append_facts(connection, page.facts, summary.run_id)
                    cursor = page.cursor
                if cursor is not None:
                    _save_cursor(connection, system, cursor, summary.run_id)
                summary.fetched[system] = connection.scalar(
                    sa.select(sa.func.count()).where(
                        repair_fact.c.run_id == summary.run_id, repair_fact.c.system == system
                    )
                )
        except Exception as exc:  # one system down must not stop the other
            message = f"repair feed {system}: {exc}"
            log.error("reconcile run=%s %s", summary.run_id, message)
            summary.errors.append(mask_text(message))


def _save_cursor(connection: sa.Connection, system: str, cursor: str, run_id: int) -> None:
    values = {"cursor": cursor, "run_id": run_id, "updated_at": clock.now()}
    updated = connection.execute(
        repair_feed_cursor.update().values(**values).where(repair_feed_cursor.c.system == system)
    ).rowcount
    if not updated:
        connection.execute(repair_feed_cursor.insert().values(system=system, **values))


def compute_periods(connection: sa.Connection) -> int:
    """Fill in the publicity period of every record that has none; return how many."""
    computed = 0
    for kind in RecordKind:
        record = RECORD_TABLES[kind]
        inputs = [*_PUBLICITY_INPUTS, *(_PENALTY_INPUTS if kind is RecordKind.PENALTY else ())]
        query = sa.select(*(record.c[c] for c in inputs)).where(
            record.c.publicity_rule.is_(None), record.c.decision_date.is_not(None)
        )
        for chunk in pd.read_sql(query, connection, chunksize=200_000):
            periods = publicity_of(kind, chunk)
            periods["record_key"] = chunk["record_key"]
            _write_periods(connection, record, periods)
            computed += len(chunk)
    return computed


def _write_periods(connection: sa.Connection, record: sa.Table, periods: pd.DataFrame) -> None:
    staging = sa.Table(
        "staging_publicity",
        sa.MetaData(),
        sa.Column("record_key", record.c.record_key.type, primary_key=True),
        *(sa.Column(c, record.c[c].type) for c in PUBLICITY_COLUMNS),
        prefixes=["TEMPORARY"],
    )
    staging.drop(connection, checkfirst=True)
    staging.create(connection)
    insert_frame(connection, staging, periods[["record_key", *PUBLICITY_COLUMNS]])
    connection.execute(
        record.update()
        .values({c: staging.c[c] for c in PUBLICITY_COLUMNS})
        .where(record.c.record_key == staging.c.record_key)
    )
    mark_pending(connection, sa.select(staging.c.record_key))
    staging.drop(connection)


def _pushed(pushes: sa.Table) -> sa.Exists:
    return sa.exists().where(
        repair_push.c.fact_id == pushes.c.fact_id,
        repair_push.c.target_system == pushes.c.target_system,
    )


def _due_pushes(connection: sa.Connection, pushes: sa.Table) -> pd.DataFrame:
    """The facts to push and where (``target_system``): those not pushed there before."""
    query = (
        sa.select(
            pushes.c.target_system,
            repair_fact.c.id,
            *(repair_fact.c[c] for c in FACT_COLUMNS),
        )
        .join(repair_fact, repair_fact.c.id == pushes.c.fact_id)
        .where(~_pushed(pushes))
        .order_by(repair_fact.c.id)
    )
    rows = connection.execute(query)
    return pd.DataFrame(rows.fetchall(), columns=list(rows.keys()))


def _hand_over(connection: sa.Connection, comparison: Comparison, run_id: int) -> None:
    """Leave pending for the next run only what this one has not settled.

    What was pending has been compared. The run's own status moves settle their records, so the
    next run starts after them; but moves made elsewhere while it ran, and pushes that failed,
    are compared again.
    """
    connection.execute(reconcile_pending.delete())
    mark_pending(connection, _unpushed(comparison.pushes))
    elsewhere = sa.select(status_change.c.record_key).where(
        status_change.c.id > comparison.watermark,
        sa.func.coalesce(status_change.c.run_id, -1) != run_id,
    )
    mark_pending(connection, elsewhere)


def _last_change(connection: sa.Connection) -> int:
    return connection.scalar(sa.select(sa.func.max(status_change.c.id))) or 0


def _unpushed(pushes: sa.Table) -> sa.Select:
    """The records of the pushes found today that are still not recorded as pushed."""
    return (
        sa.select(repair_fact.c.record_key)
        .join(pushes, pushes.c.fact_id == repair_fact.c.id)
        .where(~_pushed(pushes))
    )


def _push(
    connection: sa.Connection,
    systems: RepairSystems,
    pushes: sa.Table,
    summary: ReconcileSummary,
) -> pd.DataFrame:
    """Push each lagging repair once; return the push rows to record."""
    due = _due_pushes(connection, pushes)
    recorded = []
    for target, batch in due.groupby("target_system"):
        batch = batch.drop(columns="target_system").reset_index(drop=True)
        pushed_at = clock.now()
        try:
            outcome = systems.push(str(target), batch)
        except Exception as exc:  # the push is retried on the next run
            summary.errors.append(mask_text(f"push to {target}: {exc}"))
            continue
        rejected = {external_id: mask_text(why) for external_id, why in outcome.rejected}
        summary.pushed[str(target)] = outcome.accepted
        summary.push_rejected += [f"{target} {k}: {v}" for k, v in rejected.items()]
        recorded.append(
            pd.DataFrame(
                {
                    "fact_id": batch["id"],
                    "target_system": target,
                    "run_id": summary.run_id,
                    "pushed_at": pushed_at,
                    "accepted": ~batch["external_id"].isin(list(rejected)),
                    "error": batch["external_id"].map(rejected),
                }
            )
        )
    return pd.concat(recorded, ignore_index=True) if recorded else pd.DataFrame()


@contextmanager
def _session(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for the comparison and its writes.

    Without PostgreSQL's JIT: its cost model sees ten million rows behind each join and spends
    seconds compiling statements that read a few thousand of them by index.
    """
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.exec_driver_sql("SET jit = off")
        yield connection
        if postgres:
            connection.exec_driver_sql("RESET jit")
            connection.commit()


def _counts(connection: sa.Connection, column: sa.Column) -> dict[str, int]:
    rows = connection.execute(
        sa.select(column, sa.func.count()).group_by(column).order_by(column)
    ).all()
    return {value: int(count) for value, count in rows}


def reconcile_day(
    day: date, *, engine: sa.Engine, systems: RepairSystems | None = None
) -> ReconcileSummary:
    """Reconcile repairs for ``day`` (see the module's steps); safe to run again for a day.

    Credit China and GSXT are reached through ``systems`` (default: connections from the
    environment).
    """
    systems = systems or RepairSystems()
    summary = ReconcileSummary(_open_run(engine, day), day)
    step = _Stopwatch(summary.seconds)
    try:
        with step("fetch"):
            _fetch(engine, systems, summary)
        with step("ledger"), engine.begin() as connection:
            summary.unmatched_facts = update_ledger(connection)
        with step("publicity"), engine.begin() as connection:
            summary.periods_computed = compute_periods(connection)
        # One session from here on: the comparison's temporary tables live in it.
        with _session(engine) as connection:
            with step("statistics"):
                analyze_stale(connection, _COMPARED_TABLES)
                connection.commit()
            with step("compare"):
                comparison = compare(connection, day)
                summary.findings_by_class = _counts(connection, comparison.findings.c.finding_class)
                summary.status_changes = _counts(connection, comparison.changes.c.new_status)
                connection.commit()
            with step("push"):
                pushed = _push(connection, systems, comparison.pushes, summary)
                connection.commit()
            with connection.begin():
                with step("changes"):
                    if not pushed.empty:
                        insert_frame(connection, repair_push, pushed)
                    if summary.status_changes:
                        apply_staged_changes(connection, comparison.changes, run_id=summary.run_id)
                with step("findings"):
                    summary.findings = record_findings(
                        connection, comparison.findings, day, summary.run_id, comparison.compared
                    )
                summary.status = "partial" if summary.errors else "succeeded"
                _hand_over(connection, comparison, summary.run_id)
                _close_run(connection, summary, _last_change(connection))
            with connection.begin():
                comparison.drop(connection)
        log.info("reconcile run=%s day=%s seconds=%s", summary.run_id, day, summary.seconds)
    except Exception as exc:
        summary.status = "failed"
        summary.errors.append(mask_text(str(exc)))
        with engine.begin() as connection:
            _close_run(connection, summary)
        raise
    return summary


def _close_run(
    connection: sa.Connection, summary: ReconcileSummary, watermark: int | None = None
) -> None:
    connection.execute(
        reconcile_run.update()
        .values(
            status=summary.status,
            status_change_watermark=watermark,
            finished_at=clock.now(),
            figures=json.dumps(summary.as_dict(), ensure_ascii=False, default=str),
            error="; ".join(summary.errors) or None,
        )
        .where(reconcile_run.c.id == summary.run_id)
    )
