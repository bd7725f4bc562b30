"""The rehearsal's audit: nothing lost, nothing duplicated, end to end.

Every check reads what the platform holds (SQL over its database, the delta files on disk) and
compares it with what the outside says happened: the sandbox's truth files (what each agency
delivered, which records were defective), the fault log (rows re-sent, the file cut off) and the
receivers' own records of the messages they took. Each check gives its figures and whether it
passed; a check that cannot pass names what differs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import sqlalchemy as sa
from rehearsal_run import (
    DOWN_SOURCE,
    RESENT_SOURCE,
    TRUNCATED_SOURCE,
    Rehearsal,
)

from hub.core.targets import Target, pull_targets, push_targets
from hub.store.outbox_schema import outbox
from hub.store.publish_schema import delta_file, delta_manifest
from hub.store.reconcile_schema import reconcile_run
from hub.store.schema import (
    LOADED_IN_BATCH,
    RECORD_TABLES,
    ingest_batch,
    quarantine,
    raw_record,
    source_file,
    status_change,
)
from sandbox.deliver import read_truth
from sandbox.records import document_no

SHOWN = 5
"""Differences named per check (the count says how many there are in all)."""


@dataclass
class Check:
    """One audit check: its name, whether it passed, its figures, and what differs."""

    name: str
    ok: bool
    figures: dict[str, Any]
    differences: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The check as printed: verdict, name and figures, then each difference shown."""
        figures = ", ".join(f"{k} {_plain(v)}" for k, v in self.figures.items())
        head = f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {figures}"
        return [head, *(f"      - {d}" for d in self.differences[:SHOWN])]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "name": self.name,
            "ok": self.ok,
            "figures": self.figures,
            "differences": self.differences[:SHOWN],
        }


def _plain(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


@dataclass
class Received:
    """What the receivers took: per push target, the change ids of its messages and copies."""

    change_ids: dict[str, list[int]]
    copies: dict[str, int]

    @classmethod
    def from_rehearsal(cls, rehearsal: Rehearsal) -> Received:
        """Read the running receivers' records."""
        handle = rehearsal.province.receivers
        with handle.lock:
            receivers = handle.receivers.items()
            return cls(
                {t: [m["change_id"] for m in r.messages.values()] for t, r in receivers},
                {t: sum(r.copies.values()) for t, r in receivers},
            )


class Truth:
    """The sandbox's truth files of every day and source, read once."""

    def __init__(self, rehearsal: Rehearsal) -> None:
        self.rehearsal = rehearsal
        start, n = rehearsal.options.start, rehearsal.options.days
        self.days = [start + timedelta(days=i) for i in range(n)]
        self.by_source = {
            a.source_id: {d: read_truth(rehearsal.config, d, a.source_id) for d in self.days}
            for a in rehearsal.agencies
        }

    def day(self, index: int) -> date:
        """The day of index ``index``."""
        return self.days[index]

    def rows(self, source_id: str, days: Iterable[date] | None = None) -> int:
        """Rows delivered by ``source_id`` on ``days`` (default: every day)."""
        truths = self.by_source[source_id]
        return sum(truths[d]["rows"] for d in (truths if days is None else days))

    def defects(self, source_id: str, days: Iterable[date] | None = None) -> int:
        """Defective records delivered by ``source_id`` on ``days`` (default: every day)."""
        truths = self.by_source[source_id]
        return sum(sum(truths[d]["defects"].values()) for d in (truths if days is None else days))

    def resent_days(self) -> list[date]:
        """The days whose rows were re-sent."""
        plan = self.rehearsal.plan
        if not self.rehearsal.faults.resent_rows:
            return []
        return [d for d in self.days if plan.resent_from <= d <= plan.resent_to]

    def expected_documents(self, source_id: str) -> set[str]:
        """The document numbers of every clean record ``source_id`` delivered, as stored."""
        agency = self.rehearsal.agency(source_id)
        first = self.days[0].isoformat()
        expected: set[str] = set()
        for day, truth in self.by_source[source_id].items():
            details = truth["details"]
            expected.update(_nfkc(document_no(agency, day, i)) for i in range(truth["records"]))
            expected.difference_update(_nfkc(d["document_no"]) for d in details["defects"])
            # The first days re-send (clean) records of days before the run: new to the platform.
            expected.update(
                _nfkc(d["document_no"])
                for d in (*details["resends"], *details["corrections"])
                if d["from_date"] < first
            )
        return expected


def _nfkc(text: str) -> str:
    """A document number as the platform stores it (NFKC-normalised)."""
    return unicodedata.normalize("NFKC", text).strip()


def _per_source(connection: sa.Connection, statement: sa.Select) -> dict[str, tuple]:
    return {row[0]: tuple(row[1:]) for row in connection.execute(statement)}


def check_raw_balance(connection: sa.Connection, truth: Truth) -> Check:
    """Per source and in all: raw records = read = loaded + quarantined."""
    b = ingest_batch.c
    batches = _per_source(
        connection,
        sa.select(
            b.source_id,
            sa.func.sum(b.n_read),
            sa.func.sum(LOADED_IN_BATCH),
            sa.func.sum(b.n_quarantined),
        ).group_by(b.source_id),
    )
    r = raw_record.c
    raw = _per_source(
        connection,
        sa.select(
            r.source_id,
            sa.func.count(),
            sa.func.count().filter(r.outcome == "loaded"),
            sa.func.count().filter(r.outcome == "quarantined"),
        ).group_by(r.source_id),
    )
    differences = []
    for source_id in truth.by_source:
        read, loaded, quarantined = (int(v or 0) for v in batches.get(source_id, (0, 0, 0)))
        raw_all, raw_loaded, raw_quarantined = raw.get(source_id, (0, 0, 0))
        if not raw_all == read == loaded + quarantined:
            differences.append(
                f"{source_id}: raw {raw_all}, read {read}, loaded {loaded} + quarantined "
                f"{quarantined}"
            )
        if (raw_loaded, raw_quarantined) != (loaded, quarantined):
            differences.append(
                f"{source_id}: raw outcomes loaded {raw_loaded} / quarantined {raw_quarantined}, "
                f"batches say {loaded} / {quarantined}"
            )
    totals = [sum(int(v[i] or 0) for v in batches.values()) for i in range(3)]
    return Check(
        "raw = loaded + quarantined",
        not differences,
        {
            "raw": sum(v[0] for v in raw.values()),
            "loaded": totals[1],
            "quarantined": totals[2],
            "sources": len(truth.by_source),
        },
        differences,
    )


def check_rows_arrived(connection: sa.Connection, truth: Truth) -> Check:
    """Every row each agency sent arrived in the raw store once: no row lost, none read twice."""
    faults, rehearsal = truth.rehearsal.faults, truth.rehearsal
    cut_day = [truth.day(rehearsal.plan.truncated)] if faults.truncated_file else []
    rejected_rows = truth.rows(TRUNCATED_SOURCE, cut_day)
    again_rows = rejected_rows if faults.dropped_again_file else 0
    raw = dict(
        connection.execute(
            sa.select(raw_record.c.source_id, sa.func.count()).group_by(raw_record.c.source_id)
        ).all()
    )
    differences, sent_total = [], 0
    for source_id in truth.by_source:
        sent = truth.rows(source_id)
        if source_id == RESENT_SOURCE:
            sent += faults.resent_rows
        if source_id == TRUNCATED_SOURCE:
            sent += again_rows - rejected_rows
        sent_total += sent
        if raw.get(source_id, 0) != sent:
            differences.append(
                f"{source_id}: sent {sent} rows, raw store holds {raw.get(source_id, 0)}"
            )
    return Check(
        "every row sent arrived once",
        not differences,
        {
            "rows sent": sent_total,
            "raw": sum(raw.values()),
            "of which re-sent month": faults.resent_rows,
            "rejected-file rows": rejected_rows,
            "dropped again whole": again_rows,
        },
        differences,
    )


def check_records_once(connection: sa.Connection, truth: Truth) -> Check:
    """Every clean record generated is a canonical record once; every defective one quarantined."""
    differences, expected_total, found_total = [], 0, 0
    for source_id in truth.by_source:
        agency = truth.rehearsal.agency(source_id)
        table = RECORD_TABLES[agency.kind]
        stored = Counter(
            dict(
                connection.execute(
                    sa.select(table.c.document_no, sa.func.count())
                    .where(table.c.source_id == source_id)
                    .group_by(table.c.document_no)
                ).all()
            )
        )
        expected = truth.expected_documents(source_id)
        expected_total += len(expected)
        found_total += sum(stored.values())
        missing = sorted(expected - set(stored))
        extra = sorted(set(stored) - expected)
        doubled = sorted(d for d, n in stored.items() if n > 1)
        for what, documents in (("missing", missing), ("unexpected", extra), ("twice", doubled)):
            if documents:
                differences.append(
                    f"{source_id}: {len(documents)} {what}, e.g. {', '.join(documents[:3])}"
                )
    quarantined = _quarantined_records(connection)
    expected_quarantined = {
        s: truth.defects(s) + (truth.defects(s, truth.resent_days()) if s == RESENT_SOURCE else 0)
        for s in truth.by_source
    }
    differences += [
        f"{s}: {quarantined.get(s, 0)} records quarantined, {n} defective ones delivered"
        for s, n in expected_quarantined.items()
        if quarantined.get(s, 0) != n
    ]
    return Check(
        "every record in the platform exactly once",
        not differences,
        {
            "clean records delivered": expected_total,
            "canonical records": found_total,
            "defective deliveries": sum(expected_quarantined.values()),
            "quarantined": sum(quarantined.values()),
        },
        differences,
    )


def _quarantined_records(connection: sa.Connection) -> dict[str, int]:
    """Raw records with at least one quarantine row, per source."""
    q = quarantine.c
    distinct = sa.select(q.source_id, q.batch_id, q.raw_seq).distinct().subquery()
    return dict(
        connection.execute(
            sa.select(distinct.c.source_id, sa.func.count()).group_by(distinct.c.source_id)
        ).all()
    )


def check_loaded_once(connection: sa.Connection, truth: Truth) -> Check:
    """No record inserted twice; the re-sent month read again and loaded as nothing new."""
    differences = []
    b = ingest_batch.c
    inserted = dict(
        connection.execute(
            sa.select(b.source_id, sa.func.sum(b.n_inserted)).group_by(b.source_id)
        ).all()
    )
    for source_id in truth.by_source:
        table = RECORD_TABLES[truth.rehearsal.agency(source_id).kind]
        stored = connection.scalar(
            sa.select(sa.func.count()).select_from(table).where(table.c.source_id == source_id)
        )
        if int(inserted.get(source_id) or 0) != stored:
            differences.append(f"{source_id}: {inserted.get(source_id)} inserted, {stored} stored")
    figures: dict[str, Any] = {"sources": len(truth.by_source)}
    resend_day = truth.day(truth.rehearsal.plan.resend_on)
    if truth.rehearsal.faults.resent_rows:
        batch = connection.execute(
            sa.select(
                b.n_read, b.n_inserted, b.n_updated, b.n_unchanged, b.n_outdated, b.n_quarantined
            ).where(
                b.source_id == RESENT_SOURCE, b.logical_date == resend_day, b.status != "failed"
            )
        ).one()
        own = truth.by_source[RESENT_SOURCE][resend_day]
        resent_defects = truth.defects(RESENT_SOURCE, truth.resent_days())
        expected = (
            own["rows"] + truth.rehearsal.faults.resent_rows,
            own["records"] - sum(own["defects"].values()),
            sum(own["defects"].values()) + resent_defects,
        )
        found = (batch.n_read, batch.n_inserted, batch.n_quarantined)
        figures |= {
            "re-sent month batch read": batch.n_read,
            "inserted (the day's own new records)": batch.n_inserted,
            "updated": batch.n_updated,
            "unchanged": batch.n_unchanged,
            "outdated (corrected since)": batch.n_outdated,
            "quarantined again": resent_defects,
        }
        if found != expected:
            differences.append(
                f"re-sent month batch: read/inserted/quarantined {found}, expected {expected}"
            )
    return Check("nothing loaded twice", not differences, figures, differences)


def check_corrections_stand(connection: sa.Connection, truth: Truth) -> Check:
    """Every record an agency corrected holds its last correction, whatever was re-sent after."""
    differences, checked = [], 0
    for source_id, days in truth.by_source.items():
        last: dict[str, dict[str, Any]] = {}
        for day in sorted(days):
            last.update((_nfkc(c["document_no"]), c) for c in days[day]["details"]["corrections"])
        table = RECORD_TABLES[truth.rehearsal.agency(source_id).kind]
        for field_name in {c["field"] for c in last.values()}:
            stored = dict(
                connection.execute(
                    sa.select(table.c.document_no, table.c[field_name]).where(
                        table.c.source_id == source_id,
                        table.c.document_no.in_(
                            [d for d, c in last.items() if c["field"] == field_name]
                        ),
                    )
                ).all()
            )
            for document, correction in last.items():
                if correction["field"] != field_name or document not in stored:
                    continue  # a correction of a defective record is quarantined like it
                checked += 1
                if not _same_value(stored[document], correction["new"]):
                    differences.append(
                        f"{source_id} {document}: {field_name} is {stored[document]!r}, "
                        f"corrected to {correction['new']!r}"
                    )
    outdated = connection.scalar(sa.select(sa.func.sum(ingest_batch.c.n_outdated)))
    figures = {
        "corrected records checked": checked,
        "holding an earlier version": len(differences),
        "earlier versions re-sent, not applied": int(outdated or 0),
    }
    return Check("every correction stands", not differences, figures, differences)


def _same_value(stored: Any, corrected: Any) -> bool:
    if isinstance(stored, Decimal):
        return stored == Decimal(str(corrected))
    return _nfkc(str(stored)) == _nfkc(str(corrected))


def check_changes_pushed(connection: sa.Connection, received: Received) -> Check:
    """Every status change reached every push target of its region exactly once."""
    changes = connection.execute(sa.select(status_change.c.id, status_change.c.region_code)).all()
    o = outbox.c
    outbox_rows = {
        row.target_id: row
        for row in connection.execute(
            sa.select(
                o.target_id,
                sa.func.count().label("rows"),
                sa.func.count(o.acknowledged_at).label("acknowledged"),
                sa.func.count(o.dead_at).label("dead"),
                sa.func.count().filter(o.attempts > 1).label("retried"),
            ).group_by(o.target_id)
        )
    }
    differences, expected_total, unique_total, retried = [], 0, 0, 0
    for target in push_targets():
        expected = {cid for cid, region in changes if target.covers(region)}
        got = Counter(received.change_ids.get(target.id, []))
        row = outbox_rows.get(target.id)
        expected_total += len(expected)
        unique_total += len(got)
        retried += row.retried if row else 0
        _compare_ids(differences, target.id, expected, got, "received")
        rows, acknowledged = (row.rows, row.acknowledged) if row else (0, 0)
        if not rows == acknowledged == len(expected):
            differences.append(
                f"{target.id}: outbox {rows} rows, {acknowledged} acknowledged, "
                f"{row.dead if row else 0} dead, {len(expected)} expected"
            )
    copies = sum(received.copies.values())
    return Check(
        "every change reached every push target once",
        not differences,
        {
            "status changes": len(changes),
            "deliveries expected": expected_total,
            "unique messages received": unique_total,
            "copies received (duplicates harmless)": copies,
            "delivered after a failed attempt": retried,
        },
        differences,
    )


def _compare_ids(
    differences: list[str], where: str, expected: set[int], got: Counter[int], what: str
) -> None:
    missing = sorted(expected - set(got))
    extra = sorted(set(got) - expected)
    twice = sorted(cid for cid, n in got.items() if n > 1)
    for label, ids in (("missing", missing), ("not of its region", extra), ("twice", twice)):
        if ids:
            differences.append(f"{where}: {len(ids)} changes {what} {label}, e.g. {ids[:3]}")


def check_delta_files(connection: sa.Connection, delta_dir: Path, days: int) -> Check:
    """Every pull site's sequence is 1..N without a gap, its files match their manifests, and
    its files hold every change of its region once."""
    changes = connection.execute(sa.select(status_change.c.id, status_change.c.region_code)).all()
    last_change = max((cid for cid, _ in changes), default=0)
    differences, files_checked, rows = [], 0, 0
    sequences = []
    for site in pull_targets():
        manifests = connection.execute(
            sa.select(delta_manifest)
            .where(delta_manifest.c.site_id == site.id)
            .order_by(delta_manifest.c.sequence)
        ).all()
        sequences.append(len(manifests))
        _check_sequence(differences, site, manifests, days, last_change)
        got: Counter[int] = Counter()
        for manifest in manifests:
            checked, change_ids = _check_set(differences, site, manifest, connection, delta_dir)
            files_checked += checked
            got.update(change_ids)
        rows += sum(got.values())
        low = manifests[0].watermark_from if manifests else 0
        expected = {cid for cid, region in changes if cid > low and site.covers(region)}
        _compare_ids(differences, site.id, expected, got, "in its files")
    return Check(
        "delta sequences gap-free, files match manifests",
        not differences,
        {
            "sites": len(sequences),
            "sets per site": sorted(set(sequences)),
            "files verified": files_checked,
            "rows": rows,
        },
        differences,
    )


def _check_sequence(
    differences: list[str], site: Target, manifests: list, days: int, last_change: int
) -> None:
    numbers = [m.sequence for m in manifests]
    if numbers != list(range(1, days + 1)):
        differences.append(f"{site.id}: sequence {numbers[:3]}…{numbers[-3:]}, expected 1..{days}")
    for before, after in itertools.pairwise(manifests):
        if after.watermark_from != before.watermark_to:
            differences.append(
                f"{site.id}: set {after.sequence} starts at {after.watermark_from}, "
                f"set {before.sequence} ended at {before.watermark_to}"
            )
    if manifests and manifests[-1].watermark_to != last_change:
        differences.append(
            f"{site.id}: last set ends at change {manifests[-1].watermark_to}, "
            f"the log at {last_change}"
        )


def _check_set(
    differences: list[str], site: Target, manifest: Any, connection: sa.Connection, delta_dir: Path
) -> tuple[int, list[int]]:
    """Verify one set's files against the database and its manifest; its change ids."""
    files = {
        row.format: row
        for row in connection.execute(
            sa.select(delta_file).where(delta_file.c.manifest_id == manifest.id)
        )
    }
    folder = delta_dir / site.id
    listed = {}
    if "manifest" in files and (folder / files["manifest"].name).exists():
        document = json.loads((folder / files["manifest"].name).read_bytes())
        listed = {f["name"]: f["sha256"] for f in document.get("files", [])}
    checked = 0
    for row in files.values():
        path = folder / row.name
        actual = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"
        checked += 1
        if actual != row.sha256 or (row.format != "manifest" and listed.get(row.name) != actual):
            differences.append(f"{site.id} set {manifest.sequence}: {row.name} is {actual[:12]}")
    parquet = files.get("parquet")
    if parquet is None or not (folder / parquet.name).exists():
        differences.append(f"{site.id} set {manifest.sequence}: no Parquet file")
        return checked, []
    table = pq.read_table(folder / parquet.name, columns=["change_id"])
    return checked, table.column("change_id").to_pylist()


def check_runs(connection: sa.Connection, truth: Truth) -> Check:
    """Batches failed only while their source was down, were partial only on the cut file's
    day, the source caught up after its outage, and every reconciliation run succeeded."""
    plan = truth.rehearsal.plan
    b = ingest_batch.c
    statuses = Counter(
        dict(connection.execute(sa.select(b.status, sa.func.count()).group_by(b.status)).all())
    )
    off_plan = connection.execute(
        sa.select(b.source_id, b.logical_date, b.status).where(b.status != "succeeded")
    ).all()
    expected = {(DOWN_SOURCE, truth.day(i), "failed") for i in plan.source_down}
    if truth.rehearsal.faults.truncated_file:
        expected.add((TRUNCATED_SOURCE, truth.day(plan.truncated), "partial"))
    found = {(s, d, st) for s, d, st in off_plan}
    differences = [f"{s} {d}: {st}, not planned" for s, d, st in sorted(found - expected)]
    differences += [f"{s} {d}: {st} was planned" for s, d, st in sorted(expected - found)]
    back = plan.source_down[-1] + 1
    down_days = [truth.day(i) for i in (*plan.source_down, back)]
    caught_up = connection.scalar(
        sa.select(b.n_read).where(
            b.source_id == DOWN_SOURCE, b.logical_date == truth.day(back), b.status == "succeeded"
        )
    )
    owed = truth.rows(DOWN_SOURCE, down_days)
    if caught_up != owed:
        differences.append(f"{DOWN_SOURCE} read {caught_up} rows when back, owed {owed}")
    runs = Counter(
        dict(
            connection.execute(
                sa.select(reconcile_run.c.status, sa.func.count()).group_by(reconcile_run.c.status)
            ).all()
        )
    )
    if set(runs) != {"succeeded"} or runs["succeeded"] != len(truth.days):
        differences.append(f"reconciliation runs {dict(runs)}, {len(truth.days)} should succeed")
    return Check(
        "runs went as planned",
        not differences,
        {
            "batches": dict(statuses),
            "rows read when the source was back": caught_up,
            "reconcile runs": dict(runs),
        },
        differences,
    )


def check_rejected_file(connection: sa.Connection, truth: Truth) -> Check:
    """The cut-off file was moved aside with its reason, and its whole copy was loaded."""
    faults = truth.rehearsal.faults
    folder = (
        truth.rehearsal.config.drop_root / truth.rehearsal.agency(TRUNCATED_SOURCE).channel.folder
    )
    files = {
        row.file_name: row
        for row in connection.execute(
            sa.select(source_file).where(source_file.c.source_id == TRUNCATED_SOURCE)
        )
    }
    cut = files.get(faults.truncated_file or "")
    again = files.get(faults.dropped_again_file or "")
    rejected = folder / "rejected" / (faults.truncated_file or "-")
    reason = rejected.with_name(f"{rejected.name}.reason.txt")
    differences = []
    if cut is None or cut.status != "rejected" or not cut.reason:
        differences.append(f"{faults.truncated_file}: ledger says {cut and cut.status}")
    if not (rejected.exists() and reason.exists()):
        differences.append(f"{rejected} or its reason file is missing")
    if again is None or again.status != "processed":
        differences.append(f"{faults.dropped_again_file}: ledger says {again and again.status}")
    return Check(
        "cut-off file rejected with its reason, whole copy loaded",
        not differences,
        {
            "file": faults.truncated_file,
            "reason": cut.reason if cut else None,
            "dropped again": faults.dropped_again_file,
        },
        differences,
    )


def audit(rehearsal: Rehearsal) -> list[Check]:
    """Run every check over a finished rehearsal (its services still running)."""
    truth = Truth(rehearsal)
    received = Received.from_rehearsal(rehearsal)
    published_days = rehearsal.options.days + 1  # and the morning after the last day
    checks: list[Callable[[sa.Connection], Check]] = [
        lambda c: check_raw_balance(c, truth),
        lambda c: check_rows_arrived(c, truth),
        lambda c: check_records_once(c, truth),
        lambda c: check_loaded_once(c, truth),
        lambda c: check_corrections_stand(c, truth),
        lambda c: check_changes_pushed(c, received),
        lambda c: check_delta_files(c, rehearsal.publishing.delta_dir, published_days),
        lambda c: check_runs(c, truth),
        lambda c: check_rejected_file(c, truth),
    ]
    with rehearsal.engine.connect() as connection:
        return [check(connection) for check in checks]
