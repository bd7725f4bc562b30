"""The whole simulated province served at once, reachable through the hub's own connections."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from connectors.connections import env_var_name
from connectors.repair.spec import repair_system
from hub.collect.sources import enabled_sources
from hub.core.targets import push_targets
from sandbox.config import SandboxConfig
from sandbox.deliver import init_sandbox
from sandbox.services import serve_province


def test_every_connection_the_hub_names_points_at_a_running_system(tmp_path: Path) -> None:
    config = SandboxConfig(tmp_path / "sandbox", seed=11)
    init_sandbox(config)
    with serve_province(config) as province:
        env = province.connection_env()
        health = {
            "agencies": requests.get(f"{province.agencies.base_url}/_admin/health", timeout=5),
            "repairs": requests.get(f"{province.repair_systems.base_url}/_admin/health", timeout=5),
        }
        # Each receiver answers, and checks who is asking before it says anything.
        receiver_stats = {
            target_id: requests.get(f"{url}/_admin/stats", timeout=5).status_code
            for target_id, url in province.receivers.base_urls.items()
        }

    named = {env_var_name(source.connector.connection) for source in enabled_sources()}
    named |= {env_var_name(target.connection) for target in push_targets()}
    named |= {env_var_name(repair_system(s).connection) for s in ("credit_china", "gsxt")}
    assert named <= set(env)
    assert all(json.loads(value)["conn_type"] for value in env.values())
    assert {name: r.status_code for name, r in health.items()} == {"agencies": 200, "repairs": 200}
    assert receiver_stats == {target.id: 401 for target in push_targets()}
