"""No ID number leaves in a delta file, a manifest or an answer of the pull API.

Every case of the privacy table is planted in every text field of real status changes
(``tests.core.planted``), published as real delta files, pulled over loopback HTTP and read back
as a site would: CSV as text, Parquet decoded, the manifests and the API's JSON as they come.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC
from pathlib import Path
from urllib.parse import quote

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from hub.publish.api import create_app
from hub.publish.client import pull_deltas
from hub.publish.encode import BOM
from hub.publish.publisher import publish
from hub.publish.tokens import issue_token
from hub.store.schema import status_change
from tests.core.planted import plant
from tests.core.privacy_cases import CASES, PLANTED_MASKED, RECORD_KEY_CASE, assert_masked, leaked
from tests.publish.conftest import DAY, PULL_SITES, ChangeLog, local
from tests.publish.http import raw_get, served

WENZHOU = "330302"  # a county of a city whose site pulls delta files


def readable_text(path: Path) -> str:
    """A file as the text a reader gets out of it: Parquet decoded, everything else as is."""
    if path.suffix != ".parquet":
        return path.read_bytes().decode("utf-8")
    table = pq.read_table(path)
    values = [str(v) for column in table.columns for v in column.to_pylist()]
    metadata = pq.read_metadata(path).metadata or {}
    return "\n".join(values + [v.decode("utf-8", "replace") for v in metadata.values()])


@pytest.mark.integration
def test_no_case_leaves_whole_in_any_delta_file_manifest_or_api_answer(
    log: ChangeLog, delta_dir: Path, tmp_path: Path
) -> None:
    log.apply(local(DAY, 9), 80)
    planted = plant(log.engine, WENZHOU, effective=DAY)
    with log.engine.begin() as connection:
        # The planted changes were made "now": put them inside the day published.
        connection.execute(
            sa.update(status_change)
            .where(status_change.c.record_key.in_(planted.record_keys))
            .values(changed_at=local(DAY, 10).astimezone(UTC))
        )
    raw = log.raw_id_numbers() + planted.person_ids
    publish(DAY, log.engine)
    with log.engine.begin() as connection:
        tokens = {site: issue_token(connection, site) for site in PULL_SITES}

    answers = []
    with served(create_app(log.engine, delta_dir)) as url:
        for site, token in tokens.items():
            answers.append(raw_get(url, f"/sites/{site}/deltas", f"Bearer {token}")[2])
            pull_deltas(url, token, site, 0, tmp_path / "pulled")
        # An error answer quotes what the client asked for: an ID number typed as a site.
        for case in CASES:
            target = f"/sites/{quote(case.text)}/deltas"
            status, _, body = raw_get(url, target, f"Bearer {tokens['wenzhou']}")
            assert status == 404
            assert_masked(body, cases=[case])

    outbound = [p for folder in (delta_dir, tmp_path / "pulled") for p in folder.rglob("*.*")]
    assert len(outbound) == 2 * 3 * len(PULL_SITES)
    wenzhou = [p for p in outbound if p.name.startswith("wenzhou_")]
    for path in wenzhou:
        if path.suffix != ".json":  # the data files carry every case; the manifest none
            assert_masked(readable_text(path))
    everything = "\n".join(
        [readable_text(path) for path in outbound] + [a.decode("utf-8") for a in answers]
    )
    assert leaked(everything) == []
    assert not [number for number in raw if number in everything]

    [csv_file] = [p for p in wenzhou if p.suffix == ".csv" and p.parent.parent == delta_dir]
    rows = list(csv.DictReader(io.StringIO(csv_file.read_bytes().removeprefix(BOM).decode())))
    planted_rows = {r["record_key"]: r for r in rows if r["reason"] == PLANTED_MASKED}
    assert set(planted_rows) == set(planted.record_keys)
    assert RECORD_KEY_CASE.text in planted_rows  # a key column is never masked
    for case, key in zip(CASES, planted.record_keys, strict=True):
        row = planted_rows[key]
        assert row["subject_name"] == f"{case.label}{case.masked}"
        assert row["authority_name"] == f"{case.label}{case.masked}"
        assert row["decided_by"] == f"{case.label}{case.masked}"
        assert row["document_no"].endswith(f"号{case.masked}")
    people = [r["subject_id"] for r in planted_rows.values() if "*" in r["subject_id"]]
    assert len(people) == len(planted.person_ids)
    parquet = pq.read_table(csv_file.with_suffix(".parquet")).to_pylist()
    assert [r["subject_id"] for r in parquet] == [r["subject_id"] for r in rows]
    assert json.loads(answers[list(tokens).index("wenzhou")])["deltas"][0]["row_count"] > 11
