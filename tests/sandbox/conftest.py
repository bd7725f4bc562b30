from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.deliver import Delivery, deliver, init_sandbox

DAY = date(2026, 11, 3)
SEED = 7


@pytest.fixture
def sandbox_config(tmp_path: Path) -> SandboxConfig:
    config = SandboxConfig(tmp_path / "sandbox", seed=SEED)
    init_sandbox(config)
    return config


@pytest.fixture
def delivered(sandbox_config: SandboxConfig) -> dict[str, Delivery]:
    """Every agency's delivery of ``DAY``."""
    return {d.source_id: d for d in deliver(sandbox_config, DAY)}
