"""Collection end to end over the sandbox province, through the real parts.

The agencies' APIs are served over loopback HTTP, the exchange tables live in MariaDB, the file
drops are real files; the platform database is a SQLite file, then PostgreSQL. Figures are checked
against what the sandbox says it delivered (its ground truth).
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from hub.collect.run import BatchSummary, CollectError, collect_source
from hub.collect.sources import enabled_sources, get_source
from hub.ops.status import platform_status
from hub.store.schema import RECORD_TABLES, ingest_batch, quarantine, raw_record
from sandbox.agencies import RULES
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox, read_truth
from sandbox.server import ServerHandle
from tests.conftest import sandbox_in_environment

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 3)
SOURCES = [s.id for s in enabled_sources()]


@dataclass
class Province:
    config: SandboxConfig
    server: ServerHandle
    engine: sa.Engine

    def deliver(self, day: date, *source_ids: str, count: int | None = None) -> None:
        deliver(self.config, day, list(source_ids) or None, count=count)

    def collect(self, day: date, source_id: str) -> BatchSummary:
        return collect_source(source_id, day, engine=self.engine)

    def truth(self, day: date, source_id: str) -> dict:
        return read_truth(self.config, day, source_id)


@pytest.fixture
def province(
    tmp_path: Path, platform_engine: sa.Engine, mariadb_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Province]:
    """A sandbox province (no random faults) wired to a fresh platform database."""
    config = SandboxConfig(tmp_path / "sandbox", seed=11, exchange_url=mariadb_url)
    init_sandbox(config)
    with sandbox_in_environment(config, monkeypatch) as server:
        yield Province(config, server, platform_engine)


def _scalar(engine: sa.Engine, statement: sa.Select) -> int:
    with engine.connect() as connection:
        return connection.execute(statement).scalar_one()


def _quarantined_by_rule(engine: sa.Engine, batch_id: int) -> Counter:
    statement = (
        sa.select(quarantine.c.rule, sa.func.count())
        .where(quarantine.c.batch_id == batch_id)
        .group_by(quarantine.c.rule)
    )
    with engine.connect() as connection:
        return Counter(dict(connection.execute(statement).all()))


@pytest.mark.parametrize("source_id", SOURCES)
def test_a_day_loads_exactly_what_the_agency_delivered(province: Province, source_id: str) -> None:
    province.deliver(DAY, source_id)
    truth = province.truth(DAY, source_id)
    summary = province.collect(DAY, source_id)

    assert summary.status == "succeeded", summary.errors
    assert summary.read == truth["rows"]
    defects = sum(truth["defects"][rule] for rule in RULES)
    assert summary.quarantined == defects
    assert _quarantined_by_rule(province.engine, summary.batch_id) == Counter(
        {rule: n for rule, n in truth["defects"].items() if n}
    )
    # Duplicates in the delivery collapse onto one canonical row.
    assert summary.counts.inserted == truth["rows"] - defects - truth["duplicates"]
    assert summary.loaded + summary.quarantined == summary.read
    raw = _scalar(
        province.engine,
        sa.select(sa.func.count())
        .select_from(raw_record)
        .where(raw_record.c.batch_id == summary.batch_id),
    )
    assert raw == summary.read
    table = _table(source_id)
    assert _scalar(province.engine, sa.select(sa.func.count()).select_from(table)) == (
        summary.counts.inserted
    )


@pytest.mark.parametrize("source_id", SOURCES)
def test_a_second_run_reads_only_new_data_and_a_rerun_loads_nothing_twice(
    province: Province, source_id: str
) -> None:
    province.deliver(DAY, source_id)
    first = province.collect(DAY, source_id)
    again = province.collect(DAY, source_id)
    assert (again.read, again.counts.inserted, again.status) == (0, 0, "succeeded")

    table = _table(source_id)
    with province.engine.connect() as connection:
        known = set(connection.scalars(sa.select(table.c.document_no)))
    next_day = DAY + timedelta(days=1)
    province.deliver(next_day, source_id)
    truth = province.truth(next_day, source_id)
    second = province.collect(next_day, source_id)
    assert second.read == truth["rows"]
    # Re-sends and corrections of records already loaded are recognised as such; those of
    # records the platform never received are new to it. Nothing is loaded twice.
    of_known = {
        what: sum(1 for r in truth["details"][what] if _document_no(r) in known)
        for what in ("resends", "corrections")
    }
    defects = sum(truth["defects"].values())
    assert second.counts.updated == of_known["corrections"]
    assert second.counts.unchanged == of_known["resends"] + truth["duplicates"]
    assert second.counts.inserted == (
        truth["rows"] - defects - truth["duplicates"] - sum(of_known.values())
    )
    total = _scalar(province.engine, sa.select(sa.func.count()).select_from(table))
    assert total == first.counts.inserted + second.counts.inserted
    assert first.read > 0


def _document_no(detail: dict) -> str:
    """The document number as the platform stores it (NFKC-normalised)."""
    return unicodedata.normalize("NFKC", detail["document_no"]).strip()


def _table(source_id: str) -> sa.Table:
    return RECORD_TABLES[get_source(source_id).kind]


def _collect_all(province: Province, day: date) -> tuple[dict[str, BatchSummary], dict[str, str]]:
    done, failed = {}, {}
    for source_id in SOURCES:
        try:
            done[source_id] = province.collect(day, source_id)
        except CollectError as exc:
            failed[source_id] = str(exc)
    return done, failed


def _batch(engine: sa.Engine, batch_id: int) -> sa.RowMapping:
    with engine.connect() as connection:
        return (
            connection.execute(sa.select(ingest_batch).where(ingest_batch.c.id == batch_id))
            .mappings()
            .one()
        )


def test_an_api_answering_html_fails_alone_and_loads_after_recovery(province: Province) -> None:
    province.deliver(DAY)
    province.server.set_faults("zj_scjg_penalty_api", mode="html")
    done, failed = _collect_all(province, DAY)

    assert list(failed) == ["zj_scjg_penalty_api"]
    assert failed["zj_scjg_penalty_api"].startswith("source zj_scjg_penalty_api: expected JSON")
    assert "text/html" in failed["zj_scjg_penalty_api"]
    assert all(s.status == "succeeded" and s.read > 0 for s in done.values())
    with province.engine.connect() as connection:
        failed_batch = (
            connection.execute(
                sa.select(ingest_batch).where(ingest_batch.c.source_id == "zj_scjg_penalty_api")
            )
            .mappings()
            .one()
        )
    assert failed_batch["status"] == "failed"
    assert failed_batch["error"] == failed["zj_scjg_penalty_api"]
    assert failed_batch["n_read"] == 0

    province.server.set_faults("zj_scjg_penalty_api", mode="normal")
    recovered = province.collect(DAY, "zj_scjg_penalty_api")
    assert recovered.read == province.truth(DAY, "zj_scjg_penalty_api")["rows"]


def test_a_flaky_api_is_retried_until_everything_arrived(province: Province) -> None:
    source_id = "zj_wjw_penalty_api"
    province.deliver(DAY, source_id, count=3000)
    province.server.set_faults(source_id, fail_rate=0.4)
    summary = province.collect(DAY, source_id)
    assert summary.read == province.truth(DAY, source_id)["rows"] > 3000
    pages = summary.read // 500 + 1  # offset pagination ends on a short page
    assert province.server.request_counts()[source_id] > pages + 1  # some were retried


def test_a_truncated_file_is_set_aside_while_the_other_files_load(province: Province) -> None:
    source_id = "zj_sthjt_penalty_file"
    next_day = DAY + timedelta(days=1)
    province.deliver(DAY, source_id)
    province.deliver(next_day, source_id)
    folder = province.config.drop_root / "sthjt"
    cut, whole = sorted(folder.glob("*.csv"))
    content = cut.read_bytes()
    cut.write_bytes(content[: content.rindex(b",", 0, len(content) - 200)])  # cut mid-row

    summary = province.collect(next_day, source_id)

    assert summary.status == "partial"
    assert summary.read == province.truth(next_day, source_id)["rows"]
    assert summary.files_rejected == 1
    [error] = summary.errors
    assert error.startswith(cut.name) and "columns" in error
    assert (folder / "rejected" / cut.name).exists()
    reason = (folder / "rejected" / f"{cut.name}.reason.txt").read_text(encoding="utf-8")
    assert "columns" in reason
    assert (folder / "archive" / next_day.isoformat() / whole.name).exists()
    assert _batch(province.engine, summary.batch_id)["error"] == error


def test_a_missing_exchange_table_fails_alone(province: Province, mariadb_url: str) -> None:
    province.deliver(DAY)
    exchange = sa.create_engine(mariadb_url)
    with exchange.begin() as connection:
        connection.execute(sa.text("DROP TABLE gsxt_abnormal_list"))
    exchange.dispose()
    done, failed = _collect_all(province, DAY)
    assert list(failed) == ["zj_scjg_abnormal_db"]
    assert "gsxt_abnormal_list" in failed["zj_scjg_abnormal_db"]
    assert len(done) == len(SOURCES) - 1


def test_schema_drift_is_reported_and_a_missing_mandatory_column_rejects_the_file(
    province: Province,
) -> None:
    source_id = "zj_sthjt_penalty_file"
    province.deliver(DAY, source_id)
    [path] = (province.config.drop_root / "sthjt").glob("*.csv")
    frame = pd.read_csv(path, encoding="gbk", dtype=str, keep_default_na=False)
    frame.assign(新增字段="x").to_csv(path, index=False, encoding="gbk")
    drifted = province.collect(DAY, source_id)
    assert drifted.drift == ["unknown column '新增字段'"]
    assert drifted.read == province.truth(DAY, source_id)["rows"]

    next_day = DAY + timedelta(days=1)
    province.deliver(next_day, source_id)
    [path] = (province.config.drop_root / "sthjt").glob("*.csv")
    frame = pd.read_csv(path, encoding="gbk", dtype=str, keep_default_na=False)
    frame.drop(columns=["处罚决定日期"]).to_csv(path, index=False, encoding="gbk")
    rejected = province.collect(next_day, source_id)
    reason = (
        "column '处罚决定日期' (mapped to mandatory field decision_date) is missing from the file"
    )
    assert (rejected.status, rejected.files_rejected) == ("partial", 1)
    assert rejected.errors == [f"{path.name}: {reason}"]
    # Set aside with its reason, for the agency to fix; the source's other files would load.
    assert (path.parent / "rejected" / f"{path.name}.reason.txt").read_text(
        "utf-8"
    ) == reason + "\n"


def test_every_quarantined_record_is_kept_raw_with_its_reason(province: Province) -> None:
    source_id = "zj_yjt_penalty_db"
    province.deliver(DAY, source_id)
    summary = province.collect(DAY, source_id)
    defects = province.truth(DAY, source_id)["details"]["defects"]
    assert summary.quarantined == len(defects) > 0
    joined = sa.select(raw_record.c.payload, raw_record.c.outcome, quarantine).join(
        quarantine,
        (quarantine.c.batch_id == raw_record.c.batch_id)
        & (quarantine.c.raw_seq == raw_record.c.seq),
    )
    with province.engine.connect() as connection:
        rows = connection.execute(joined).mappings().all()
    kept = {(json.loads(r["payload"])["WSH"], r["rule"]) for r in rows}
    assert kept == {(d["document_no"], d["rule"]) for d in defects}
    assert {r["outcome"] for r in rows} == {"quarantined"}
    assert all(r["department"] == "省应急管理厅" for r in rows)
    for r in rows:
        document = json.loads(r["payload"])["WSH"]
        prefix = f"source {source_id}, batch {summary.batch_id} record {r['raw_seq']}"
        assert r["message"].startswith(f"{prefix} ({document}): " if document else f"{prefix}: ")


def test_a_quarantined_record_delivered_again_good_is_resolved(province: Province) -> None:
    source_id = "zj_yjt_penalty_db"
    province.deliver(DAY, source_id)
    province.collect(DAY, source_id)
    defects = province.truth(DAY, source_id)["details"]["defects"]
    *fixed, left = sorted({d["document_no"] for d in defects if d["document_no"]})
    assert fixed

    # The agency corrects all but one of its defective rows: the content of a clean row under
    # the row's own document number, written again the next morning.
    next_day = DAY + timedelta(days=1)
    agency = sa.create_engine(province.config.exchange_database_url)
    table = sa.Table("yj_xzcf", sa.MetaData(), autoload_with=agency)
    corrected = 0
    with agency.begin() as exchange:
        rows = exchange.execute(sa.select(table)).mappings().all()
        clean = next(r for r in rows if r["WSH"] not in {d["document_no"] for d in defects})
        content = {k: v for k, v in clean.items() if k not in ("id", "WSH", "update_time")}
        for document in fixed:
            corrected += exchange.execute(
                table.update()
                .where(table.c["WSH"] == document)
                .values(**content, update_time=datetime(2026, 11, 4, 9, 0))
            ).rowcount
    agency.dispose()
    again = province.collect(next_day, source_id)

    assert (again.read, again.quarantined) == (corrected, 0)
    q = quarantine.c
    with province.engine.connect() as connection:
        rows = connection.execute(sa.select(q.document_no, q.resolved_at)).all()
    assert {document for document, resolved in rows if resolved is not None} == set(fixed)
    assert len(rows) == len(defects)  # resolving keeps every reason
    still_open = platform_status(province.engine, datetime.now(UTC)).quarantine
    assert sum(c.records for c in still_open) == sum(1 for d in defects if d["document_no"] == left)


def test_a_rejected_file_dropped_again_is_read_again(province: Province) -> None:
    source_id = "zj_jtt_penalty_file"
    province.deliver(DAY, source_id)
    folder = province.config.drop_root / "jtt"
    [path] = folder.glob("*.jsonl")
    good = path.read_bytes()
    path.write_bytes(good[:-30])
    first = province.collect(DAY, source_id)
    assert (first.status, first.read) == ("partial", 0)

    (folder / "rejected" / path.name).replace(path)  # the agency drops the same broken file
    again = province.collect(DAY, source_id)
    assert (again.status, again.files_rejected) == ("partial", 1)

    path.write_bytes(good)  # and then the repaired one
    fixed = province.collect(DAY, source_id)
    assert (fixed.status, fixed.read) == ("succeeded", province.truth(DAY, source_id)["rows"])
