"""The delivery targets file: every Zhejiang city and the government-service platform."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.core.targets import TargetConfigError, all_targets, pull_targets, push_targets


def test_every_city_of_zhejiang_has_one_site_and_the_platform_covers_all() -> None:
    targets = all_targets()
    cities = [t for t in targets.values() if t.kind == "city_site"]
    assert sorted(t.regions[0] for t in cities) == [f"33{n:02d}" for n in range(1, 12)]
    assert [t.id for t in targets.values() if t.covers("330782")] == ["jinhua", "zj_gov_service"]
    assert not any(t.covers(None) for t in targets.values())
    assert not any(t.covers("310115") for t in targets.values())  # a Shanghai subject
    assert {t.id for t in push_targets()} | {t.id for t in pull_targets()} == set(targets)


def test_a_push_target_without_a_connection_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(
        "targets:\n  - {id: x, name: X, kind: city_site, regions: ['3301'], delivery: push}\n",
        encoding="utf-8",
    )
    refusal = r"(?s)targets.yaml: .*target x: a push target needs a connection"
    with pytest.raises(TargetConfigError, match=refusal):
        all_targets(path)
