"""`hub sandbox serve`, the Compose sandbox profile's process, run for real on fixed loopback ports.

The command is started in a subprocess as the container starts it (but on loopback), every system
it serves is asked something only the right credentials get an answer to, using the connections
it wrote, and those connections are resolved the two ways the hub resolves them: through Airflow's
``LocalFilesystemBackend`` (what the Airflow containers do with the profile) and from
``AIRFLOW_CONN_*`` variables. SIGTERM (what ``docker compose stop`` sends) stops it and removes the
connections file.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
import requests

from connectors.connections import Connection, env_var_name, from_environment
from connectors.repair_systems import repair_system
from hub.collect.sources import get_source
from hub.core.targets import push_targets
from sandbox.agencies import api_agencies
from sandbox.config import API_LOGIN
from sandbox.repair_vocab import SYSTEMS, vocabulary

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HUB = Path(sys.executable).parent / "hub"
PORTS = 2 + len(push_targets())  # agencies, repair systems, one receiver per push target
STARTUP_SECONDS = 120


def _free_base_port() -> int:
    """A port starting a run of ``PORTS`` free loopback ports."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + PORTS > 65535:
            continue
        try:
            for port in range(base, base + PORTS):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no run of {PORTS} free ports found")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path, int]]:
    """``hub sandbox serve`` running on fixed loopback ports; yields it, its file and base port."""
    base_port = _free_base_port()
    connections = tmp_path / "shared" / "connections.json"
    env = os.environ | {"HUB_VAR_DIR": str(tmp_path / "var")}
    argv = [str(HUB), "sandbox", "serve", "--base-port", str(base_port), "--seed", "7"]
    argv += ["--connections-file", str(connections)]
    process = subprocess.Popen(
        argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not connections.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"hub sandbox serve did not start:\n{process.communicate()[0]}")
            time.sleep(0.2)
        yield process, connections, base_port
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def _airflow_resolved(connections: Path, conn_ids: list[str], home: Path) -> dict[str, dict]:
    """The connections as Airflow resolves them with the profile's secrets backend settings."""
    script = (
        "import json, sys, dataclasses\n"
        "from hub_airflow.connections import airflow_connection\n"
        "print(json.dumps({c: dataclasses.asdict(airflow_connection(c)) for c in sys.argv[1:]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env |= {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARG__CONNECTIONS_FILE_PATH": str(connections),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", script, *conn_ids],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _get(url: str, token: str, tries: int = 20) -> requests.Response:
    """GET with a bearer token, past the sandbox's injected 5xx and 429 answers."""
    for _ in range(tries):
        answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        if answer.status_code < 500 and answer.status_code != 429:
            return answer
    return answer


def test_serve_answers_on_fixed_ports_with_the_connections_it_wrote(
    served: tuple[subprocess.Popen, Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    process, connections_file, base = served
    written = json.loads(connections_file.read_text(encoding="utf-8"))
    for conn_id, conn in written.items():
        monkeypatch.setenv(env_var_name(conn_id), json.dumps(conn))
    resolved = {conn_id: from_environment(conn_id) for conn_id in written}

    # Fixed ports: agencies on the base, both repair systems on the next, receivers after.
    agencies = {get_source(a.source_id).connector.connection: a.channel for a in api_agencies()}
    for conn_id, channel in agencies.items():
        assert resolved[conn_id].base_url() == f"http://127.0.0.1:{base}/{channel.prefix}"
    for system in SYSTEMS:
        expected = f"http://127.0.0.1:{base + 1}/{vocabulary(system).prefix}"
        assert resolved[repair_system(system).connection].base_url() == expected
    receiver_urls = {t.connection: resolved[t.connection].base_url() for t in push_targets()}
    assert sorted(receiver_urls.values()) == [
        f"http://127.0.0.1:{base + 2 + i}" for i in range(len(push_targets()))
    ]

    # Each system answers what only the connection's credentials get.
    for conn_id, channel in agencies.items():
        conn = resolved[conn_id]
        if channel.auth == "bearer":
            answer = _get(conn.base_url() + channel.path, conn.password)
            assert answer.status_code == 200, (conn_id, answer.text)
            assert channel.records_key in answer.json()
        else:
            body = {"username": conn.login, "password": conn.password}
            answer = requests.post(f"{conn.base_url()}/auth/token", json=body, timeout=10)
            assert conn.login == API_LOGIN
            assert answer.status_code == 200, (conn_id, answer.text)
            assert answer.json()["token_type"] == "bearer"
    for system in SYSTEMS:
        vocab = vocabulary(system)
        conn = resolved[repair_system(system).connection]
        assert _get(conn.base_url() + vocab.feed_path, conn.password).status_code == 200
        assert _get(conn.base_url() + vocab.feed_path, "wrong").status_code == 401
    for target in push_targets():
        conn = resolved[target.connection]
        stats = _get(f"{conn.base_url()}/_admin/stats", conn.password)
        assert stats.status_code == 200
        assert stats.json()["requests"] == 0
    # The file-based sources point at the sandbox's folders, which exist.
    assert Path(resolved["zj_jtt_file_drop"].extra["path"]).is_dir()
    exchange_url = resolved["zj_yjt_exchange_db"].extra["sqlalchemy_url"]
    assert Path(exchange_url.removeprefix("sqlite:///")).is_file()

    # Airflow, reading the same file through LocalFilesystemBackend, resolves the same connections.
    through_airflow = _airflow_resolved(connections_file, sorted(written), tmp_path / "airflow")
    assert through_airflow == {conn_id: asdict(conn) for conn_id, conn in resolved.items()}

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not connections_file.exists()


def test_serve_on_every_interface_needs_the_public_host(tmp_path: Path) -> None:
    env = os.environ | {"HUB_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run(
        [str(HUB), "sandbox", "serve", "--host", "0.0.0.0"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "--public-host" in done.stderr
    assert not (tmp_path / "var" / "sandbox").exists()


def test_connections_name_the_public_host(tmp_path: Path) -> None:
    from sandbox.config import SandboxConfig
    from sandbox.deliver import init_sandbox
    from sandbox.services import serve_province

    config = SandboxConfig(tmp_path / "sandbox", seed=3)
    init_sandbox(config)
    with serve_province(config, host="127.0.0.1", public_host="sandbox") as province:
        connections = province.connections()
    urls = {
        conn_id: Connection(conn_id, extra=conn.get("extra", {})).base_url()
        for conn_id, conn in connections.items()
        if conn["conn_type"] == "http"
    }
    assert urls and all(url.startswith("http://sandbox:") for url in urls.values())
