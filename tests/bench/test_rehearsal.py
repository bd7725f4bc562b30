"""The province rehearsal's machinery over a few days with every fault, and its audit.

The audit must pass on a run where nothing went wrong beyond the planned faults, and must fail,
naming the difference, when a loaded record or a delivered message is planted missing and when a
corrected record is planted back at its earlier version.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from rehearsal_audit import Check, Truth, audit
from rehearsal_run import Options, Rehearsal

from hub.store.schema import RECORD_TABLES

pytestmark = pytest.mark.integration

# The government-service platform takes every change of the province: its day down matters.
OPTIONS = Options(
    days=8,
    departments=8,
    records_per_day=300,
    down_receiver="zj_gov_service",
    retry_backoff_seconds=0.01,
)


def _verdicts(checks: list[Check]) -> dict[str, bool]:
    return {check.name: check.ok for check in checks}


def _plant_losses(rehearsal: Rehearsal) -> tuple[str, str]:
    """Delete one loaded penalty record and one message a receiver took; what was removed."""
    table = RECORD_TABLES["penalty"]
    with rehearsal.engine.begin() as connection:
        key, document = connection.execute(
            sa.select(table.c.record_key, table.c.document_no).order_by(table.c.record_key)
        ).first()
        connection.execute(table.delete().where(table.c.record_key == key))
    receivers = rehearsal.province.receivers
    with receivers.lock:
        messages = receivers.receivers["zj_gov_service"].messages
        message_key = next(iter(messages))
        del messages[message_key]
    return document, message_key


def _plant_undone_correction(rehearsal: Rehearsal) -> str:
    """Put one corrected record's field back to its value before the correction; its document."""
    for source_id, days in Truth(rehearsal).by_source.items():
        table = RECORD_TABLES[rehearsal.agency(source_id).kind]
        for truth in days.values():
            for correction in truth["details"]["corrections"]:
                with rehearsal.engine.begin() as connection:
                    undone = connection.execute(
                        table.update()
                        .where(
                            table.c.source_id == source_id,
                            table.c.document_no == correction["document_no"],
                        )
                        .values({correction["field"]: correction["old"]})
                    ).rowcount
                if undone:
                    return correction["document_no"]
    raise AssertionError("the run corrected no stored record")


def test_the_audit_passes_a_run_with_every_fault_and_catches_a_planted_loss(
    platform_url: str, tmp_path: Path
) -> None:
    with Rehearsal(OPTIONS, platform_url, tmp_path) as rehearsal:
        rehearsal.run()
        checks = audit(rehearsal)
        document, message_key = _plant_losses(rehearsal)
        undone = _plant_undone_correction(rehearsal)
        after_loss = audit(rehearsal)

    assert all(_verdicts(checks).values()), "\n".join(
        line for check in checks for line in check.lines()
    )
    figures = {check.name: check.figures for check in checks}
    # Every fault happened: three failed batches, a partial one, a retried push, a re-sent month.
    assert figures["runs went as planned"]["batches"] == {
        "succeeded": 8 * 8 - 4,
        "failed": 3,
        "partial": 1,
    }
    assert (
        figures["every change reached every push target once"]["delivered after a failed attempt"]
        > 0
    )
    assert figures["every row sent arrived once"]["of which re-sent month"] > 0
    assert figures["every row sent arrived once"]["rejected-file rows"] > 0
    assert figures["nothing loaded twice"]["inserted (the day's own new records)"] > 0
    corrections = figures["every correction stands"]
    assert corrections["corrected records checked"] > 0
    assert corrections["earlier versions re-sent, not applied"] > 0

    failed = {name for name, ok in _verdicts(after_loss).items() if not ok}
    assert failed == {
        "every record in the platform exactly once",
        "nothing loaded twice",
        "every change reached every push target once",
        "every correction stands",
    }
    differences = "\n".join(d for check in after_loss for d in check.differences)
    assert f"1 missing, e.g. {document}" in differences
    assert "zj_gov_service: 1 changes received missing" in differences
    assert message_key.startswith("zj_gov_service:")
    assert f" {undone}: " in differences
