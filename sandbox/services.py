"""The whole simulated province on loopback: agencies, Credit China and GSXT, the sites' receivers.

``serve_province`` starts every simulated system the platform talks to, each in its own thread
for the duration of a block, and gives the ``AIRFLOW_CONN_*`` variables that point the hub's
connections at them: the agency sources (APIs, exchange database, file drops), both repair
systems and every push target.

By default every system listens on a free loopback port (the demo, the tests). Given a
``base_port``, the ports are fixed: the agencies' APIs on ``base_port``, Credit China and GSXT on
``base_port + 1``, the push receivers from ``base_port + 2`` on, in the targets file's order
(``hub sandbox serve``, for the Docker Compose deployment's ``sandbox`` profile).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.agencies import Faults
from sandbox.config import SandboxConfig, connection_env
from sandbox.receivers import ReceiverFaults, ReceiversHandle, serve_receivers
from sandbox.repair_systems import RepairSystemsHandle, serve_repair_systems
from sandbox.server import ServerHandle, serve_in_thread

CONN_ENV_PREFIX = "AIRFLOW_CONN_"


@dataclass(frozen=True)
class ProvinceServices:
    """The running simulated systems of one sandbox province."""

    config: SandboxConfig
    agencies: ServerHandle
    repair_systems: RepairSystemsHandle
    receivers: ReceiversHandle

    def connection_env(self) -> dict[str, str]:
        """Every ``AIRFLOW_CONN_*`` variable the hub needs to reach this province."""
        return (
            connection_env(
                self.config.dir, self.agencies.base_url, self.config.exchange_database_url
            )
            | self.repair_systems.connection_env()
            | self.receivers.connection_env()
        )

    def connections(self) -> dict[str, dict]:
        """Every connection of ``connection_env`` by connection id, as Airflow's JSON form.

        The form ``airflow connections import`` and Airflow's ``LocalFilesystemBackend`` read.
        Connection ids are lower case throughout the registry, so the id is the variable's
        name without its prefix, lowered.
        """
        return {
            name.removeprefix(CONN_ENV_PREFIX).lower(): json.loads(value)
            for name, value in sorted(self.connection_env().items())
        }

    def write_connections(self, path: Path) -> None:
        """Write ``connections()`` to ``path`` as JSON, atomically (readers never see half)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(json.dumps(self.connections(), indent=2) + "\n", encoding="utf-8")
        partial.replace(path)


@contextlib.contextmanager
def serve_province(
    config: SandboxConfig,
    *,
    agency_faults: dict[str, Faults] | None = None,
    repair_faults: dict[str, Faults] | None = None,
    receiver_faults: ReceiverFaults | None = None,
    fault_seed: int = 0,
    host: str = "127.0.0.1",
    base_port: int = 0,
    public_host: str | None = None,
) -> Iterator[ProvinceServices]:
    """Serve every simulated system of ``config``'s province, in threads, for the block.

    Args:
        config: the sandbox (made by ``sandbox.deliver.init_sandbox``).
        agency_faults: per-agency faults replacing the catalogue's defaults.
        repair_faults: per-system faults of Credit China and GSXT (default: none).
        receiver_faults: every receiver's initial faults (default: none).
        fault_seed: seeds the agencies' and repair systems' fault draws.
        host: the address every system listens on (default: loopback).
        base_port: the first of the fixed ports (see the module's docstring); 0 (the default):
            free ports.
        public_host: the host name the connections give (default: ``host``); needed when
            ``host`` is a wildcard such as ``0.0.0.0``.

    Yields:
        The running systems, with their fault controls and connections.
    """

    def port(offset: int) -> int:
        return base_port + offset if base_port else 0

    where = {"host": host, "public_host": public_host}
    with (
        serve_in_thread(config, agency_faults, fault_seed, port=port(0), **where) as agencies,
        serve_repair_systems(
            config, repair_faults, fault_seed, port=port(1), **where
        ) as repair_systems,
        serve_receivers(
            seed=config.seed, faults=receiver_faults, first_port=port(2), **where
        ) as receivers,
    ):
        yield ProvinceServices(config, agencies, repair_systems, receivers)
