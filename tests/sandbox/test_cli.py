from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from sandbox.cli import app
from sandbox.config import SandboxConfig, api_token

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_init_deliver_start_status_stop(tmp_path: Path) -> None:
    runner, directory = CliRunner(), str(tmp_path / "sb")
    port = _free_port()
    result = runner.invoke(app, ["init", "--dir", directory, "--seed", "3", "--port", str(port)])
    assert result.exit_code == 0, result.output
    env = (tmp_path / "sb" / "connections.env").read_text()
    assert "export AIRFLOW_CONN_ZJ_YJT_EXCHANGE_DB=" in env
    args = ["deliver", "--dir", directory, "--date", "2026-11-02", "--days", "2"]
    result = runner.invoke(app, [*args, "--source", "zj_scjg_penalty_api"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "sb" / "truth").iterdir()) == [
        "2026-11-02",
        "2026-11-03",
    ]
    assert runner.invoke(app, ["start", "--dir", directory]).exit_code == 0
    try:
        config = SandboxConfig.load(tmp_path / "sb")
        headers = {"Authorization": f"Bearer {api_token(3, 'zj_scjg_penalty_api')}"}
        answer = requests.get(f"{config.api_base_url}/scjg/v1/penalties", headers=headers)
        assert answer.status_code == 200 and answer.json()["total"] > 0
        status = runner.invoke(app, ["status", "--dir", directory])
        assert status.exit_code == 0 and "zj_scjg_penalty_api" in status.output
    finally:
        assert runner.invoke(app, ["stop", "--dir", directory]).exit_code == 0
    assert runner.invoke(app, ["status", "--dir", directory]).exit_code == 1
