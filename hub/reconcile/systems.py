"""The outside systems as the reconciliation sees them: fetch repair facts, push repairs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pandas as pd

from connectors.connections import Connection, ConnectionResolver, from_environment
from hub.reconcile.publicity import CREDIT_CHINA, GSXT

SYSTEMS = (CREDIT_CHINA, GSXT)


class FactPage(Protocol):
    """A page of a system's repair feed: normalised facts and the cursor after them."""

    facts: pd.DataFrame
    cursor: str


class PushOutcome(Protocol):
    """What a system said to a push."""

    accepted: int
    rejected: list[tuple[str, str]]


class RepairSystems:
    """Credit China and GSXT through ``connectors.repair_systems``, connections from ``resolve``."""

    def __init__(self, resolve: ConnectionResolver = from_environment) -> None:
        self._resolve = resolve

    def _spec_and_connection(self, system: str) -> tuple[object, Connection]:
        from connectors.repair_systems import repair_system

        spec = repair_system(system)
        return spec, self._resolve(spec.connection)

    def fetch(self, system: str, since: str | None) -> Iterator[FactPage]:
        """The facts ``system`` decided after cursor ``since``, page by page."""
        from connectors.repair_systems import fetch_repairs

        spec, connection = self._spec_and_connection(system)
        return fetch_repairs(spec, since, connection)

    def push(self, system: str, facts: pd.DataFrame) -> PushOutcome:
        """Tell ``system`` of repairs the other system decided."""
        from connectors.repair_systems import push_repairs

        spec, connection = self._spec_and_connection(system)
        return push_repairs(spec, facts, connection)
