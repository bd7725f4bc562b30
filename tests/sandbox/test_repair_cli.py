"""``hub sandbox repairs``: deciding days and serving both systems by hand."""

from __future__ import annotations

import json
import shlex
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from sandbox.cli import app
from sandbox.config import SandboxConfig
from sandbox.deliver import deliver
from sandbox.repair_scenario import read_repair_truth

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 3)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connections(directory: Path) -> dict[str, dict]:
    """The connections ``hub sandbox init`` wrote, as a shell would read them."""
    found = {}
    for line in (directory / "connections.env").read_text().splitlines():
        name, value = shlex.split(line.removeprefix("export "))[0].split("=", 1)
        found[name] = json.loads(value)
    return found


def test_init_decide_and_serve_by_hand(tmp_path: Path) -> None:
    runner, directory = CliRunner(), tmp_path / "sb"
    port = _free_port()
    args = ["init", "--dir", str(directory), "--seed", "4", "--repair-port", str(port)]
    assert runner.invoke(app, args).exit_code == 0
    connections = _connections(directory)
    cc = connections["AIRFLOW_CONN_CREDIT_CHINA_REPAIR"]
    assert cc["extra"]["base_url"] == f"http://127.0.0.1:{port}/creditchina"
    assert "AIRFLOW_CONN_ZJ_SCJG_API" in connections
    deliver(SandboxConfig.load(directory), DAY, count=30)

    args = ["repairs", "decide", "--dir", str(directory), "--date", "2026-11-03", "--days", "2"]
    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    truths = [read_repair_truth(SandboxConfig.load(directory), date(2026, 11, d)) for d in (3, 4)]
    rows = [line.split("│")[1:-1] for line in result.output.splitlines() if "2026-11-0" in line]
    assert [[cell.strip() for cell in row] for row in rows] == [
        [
            truth["date"],
            name,
            *(str(counts[k]) for k in ("repaired", "revoked", "unknown", "shared_in")),
        ]
        for truth in truths
        for name, counts in zip(
            ("信用中国", "国家企业信用信息公示系统"), truth["counts"].values(), strict=True
        )
    ]
    own = sum(
        1 for t in truths for e in [*t["decisions"], *t["shares"]] if e["system"] == "credit_china"
    )

    hub = Path(sys.executable).with_name("hub")
    serve = [str(hub), "sandbox", "repairs", "serve", "--dir", str(directory)]
    server = subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_admin/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {cc['password']}"}
        feed = requests.get(f"{cc['extra']['base_url']}/api/xyxf/v1/xfjg", headers=headers)
        assert feed.json()["data"]["total"] == own > 0
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert f"信用中国 (credit_china): http://127.0.0.1:{port}/creditchina" in output
