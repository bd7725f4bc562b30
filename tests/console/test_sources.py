"""Sources and sites, for operators: per source its last batches, errors and quarantine; per push
target its outbox and dead letters, re-sent from the page; per pull site its sets and pulls."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub import jobs
from hub.store.outbox_schema import outbox
from tests.console.conftest import DOWN_TARGET, Run, Session
from tests.console.dom import Dom
from tests.core.privacy_cases import leaked

pytestmark = [pytest.mark.integration, pytest.mark.dag]


def _dead_letters(run: Run) -> int:
    with run.engine.connect() as connection:
        return connection.scalar(
            sa.select(sa.func.count()).where(
                outbox.c.target_id == DOWN_TARGET, outbox.c.dead_at.is_not(None)
            )
        )


def test_a_lead_is_refused_the_operators_page_and_its_action(run: Run, lead: Session) -> None:
    dead = _dead_letters(run)
    status, dom = lead.open("/sources")
    lead.screenshot("sources-refused-lead")

    assert status == 403
    assert "此页面仅供运维人员使用" in dom.html
    assert "/credit-console/sources" not in dom.rendered.links  # not in the lead's navigation
    answer = lead.page.evaluate(
        f"fetch('targets/{DOWN_TARGET}/resend', {{method: 'POST'}}).then(r => r.status)"
    )
    assert answer == 403
    assert _dead_letters(run) == dead > 0


def test_an_operator_reads_sources_targets_and_sites_as_hub_status_tells(
    run: Run, operator: Session
) -> None:
    status, dom = operator.open("/sources")
    operator.screenshot("sources-operator")

    assert status == 200
    said = jobs.status(jobs.Runtime(), recent=5)
    sources = dom.rows_by_first_cell("sources")
    assert sorted(sources) == sorted(s.source_id for s in said.sources)
    for s in said.sources:
        row = sources[s.source_id]
        assert (row["批次"], row["读取"], row["隔离"]) == (
            str(s.batch_id),
            f"{s.read:,}",
            f"{s.quarantined:,}",
        )
    quarantined = sum(int(r[2]) for r in dom.table("quarantine")[1:])
    assert quarantined == sum(q.records for q in said.quarantine) > 0
    targets = dom.rows_by_first_cell("targets")
    assert targets[DOWN_TARGET]["死信"] == str(_dead_letters(run))
    assert "503" in targets[DOWN_TARGET]["最近错误"]
    sites = dom.rows_by_first_cell("sites")
    assert sorted(sites) == sorted(s.site_id for s in said.sites)
    for s in said.sites:
        assert sites[s.site_id]["最新序号"] == str(s.last_sequence or "")
    assert leaked(dom.html) == []


def test_an_operator_re_sends_a_targets_dead_letters(run: Run, operator: Session) -> None:
    dead = _dead_letters(run)
    operator.open("/sources")

    assert operator.page.click_and_wait(f"#resend-{DOWN_TARGET}") == 200
    dom = Dom(operator.page.dom())
    operator.screenshot("sources-resent")

    assert dom.text("resent") == (
        f"{DOWN_TARGET}：{dead} 条死信已重新排队，将由下一次推送任务（fanout_removals）发送。"
    )
    assert dom.rows_by_first_cell("targets")[DOWN_TARGET]["死信"] == "0"
    assert _dead_letters(run) == 0
    with run.engine.connect() as connection:
        due = connection.scalar(
            sa.select(sa.func.count()).where(
                outbox.c.target_id == DOWN_TARGET,
                outbox.c.acknowledged_at.is_(None),
                outbox.c.attempts == 0,
            )
        )
    assert due >= dead
