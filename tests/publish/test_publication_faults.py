"""A publication that fails at any step: no site ever loses a day, and no file name is reused.

Each day of a run of days fails at one more step than the day before (fixing the day's range,
reading the log, every file written (half, as on a full disk), every rename, recording the sets),
and the run goes on with the next day, as the DAG does the next night. In the end every site has
one set per day, gap-free, no file left over, byte for byte what a run without any fault gives.
"""

from __future__ import annotations

import errno
import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli.main import app
from hub.core import clock
from hub.core.settings import settings
from hub.publish import publisher
from hub.publish.publisher import PublishError, publish
from hub.store.db import make_engine, upgrade
from hub.store.publish_schema import delta_file, delta_manifest
from hub.store.schema import status_change
from tests.conftest import POSTGRES_ADMIN_URL, throwaway_database
from tests.publish.conftest import DAY, PULL_SITES, ChangeLog, local
from tests.publish.sets import (
    all_bytes,
    published_sets,
    read_set,
    stem,
    verify_against_manifest,
)

pytestmark = pytest.mark.integration
FIRST = date(2026, 9, 1)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
NEXT = DAY + timedelta(days=1)


class InjectedFaultError(Exception):
    """Raised at the chosen step; what a killed worker or a full disk leaves behind is kept."""


class Faults:
    """Counts the steps of publishing one day and fails at the n-th.

    Counting starts when the range of ``day`` is fixed, so the unfinished day before it is
    finished without a fault, then ``day`` fails at step ``n``.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.day: date | None = None
        self.fail_at = 0
        self.steps = 0
        self.counting = False
        self.fired: str | None = None
        self._wrap(monkeypatch, publisher, "fix_day_range", before=False, after=True)
        self._wrap(monkeypatch, publisher, "read_changes")
        self._wrap(monkeypatch, publisher, "record_sets", after=True)
        self._wrap(monkeypatch, Path, "replace")
        original_write = Path.write_bytes

        def write_bytes(path: Path, data: bytes) -> int:
            if self._due(f"write {path.name}"):
                original_write(path, data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device (injected)", str(path))
            return original_write(path, data)

        monkeypatch.setattr(Path, "write_bytes", write_bytes)

    def arm(self, day: date | None, fail_at: int = 0) -> None:
        """Fail the ``day``'s publication at step ``fail_at``; ``None``: no fault any more."""
        self.day, self.fail_at, self.steps, self.counting, self.fired = day, fail_at, 0, False, None

    def _due(self, step: str) -> bool:
        if not self.counting or self.fired:
            return False
        self.steps += 1
        if self.steps == self.fail_at:
            self.fired = step
            return True
        return False

    def _wrap(
        self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, before=True, after=False
    ) -> None:
        """Count a step before and/or after each call of ``owner.name``, failing as it would."""
        original: Callable[..., Any] = getattr(owner, name)

        def fail(step: str) -> None:
            if owner is Path:
                raise OSError(errno.EIO, "Input/output error (injected)", step)
            lost = InjectedFaultError("server closed the connection")
            raise sa.exc.OperationalError(step, {}, lost)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if name == "fix_day_range" and args[1] == self.day:
                self.counting = True
            if before and self._due(f"{name} {args[0].name if owner is Path else ''}".strip()):
                fail(name)
            result = original(*args, **kwargs)
            if after and self._due(f"after {name}"):
                fail(name)
            return result

        monkeypatch.setattr(owner, name, wrapped)


def _days() -> Iterator[date]:
    return (FIRST + timedelta(days=n) for n in itertools.count())


def _apply(log: ChangeLog, day: date) -> None:
    """A few changes in the day, a different number and hour each day."""
    index = (day - FIRST).days
    log.apply(local(day, 9 + index % 12), 2 + index % 3)


@contextmanager
def _another_database(engine: sa.Engine, folder: Path) -> Iterator[sa.Engine]:
    """A second migrated platform database on the same backend as ``engine``."""
    if engine.dialect.name == "postgresql":
        urls = throwaway_database(POSTGRES_ADMIN_URL, "PostgreSQL")
        url = next(urls)
    else:
        urls, url = iter(()), f"sqlite:///{folder / 'clean.db'}"
    other = make_engine(url)
    upgrade(other)
    try:
        yield other
    finally:
        other.dispose()
        next(urls, None)


def _recorded_names(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(delta_manifest.c.site_id, delta_file.c.name).join(
                delta_manifest, delta_manifest.c.id == delta_file.c.manifest_id
            )
        )
        return {f"{site}/{name}" for site, name in rows}


def test_a_publication_failing_at_any_step_leaves_every_site_gap_free_and_byte_identical(
    log: ChangeLog,
    delta_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)
    faults = Faults(monkeypatch)
    days = _days()
    failed: list[tuple[date, str]] = []
    day = next(days)
    _apply(log, day)
    fail_at = 1
    while True:
        faults.arm(day, fail_at)
        try:
            publish(day, log.engine)
        except PublishError as exc:
            assert faults.fired, f"{day}: a publication failed without a fault: {exc}"
            assert re.match(rf"day {day}: the publication stopped at ", str(exc)), str(exc)
            assert "publishing any day again finishes it first" in str(exc)
            failed.append((day, faults.fired))
            fail_at += 1
        else:
            assert not faults.fired, f"{day}: the fault {faults.fired} went unnoticed"
            break
        day = next(days)
        _apply(log, day)
    faults.arm(None)
    for _ in range(2):  # then days without a fault
        day = next(days)
        _apply(log, day)
        publish(day, log.engine)
    published_days = [FIRST + timedelta(days=n) for n in range((day - FIRST).days + 1)]

    steps = [step for _, step in failed]
    assert steps[:2] == ["after fix_day_range", "read_changes"]
    assert steps[-2:] == ["record_sets", "after record_sets"]
    assert sum(s.startswith("write ") for s in steps) == 3 * len(PULL_SITES)
    assert sum(s.startswith("replace ") for s in steps) == 3 * len(PULL_SITES)
    sets = published_sets(log.engine)
    for site in PULL_SITES:
        own = [s for s in sets if s.site_id == site]
        assert [s.sequence for s in own] == list(range(1, len(published_days) + 1))
        assert [s.day for s in own] == published_days
        assert all(a.watermark_to == b.watermark_from for a, b in itertools.pairwise(own))
        for s in own:
            verify_against_manifest(read_set(delta_dir, site, s.day, s.sequence))
    assert set(all_bytes(delta_dir)) == _recorded_names(log.engine)

    # The same change log published without a fault, day by day, on a database of its own.
    clean_dir = tmp_path / "clean"
    monkeypatch.setenv("HUB_DELTA_DIR", str(clean_dir))
    with log.engine.connect() as connection:
        changes = [dict(row) for row in connection.execute(sa.select(status_change)).mappings()]
    with _another_database(log.engine, tmp_path) as clean:
        with clean.begin() as connection:
            connection.execute(status_change.insert(), changes)
        for clean_day in published_days:
            publish(clean_day, clean)
        assert published_sets(clean) == sets
    assert all_bytes(delta_dir) == all_bytes(clean_dir)


def test_the_operator_sees_an_unfinished_day_until_the_next_publication_finishes_it(
    sqlite_log: ChangeLog, delta_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", str(sqlite_log.engine.url))
    settings.cache_clear()
    sqlite_log.apply(local(DAY, 10), 30)
    sqlite_log.apply(local(NEXT, 10), 30)
    delta_dir.mkdir()
    (delta_dir / "wenzhou").write_text("not a folder")  # where wenzhou's files should go
    runner = CliRunner()

    failed = runner.invoke(app, ["publish", "--date", str(DAY)])
    status_after_failure = runner.invoke(app, ["status"])
    (delta_dir / "wenzhou").unlink()
    next_night = runner.invoke(app, ["publish", "--date", str(NEXT)])
    status_after = runner.invoke(app, ["status"])

    assert failed.exit_code == 1
    message = " ".join(failed.output.split())
    assert f"day {DAY}: the publication stopped at {delta_dir / 'wenzhou'}: " in message
    assert "no site sees any file of the day until it is finished" in message
    problem = (
        f"problem: delta files of {DAY}: the publication stopped before the sets were recorded; "
        f"no site has them yet: run hub publish --date {DAY}"
    )
    assert problem in " ".join(status_after_failure.output.split())
    assert next_night.exit_code == 0, next_night.output
    assert "delta files of" not in status_after.output
    for site in PULL_SITES:
        assert sorted(p.name for p in (delta_dir / site).iterdir()) == [
            f"{stem(site, day, sequence)}{suffix}"
            for day, sequence in ((DAY, 1), (NEXT, 2))
            for suffix in (".csv", ".manifest.json", ".parquet")
        ]


def test_files_a_killed_publication_left_are_removed_before_the_day_is_published(
    sqlite_log: ChangeLog, delta_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_log.apply(local(DAY, 10), 30)
    left = delta_dir / "wenzhou"
    left.mkdir(parents=True)
    orphans = [
        left / f"{stem('wenzhou', DAY, 1)}.csv",  # a kill after the rename
        left / f".{stem('wenzhou', DAY, 1)}.parquet.4711.partial",  # a kill during the write
        left / f"{stem('wenzhou', DAY - timedelta(days=1), 7)}.parquet",  # an older attempt
    ]
    for orphan in orphans:
        orphan.write_bytes(b"half")
    (left / "README.txt").write_text("not ours")
    unlink = Path.unlink

    def refused(path: Path, missing_ok: bool = False) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(Path, "unlink", refused)
    with pytest.raises(PublishError, match=rf"day {DAY}: the publication stopped at {left}/"):
        publish(DAY, sqlite_log.engine)
    monkeypatch.setattr(Path, "unlink", unlink)
    (outcome,) = publish(DAY, sqlite_log.engine)

    assert {s.state for s in outcome.sites} == {"published"}
    assert sorted(p.name for p in left.iterdir()) == [
        "README.txt",
        *(stem("wenzhou", DAY, 1) + suffix for suffix in (".csv", ".manifest.json", ".parquet")),
    ]
    verify_against_manifest(read_set(delta_dir, "wenzhou", DAY, 1))
