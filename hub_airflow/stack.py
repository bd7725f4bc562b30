"""The production shape on one machine without Docker: ``./dev stack up|down|env``.

What ``docker-compose.yml`` runs, started natively from the project's environment: the metadata
database (``airflow``) and the platform database (``credit``) on a PostgreSQL server, the Airflow
api-server, scheduler, dag-processor and triggerer, and the sandbox province served on loopback
(its connections read through Airflow's ``LocalFilesystemBackend``, as the compose file's
``sandbox`` profile does). ``--executor celery`` runs the tasks on a Celery worker with the Redis
server of this machine as its broker, listening to every queue (or ``AIRFLOW_WORKER_QUEUES``), as
the compose file's ``celery`` profile does.

The Airflow components get the compose file's ``x-airflow-env``, interpolated the way
``docker compose`` does (the shell's environment over the stack's env file) and moved from the
containers to this machine by ``NATIVE_ADDRESSES`` only: the database server, the api-server's
address, the project and ``HUB_VAR_DIR`` folders. What a single machine adds (``NATIVE_ONLY``:
Airflow's home, one port per component's log server and health check, the platform clock's file)
is all that differs; ``tests/stack/test_settings.py`` checks both against ``docker compose
config``.

Everything lives in ``HUB_STACK_DIR`` (default ``var/stack``): ``stack.env`` (the secrets,
generated on the first ``up``, mode 0600; the counterpart of the compose file's ``.env``),
Airflow's home and logs, one log file and one pid file per component, and ``hub/`` (the
``HUB_VAR_DIR``: reports, delta files, the sandbox). ``down`` stops exactly the processes ``up``
started, by the process groups in their pid files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import urlsafe_b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
GENERATED_SECRETS = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW_ADMIN_PASSWORD",
    "POSTGRES_PASSWORD",
    "AIRFLOW_DB_PASSWORD",
    "HUB_DB_PASSWORD",
)
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
READY_SECONDS = 240


class StackError(RuntimeError):
    """The stack cannot start or stop; the message says what and where to look."""


@dataclass(frozen=True)
class Layout:
    """Where a native stack lives and listens.

    Attributes:
        folder: ``HUB_STACK_DIR``: env file, Airflow's home, logs, pid files, ``HUB_VAR_DIR``.
        port: ``HUB_STACK_PORT``: the api-server; the next ports: the scheduler's health check,
            the scheduler's and the triggerer's log servers, the Celery worker's log server; the
            sandbox from ``port + 10``.
        postgres: the PostgreSQL server's host and port (``HUB_STACK_POSTGRES``).
        admin_url: a superuser's URL on that server, to create roles and databases.
        database_prefix: put before the databases' names (``HUB_STACK_DB_PREFIX``, default none:
            ``airflow`` and ``credit`` as in the compose file), so that a test's ``--fresh``
            never drops a server's own ``credit``.
    """

    folder: Path
    port: int
    postgres: str
    admin_url: str
    database_prefix: str = ""

    @classmethod
    def from_environment(cls) -> Layout:
        """The layout the ``HUB_STACK_*`` variables give."""
        postgres = os.environ.get("HUB_STACK_POSTGRES", "127.0.0.1:5432")
        return cls(
            folder=Path(os.environ.get("HUB_STACK_DIR", PROJECT_ROOT / "var" / "stack")).resolve(),
            port=int(os.environ.get("HUB_STACK_PORT", "8080")),
            postgres=postgres,
            database_prefix=os.environ.get("HUB_STACK_DB_PREFIX", ""),
            admin_url=os.environ.get(
                "HUB_STACK_POSTGRES_ADMIN_URL", f"postgresql+psycopg://postgres@{postgres}/postgres"
            ),
        )

    @property
    def env_file(self) -> Path:
        """The stack's counterpart of the compose file's ``.env``."""
        return self.folder / "stack.env"

    @property
    def var_dir(self) -> Path:
        """``HUB_VAR_DIR`` of every component (the compose file's ``hub-var`` volume)."""
        return self.folder / "hub"

    @property
    def sandbox_port(self) -> int:
        """The sandbox's first port (agencies' APIs; the others follow)."""
        return self.port + 10

    @property
    def base_url(self) -> str:
        """The api-server's URL."""
        return f"http://127.0.0.1:{self.port}"


def native_addresses(layout: Layout) -> dict[str, str]:
    """What stands for a container address in the compose file, and what it is here."""
    return {
        "@postgres:5432/": f"@{layout.postgres}/{layout.database_prefix}",
        "http://airflow-api-server:8080/": f"{layout.base_url}/",
        "redis://redis:6379/": "redis://127.0.0.1:6379/",
        "/opt/airflow/auth": str(layout.folder / "auth"),
        "/opt/hub": str(PROJECT_ROOT),
        "/var/lib/hub": str(layout.var_dir),
    }


def native_only(layout: Layout) -> dict[str, str]:
    """The settings a single machine adds: each component's ports, Airflow's home, the clock."""
    return {
        "AIRFLOW_HOME": str(layout.folder / "airflow"),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(layout.port + 1),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(layout.port + 2),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(layout.port + 3),
        # The sandbox replays past days: the platform's clock is moved per day through this file.
        "HUB_CLOCK_OFFSET_FILE": str(layout.var_dir / "sandbox" / "clock"),
    }


_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


def interpolate(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its variables replaced as ``docker compose`` replaces them.

    ``${NAME}``, ``${NAME:-default}``, ``${NAME:?error}``, ``${NAME:+alt}`` (and without the colon:
    only unset counts as missing), ``$$`` for a dollar sign.

    Raises:
        StackError: a required variable is missing (its error message).
    """

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        value = values.get(name)
        given = bool(value) if operator and operator.startswith(":") else value is not None
        if operator in (":-", "-"):
            return value if given else argument
        if operator in (":?", "?"):
            if not given:
                raise StackError(f"required variable {name} is missing a value: {argument}")
            return value
        if operator in (":+", "+"):
            return argument if given else ""
        return value or ""

    return _VARIABLE.sub(one, text)


def compose_environment(values: Mapping[str, str]) -> dict[str, str]:
    """The Airflow components' environment in the compose file, interpolated with ``values``."""
    model = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return {key: interpolate(str(value), values) for key, value in model["x-airflow-env"].items()}


def native_environment(layout: Layout, values: Mapping[str, str]) -> dict[str, str]:
    """The compose file's settings moved to this machine, plus what a single machine adds."""
    moved = {}
    for key, value in compose_environment(values).items():
        for container, here in native_addresses(layout).items():
            value = value.replace(container, here)
        moved[key] = value
    return moved | native_only(layout)


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (comments and blank lines skipped, surrounding quotes removed)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().removeprefix("'").removesuffix("'")
    return values


def _fernet_key() -> str:
    return urlsafe_b64encode(secrets.token_bytes(32)).decode()


def write_env_file(layout: Layout) -> None:
    """``stack.env`` from ``.env.example``: random secrets, the sandbox's connections file on.

    The connections stay the example's placeholders: the sandbox's file is read before them.
    """
    values = read_env_file(ENV_EXAMPLE)
    values |= {name: secrets.token_hex(24) for name in GENERATED_SECRETS}
    values |= {
        "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
        "AIRFLOW_BASE_URL": layout.base_url,
        "AIRFLOW_API_PORT": str(layout.port),
        "HUB_SANDBOX_CONNECTIONS_FILE": "/var/lib/hub/sandbox/connections.json",
    }
    layout.folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{key}='{value}'" for key, value in values.items()]
    layout.env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    layout.env_file.chmod(0o600)


def stack_values(layout: Layout, executor: str = "local") -> dict[str, str]:
    """What the compose file is interpolated with: the env file, then the shell's environment.

    ``executor="celery"`` is the compose file's celery profile: ``AIRFLOW_EXECUTOR`` is
    ``CeleryExecutor``.
    """
    if not layout.env_file.exists():
        write_env_file(layout)
    values = read_env_file(layout.env_file) | dict(os.environ)
    if executor == "celery":
        values["AIRFLOW_EXECUTOR"] = "CeleryExecutor"
    return values


def process_environment(layout: Layout, executor: str = "local") -> dict[str, str]:
    """The full environment of a component: this shell's, then the stack's settings."""
    values = stack_values(layout, executor)
    environment = dict(os.environ) | native_environment(layout, values)
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    environment["AIRFLOW_ADMIN_USER"] = values.get("AIRFLOW_ADMIN_USER", "admin")
    environment["AIRFLOW_ADMIN_PASSWORD"] = values["AIRFLOW_ADMIN_PASSWORD"]
    return environment


# The databases -------------------------------------------------------------------------------


def _database_url(url: str) -> sa.URL:
    return sa.make_url(url)


def prepare_databases(layout: Layout, environment: Mapping[str, str], fresh: bool) -> None:
    """The roles and databases the compose file's ``init-databases.sh`` makes, on this server.

    Idempotent; the roles' passwords are set to the env file's. ``fresh`` drops both databases
    first (a clean run, as on an empty ``postgres-data`` volume).
    """
    wanted = [
        _database_url(environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]),
        _database_url(environment["HUB_DATABASE_URL"]),
    ]
    admin = sa.create_engine(layout.admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for url in wanted:
                role, password, database = url.username, url.password, url.database
                quoted = connection.dialect.identifier_preparer.quote
                exists = connection.scalar(
                    sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
                )
                verb = "ALTER" if exists else "CREATE"
                literal = password.replace("'", "''")
                connection.execute(
                    sa.text(f"{verb} ROLE {quoted(role)} LOGIN PASSWORD '{literal}'")
                )
                if fresh:
                    connection.execute(
                        sa.text(f"DROP DATABASE IF EXISTS {quoted(database)} WITH (FORCE)")
                    )
                found = connection.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
                )
                if not found:
                    connection.execute(
                        sa.text(
                            f"CREATE DATABASE {quoted(database)} OWNER {quoted(role)} "
                            "ENCODING 'UTF8' TEMPLATE template0"
                        )
                    )
                    connection.execute(
                        sa.text(f"REVOKE ALL ON DATABASE {quoted(database)} FROM PUBLIC")
                    )
    except sa.exc.OperationalError as exc:
        raise StackError(
            f"PostgreSQL at {layout.postgres} cannot be reached as {layout.admin_url!r} "
            f"(HUB_STACK_POSTGRES_ADMIN_URL): {str(exc).splitlines()[0]}"
        ) from None
    finally:
        admin.dispose()


# The processes -------------------------------------------------------------------------------


def _pid_file(layout: Layout, name: str) -> Path:
    return layout.folder / "run" / f"{name}.pid"


def _log_file(layout: Layout, name: str) -> Path:
    return layout.folder / "logs" / f"{name}.log"


def commands(
    layout: Layout, environment: Mapping[str, str], values: Mapping[str, str]
) -> dict[str, list[str]]:
    """Each component's command line, as the compose file's services run it.

    ``values`` are what the compose file is interpolated with (``stack_values``): the worker's
    queues are ``AIRFLOW_WORKER_QUEUES`` from the env file or the shell, else all of them.
    """
    sandbox = [
        "hub",
        "sandbox",
        "serve",
        "--host",
        "127.0.0.1",
        "--public-host",
        "127.0.0.1",
        "--base-port",
        str(layout.sandbox_port),
        "--connections-file",
        environment["AIRFLOW__SECRETS__BACKEND_KWARG__CONNECTIONS_FILE_PATH"],
    ]
    started = {"sandbox": sandbox} | {name: ["airflow", name] for name in COMPONENTS}
    started["api-server"] += ["--host", "127.0.0.1", "--port", str(layout.port)]
    if environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor":
        model = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
        worker = model["services"]["airflow-worker"]["command"]
        started["airflow-worker"] = ["airflow", *(interpolate(part, values) for part in worker)]
    return started


def component_environment(layout: Layout, name: str) -> dict[str, str]:
    """What one component changes in the shared environment.

    The worker gets its own log server port: a container each in the compose file, one host here.
    """
    if name == "airflow-worker":
        return {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(layout.port + 4)}
    return {}


CELERY_PING = [
    "celery",
    "--app",
    "airflow.providers.celery.executors.celery_executor.app",
    "inspect",
    "ping",
]
"""The compose file's worker health check: a worker answers through the broker."""


def _start(layout: Layout, name: str, argv: list[str], environment: Mapping[str, str]) -> None:
    pid_file = _pid_file(layout, name)
    if _alive(pid_file):
        print(f"stack: {name} is already running (pid {pid_file.read_text().strip()})")
        return
    log = _log_file(layout, name)
    log.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: ``down`` stops it and its children
        )
    pid_file.write_text(f"{process.pid}\n", encoding="utf-8")
    print(f"stack: {name} started (pid {process.pid}, log {log})")


def _alive(pid_file: Path) -> bool:
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (ProcessLookupError, ValueError):
        return False
    return True


def _stop(pid_files: list[Path], seconds: float = 30) -> None:
    """SIGTERM to each process group, then SIGKILL to those still there after ``seconds``."""
    groups = {}
    for pid_file in pid_files:
        pid = int(pid_file.read_text())
        try:
            os.killpg(pid, signal.SIGTERM)
            groups[pid] = pid_file
        except ProcessLookupError:
            pid_file.unlink()
    deadline = time.monotonic() + seconds
    while groups and time.monotonic() < deadline:
        for pid in list(groups):
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                pid_file = groups.pop(pid)
                pid_file.unlink()
                print(f"stack: {pid_file.stem} stopped")
        time.sleep(0.5)
    for pid, pid_file in groups.items():
        os.killpg(pid, signal.SIGKILL)
        pid_file.unlink()
        print(f"stack: {pid_file.stem} killed after {seconds:.0f} s")


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def token(layout: Layout, values: Mapping[str, str]) -> str:
    """A JWT from the api-server for the admin login (simple auth manager)."""
    body = json.dumps(
        {
            "username": values.get("AIRFLOW_ADMIN_USER", "admin"),
            "password": values["AIRFLOW_ADMIN_PASSWORD"],
        }
    ).encode()
    request = urllib.request.Request(
        f"{layout.base_url}/auth/token", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


def _wait(what: str, ready, layout: Layout, seconds: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for pid_file in (layout.folder / "run").glob("*.pid"):
            if not _alive(pid_file):
                log = _log_file(layout, pid_file.stem)
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise StackError(f"{pid_file.stem} exited while waiting for {what}; {log}:\n{tail}")
        if ready():
            print(f"stack: {what}")
            return
        time.sleep(1)
    raise StackError(
        f"{what}: not within {seconds:.0f} s; the logs are in {layout.folder / 'logs'}"
    )


def up(layout: Layout, executor: str, fresh: bool) -> None:
    """Prepare the databases, initialise as ``airflow-init`` does, start and wait for everything."""
    environment = process_environment(layout, executor)
    values = stack_values(layout, executor)
    if fresh:
        down(layout)
    prepare_databases(layout, environment, fresh)
    (layout.folder / "auth").mkdir(parents=True, exist_ok=True)
    layout.var_dir.mkdir(parents=True, exist_ok=True)
    init = subprocess.run(
        ["bash", str(PROJECT_ROOT / "docker" / "airflow" / "init.sh")],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        raise StackError(f"airflow-init failed:\n{init.stdout[-3000:]}\n{init.stderr[-3000:]}")
    for name, argv in commands(layout, environment, values).items():
        _start(layout, name, argv, environment | component_environment(layout, name))
    connections = Path(environment["AIRFLOW__SECRETS__BACKEND_KWARG__CONNECTIONS_FILE_PATH"])
    _wait("the sandbox serves (its connections file is written)", connections.exists, layout)
    _wait(
        "the api-server answers",
        lambda: _get(f"{layout.base_url}/api/v2/version")[0] == 200,
        layout,
    )
    health = f"http://127.0.0.1:{layout.port + 1}/health"
    _wait("the scheduler is healthy", lambda: _get(health)[0] == 200, layout)
    jwt = token(layout, values)
    dag_files = len(list((PROJECT_ROOT / "dags").glob("*.py")))

    def parsed() -> bool:
        errors = json.loads(_get(f"{layout.base_url}/api/v2/importErrors", jwt)[1] or b"{}")
        if errors.get("total_entries"):
            raise StackError(f"DAG import errors: {errors['import_errors']}")
        dags = json.loads(_get(f"{layout.base_url}/api/v2/dags?limit=100", jwt)[1] or b"{}")
        return dags.get("total_entries", 0) >= dag_files

    _wait(f"the dag-processor has parsed the {dag_files} DAGs", parsed, layout)
    if executor == "celery":
        ping = [str(Path(sys.executable).parent / CELERY_PING[0]), *CELERY_PING[1:]]

        def answers() -> bool:
            done = subprocess.run(
                ping, env=environment, capture_output=True, timeout=60, check=False
            )
            return done.returncode == 0

        _wait("a Celery worker answers through the broker", answers, layout)
    print(f"stack: up ({executor} executor): {layout.base_url}, settings in {layout.env_file}")


def down(layout: Layout) -> None:
    """Stop every component ``up`` started (the databases stay)."""
    _stop(sorted((layout.folder / "run").glob("*.pid")))


def main(argv: list[str] | None = None) -> int:
    """``up [--executor local|celery] [--fresh]``, ``down``, ``env`` (``export`` lines)."""
    parser = argparse.ArgumentParser(prog="./dev stack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    start = sub.add_parser("up", help="start the stack and wait until it is ready")
    start.add_argument("--executor", choices=("local", "celery"), default="local")
    start.add_argument("--fresh", action="store_true", help="drop and remake both databases")
    sub.add_parser("down", help="stop what up started")
    show = sub.add_parser("env", help="print the components' settings as export lines")
    show.add_argument("--executor", choices=("local", "celery"), default="local")
    arguments = parser.parse_args(argv)
    layout = Layout.from_environment()
    try:
        if arguments.action == "up":
            up(layout, arguments.executor, arguments.fresh)
        elif arguments.action == "down":
            down(layout)
        else:
            values = stack_values(layout, arguments.executor)
            for key, value in native_environment(layout, values).items():
                print(f"export {key}='{value}'")
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
