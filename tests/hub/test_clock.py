"""The platform's clock: the wall clock unless a simulation sets it, then running on from there."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from hub.core import clock


def test_without_an_offset_the_clock_is_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.OFFSET_VARIABLE, raising=False)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)


def test_a_simulated_clock_reads_the_instant_set_and_then_runs_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 2026-10-01 16:30 UTC is already 2 October in Shanghai.
    instant = datetime(2026, 10, 1, 16, 30, tzinfo=UTC)
    for name, value in clock.offset_to(instant).items():
        monkeypatch.setenv(name, value)
    first = clock.now()
    time.sleep(0.05)
    second = clock.now()

    assert abs(first - instant) < timedelta(seconds=1)
    assert second - first >= timedelta(seconds=0.05)
    assert clock.today() == date(2026, 10, 2)


def test_a_clock_file_moves_the_clock_of_a_running_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    path = tmp_path / "clock"
    monkeypatch.delenv(clock.OFFSET_VARIABLE, raising=False)
    monkeypatch.setenv(clock.OFFSET_FILE_VARIABLE, str(path))
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)  # no file yet

    clock.write_offset(path, datetime(2026, 11, 3, 16, 5, tzinfo=UTC))
    assert clock.today() == date(2026, 11, 4)
    clock.write_offset(path, datetime(2026, 11, 4, 16, 5, tzinfo=UTC))
    assert clock.today() == date(2026, 11, 5)
    # The variable, where a process sets it, wins over the file.
    monkeypatch.setenv(clock.OFFSET_VARIABLE, "0")
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)
