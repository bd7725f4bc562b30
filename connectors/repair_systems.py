"""The repair systems as the hub sees them: Credit China (信用中国) and GSXT (公示系统).

- ``repair_system(id)``: how to reach one, from ``mappings/repair_systems/<id>.yaml``.
- ``fetch_repairs(system, since, connection)``: the repair facts it has taken in since a cursor,
  page by page, each a frame of ``FACT_COLUMNS``.
- ``decided_in(system, facts)``: per fact of its feed, the system that decided it (its own, or
  the other one it took the repair over from).
- ``push_repairs(system, facts, connection)``: tell it about repairs decided in the other system.

The implementation is in ``connectors.repair``; see ``docs/repair_systems.md``.
"""

from __future__ import annotations

from connectors.repair.feed import FACT_COLUMNS, FactPage, decided_in, empty_facts, fetch_repairs
from connectors.repair.push import PushResult, idempotency_key, push_repairs
from connectors.repair.spec import RepairSystem, RepairSystemConfigError, repair_system

__all__ = [
    "FACT_COLUMNS",
    "FactPage",
    "PushResult",
    "RepairSystem",
    "RepairSystemConfigError",
    "decided_in",
    "empty_facts",
    "fetch_repairs",
    "idempotency_key",
    "push_repairs",
    "repair_system",
]
