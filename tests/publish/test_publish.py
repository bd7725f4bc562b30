"""Publishing days: one verified set per pull site and day, gap-free, and the same bytes again."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from hub.publish import publisher
from hub.publish.config import PublishConfigError, publish_settings
from hub.publish.publisher import PublishError, publish
from hub.publish.ranges import DayOrderError, DayRange
from hub.store.publish_schema import delta_manifest
from hub.store.schema import status_change
from tests.publish.conftest import DAY, PULL_SITES, SHANGHAI, ChangeLog, local
from tests.publish.sets import (
    all_bytes,
    expected_rows,
    published_sets,
    read_set,
    verify_against_manifest,
)

pytestmark = pytest.mark.integration
NEXT = DAY + timedelta(days=1)


def _of(site: str, changes: list[dict]) -> list[dict]:
    return [c for c in changes if c["region_code"].startswith(PULL_SITES.get(site, "none"))]


def test_a_day_gives_each_pull_site_one_verified_set_of_its_region(
    log: ChangeLog, delta_dir: Path
) -> None:
    before = log.apply(local(DAY - timedelta(days=1), 23, 59, 59), 10)
    during = log.apply(local(DAY, 0, 0, 0), 40) + log.apply(local(DAY, 23, 59, 59), 40)
    log.apply(local(NEXT, 0, 0, 0), 10)

    (outcome,) = publish(DAY, log.engine)

    assert outcome.range == DayRange(DAY, before[-1]["id"], during[-1]["id"], 80)
    assert [(s.site_id, s.sequence, s.state) for s in outcome.sites] == [
        (site, 1, "published") for site in sorted(PULL_SITES)
    ]
    for site in PULL_SITES:
        delta = read_set(delta_dir, site, DAY, 1)
        expected = expected_rows(_of(site, during))
        verify_against_manifest(delta)
        assert delta.manifest["site"] == site
        assert (delta.manifest["sequence"], delta.manifest["day"]) == (1, "2026-11-03")
        assert delta.manifest["watermark"] == {
            "from_exclusive": before[-1]["id"],
            "to_inclusive": during[-1]["id"],
        }
        assert delta.manifest["row_count"] == len(expected) == delta.parquet.num_rows
        assert delta.csv_rows() == expected
        assert delta.parquet.column("change_id").to_pylist() == [
            int(row["change_id"]) for row in expected
        ]
        assert delta.parquet.column("subject_id").to_pylist() == [
            row["subject_id"] for row in expected
        ]
        assert delta.parquet.schema.field("changed_at").type == pa.timestamp("ms", tz=SHANGHAI.key)
    counts = {site: read_set(delta_dir, site, DAY, 1).manifest["row_count"] for site in PULL_SITES}
    assert counts["zhoushan"] == counts["taizhou"] == counts["lishui"] == 0
    assert min(counts["wenzhou"], counts["jiaxing"], counts["shaoxing"], counts["quzhou"]) > 0
    empty = read_set(delta_dir, "lishui", DAY, 1)
    assert empty.csv_bytes.decode("utf-8-sig").splitlines() == [",".join(expected_rows(during)[0])]
    persons = [row for row in expected_rows(during) if "*" in row["subject_id"]]
    assert persons and all(len(row["subject_id"]) == 18 for row in persons)


class _ADayLater(datetime):
    @classmethod
    def now(cls, tz=None) -> datetime:
        return datetime.now(tz) + timedelta(days=1)


def test_republishing_after_later_changes_gives_the_same_bytes_and_sequences_stay_gap_free(
    log: ChangeLog, delta_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = log.apply(local(DAY, 10), 40)
    publish(DAY, log.engine)
    published = all_bytes(delta_dir)
    # Logged as of DAY, but after DAY was published; a reason with what CSV must quote.
    late = log.apply(local(DAY, 23, 30), 20, reason='补正材料, "已核实"\n第二行')
    next_day = log.apply(local(NEXT, 9), 20)
    lost = read_set(delta_dir, "shaoxing", DAY, 1).files["parquet"]
    lost.unlink()
    monkeypatch.setattr(publisher, "datetime", _ADayLater)  # no clock may reach the files

    (again,) = publish(DAY, log.engine)

    assert {s.site_id: s.state for s in again.sites} == {
        site: "restored" if site == "shaoxing" else "unchanged" for site in PULL_SITES
    }
    assert all_bytes(delta_dir) == published
    (following,) = publish(NEXT, log.engine)
    assert following.range == DayRange(NEXT, first[-1]["id"], next_day[-1]["id"], 40)
    shaoxing = read_set(delta_dir, "shaoxing", NEXT, 2)
    assert shaoxing.csv_rows() == expected_rows(_of("shaoxing", late + next_day))

    skipped_a_day = publish(NEXT + timedelta(days=2), log.engine)

    assert [o.range.day for o in skipped_a_day] == [NEXT + timedelta(days=1), NEXT + timedelta(2)]
    sets = published_sets(log.engine)
    for site in PULL_SITES:
        own = [s for s in sets if s.site_id == site]
        assert [s.sequence for s in own] == [1, 2, 3, 4]
        assert [s.day for s in own] == [DAY + timedelta(days=n) for n in range(4)]
        assert all(a.watermark_to == b.watermark_from for a, b in itertools.pairwise(own))
        assert read_set(delta_dir, site, NEXT + timedelta(days=1), 3).manifest["row_count"] == 0


def test_a_set_that_would_come_out_different_is_refused_and_kept(
    sqlite_log: ChangeLog, delta_dir: Path
) -> None:
    changes = sqlite_log.apply(local(DAY, 10), 40)
    publish(DAY, sqlite_log.engine)
    published = all_bytes(delta_dir)
    altered = _of("shaoxing", changes)[0]["id"]
    with sqlite_log.engine.begin() as connection:
        connection.execute(
            status_change.update().where(status_change.c.id == altered).values(reason="改写")
        )

    refusal = (
        r"site shaoxing, day 2026-11-03, sequence 1: the rebuilt parquet file "
        r"shaoxing_20261103_000001.parquet has SHA-256 [0-9a-f]{64}, but [0-9a-f]{64} was "
        r"published; the published file stands"
    )
    with pytest.raises(PublishError, match=refusal):
        publish(DAY, sqlite_log.engine)
    assert all_bytes(delta_dir) == published


def test_days_are_published_in_order_once_they_have_ended(
    sqlite_log: ChangeLog, delta_dir: Path
) -> None:
    sqlite_log.apply(local(DAY, 10), 4)
    publish(DAY, sqlite_log.engine)

    with pytest.raises(DayOrderError, match="2026-11-02 lies before 2026-11-03, the first day"):
        publish(DAY - timedelta(days=1), sqlite_log.engine)
    today = local(DAY).now(SHANGHAI).date()
    with pytest.raises(DayOrderError, match=f"{today} has not ended yet in Asia/Shanghai"):
        publish(today, sqlite_log.engine)


def test_a_push_target_can_also_get_files_from_the_day_it_joins(
    sqlite_log: ChangeLog, delta_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sqlite_log.apply(local(DAY, 10), 40)
    publish(DAY, sqlite_log.engine)
    monkeypatch.setenv("HUB_DELTA_PUSH_SITES", "hangzhou")
    second = sqlite_log.apply(local(NEXT, 10), 40)

    (joined,) = publish(NEXT, sqlite_log.engine)
    (before_it_joined,) = publish(DAY, sqlite_log.engine)

    assert {s.site_id: (s.sequence, s.state) for s in joined.sites}["hangzhou"] == (1, "published")
    hangzhou = read_set(delta_dir, "hangzhou", NEXT, 1)
    assert hangzhou.manifest["watermark"]["from_exclusive"] == first[-1]["id"]
    hangzhou_rows = [c for c in second if c["region_code"].startswith("3301")]
    assert hangzhou.csv_rows() == expected_rows(hangzhou_rows) != []
    assert {s.site_id: s.state for s in before_it_joined.sites}["hangzhou"] == "not a site then"
    monkeypatch.setenv("HUB_DELTA_PUSH_SITES", "hangzhou, xian")
    with pytest.raises(PublishConfigError, match=r"HUB_DELTA_PUSH_SITES names \['xian'\]"):
        publish_settings()


def test_two_publications_of_a_day_at_once_record_one_set_per_site(
    log: ChangeLog, delta_dir: Path
) -> None:
    log.apply(local(DAY, 10), 60)
    results: list[object] = []

    def run() -> None:
        try:
            results.append(publish(DAY, log.engine))
        except PublishError as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # One waits for the other (hub.publish.lock), then finds the day published.
    states = sorted({s.state for (outcome,) in results for s in outcome.sites})
    assert states == ["published", "unchanged"]
    with log.engine.connect() as connection:
        sets = connection.execute(
            sa.select(delta_manifest.c.site_id, delta_manifest.c.sequence)
        ).all()
    assert sorted(sets) == [(site, 1) for site in sorted(PULL_SITES)]
    for site in PULL_SITES:
        verify_against_manifest(read_set(delta_dir, site, DAY, 1))
    (again,) = publish(DAY, log.engine)
    assert {s.state for s in again.sites} == {"unchanged"}


def test_a_new_deployment_publishes_from_its_start_day_in_order(
    sqlite_log: ChangeLog, delta_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The scheduler's first run (catchup off) asks for the latest day; the start day makes it
    # publish the back-fill first, one set per day and site, in day order.
    before = sqlite_log.apply(local(DAY - timedelta(days=1), 10), 10)
    first = sqlite_log.apply(local(DAY, 10), 20)
    second = sqlite_log.apply(local(NEXT, 10), 20)
    monkeypatch.setenv("HUB_PUBLISH_START_DAY", DAY.isoformat())

    with pytest.raises(DayOrderError, match=r"2026-11-02 lies before 2026-11-03, the first day to"):
        publish(DAY - timedelta(days=1), sqlite_log.engine)
    outcomes = publish(NEXT, sqlite_log.engine)

    assert [(o.range.day, o.range.n_changes) for o in outcomes] == [(DAY, 20), (NEXT, 20)]
    assert outcomes[0].range.watermark_from == before[-1]["id"]
    for site in PULL_SITES:
        assert read_set(delta_dir, site, DAY, 1).csv_rows() == expected_rows(_of(site, first))
        assert read_set(delta_dir, site, NEXT, 2).csv_rows() == expected_rows(_of(site, second))
    # Once a day is published, the sequences run on from it: the setting no longer matters.
    monkeypatch.setenv("HUB_PUBLISH_START_DAY", (DAY - timedelta(days=1)).isoformat())
    (again,) = publish(DAY, sqlite_log.engine)
    assert {s.state for s in again.sites} == {"unchanged"}
    monkeypatch.setenv("HUB_PUBLISH_START_DAY", "3 Nov")
    with pytest.raises(PublishConfigError, match=r"HUB_PUBLISH_START_DAY='3 Nov' is not a day"):
        publish_settings()
