"""Airflow's command line on a PostgreSQL metadata database, as the deployment runs it.

Airflow derives an async URL from ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` (``postgresql+asyncpg``)
and builds that engine whenever it starts, so every ``airflow`` command needs ``asyncpg``: the lock
(and so the image) pins it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_an_airflow_command_runs_on_a_postgresql_metadata_database(
    postgres_url: str, tmp_path: Path
) -> None:
    # Nothing of an Airflow another test configured in this process (its home, its log level).
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env |= {
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres_url,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
    airflow = Path(sys.executable).with_name("airflow")

    done = subprocess.run(
        [str(airflow), "db", "check"], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert "ModuleNotFoundError" not in done.stderr
    assert "Connection successful" in done.stdout + done.stderr


def test_the_lock_the_image_installs_pins_asyncpg() -> None:
    root = Path(__file__).resolve().parents[2]
    lock = (root / "requirements.lock").read_text(encoding="utf-8").splitlines()
    assert "asyncpg==0.32.0" in lock
    assert "RUN pip install --no-cache-dir -r /opt/hub/requirements.lock" in (
        (root / "Dockerfile").read_text(encoding="utf-8")
    )
