"""The repair-system files: what they declare and how a broken one is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from connectors.repair.spec import REPAIR_SYSTEMS_DIR
from connectors.repair_systems import RepairSystemConfigError, repair_system
from connectors.specs import CursorPagination, PageNumberPagination


def test_both_systems_are_declared_with_their_own_vocabulary() -> None:
    cc, gsxt = repair_system("credit_china"), repair_system("gsxt")
    assert (cc.id, cc.name, cc.connection) == ("credit_china", "信用中国", "credit_china_repair")
    assert (gsxt.id, gsxt.connection) == ("gsxt", "gsxt_repair")
    assert isinstance(cc.feed.pagination, PageNumberPagination)
    assert isinstance(gsxt.feed.pagination, CursorPagination)
    assert (cc.feed.fields["document_no"], gsxt.feed.fields["document_no"]) == (
        "cfjdswh",
        "penDecNo",
    )
    assert (cc.code_of("decision", "revoked"), gsxt.code_of("decision", "revoked")) == ("CXXF", "0")
    assert (cc.code_of("kind", "abnormal"), gsxt.code_of("kind", "abnormal")) == ("JYYC", "02")
    assert cc.push.source_system_codes == {"gsxt": "GSXT"}
    assert gsxt.push.source_system_codes == {"credit_china": "2"}


def test_an_unknown_system_names_the_known_ones() -> None:
    with pytest.raises(
        RepairSystemConfigError, match="no repair system 'xyzg'; known: credit_china, gsxt"
    ):
        repair_system("xyzg")


def broken_copy(tmp_path: Path, change) -> Path:
    data = yaml.safe_load((REPAIR_SYSTEMS_DIR / "gsxt.yaml").read_text(encoding="utf-8"))
    change(data)
    (tmp_path / "gsxt.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_a_copy_of_a_file_loads_from_another_directory(tmp_path: Path) -> None:
    directory = broken_copy(tmp_path, lambda data: data.update(name="公示系统（测试）"))
    assert repair_system("gsxt", directory).name == "公示系统（测试）"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["feed"]["fields"].pop("decision"),
            "feed.fields must map exactly external_id, kind, document_no, credit_code, "
            "id_number, subject_name, authority_name, decision, decided_at; missing decision",
        ),
        (
            lambda d: d["push"]["fields"].update(remarks="bz"),
            "; unknown remarks",
        ),
        (
            lambda d: d["codes"]["decision"].update({"9": "repaired"}),
            "codes.decision must give exactly one code for 'repaired', got ['1', '9']",
        ),
        (lambda d: d["codes"]["kind"].pop("03"), "exactly one code for 'serious', got []"),
        (lambda d: d["codes"]["kind"].update({"04": "warning"}), "Input should be 'penalty'"),
        (lambda d: d.update(id="credit_china"), "id 'credit_china' differs from the file name"),
        (lambda d: d.update(token="secret"), "Extra inputs are not permitted"),
    ],
)
def test_a_broken_file_is_named_with_its_problem(tmp_path: Path, change, message: str) -> None:
    directory = broken_copy(tmp_path, change)
    with pytest.raises(RepairSystemConfigError) as raised:
        repair_system("gsxt", directory)
    assert str(raised.value).startswith(str(directory / "gsxt.yaml"))
    assert message in str(raised.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RepairSystemConfigError, match=r"credit_china\.yaml.*No such file"):
        repair_system("credit_china", tmp_path)
