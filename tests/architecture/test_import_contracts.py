"""The house plan's import contracts hold, and break when someone plants a wrong import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "hub_airflow", "connectors", "quality", "sandbox")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` run on the packages under ``tree`` (they shadow the installed ones)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project's packages and its contracts."""
    copy = tmp_path_factory.mktemp("house")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_contracts_hold_for_the_code_as_it_is(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 6 kept, 0 broken." in result.stdout


PLANTS = {
    "the core reaching up into the store": (
        {"hub/core/model.py": "from hub.store import db"},
        ["The core imports nothing else of ours BROKEN", "hub.core.model -> hub.store.db"],
    ),
    "a connector reaching into a stage": (
        {"connectors/files.py": "import hub.collect.sources"},
        ["Connectors import only the core BROKEN", "connectors.files -> hub.collect.sources"],
    ),
    "a stage importing Airflow": (
        {"hub/publish/publisher.py": "import airflow.sdk"},
        ["never imported by the core", "BROKEN", "hub.publish.publisher -> airflow"],
    ),
    "one stage importing another of its layer": (
        {"hub/fanout/deliver.py": "import hub.publish.ranges"},
        ["Layers: core", "BROKEN", "hub.fanout.deliver -> hub.publish.ranges"],
    ),
    "the console importing Airflow": (
        {"hub/console/pages.py": "import airflow.sdk"},
        ["The console needs no Airflow", "BROKEN", "hub.console.pages -> airflow"],
    ),
    "two store modules importing each other": (
        {
            "hub/store/schema.py": "import hub.store.outbox_schema",
            "hub/store/outbox_schema.py": "import hub.store.schema",
        },
        ["No import loops between the modules of a package BROKEN"],
    ),
}


@pytest.mark.parametrize("plant", PLANTS.values(), ids=PLANTS.keys())
def test_a_planted_import_breaks_the_build(
    tree: Path, plant: tuple[dict[str, str], list[str]]
) -> None:
    lines, expected = plant
    originals = {path: (tree / path).read_text(encoding="utf-8") for path in lines}
    for path, line in lines.items():
        (tree / path).write_text(f"{originals[path]}\n{line}  # planted\n", encoding="utf-8")
    try:
        result = lint_imports(tree)
    finally:
        for path, original in originals.items():
            (tree / path).write_text(original, encoding="utf-8")
    assert result.returncode == 1
    for text in expected:
        assert text in " ".join(result.stdout.split()), (text, result.stdout)
