"""No natural person's ID number leaves in a delta file, a manifest or an API answer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.publish.api import create_app
from hub.publish.client import pull_deltas
from hub.publish.masking import mask_id_numbers
from hub.publish.publisher import publish
from hub.publish.tokens import issue_token
from tests.publish.conftest import DAY, PULL_SITES, ChangeLog, local
from tests.publish.http import raw_get, served

TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def unmasked_id_numbers(text: str) -> list[str]:
    """Every 18-character token with a valid GB 11643 check character in ``text``."""
    found = []
    for token in TOKEN.findall(text):
        total = sum(int(d) * w for d, w in zip(token[:17], WEIGHTS, strict=True))
        if "10X98765432"[total % 11] == token[17].upper():
            found.append(token)
    return found


def readable_text(path: Path) -> str:
    """A file as the text a reader gets out of it: Parquet decoded, everything else as is."""
    if path.suffix != ".parquet":
        return path.read_bytes().decode("utf-8")
    table = pq.read_table(path)
    values = [str(v) for column in table.columns for v in column.to_pylist()]
    metadata = pq.read_metadata(path).metadata or {}
    return "\n".join(values + [v.decode("utf-8", "replace") for v in metadata.values()])


def test_the_guard_masks_id_numbers_in_free_text_and_leaves_keys_and_codes_alone() -> None:
    table = pa.table(
        {
            "record_key": ["a1234567890123456789012345678901", "0" * 14 + "11010519491231002X"],
            "subject_id": ["91310110666007217T", "11010519491231002X"],
            "reason": [
                "申请人11010519491231002X材料齐全",
                "编号110105194912310021、011010519491231002X",
            ],
        }
    )

    masked = mask_id_numbers(table, "test")

    assert masked.column("record_key").to_pylist() == table.column("record_key").to_pylist()
    assert masked.column("subject_id").to_pylist() == ["91310110666007217T", "110105********002X"]
    assert masked.column("reason").to_pylist() == [
        "申请人110105********002X材料齐全",
        "编号110105194912310021、011010519491231002X",  # a wrong check character; 19 characters
    ]


@pytest.mark.integration
def test_no_outbound_byte_carries_an_unmasked_id_number(
    log: ChangeLog, delta_dir: Path, tmp_path: Path
) -> None:
    log.apply(local(DAY, 9), 80)
    person = log.raw_id_numbers()[0]
    # A reason typed with an ID number in it: the guard must catch what the log let through.
    log.apply(local(DAY, 10), 40, reason=f"当事人（身份证号{person}）已履行义务")
    raw = log.raw_id_numbers()
    publish(DAY, log.engine)
    with log.engine.begin() as connection:
        tokens = {site: issue_token(connection, site) for site in PULL_SITES}

    answers = []
    with served(create_app(log.engine, delta_dir)) as url:
        for site, token in tokens.items():
            answers.append(raw_get(url, f"/sites/{site}/deltas", f"Bearer {token}")[2])
            pull_deltas(url, token, site, 0, tmp_path / "pulled")

    outbound = [p for folder in (delta_dir, tmp_path / "pulled") for p in folder.rglob("*.*")]
    assert len(outbound) == 2 * 3 * len(PULL_SITES)
    texts = [readable_text(path) for path in outbound] + [a.decode("utf-8") for a in answers]
    everything = "\n".join(texts)
    assert unmasked_id_numbers(everything) == []
    assert not [number for number in raw if number in everything]
    shown = set(re.findall(r"\d{6}\*{8}\w{4}", everything))
    assert len({f"{n[:6]}********{n[-4:]}" for n in raw} & shown) > 10
    assert f"当事人（身份证号{person[:6]}********{person[-4:]}）已履行义务" in everything
    rows = sum(json.loads(a)["deltas"][0]["row_count"] for a in answers)
    assert rows > 20
