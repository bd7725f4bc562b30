from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from connectors.base import RawPage, ReadRequest, SourceError
from connectors.connections import Connection
from connectors.files import FileReader
from connectors.specs import FileConnector
from hub.core import clock

DAY = "2026-11-03"
HEADER = "统一社会信用代码,企业名称,处罚金额"
ROWS = ["91330000MA27XYZ123,杭州某某科技有限公司,1.5", "91330100MA2AB0001X,宁波某某贸易有限公司,"]


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "agency"
    folder.mkdir()
    return folder


def make_reader(drop: Path, chunk_rows: int = 100_000, **fields: Any) -> FileReader:
    spec = FileConnector(connection="drop", folder=drop.name, **{"format": "csv", **fields})
    connection = Connection("drop", extra={"path": str(drop.parent)})
    return FileReader("agency_files", spec, connection, chunk_rows=chunk_rows)


def read_all(reader: FileReader, request: ReadRequest | None = None) -> list[RawPage]:
    return list(reader.pages(request or ReadRequest()))


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\n".join(lines).encode(encoding) + b"\n")
    return path


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_utf8_csv_with_bom_reads_every_column_as_text(drop: Path) -> None:
    write_csv(drop / "a.csv", [HEADER, *ROWS], encoding="utf-8-sig")

    [page] = read_all(make_reader(drop))

    assert page.error is None
    assert page.origin == "a.csv"
    assert page.frame.to_dict("records") == [
        {
            "统一社会信用代码": "91330000MA27XYZ123",
            "企业名称": "杭州某某科技有限公司",
            "处罚金额": "1.5",
        },
        {
            "统一社会信用代码": "91330100MA2AB0001X",
            "企业名称": "宁波某某贸易有限公司",
            "处罚金额": "",
        },
    ]
    assert page.file is not None
    assert page.file.sha256 == hashlib.sha256((drop / "a.csv").read_bytes()).hexdigest()


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_chinese_legacy_encodings_are_detected(drop: Path, encoding: str) -> None:
    name = "𠀀记有限公司" if encoding == "gb18030" else "杭州某某科技有限公司"  # 𠀀 is not in GBK
    write_csv(drop / "a.csv", [HEADER, f"91330000MA27XYZ123,{name},2"], encoding=encoding)

    [page] = read_all(make_reader(drop))

    assert page.error is None
    assert page.frame.loc[0, "企业名称"] == name


def test_declared_encoding_is_used(drop: Path) -> None:
    write_csv(drop / "a.csv", [HEADER, *ROWS], encoding="gbk")

    [gbk_page] = read_all(make_reader(drop, encoding="gbk"))
    [utf8_page] = read_all(make_reader(drop, encoding="utf-8"))

    assert gbk_page.frame.loc[1, "企业名称"] == "宁波某某贸易有限公司"
    assert utf8_page.frame.empty
    assert utf8_page.error is not None
    assert "utf" in utf8_page.error.lower()


def test_bytes_in_no_known_encoding_make_the_file_unreadable(drop: Path) -> None:
    (drop / "a.csv").write_bytes(b"code,name\n1,\xff\xfe\xff\n")

    [page] = read_all(make_reader(drop))

    assert page.error == "the text is neither UTF-8 nor GB18030 (GBK)"


def test_tab_delimited_csv(drop: Path) -> None:
    write_csv(drop / "a.tsv", ["code\tname", "1\t甲", "2\t乙"])

    [page] = read_all(make_reader(drop, delimiter="\t"))

    assert page.frame.to_dict("list") == {"code": ["1", "2"], "name": ["甲", "乙"]}


def test_xlsx_cells_come_as_text(drop: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["企业名称", "决定日期", "有效期至", "金额"])
    sheet.append(["杭州某某科技有限公司", dt.date(2026, 11, 3), 46329, 12.5])
    sheet.append(["宁波某某贸易有限公司", None, 46330, None])
    workbook.save(drop / "a.xlsx")

    [page] = read_all(make_reader(drop, format="xlsx"))

    assert page.error is None
    records = page.frame.to_dict("records")
    assert records[0] == {
        "企业名称": "杭州某某科技有限公司",
        "决定日期": "2026-11-03 00:00:00",
        "有效期至": "46329",
        "金额": "12.5",
    }
    assert records[1]["有效期至"] == "46330"


def test_truncated_xlsx_is_unreadable(drop: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["a", "b"])
    workbook.save(drop / "a.xlsx")
    whole = (drop / "a.xlsx").read_bytes()
    (drop / "a.xlsx").write_bytes(whole[: len(whole) // 2])

    [page] = read_all(make_reader(drop, format="xlsx"))

    assert page.error == "not a readable XLSX workbook: File is not a zip file"


def test_jsonl_skips_blank_lines_and_keeps_values(drop: Path) -> None:
    lines = [
        json.dumps({"code": "91330000MA27XYZ123", "amount": 1.5}, ensure_ascii=False),
        "",
        json.dumps(
            {"code": "91330100MA2AB0001X", "amount": None, "name": "甲"}, ensure_ascii=False
        ),
    ]
    (drop / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    [page] = read_all(make_reader(drop, format="jsonl"))

    assert page.frame["code"].tolist() == ["91330000MA27XYZ123", "91330100MA2AB0001X"]
    assert page.frame["amount"].tolist() == [1.5, None]


def test_truncated_jsonl_names_the_line(drop: Path) -> None:
    (drop / "a.jsonl").write_text('{"code": "1"}\n\n{"code": "2"}\n{"code": "3", "na', "utf-8")

    [page] = read_all(make_reader(drop, format="jsonl"))

    assert page.error == "line 4 is not valid JSON (truncated file?)"
    assert page.frame.empty


def test_truncated_csv_is_rejected_while_the_good_file_loads(drop: Path) -> None:
    write_csv(drop / "1_good.csv", [HEADER, *ROWS])
    write_csv(drop / "2_cut.csv", [HEADER, ROWS[0], "91330100MA2AB0001X,宁波"])
    reader = make_reader(drop)

    good, cut = read_all(reader)
    for page in (good, cut):
        reader.settle(page, DAY)

    assert len(good.frame) == 2
    assert good.error is None
    assert cut.error is not None
    assert cut.error.startswith("line 3: expected 3 columns, got 2: ")
    assert names_in(drop) == ["archive", "rejected"]
    assert names_in(drop / "archive" / DAY) == ["1_good.csv"]
    assert names_in(drop / "rejected") == ["2_cut.csv", "2_cut.csv.reason.txt"]
    reason = (drop / "rejected" / "2_cut.csv.reason.txt").read_text("utf-8")
    assert reason.startswith("line 3: expected 3 columns, got 2: ")


def test_a_dated_file_carries_its_export_date_and_an_undated_one_is_rejected(drop: Path) -> None:
    write_csv(drop / "xzcf_20260527_whole.csv", [HEADER, *ROWS])
    write_csv(drop / "xzcf_latest.csv", [HEADER, *ROWS])
    reader = make_reader(drop, name_date_format="%Y%m%d")

    dated, undated = read_all(reader)  # oldest name first
    for page in (dated, undated):
        reader.settle(page, DAY)

    assert (dated.file.exported_on, dated.error, len(dated.frame)) == (
        dt.date(2026, 5, 27),
        None,
        2,
    )
    assert undated.error == "the file name holds no export date like %Y%m%d"
    assert names_in(drop / "rejected") == ["xzcf_latest.csv", "xzcf_latest.csv.reason.txt"]


def test_empty_file_is_unreadable(drop: Path) -> None:
    (drop / "a.csv").touch()

    [page] = read_all(make_reader(drop))

    assert page.error == "empty file"


def test_header_only_csv_gives_one_empty_page(drop: Path) -> None:
    write_csv(drop / "a.csv", [HEADER])

    [page] = read_all(make_reader(drop))

    assert page.error is None
    assert list(page.frame.columns) == HEADER.split(",")
    assert page.frame.empty


def test_already_processed_file_is_archived_unread(drop: Path) -> None:
    done = write_csv(drop / "1_done.csv", [HEADER, ROWS[0]])
    write_csv(drop / "2_new.csv", [HEADER, ROWS[1]])
    processed = frozenset({hashlib.sha256(done.read_bytes()).hexdigest()})

    pages = read_all(make_reader(drop), ReadRequest(processed_files=processed))

    assert [p.origin for p in pages] == ["2_new.csv"]
    # Archived under the platform's day (Asia/Shanghai), not the machine's.
    assert names_in(drop / "archive" / clock.today().isoformat()) == ["1_done.csv"]


def test_only_matching_files_directly_in_the_folder_are_read(drop: Path) -> None:
    write_csv(drop / "b.csv", [HEADER, ROWS[0]])
    write_csv(drop / "a.csv", [HEADER, ROWS[1]])
    (drop / "notes.txt").write_text("not data", "utf-8")
    (drop / "archive" / "2026-11-02").mkdir(parents=True)
    write_csv(drop / "archive" / "2026-11-02" / "old.csv", [HEADER, ROWS[0]])
    (drop / "rejected").mkdir()
    write_csv(drop / "rejected" / "bad.csv", [HEADER, "x"])

    pages = read_all(make_reader(drop, pattern="*.csv"))

    assert [p.origin for p in pages] == ["a.csv", "b.csv"]


def test_large_csv_comes_in_chunks_and_is_archived_once(drop: Path) -> None:
    lines = ["seq,code"] + [f"{i},9133{i:014d}" for i in range(250_000)]
    write_csv(drop / "big.csv", lines)
    reader = make_reader(drop)

    pages = read_all(reader)
    for page in pages:
        reader.settle(page, DAY)

    assert [len(p.frame) for p in pages] == [100_000, 100_000, 50_000]
    assert [p.origin for p in pages] == [
        "big.csv rows 1-100000",
        "big.csv rows 100001-200000",
        "big.csv rows 200001-250000",
    ]
    assert pages[2].frame.iloc[-1].to_dict() == {"seq": "249999", "code": "913300000000249999"}
    assert len({p.file for p in pages}) == 1
    assert names_in(drop / "archive" / DAY) == ["big.csv"]


def test_settle_never_overwrites(drop: Path) -> None:
    (drop / "archive" / DAY).mkdir(parents=True)
    (drop / "archive" / DAY / "a.csv").write_text("earlier file", "utf-8")
    write_csv(drop / "a.csv", [HEADER, ROWS[0]])
    reader = make_reader(drop)

    [page] = read_all(reader)
    reader.settle(page, DAY)

    assert page.file is not None
    kept = f"a-{page.file.sha256[:8]}.csv"
    assert names_in(drop / "archive" / DAY) == sorted(["a.csv", kept])
    assert (drop / "archive" / DAY / "a.csv").read_text("utf-8") == "earlier file"
    assert ROWS[0] in (drop / "archive" / DAY / kept).read_text("utf-8")


def test_missing_drop_folder_is_a_source_error(tmp_path: Path) -> None:
    reader = make_reader(tmp_path / "nowhere")

    with pytest.raises(SourceError, match=r"^source agency_files: drop folder .*nowhere does not"):
        read_all(reader)
