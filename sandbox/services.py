"""The whole simulated province on loopback: agencies, Credit China and GSXT, the sites' receivers.

``serve_province`` starts every simulated system the platform talks to, each in its own thread
for the duration of a block, and gives the ``AIRFLOW_CONN_*`` variables that point the hub's
connections at them: the agency sources (APIs, exchange database, file drops), both repair
systems and every push target.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sandbox.agencies import Faults
from sandbox.config import SandboxConfig, connection_env
from sandbox.receivers import ReceiverFaults, ReceiversHandle, serve_receivers
from sandbox.repair_systems import RepairSystemsHandle, serve_repair_systems
from sandbox.server import ServerHandle, serve_in_thread


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


@contextlib.contextmanager
def serve_province(
    config: SandboxConfig,
    *,
    agency_faults: dict[str, Faults] | None = None,
    repair_faults: dict[str, Faults] | None = None,
    receiver_faults: ReceiverFaults | None = None,
    fault_seed: int = 0,
) -> Iterator[ProvinceServices]:
    """Serve every simulated system of ``config``'s province on loopback, for the block.

    Args:
        config: the sandbox (made by ``sandbox.deliver.init_sandbox``).
        agency_faults: per-agency faults replacing the catalogue's defaults.
        repair_faults: per-system faults of Credit China and GSXT (default: none).
        receiver_faults: every receiver's initial faults (default: none).
        fault_seed: seeds the agencies' and repair systems' fault draws.

    Yields:
        The running systems, with their fault controls and connections.
    """
    with (
        serve_in_thread(config, agency_faults, fault_seed) as agencies,
        serve_repair_systems(config, repair_faults, fault_seed) as repair_systems,
        serve_receivers(seed=config.seed, faults=receiver_faults) as receivers,
    ):
        yield ProvinceServices(config, agencies, repair_systems, receivers)
