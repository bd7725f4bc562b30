"""Loading the reference data (``hub.core.reference``) into the platform database."""

from __future__ import annotations

import sqlalchemy as sa

from hub.core.reference import department_rows, responsibility_rows
from hub.store.schema import department, repair_responsibility


def load_reference(connection: sa.Connection) -> dict[str, int]:
    """Replace the reference tables with the files' contents; returns rows loaded per table."""
    loaded = {}
    for table, rows in (
        (department, department_rows()),
        (repair_responsibility, responsibility_rows()),
    ):
        connection.execute(table.delete())
        connection.execute(table.insert(), rows)
        loaded[table.name] = len(rows)
    return loaded
