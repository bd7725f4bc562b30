"""What the platform has done so far, in totals: the figures a daily cycle's summary shows.

Read from the platform's own tables, so the figures are those of the work that was committed:
records read, loaded and quarantined; records held per kind and status; findings of the
reconciliation per class; status changes; push deliveries per target; delta files per site.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from hub.core import clock
from hub.core.model import RecordKind
from hub.fanout.status import OutboxFigures, outbox_figures
from hub.store.publish_schema import delta_manifest
from hub.store.reconcile_schema import reconcile_finding, reconcile_run
from hub.store.schema import (
    LOADED_IN_BATCH,
    RECORD_TABLES,
    ingest_batch,
    quarantine,
    status_change,
)


@dataclass(frozen=True)
class DeltaFiles:
    """One pull site's delta file sets: how many, the highest sequence, the rows they carry."""

    sets: int
    last_sequence: int
    rows: int


@dataclass(frozen=True)
class Totals:
    """The platform's totals (see the module docstring)."""

    batches: int
    failed_batches: int
    read: int
    loaded: int
    quarantined: int
    records: dict[str, dict[str, int]]
    findings: dict[str, int]
    open_findings: int
    reconcile_runs: dict[str, int]
    status_changes: dict[str, int]
    deliveries: dict[str, OutboxFigures]
    delta_files: dict[str, DeltaFiles]

    @property
    def held(self) -> int:
        """Records held on the platform, of every kind and status."""
        return sum(sum(by_status.values()) for by_status in self.records.values())


def _grouped(connection: sa.Connection, column: sa.ColumnElement) -> dict[str, int]:
    statement = sa.select(column, sa.func.count()).group_by(column)
    return {str(key): count for key, count in connection.execute(statement)}


def _batches(connection: sa.Connection) -> sa.Row:
    b = ingest_batch.c
    failed = sa.func.sum(sa.case((b.status == "failed", 1), else_=0))
    loaded = LOADED_IN_BATCH
    statement = sa.select(
        sa.func.count(),
        sa.func.coalesce(failed, 0),
        sa.func.coalesce(sa.func.sum(b.n_read), 0),
        sa.func.coalesce(sa.func.sum(loaded), 0),
    )
    return connection.execute(statement).one()


def _delta_files(connection: sa.Connection) -> dict[str, DeltaFiles]:
    m = delta_manifest.c
    statement = (
        sa.select(m.site_id, sa.func.count(), sa.func.max(m.sequence), sa.func.sum(m.row_count))
        .group_by(m.site_id)
        .order_by(m.site_id)
    )
    return {row[0]: DeltaFiles(row[1], row[2], row[3]) for row in connection.execute(statement)}


def platform_totals(connection: sa.Connection) -> Totals:
    """The platform's totals, read in one transaction."""
    batches, failed, read, loaded = _batches(connection)
    open_findings = connection.scalar(
        sa.select(sa.func.count()).where(reconcile_finding.c.resolved_on.is_(None))
    )
    return Totals(
        batches=batches,
        failed_batches=failed,
        read=read,
        loaded=loaded,
        quarantined=connection.scalar(sa.select(sa.func.count()).select_from(quarantine)),
        records={
            kind.value: _grouped(connection, RECORD_TABLES[kind].c.status) for kind in RecordKind
        },
        findings=_grouped(connection, reconcile_finding.c.finding_class),
        open_findings=open_findings or 0,
        reconcile_runs=_grouped(connection, reconcile_run.c.status),
        status_changes=_grouped(connection, status_change.c.new_status),
        deliveries={f.target_id: f for f in outbox_figures(connection, clock.now())},
        delta_files=_delta_files(connection),
    )
