"""Collection: read a source, land every record raw, map, validate, quarantine or upsert.

One run of one source is one batch. The batch row is written first, on its own, so a failure is
always on record; everything else (raw records, quarantine, canonical rows, the cursor, the file
ledger, the batch's counts) commits in one transaction, so a crash leaves nothing half done and
the next run simply reads the same data again. Files are archived only after that commit.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from connectors import open_reader
from connectors.base import RawPage, Reader, ReadRequest
from connectors.connections import ConnectionResolver, from_environment
from hub.collect.lease import LEASE, Heartbeat, reap, this_process
from hub.collect.mapping import PROBLEM_COLUMNS, map_page, missing_mandatory
from hub.collect.payloads import json_lines, sha256s
from hub.collect.quarantine import resolve_quarantined
from hub.collect.sources import SourceSpec, get_source
from hub.collect.storable import unstorable_text
from hub.collect.upsert import UpsertCounts, loaded_columns, upsert_records
from hub.collect.validate import validate
from hub.core import clock
from hub.core.identity import content_hashes, record_keys
from hub.core.logs import ContextLogger, get_logger
from hub.core.privacy import mask_document, mask_text
from hub.core.settings import settings
from hub.core.text import identifiers_in
from hub.store.bulk import EncodedFrame, among, encode_frame, insert_encoded
from hub.store.schema import (
    ingest_batch,
    quarantine,
    raw_record,
    rejected_file_subject,
    source_cursor,
    source_file,
)

log = get_logger(__name__)

_SUBJECT_ID_LENGTH = quarantine.c.subject_id.type.length


class CollectError(RuntimeError):
    """A source's batch failed; the message names the source and the reason."""


@dataclass
class BatchSummary:
    """What one run of one source did, as stored in ``ingest_batch``."""

    source_id: str
    batch_id: int
    logical_date: date
    status: str = "running"
    read: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    quarantined: int = 0
    files_rejected: int = 0
    reread: int = 0
    cursor_before: str | None = None
    cursor_after: str | None = None
    drift: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    died_before: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        """Records that passed the rules (``hub.store.schema.LOADED_OUTCOMES``)."""
        return self.counts.loaded

    def as_dict(self) -> dict:
        """The figures as plain values (for XCom, JSON and tables), by the privacy policy."""
        return mask_document(
            {
                "source_id": self.source_id,
                "batch_id": self.batch_id,
                "logical_date": self.logical_date.isoformat(),
                "status": self.status,
                "read": self.read,
                "inserted": self.counts.inserted,
                "updated": self.counts.updated,
                "unchanged": self.counts.unchanged,
                "outdated": self.counts.outdated,
                "quarantined": self.quarantined,
                "files_rejected": self.files_rejected,
                "reread": self.reread,
                "drift": self.drift,
                "errors": self.errors,
                "died_before": self.died_before,
            }
        )


def window_end(day: date) -> datetime:
    """The end of logical day ``day`` in the platform's time zone: nothing later is read."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=settings().timezone)


def _open_batch(engine: sa.Engine, source_id: str, day: date) -> int:
    started = clock.now()
    with engine.begin() as connection:
        return connection.execute(
            ingest_batch.insert()
            .values(
                source_id=source_id,
                logical_date=day,
                status="running",
                started_at=started,
                owner=str(this_process()),
                lease_expires_at=started + LEASE,
            )
            .returning(ingest_batch.c.id)
        ).scalar_one()


def _fail_batch(engine: sa.Engine, batch_id: int, error: str) -> None:
    try:
        with engine.begin() as connection:
            connection.execute(
                ingest_batch.update()
                .where(ingest_batch.c.id == batch_id)
                .values(status="failed", finished_at=clock.now(), error=error)
            )
    except sa.exc.SQLAlchemyError as exc:
        # The database is gone too: the batch stays running until its death is noticed
        # (hub.collect.lease); the failure itself is raised to the caller.
        log.error(
            "could not mark the batch failed", batch=batch_id, reason=str(exc).splitlines()[0]
        )


@dataclass
class _PreparedPage:
    """A page ready to write: its raw rows, quarantine rows and canonical rows."""

    raw: EncodedFrame
    quarantined_rules: EncodedFrame
    canonical: pd.DataFrame
    canonical_encoded: EncodedFrame
    duplicates: int
    read: int
    quarantined: int


class _BatchLoader:
    """Loads the pages of one batch inside one transaction."""

    def __init__(
        self,
        connection: sa.Connection,
        spec: SourceSpec,
        summary: BatchSummary,
        received_at: datetime,
    ) -> None:
        self.connection = connection
        self.spec = spec
        self.summary = summary
        self.log = _batch_log(summary)
        self.received_at = received_at
        self.next_seq = 0
        self.files: dict[str, dict] = {}
        self.file_subjects: dict[str, set[str]] = {}
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"write-{spec.id}")
        self.pending: Future[UpsertCounts] | None = None
        self.fields_by_column = {m.column: f for f, m in spec.mapping.fields.items() if m.column}

    def request(self) -> ReadRequest:
        cursor = self.connection.scalar(
            sa.select(source_cursor.c.cursor).where(source_cursor.c.source_id == self.spec.id)
        )
        processed = self.connection.scalars(
            sa.select(source_file.c.sha256).where(
                source_file.c.source_id == self.spec.id, source_file.c.status == "processed"
            )
        )
        self.summary.cursor_before = self.summary.cursor_after = cursor
        return ReadRequest(cursor, window_end(self.summary.logical_date), frozenset(processed))

    def load(self, page: RawPage) -> RawPage:
        """Load one page; returns it as settled (a file lacking a mandatory column: rejected)."""
        if page.file is not None and page.file.sha256 in self.files:
            known = self.files[page.file.sha256]
            if known["status"] == "rejected":  # a further page of a file already rejected
                return replace(page, frame=pd.DataFrame(), error=known["reason"])
        elif page.file is not None and page.error is None and len(page.frame.columns):
            missing = missing_mandatory(self.spec, page.frame.columns)
            if missing is not None:
                page = replace(page, frame=pd.DataFrame(), error=f"{missing} from the file")
        # A reader's error may quote the offending row: masked before anyone stores or shows it.
        error = mask_text(page.error) if page.error else None
        if page.file is not None and page.file.sha256 not in self.files:
            self.files[page.file.sha256] = {
                "source_id": self.spec.id,
                "sha256": page.file.sha256,
                "file_name": page.file.path.name,
                "size": page.file.size,
                "status": "rejected" if error else "processed",
                "reason": error,
                "batch_id": self.summary.batch_id,
            }
        if error:
            if page.file is not None:
                self._name_subjects(page.file.sha256, page.file.path)
            self.summary.files_rejected += 1
            self.summary.errors.append(mask_text(f"{page.origin}: {error}"))
            self.log.warning("file rejected", file=page.origin, reason=error)
            return page
        if page.cursor is not None:
            self.summary.cursor_after = page.cursor
        if not page.frame.empty:
            self._load_records(page)
        return page

    def _name_subjects(self, sha256: str, path: Path) -> None:
        """Keep the codes and ID numbers a rejected text file names, for its subjects' cases."""
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("gb18030", errors="replace")
        self.file_subjects[sha256] = identifiers_in(text)

    def _load_records(self, page: RawPage) -> None:
        exported_on = page.file.exported_on if page.file is not None else None
        frame = self._without_reread(page)
        if frame.empty:
            return
        prepared = self._prepare(frame, page.origin, exported_on)
        self.summary.read += prepared.read
        self.summary.quarantined += prepared.quarantined
        # Writes run on the writer thread while the next page is read and mapped; at most one
        # page waits, so memory holds two pages whatever the delivery's size.
        self.wait_for_writes()
        self.pending = self.writer.submit(self._write, prepared)
        self.log.info(
            "page loaded", page=page.origin, read=prepared.read, quarantined=prepared.quarantined
        )

    def _without_reread(self, page: RawPage) -> pd.DataFrame:
        """The page less the rows its look-back read again exactly as they landed before.

        Only rows at or behind the stored cursor are looked up, by their payload's SHA-256; a
        row committed late, or changed since, has a new payload and loads as usual.
        """
        frame = page.frame.reset_index(drop=True)
        behind = page.behind_cursor
        if behind is None or not behind.any():
            return frame
        behind = behind.reset_index(drop=True)
        fingerprints = pd.Series(sha256s(json_lines(frame[behind])), index=frame.index[behind])
        self.wait_for_writes()  # the connection is the writer thread's until then
        r = raw_record.c
        landed = set(
            self.connection.scalars(
                sa.select(r.payload_sha256).where(
                    r.source_id == self.spec.id,
                    among(self.connection, r.payload_sha256, fingerprints.unique().tolist()),
                )
            )
        )
        again = fingerprints.index[fingerprints.isin(landed)]
        self.summary.reread += len(again)
        return frame.drop(index=again).reset_index(drop=True)

    def wait_for_writes(self) -> None:
        """Block until the page being written is in; re-raise what went wrong writing it."""
        if self.pending is not None:
            self.summary.counts += self.pending.result()
            self.pending = None

    def _prepare(self, frame: pd.DataFrame, origin: str, exported_on: date | None) -> _PreparedPage:
        unstorable, storable = unstorable_text(frame, self.fields_by_column)
        mapped = map_page(self.spec, storable)
        for drift in mapped.drift:
            if drift not in self.summary.drift:
                self.summary.drift.append(drift)
                self.log.warning("schema drift", page=origin, drift=drift)
        problems = pd.concat(
            [
                unstorable,
                mapped.problems,
                *validate(self.spec.kind, mapped.records, mapped.problems),
            ],
            ignore_index=True,
        )
        seqs = pd.RangeIndex(self.next_seq, self.next_seq + len(frame))
        self.next_seq += len(frame)
        bad = frame.index.isin(problems["row"])
        canonical, duplicates = self._canonical(mapped.records[~bad], seqs[~bad], exported_on)
        quarantined = self._quarantine(problems, mapped.records, seqs)
        if self.log.isEnabledFor(logging.DEBUG):
            self._log_quarantined(problems, mapped.records, seqs)
        encode = partial(encode_frame, self.connection.dialect.name)
        return _PreparedPage(
            raw=encode(self._raw(frame, origin, seqs, bad)),
            quarantined_rules=encode(quarantined),
            canonical=canonical,
            canonical_encoded=encode(canonical),
            duplicates=duplicates,
            read=len(frame),
            quarantined=int(bad.sum()),
        )

    def _write(self, prepared: _PreparedPage) -> UpsertCounts:
        insert_encoded(self.connection, raw_record, prepared.raw)
        insert_encoded(self.connection, quarantine, prepared.quarantined_rules)
        counts = upsert_records(
            self.connection, self.spec.kind, prepared.canonical, prepared.canonical_encoded
        )
        resolved = resolve_quarantined(
            self.connection,
            self.spec.id,
            prepared.canonical["document_no"].dropna(),
            self.received_at,
        )
        if resolved:
            self.log.info("quarantined records resolved by a good delivery", rows=resolved)
        return counts + UpsertCounts(unchanged=prepared.duplicates)

    def _raw(self, frame: pd.DataFrame, origin: str, seqs: pd.Index, bad: object) -> pd.DataFrame:
        payloads = json_lines(frame)
        return pd.DataFrame(
            {
                "batch_id": self.summary.batch_id,
                "seq": seqs,
                "source_id": self.spec.id,
                "origin": origin,
                "payload": payloads,
                "payload_sha256": sha256s(payloads),
                "received_at": self.received_at,
                "outcome": pd.Series(bad).map({True: "quarantined", False: "loaded"}).to_numpy(),
            }
        )

    def _quarantine(
        self, problems: pd.DataFrame, records: pd.DataFrame, seqs: pd.Index
    ) -> pd.DataFrame:
        rows = problems["row"].to_numpy()
        blamed = records["source_department"].iloc[rows].fillna(self.spec.department)
        found = problems[PROBLEM_COLUMNS[1:]].assign(
            batch_id=self.summary.batch_id,
            raw_seq=seqs[rows],
            source_id=self.spec.id,
            department=blamed.to_numpy(),
            created_at=self.received_at,
        )
        document = records["document_no"].iloc[rows].astype("str")
        found["document_no"] = document.to_numpy()
        subject = records["credit_code"].fillna(records["id_number"]).iloc[rows]
        # Anything longer is not a code a person will look up (and would not fit the column).
        found["subject_id"] = subject.where(subject.str.len() <= _SUBJECT_ID_LENGTH).to_numpy()
        named = (" (" + document + ")").fillna("").to_numpy()
        found["message"] = (
            f"source {self.spec.id}, batch {self.summary.batch_id} record "
            + found["raw_seq"].astype("str")
            + named
            + ": "
            + found["message"]
        ).map(mask_text)
        return found

    def _log_quarantined(
        self, problems: pd.DataFrame, records: pd.DataFrame, seqs: pd.Index
    ) -> None:
        """One debug line per rule a record failed: its row in the batch, document, rule."""
        documents = records["document_no"]
        for problem in problems.itertuples(index=False):
            document = documents.iloc[problem.row]
            self.log.debug(
                "record quarantined",
                record=int(seqs[problem.row]),
                document=None if pd.isna(document) else str(document),
                rule=problem.rule,
                field=problem.field,
                reason=problem.message,
            )

    def _canonical(
        self, records: pd.DataFrame, seqs: pd.Index, exported_on: date | None
    ) -> tuple[pd.DataFrame, int]:
        """Records with identity, fingerprint and lineage; one per identity (the last wins)."""
        kind = self.spec.kind
        canonical = records.assign(
            record_key=record_keys(kind, records),
            source_id=self.spec.id,
            batch_id=self.summary.batch_id,
            raw_seq=seqs,
            received_at=self.received_at,
            updated_at=self.received_at,
            exported_on=exported_on,
            content_hash=content_hashes(kind, records),
            version=1,
        )
        # A delivery may hold one record twice: the later copy is the agency's last word.
        canonical = canonical.drop_duplicates("record_key", keep="last")[loaded_columns(kind)]
        return canonical, len(records) - len(canonical)

    def commit_state(self) -> None:
        """Write the cursor, the file ledger and the batch's figures (same transaction)."""
        self.wait_for_writes()
        summary = self.summary
        if summary.cursor_after is not None and summary.cursor_after != summary.cursor_before:
            self.connection.execute(
                source_cursor.delete().where(source_cursor.c.source_id == self.spec.id)
            )
            self.connection.execute(
                source_cursor.insert().values(
                    source_id=self.spec.id,
                    cursor=summary.cursor_after,
                    batch_id=summary.batch_id,
                    updated_at=clock.now(),
                )
            )
        if self.files:
            # A file rejected before and dropped again unchanged is rejected again: one row.
            this_source = rejected_file_subject.c.source_id == self.spec.id
            seen = rejected_file_subject.c.sha256.in_(list(self.files))
            self.connection.execute(rejected_file_subject.delete().where(this_source, seen))
            self.connection.execute(
                source_file.delete().where(
                    source_file.c.source_id == self.spec.id,
                    source_file.c.sha256.in_(list(self.files)),
                )
            )
            self.connection.execute(source_file.insert(), list(self.files.values()))
            named = [
                {"source_id": self.spec.id, "sha256": sha256, "subject_id": subject}
                for sha256, subjects in self.file_subjects.items()
                for subject in sorted(subjects)
            ]
            if named:
                self.connection.execute(rejected_file_subject.insert(), named)
        summary.status = "partial" if summary.files_rejected else "succeeded"
        self.log.info(
            "batch finished",
            status=summary.status,
            read=summary.read,
            inserted=summary.counts.inserted,
            updated=summary.counts.updated,
            unchanged=summary.counts.unchanged,
            outdated=summary.counts.outdated,
            quarantined=summary.quarantined,
            files_rejected=summary.files_rejected,
            reread=summary.reread,
        )
        self.connection.execute(
            ingest_batch.update()
            .where(ingest_batch.c.id == summary.batch_id)
            .values(
                status=summary.status,
                finished_at=clock.now(),
                cursor_before=summary.cursor_before,
                cursor_after=summary.cursor_after,
                n_read=summary.read,
                n_inserted=summary.counts.inserted,
                n_updated=summary.counts.updated,
                n_unchanged=summary.counts.unchanged,
                n_outdated=summary.counts.outdated,
                n_quarantined=summary.quarantined,
                n_files_rejected=summary.files_rejected,
                n_reread=summary.reread,
                schema_drift=json.dumps(summary.drift, ensure_ascii=False)
                if summary.drift
                else None,
                error="\n".join(summary.errors) or None,
            )
        )


def _batch_log(summary: BatchSummary) -> ContextLogger:
    return log.bind(
        source=summary.source_id, batch=summary.batch_id, day=summary.logical_date.isoformat()
    )


def _read_and_load(
    engine: sa.Engine,
    spec: SourceSpec,
    reader: Reader,
    summary: BatchSummary,
    received_at: datetime,
) -> list[RawPage]:
    file_pages: list[RawPage] = []
    with engine.begin() as connection:
        loader = _BatchLoader(connection, spec, summary, received_at)
        try:
            for page in reader.pages(loader.request()):
                settled = loader.load(page)
                if page.file is not None:
                    file_pages.append(settled)
            loader.commit_state()
        finally:
            loader.writer.shutdown(wait=True)
    return file_pages


def collect_source(
    source_id: str,
    day: date,
    *,
    engine: sa.Engine,
    resolve: ConnectionResolver = from_environment,
    received_at: datetime | None = None,
) -> BatchSummary:
    """Collect one source's new records for logical day ``day``.

    ``received_at`` is the platform receive time stamped on the batch's records, from which
    timeliness is measured: now, unless a replay of archived deliveries gives their own.

    Raises:
        CollectError: the source could not be read or its delivery is unusable; the batch is
            marked failed with the same message and nothing of it was loaded.
    """
    spec = get_source(source_id)
    died_before = reap(engine, spec.id)
    summary = BatchSummary(spec.id, _open_batch(engine, spec.id, day), day, died_before=died_before)
    batch_log = _batch_log(summary)
    batch_log.info("batch started", connector=spec.connector.type)
    try:
        reader = open_reader(spec.id, spec.connector, resolve)
        with Heartbeat(engine, summary.batch_id):
            file_pages = _read_and_load(engine, spec, reader, summary, received_at or clock.now())
    except Exception as exc:
        message = str(exc) if str(exc).startswith("source ") else f"source {spec.id}: {exc}"
        message = mask_text(message)
        _fail_batch(engine, summary.batch_id, message)
        summary.status = "failed"
        batch_log.error("source failed", reason=message)
        raise CollectError(message) from exc
    for page in file_pages:
        reader.settle(page, day.isoformat())
    return summary
