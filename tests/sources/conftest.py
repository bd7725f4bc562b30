"""A migrated platform database made once per session, copied fresh for each test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.store.db import make_engine, upgrade
from hub.store.reference import load_reference


@pytest.fixture(scope="session")
def platform_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite platform database, migrated and with its reference data, never written again."""
    path = tmp_path_factory.mktemp("platform") / "hub.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        with engine.begin() as connection:
            load_reference(connection)
    finally:
        engine.dispose()
    return path


@pytest.fixture
def fresh_platform(platform_template: Path, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on a fresh copy of the migrated platform database."""
    path = tmp_path / "hub.db"
    shutil.copyfile(platform_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()
