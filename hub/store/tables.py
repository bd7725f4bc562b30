"""Every table of the platform database on one metadata, as Alembic and schema checks read it."""

from __future__ import annotations

from hub.store import outbox_schema, publish_schema, reconcile_schema, schema
from hub.store.base import metadata

__all__ = ["metadata", "outbox_schema", "publish_schema", "reconcile_schema", "schema"]
