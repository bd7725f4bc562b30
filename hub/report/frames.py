"""Delivered records as collection saw them: raw payloads mapped again, with their lineage.

``raw_record`` keeps every payload as received, so mapping it again with its source's YAML
gives the canonical values collection validated, for quarantined records too (which never reach
the canonical tables). Each source's rows are mapped together, a column at a time.
"""

from __future__ import annotations

import json

import pandas as pd
import sqlalchemy as sa

from hub.collect.mapping import map_page
from hub.collect.sources import all_sources
from hub.core.logs import masked_logger
from hub.core.model import RecordKind

log = masked_logger(__name__)


def read_raw(connection: sa.Connection, statement: sa.Select) -> pd.DataFrame:
    """What ``statement`` selects from ``raw_record`` (``seq``, ``source_id``, ``payload``...)."""
    return pd.DataFrame(connection.execute(statement).mappings().all())


def remap(raw: pd.DataFrame) -> dict[RecordKind, pd.DataFrame]:
    """Map raw payloads again, per source; one frame of canonical fields per record kind.

    Each frame also has the lineage columns ``batch_id``, ``raw_seq``, ``source_id`` and
    ``department`` (the record's 数据来源单位, else the department answering for the source,
    as in ``quarantine.department``). Rows of a source no longer declared are left out, with a
    warning.
    """
    sources = all_sources()
    parts: dict[RecordKind, list[pd.DataFrame]] = {}
    for source_id, rows in raw.groupby("source_id", sort=True) if len(raw) else ():
        spec = sources.get(source_id)
        if spec is None:
            log.warning("%d raw records of undeclared source %s left out", len(rows), source_id)
            continue
        payloads = pd.DataFrame([json.loads(p) for p in rows["payload"]], dtype=object)
        records = map_page(spec, payloads).records
        records.index = rows.index
        records["batch_id"] = rows["batch_id"].to_numpy()
        records["raw_seq"] = rows["seq"].to_numpy()
        records["source_id"] = source_id
        records["department"] = records["source_department"].fillna(spec.department)
        parts.setdefault(spec.kind, []).append(records)
    return {kind: pd.concat(frames, ignore_index=True) for kind, frames in parts.items()}
