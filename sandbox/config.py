"""Where a sandbox lives, and the Airflow connections that point the pipeline at it.

The sandbox directory holds ``sandbox.json`` (seed, port, exchange database), the API store, the
drop folders, the truth files and, for the demo, the exchange database. The API credentials are
sandbox-only constants derived from the seed: they protect nothing and are no production secrets.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from connectors.connections import env_var_name
from hub.collect.sources import all_sources
from hub.core.settings import settings
from sandbox.agencies import AGENCIES, ApiChannel, TableChannel

DEFAULT_SEED = 20261103
DEFAULT_PORT = 8765
DEFAULT_REPAIR_PORT = 8766
CONFIG_FILE = "sandbox.json"
API_LOGIN = "credit_hub"


def default_dir() -> Path:
    """The sandbox directory when none is given: ``<var dir>/sandbox``."""
    return settings().var_dir / "sandbox"


@dataclass(frozen=True)
class SandboxConfig:
    """One sandbox: its directory, seed, API port and exchange database.

    Attributes:
        dir: the sandbox directory.
        seed: what every generated record is drawn from.
        port: the port of the background API server (``hub sandbox start``).
        exchange_url: the exchange database's SQLAlchemy URL (default: a SQLite file in ``dir``).
        repair_port: the port of the Credit China / GSXT server (``hub sandbox repairs serve``).
    """

    dir: Path
    seed: int = DEFAULT_SEED
    port: int = DEFAULT_PORT
    exchange_url: str = ""
    repair_port: int = DEFAULT_REPAIR_PORT

    @property
    def exchange_database_url(self) -> str:
        """The exchange database URL in force."""
        return self.exchange_url or f"sqlite:///{self.dir / 'exchange.sqlite'}"

    @property
    def api_base_url(self) -> str:
        """The base URL of the background API server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def repair_base_url(self) -> str:
        """The base URL of the Credit China / GSXT server run by hand."""
        return f"http://127.0.0.1:{self.repair_port}"

    @property
    def repair_store_path(self) -> Path:
        """The SQLite file holding what Credit China and GSXT decided and received."""
        return self.dir / "repair_systems.sqlite"

    @property
    def store_path(self) -> Path:
        """The SQLite file the API server serves records from."""
        return self.dir / "api_store.sqlite"

    @property
    def drop_root(self) -> Path:
        """The root of the file agencies' drop folders."""
        return self.dir / "drop"

    @property
    def truth_dir(self) -> Path:
        """Where the ground truth of each delivery is written."""
        return self.dir / "truth"

    def save(self) -> None:
        """Write ``sandbox.json`` into the sandbox directory."""
        self.dir.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in asdict(self).items() if k != "dir"}
        (self.dir / CONFIG_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> SandboxConfig:
        """The sandbox in ``directory`` (defaults where it has no ``sandbox.json`` yet)."""
        path = directory / CONFIG_FILE
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        return cls(dir=directory, **data)


def _derived_secret(seed: int, source_id: str, purpose: str) -> str:
    return hashlib.sha256(f"sandbox|{seed}|{source_id}|{purpose}".encode()).hexdigest()[:32]


def api_token(seed: int, source_id: str) -> str:
    """The bearer token of a bearer-auth sandbox API."""
    return _derived_secret(seed, source_id, "token")


def api_password(seed: int, source_id: str) -> str:
    """The password (with login ``API_LOGIN``) of a token-endpoint sandbox API."""
    return _derived_secret(seed, source_id, "password")


def connection_env(
    sandbox_dir: Path, api_base_url: str, exchange_url: str, seed: int | None = None
) -> dict[str, str]:
    """The ``AIRFLOW_CONN_*`` variables (JSON form) of every connection the sandbox sources name.

    Each agency's channel is served under the connection its source file names (the hub's
    registry, ``HUB_SOURCES_DIR``): the sandbox maps its own channels onto the production ids.

    Args:
        sandbox_dir: the sandbox directory (its drop root is ``<sandbox_dir>/drop``).
        api_base_url: where the sandbox API server listens, e.g. ``http://127.0.0.1:8765``.
        exchange_url: the exchange database's SQLAlchemy URL.
        seed: the sandbox seed the API secrets derive from (default: the one in ``sandbox.json``).
    """
    config = SandboxConfig.load(sandbox_dir)
    seed = config.seed if seed is None else seed
    connections: dict[str, dict] = {}
    declared = all_sources()
    for agency in AGENCIES.values():
        if agency.source_id not in declared:
            continue  # an agency the hub does not collect from (another registry's)
        channel = agency.channel
        if isinstance(channel, ApiChannel):
            conn = {"conn_type": "http", "extra": {"base_url": f"{api_base_url}/{channel.prefix}"}}
            if channel.auth == "bearer":
                conn["password"] = api_token(seed, agency.source_id)
            else:
                conn |= {"login": API_LOGIN, "password": api_password(seed, agency.source_id)}
        elif isinstance(channel, TableChannel):
            conn = {"conn_type": "generic", "extra": {"sqlalchemy_url": exchange_url}}
        else:  # a FileChannel
            conn = {"conn_type": "fs", "extra": {"path": str(config.drop_root)}}
        connections[declared[agency.source_id].connector.connection] = conn
    return {env_var_name(conn_id): json.dumps(conn) for conn_id, conn in connections.items()}
