"""The native stack sets what the compose file sets (no stack is started here).

``docker compose config`` renders the compose file with an env file; the native stack is given the
same values. Every setting of the compose file's Airflow components must come out the same,
moved from the containers to this machine (``native_addresses``) and nothing else; what the
native stack adds is exactly ``native_only``.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hub_airflow import stack
from hub_airflow.collect import worker_queues
from hub_airflow.stack import read_env_file
from tests.deploy.test_compose import placeholder_env, rendered

SANDBOX = {"HUB_SANDBOX_CONNECTIONS_FILE": "/var/lib/hub/sandbox/connections.json"}


def layout(tmp_path: Path) -> stack.Layout:
    return stack.Layout(tmp_path / "stack", 18080, "127.0.0.1:5432", "postgresql://unused")


def moved(value: str, where: stack.Layout) -> str:
    for container, here in stack.native_addresses(where).items():
        value = value.replace(container, here)
    return value


@pytest.mark.parametrize("executor", ["local", "celery"])
def test_every_airflow_setting_of_the_compose_file_is_the_native_stacks(
    tmp_path: Path, executor: str
) -> None:
    env_file = placeholder_env() | SANDBOX
    flags = ["--profile", "sandbox"]
    if executor == "celery":  # what .env says for the celery profile
        env_file |= {"AIRFLOW_EXECUTOR": "CeleryExecutor"}
        flags += ["--profile", "celery"]
    services = rendered(env_file, tmp_path, *flags)["services"]
    where = layout(tmp_path)

    native = stack.native_environment(where, env_file)

    components = [name for name in services if name.startswith("airflow-")]
    for name in components:
        compose = services[name]["environment"]
        compose = {
            k: v
            for k, v in compose.items()
            if k not in ("AIRFLOW_ADMIN_USER", "AIRFLOW_ADMIN_PASSWORD")
        }
        assert {key: native[key] for key in compose} == {
            key: moved(value, where) for key, value in compose.items()
        }, name
    assert set(native) - set(services["airflow-scheduler"]["environment"]) == set(
        stack.native_only(where)
    )
    for value in native.values():
        for container in (
            "@postgres:",
            "airflow-api-server",
            "/opt/hub",
            "/var/lib/hub",
            "redis://redis",
        ):
            assert container not in value
    assert native["AIRFLOW__CORE__EXECUTOR"] == (
        "CeleryExecutor" if executor == "celery" else "LocalExecutor"
    )
    assert ("airflow-worker" in services) == (executor == "celery")
    worker = stack.commands(where, native, env_file).get("airflow-worker")
    if executor == "celery":
        assert worker == ["airflow", *services["airflow-worker"]["command"]]
        assert worker[-2:] == ["--queues", ",".join(worker_queues())]
        assert native["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6379/0"
    else:
        assert worker is None


def test_a_hosts_worker_takes_the_queues_its_env_file_gives_as_the_compose_worker_does(
    tmp_path: Path,
) -> None:
    env_file = placeholder_env() | {
        "AIRFLOW_EXECUTOR": "CeleryExecutor",
        "AIRFLOW_WORKER_QUEUES": "collect_scjg,collect_tax",
    }
    compose = rendered(env_file, tmp_path, "--profile", "celery")["services"]["airflow-worker"]
    where = layout(tmp_path)
    native = stack.commands(where, stack.native_environment(where, env_file), env_file)

    assert native["airflow-worker"] == ["airflow", *compose["command"]]
    assert compose["command"] == ["celery", "worker", "--queues", "collect_scjg,collect_tax"]


def test_the_sandbox_runs_as_the_compose_profile_runs_it_but_on_loopback(tmp_path: Path) -> None:
    env_file = placeholder_env() | SANDBOX
    compose = rendered(env_file, tmp_path, "--profile", "sandbox")["services"]["sandbox"]["command"]
    where = layout(tmp_path)
    native = stack.commands(where, stack.native_environment(where, env_file), env_file)["sandbox"]

    def options(command: list[str]) -> dict[str, str]:
        return dict(zip(command[3::2], command[4::2], strict=True))

    assert native[:3] == compose[:3] == ["hub", "sandbox", "serve"]
    assert options(compose) | {
        "--host": "127.0.0.1",
        "--public-host": "127.0.0.1",
        "--base-port": str(where.sandbox_port),
        "--connections-file": str(where.var_dir / "sandbox" / "connections.json"),
    } == options(native)


def test_the_first_up_writes_an_env_file_of_fresh_secrets_only_its_owner_reads(
    tmp_path: Path,
) -> None:
    where = layout(tmp_path)
    stack.write_env_file(where)

    values = read_env_file(where.env_file)
    assert stat.S_IMODE(where.env_file.stat().st_mode) == 0o600
    generated = [values[name] for name in stack.GENERATED_SECRETS]
    assert len(set(generated)) == len(generated)
    assert not any("CHANGE-ME" in value for value in generated)
    assert values["HUB_SANDBOX_CONNECTIONS_FILE"] == SANDBOX["HUB_SANDBOX_CONNECTIONS_FILE"]
    assert values["AIRFLOW_BASE_URL"] == "http://127.0.0.1:18080"
    # --executor celery is what the celery profile's line in .env says.
    assert stack.stack_values(where, "celery")["AIRFLOW_EXECUTOR"] == "CeleryExecutor"


def test_a_missing_secret_stops_the_stack_with_the_compose_files_message() -> None:
    values = placeholder_env()
    del values["HUB_DB_PASSWORD"]
    with pytest.raises(stack.StackError) as raised:
        stack.compose_environment(values)
    assert str(raised.value) == (
        "required variable HUB_DB_PASSWORD is missing a value: "
        "set HUB_DB_PASSWORD in .env (see .env.example)"
    )
