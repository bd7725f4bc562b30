from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from stdnum.cn import ric, uscc

from sandbox.agencies import AGENCIES, TableChannel, get_agency
from sandbox.config import SandboxConfig
from sandbox.deliver import Delivery, deliver, init_sandbox, read_truth
from sandbox.drops import drop_path
from sandbox.exchange import exchange_table
from sandbox.render import excel_serial
from tests.sandbox.conftest import DAY, SEED
from tests.sandbox.delivered import delivered_rows


def _count_failing(rows: list[dict], column: str | None, is_valid) -> int:
    if column is None:
        return 0
    return sum(1 for r in rows if r.get(column) not in (None, "") and not is_valid(r[column]))


STYLE_FORMATS = {
    "iso": "%Y-%m-%d",
    "slash": "%Y/%m/%d",
    "compact": "%Y%m%d",
    "chinese": "%Y年%m月%d日",
    "datetime": "%Y-%m-%d %H:%M:%S",
}


def _bad_dates(agency, rows: list[dict]) -> int:
    columns = [agency.columns[f] for f in ("decision_date", "valid_until") if f in agency.columns]

    def parses(value: object) -> bool:
        if agency.date_style == "excel":
            return isinstance(value, int)
        try:
            datetime.strptime(str(value), STYLE_FORMATS[agency.date_style])
        except ValueError:
            return False
        return True

    return sum(1 for r in rows for c in columns if r[c] not in (None, "") and not parses(r[c]))


@pytest.mark.integration
@pytest.mark.parametrize("source_id", list(AGENCIES))
def test_truth_matches_delivered_data(
    sandbox_config: SandboxConfig, delivered: dict[str, Delivery], source_id: str
) -> None:
    agency = get_agency(source_id)
    truth = read_truth(sandbox_config, DAY, source_id)
    assert truth == delivered[source_id].truth
    rows = delivered_rows(sandbox_config, agency, DAY)
    assert len(rows) == truth["rows"]
    columns = agency.columns
    failing_codes = _count_failing(rows, columns.get("credit_code"), uscc.is_valid)
    assert failing_codes == truth["defects"]["credit_code_check"]
    failing_ids = _count_failing(rows, columns.get("id_number"), ric.is_valid)
    assert failing_ids == truth["defects"]["id_number_check"]
    assert _count_failing(rows, columns["authority_code"], uscc.is_valid) == 0
    assert _bad_dates(agency, rows) == truth["defects"]["date_format"]


def test_delivery_is_reproducible_byte_for_byte(tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        config = SandboxConfig(tmp_path / name, seed=SEED)
        init_sandbox(config)
        deliver(config, DAY)
        outputs.append(config)
    for agency in AGENCIES.values():
        first, second = (delivered_rows(c, agency, DAY) for c in outputs)
        assert first == second
    for folder in ("sthjt", "rst", "jtt"):
        [a] = (outputs[0].drop_root / folder).iterdir()
        [b] = (outputs[1].drop_root / folder).iterdir()
        assert a.read_bytes() == b.read_bytes()


def test_gbk_file_really_is_gbk(sandbox_config: SandboxConfig, delivered: dict) -> None:
    data = drop_path(get_agency("zj_sthjt_penalty_file"), DAY, sandbox_config.drop_root)
    raw = data.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    assert text.startswith("序号,行政处罚决定书文号") and "年11月" in text


def test_xlsx_dates_are_excel_serials(sandbox_config: SandboxConfig, delivered: dict) -> None:
    agency = get_agency("zj_rst_serious_file")
    rows = delivered_rows(sandbox_config, agency, DAY)
    serials = [r["列入日期"] for r in rows if not isinstance(r["列入日期"], str)]
    assert serials and all(isinstance(v, int) for v in serials)
    assert all(excel_serial(date(2026, 9, 1)) < v <= excel_serial(DAY) for v in serials)
    path = drop_path(agency, DAY, sandbox_config.drop_root)
    assert load_workbook(path).active.title == "名单"


def test_redelivery_adds_nothing(sandbox_config: SandboxConfig, delivered: dict) -> None:
    before = {a: len(delivered_rows(sandbox_config, g, DAY)) for a, g in AGENCIES.items()}
    files = sorted(sandbox_config.drop_root.rglob("*.*"))
    stamps = [f.stat().st_mtime_ns for f in files]
    again = deliver(sandbox_config, DAY)
    assert not any(d.written for d in again)
    assert [d.truth for d in again] == [delivered[d.source_id].truth for d in again]
    after = {a: len(delivered_rows(sandbox_config, g, DAY)) for a, g in AGENCIES.items()}
    assert after == before
    assert sorted(sandbox_config.drop_root.rglob("*.*")) == files
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_archived_file_is_not_dropped_again(sandbox_config: SandboxConfig) -> None:
    agency = get_agency("zj_jtt_penalty_file")
    deliver(sandbox_config, DAY, [agency.source_id])
    path = drop_path(agency, DAY, sandbox_config.drop_root)
    archive = path.parent / "archive" / DAY.isoformat()
    archive.mkdir(parents=True)
    path.rename(archive / path.name)
    [again] = deliver(sandbox_config, DAY, [agency.source_id])
    assert not again.written and not path.exists()


def _exchange_checks(config: SandboxConfig) -> None:
    days = [DAY, date(2026, 11, 4)]
    for day in days:
        deliver(config, day, ["zj_yjt_penalty_db", "zj_scjg_abnormal_db"])
    deliver(config, DAY, ["zj_yjt_penalty_db", "zj_scjg_abnormal_db"])  # no-op
    engine = sa.create_engine(config.exchange_database_url)
    try:
        with engine.connect() as conn:
            for source_id in ("zj_yjt_penalty_db", "zj_scjg_abnormal_db"):
                channel = get_agency(source_id).channel
                assert isinstance(channel, TableChannel)
                table = exchange_table(get_agency(source_id), sa.MetaData())
                cursor = [r[0] for r in conn.execute(sa.select(table.c[channel.cursor_column]))]
                expected = sum(read_truth(config, d, source_id)["rows"] for d in days)
                assert len(cursor) == expected
                if channel.cursor_kind == "sequence":
                    assert sorted(cursor) == list(range(1, expected + 1))
                else:
                    assert all(isinstance(v, datetime) and v.tzinfo is None for v in cursor)
                    assert {v.date() for v in cursor} == set(days)
            names = conn.execute(sa.text("SELECT XDRMC FROM yj_xzcf")).scalars().all()
            assert all(n is None or any("\u4e00" <= c <= "\u9fff" for c in n) for n in names)
    finally:
        engine.dispose()


@pytest.mark.integration
def test_exchange_delivery_into_mariadb(tmp_path: Path, mariadb_url: str) -> None:
    config = SandboxConfig(tmp_path / "sandbox", seed=SEED, exchange_url=mariadb_url)
    init_sandbox(config)
    _exchange_checks(config)
    for agency in AGENCIES.values():
        if isinstance(agency.channel, TableChannel):
            truth = read_truth(config, DAY, agency.source_id)
            rows = delivered_rows(config, agency, DAY)
            code = agency.columns["credit_code"]
            assert (
                _count_failing(rows, code, uscc.is_valid) == truth["defects"]["credit_code_check"]
            )


def test_exchange_delivery_into_sqlite(sandbox_config: SandboxConfig) -> None:
    _exchange_checks(sandbox_config)
    assert (sandbox_config.dir / "exchange.sqlite").exists()
