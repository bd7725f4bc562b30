"""Collection's log lines name the source, batch and record, in text and as JSON lines."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.http_session import HttpPolicy, build_session, send_request
from hub.collect.run import CollectError, collect_source
from hub.core.logs import configure, get_logger, masked_logger
from hub.store.db import make_engine, upgrade
from hub.store.schema import ingest_batch, quarantine
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver, init_sandbox, read_truth
from tests.conftest import sandbox_in_environment
from tests.core.privacy_cases import PLANTED, PLANTED_MASKED, assert_masked, leaked

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 3)
QUARANTINING = "zj_yjt_penalty_db"  # the exchange-database source; its deliveries carry defects
FAILING = "zj_rst_serious_file"  # its drop folder's connection is taken away
ID_SHAPED = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")


@pytest.fixture
def province(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxConfig]:
    """A sandbox with ``DAY`` delivered and served; the file drop's connection missing."""
    config = SandboxConfig(tmp_path / "sandbox", seed=5)
    init_sandbox(config)
    deliver(config, DAY, [QUARANTINING, FAILING])
    with sandbox_in_environment(config, monkeypatch):
        monkeypatch.delenv("AIRFLOW_CONN_ZJ_RST_FILE_DROP")
        yield config


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Whatever ``configure`` changes on the root and project loggers is put back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("hub", "connectors")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


def _collect_both(engine: sa.Engine) -> tuple[int, int]:
    """Collect the quarantining source, then the failing one; their batch ids."""
    loaded = collect_source(QUARANTINING, DAY, engine=engine)
    with pytest.raises(CollectError):
        collect_source(FAILING, DAY, engine=engine)
    with engine.connect() as connection:
        failed = connection.scalar(
            sa.select(ingest_batch.c.id).where(ingest_batch.c.source_id == FAILING)
        )
    return loaded.batch_id, failed


def test_collection_logs_name_source_batch_and_each_quarantined_record(
    province: SandboxConfig, engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="hub.collect.run")
    batch, failed_batch = _collect_both(engine)
    truth = read_truth(province, DAY, QUARANTINING)
    by_message: dict[str, list[logging.LogRecord]] = {}
    for record in caplog.records:
        bare = getattr(record, "hub_message", record.getMessage())
        by_message.setdefault(bare, []).append(record)

    [started, _] = by_message["batch started"]
    assert (started.source, started.batch, started.day) == (QUARANTINING, batch, "2026-11-03")
    [finished] = by_message["batch finished"]
    assert (finished.source, finished.batch, finished.status) == (QUARANTINING, batch, "succeeded")
    assert finished.read == truth["rows"]
    assert finished.quarantined == sum(truth["defects"].values()) > 0

    quarantined = by_message["record quarantined"]
    assert all(r.levelname == "DEBUG" for r in quarantined)
    assert {(r.source, r.batch) for r in quarantined} == {(QUARANTINING, batch)}
    defects = truth["details"]["defects"]
    assert {(r.document, r.rule) for r in quarantined} == {
        (d["document_no"] or None, d["rule"]) for d in defects
    }
    with engine.connect() as connection:
        stored = set(
            connection.execute(
                sa.select(quarantine.c.raw_seq, quarantine.c.rule).where(
                    quarantine.c.batch_id == batch
                )
            ).all()
        )
    assert {(r.record, r.rule) for r in quarantined} == stored
    first = quarantined[0]
    assert first.getMessage().startswith(
        f"record quarantined [source={QUARANTINING} batch={batch} day=2026-11-03 "
        f"record={first.record} "
    )

    [failed] = by_message["source failed"]
    assert (failed.levelname, failed.source, failed.batch) == ("ERROR", FAILING, failed_batch)
    assert failed.reason.startswith(f"source {FAILING}: ")
    assert "AIRFLOW_CONN_ZJ_RST_FILE_DROP" in failed.reason
    assert not ID_SHAPED.findall(caplog.text), "an unmasked ID number was logged"


def test_hub_log_format_json_writes_one_parseable_object_per_line(
    province: SandboxConfig,
    engine: sa.Engine,
    monkeypatch: pytest.MonkeyPatch,
    restored_logging: None,
) -> None:
    monkeypatch.setenv("HUB_LOG_FORMAT", "json")
    out = io.StringIO()
    configure(verbosity=2, stream=out)
    batch, failed_batch = _collect_both(engine)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    quarantined = [line for line in lines if line["message"] == "record quarantined"]
    assert quarantined and all(
        (line["level"], line["logger"], line["source"], line["batch"])
        == ("DEBUG", "hub.collect.run", QUARANTINING, batch)
        and isinstance(line["record"], int)
        and line["rule"]
        for line in quarantined
    )
    [finished] = [line for line in lines if line["message"] == "batch finished"]
    assert finished["read"] == read_truth(province, DAY, QUARANTINING)["rows"]
    [failed] = [line for line in lines if line["message"] == "source failed"]
    assert (failed["level"], failed["source"], failed["batch"]) == ("ERROR", FAILING, failed_batch)
    assert "AIRFLOW_CONN_ZJ_RST_FILE_DROP" in failed["reason"]


def test_id_numbers_are_masked_in_the_message_and_the_fields(restored_logging: None) -> None:
    out = io.StringIO()
    configure(verbosity=1, log_format="text", stream=out)
    log = get_logger("hub.test", source="zj_x")
    log.warning("subject %s refused", "330106199001014218", subject="110105199001011234")

    line = out.getvalue().strip()
    assert line.endswith(
        "WARNING hub.test subject 330106********4218 refused "
        "[source=zj_x subject=110105********1234]"
    )


class _FlakyHandler(BaseHTTPRequestHandler):
    """Answers 503 to the first two requests, then 200."""

    seen = 0

    def do_GET(self) -> None:
        type(self).seen += 1
        self.send_response(503 if self.seen <= 2 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


def test_http_retries_name_the_source_and_the_page(caplog: pytest.LogCaptureFixture) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/penalties"
    session = build_session(
        HttpPolicy(max_retries=3, backoff_seconds=0.01),
        log_fields={"source": "zj_scjg_penalty_api"},
    )
    try:
        with caplog.at_level(logging.WARNING, logger="connectors.http_session"):
            answer = send_request(session, "GET", url, params={"page": 3}, timeout=5)
    finally:
        session.close()
        server.shutdown()
        server.server_close()

    assert answer.status_code == 200
    assert [r.getMessage() for r in caplog.records] == [
        f"retrying GET {url}?page=3 after 503 Service Unavailable (retry {n} of 3) "
        "[source=zj_scjg_penalty_api]"
        for n in (1, 2)
    ]
    assert [(r.source, r.url, r.retry) for r in caplog.records] == [
        ("zj_scjg_penalty_api", f"{url}?page=3", n) for n in (1, 2)
    ]


def test_every_privacy_case_is_masked_in_every_log_line_and_format(
    restored_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    text, as_json = io.StringIO(), io.StringIO()
    with caplog.at_level(logging.INFO):
        for log_format, out in (("text", text), ("json", as_json)):
            configure(verbosity=1, log_format=log_format, stream=out)
            get_logger("hub.test", source=PLANTED).warning("reason %s", PLANTED, detail=PLANTED)
            plain = masked_logger("connectors.test")
            plain.warning("row %s", PLANTED, extra={"row": PLANTED})
            try:
                raise ValueError(PLANTED)
            except ValueError:
                plain.exception("failed")

    for out in (text.getvalue(), as_json.getvalue()):
        assert_masked(out)
    lines = [json.loads(line) for line in as_json.getvalue().splitlines()]
    assert [line["message"] for line in lines] == [
        f"reason {PLANTED_MASKED}",
        f"row {PLANTED_MASKED}",
        "failed",
    ]
    assert (lines[0]["detail"], lines[1]["row"]) == (PLANTED_MASKED, PLANTED_MASKED)
    assert PLANTED_MASKED in lines[2]["exception"]
    assert_masked(caplog.text)  # what any other handler (Airflow's task log) is handed
    # Every text a record carries (the live exception object aside, whose text is masked above).
    texts = [{k: v for k, v in vars(r).items() if k != "exc_info"} for r in caplog.records]
    assert [leaked(str(text)) for text in texts] == [[]] * 6
