"""The daily reconciliation on a platform database, against both outside systems' feeds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli.main import app
from hub.core.settings import settings
from hub.ops.case import case_of
from hub.reconcile.reminders import reminders
from hub.reconcile.run import reconcile_day
from hub.store.reconcile_schema import reconcile_finding, reconcile_run, repair_fact, repair_push
from hub.store.schema import RECORD_TABLES, status_change
from tests.core.privacy_cases import CASES, PLANTED, assert_masked, leaked
from tests.reconcile.conftest import AT, DAY, ENVIRONMENT, MARKET, RECORDS, Outcome, Systems


def _findings(engine: sa.Engine) -> pd.DataFrame:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(reconcile_finding)).mappings().all()
    return pd.DataFrame(rows).sort_values(["finding_class", "document_no"], ignore_index=True)


def _statuses(engine: sa.Engine) -> dict[str, str]:
    table = RECORD_TABLES["penalty"]
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table.c.document_no, table.c.status)).all()
    return {doc: status for doc, status in rows}


@pytest.mark.integration
def test_every_finding_class_with_its_action_and_whose_move_it_is(platform, systems) -> None:
    summary = reconcile_day(DAY, engine=platform, systems=systems)

    assert summary.status == "succeeded"
    assert summary.fetched == {"credit_china": 6, "gsxt": 1}
    assert summary.unmatched_facts == 1
    found = _findings(platform)
    by_doc = {(row.finding_class, row.document_no): row for row in found.itertuples()}
    assert set(by_doc) == {
        ("repaired_in_one_system", "文号〔2026〕1号"),
        ("repaired_in_one_system", "文号〔2026〕3号"),
        ("repaired_still_published", "文号〔2026〕1号"),
        ("repaired_still_published", "文号〔2026〕2号"),
        ("repaired_still_published", "文号〔2026〕6号"),
        ("platform_repaired_unconfirmed", "文号〔2026〕4号"),
        ("platform_repaired_unconfirmed", "文号〔2026〕7号"),
        ("expired_still_published", "文号〔2026〕5号"),
        ("unknown_record", "文号〔2026〕99号"),
    }
    # Whose move it is: the lagging system, the deciding department, or the platform itself.
    assert by_doc[("repaired_in_one_system", "文号〔2026〕1号")].responsible == "信用中国"
    assert by_doc[("repaired_in_one_system", "文号〔2026〕3号")].responsible == MARKET
    assert by_doc[("platform_repaired_unconfirmed", "文号〔2026〕4号")].responsible == ENVIRONMENT
    assert by_doc[("unknown_record", "文号〔2026〕99号")].responsible == "杭州市税务局"
    open_findings = {k for k, row in by_doc.items() if pd.isna(row.resolved_on)}
    assert open_findings == {
        ("repaired_in_one_system", "文号〔2026〕1号"),
        ("repaired_in_one_system", "文号〔2026〕3号"),
        ("platform_repaired_unconfirmed", "文号〔2026〕4号"),
        ("unknown_record", "文号〔2026〕99号"),
    }
    # A natural person is named by a masked ID number only.
    assert (
        by_doc[("repaired_still_published", "文号〔2026〕6号")].subject_id == "330106********421X"
    )

    # GSXT's repair of a market-supervision penalty went to Credit China; nothing else was pushed.
    assert [p["document_no"] for p in systems.pushed["credit_china"]] == ["文号〔2026〕1号"]
    assert systems.pushed["gsxt"] == []

    assert _statuses(platform) == {
        "文号〔2026〕1号": "repaired",
        "文号〔2026〕2号": "repaired",
        "文号〔2026〕3号": "published",  # GSXT, which repairs it, has not
        "文号〔2026〕4号": "repaired",  # nobody confirms it: a finding, not a guess
        "文号〔2026〕5号": "expired",
        "文号〔2026〕6号": "repaired",
        "文号〔2026〕7号": "published",  # Credit China revoked its repair
        "文号〔2026〕8号": "published",
        "文号〔2026〕9号": "published",
    }
    with platform.connect() as connection:
        changes = connection.execute(
            sa.select(
                status_change.c.document_no,
                status_change.c.new_status,
                status_change.c.effective_date,
            )
        ).all()
    assert sorted(changes) == [
        ("文号〔2026〕1号", "repaired", date(2026, 11, 19)),
        ("文号〔2026〕2号", "repaired", date(2026, 11, 19)),
        ("文号〔2026〕5号", "expired", date(2024, 1, 10)),
        ("文号〔2026〕6号", "repaired", date(2026, 11, 19)),
        ("文号〔2026〕7号", "published", DAY),
    ]


@pytest.mark.integration
def test_a_second_run_of_the_same_day_changes_nothing(platform, systems) -> None:
    reconcile_day(DAY, engine=platform, systems=systems)
    before = (_findings(platform).drop(columns="id"), _statuses(platform))

    again = reconcile_day(DAY, engine=platform, systems=systems)

    assert again.fetched == {"credit_china": 0, "gsxt": 0}
    assert again.findings["opened"] == again.findings["settled"] == again.findings["resolved"] == 0
    after = (_findings(platform).drop(columns="id"), _statuses(platform))
    pd.testing.assert_frame_equal(before[0], after[0])
    assert before[1] == after[1]
    assert len(systems.pushed["credit_china"]) == 1
    with platform.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(status_change)) == 5
        assert connection.scalar(sa.select(sa.func.count()).select_from(repair_push)) == 1
        assert connection.scalar(sa.select(sa.func.count()).select_from(repair_fact)) == 7


@pytest.mark.integration
def test_findings_carry_forward_and_resolve_when_the_systems_catch_up(platform, systems) -> None:
    reconcile_day(DAY, engine=platform, systems=systems)
    # Next day Credit China shows the pushed repair; GSXT repairs the market record itself.
    systems.decide("credit_china", RECORDS["gsxt_only"], "repaired", AT.replace(day=20))
    systems.decide("gsxt", RECORDS["cc_only_market"], "repaired", AT.replace(day=20))
    next_day = date(2026, 11, 23)

    summary = reconcile_day(next_day, engine=platform, systems=systems)

    found = _findings(platform)
    still_open = found[found["resolved_on"].isna()]
    assert sorted(still_open["document_no"]) == ["文号〔2026〕4号", "文号〔2026〕99号"]
    assert set(still_open["first_seen"]) == {DAY} and set(still_open["last_changed"]) == {DAY}
    assert summary.findings["resolved"] == 2
    assert _statuses(platform)["文号〔2026〕3号"] == "repaired"


@pytest.mark.integration
def test_a_system_that_cannot_be_read_is_reported_and_the_other_goes_on(platform, systems) -> None:
    def broken(system, since):
        if system == "gsxt":
            raise ConnectionError("GSXT answered 503 five times")
        return Systems.fetch(systems, system, since)

    systems.fetch = broken
    summary = reconcile_day(DAY, engine=platform, systems=systems)

    assert summary.status == "partial"
    assert summary.errors == ["repair feed gsxt: GSXT answered 503 five times"]
    assert summary.fetched == {"credit_china": 6}
    assert _statuses(platform)["文号〔2026〕2号"] == "repaired"


@pytest.mark.integration
def test_the_one_thing_view_shows_a_case_in_every_system_and_what_is_pending(
    platform, systems
) -> None:
    reconcile_day(DAY, engine=platform, systems=systems)
    with platform.connect() as connection:
        company = case_of(connection, RECORDS["gsxt_only"]["credit_code"])
        person = case_of(connection, RECORDS["person"]["id_number"])
        nobody = case_of(connection, "91330000000000000X")

    (record,) = company["records"]
    assert (record["status"], record["responsible_system"]) == ("repaired", "gsxt")
    assert record["systems"]["gsxt"]["status"] == "repaired"
    assert record["systems"]["credit_china"] is None
    assert [(h["system"], h["decision"]) for h in record["repair_history"]] == [
        ("gsxt", "repaired")
    ]
    (change,) = record["status_changes"]
    # Hangzhou's site and the government-service platform take pushes for a 330106 subject.
    assert [(p["target_id"], p["acknowledged_at"], p["dead_at"]) for p in change["pushes"]] == [
        ("hangzhou", None, None),
        ("zj_gov_service", None, None),
    ]
    assert (change["new_status"], change["push_targets"], change["acknowledged"]) == (
        "repaired",
        2,
        0,
    )
    assert company["pending"] == [
        "仅一个系统已修复：待信用中国处理",
        f"状态变更#{change['id']}（repaired）：2个下游目标未确认接收（hangzhou、zj_gov_service）",
        "信用中国尚未显示已修复",
    ]
    assert person["subject"] == "330106********421X"
    assert "33010619850312421X" not in str(person)
    # Not a valid credit code and ID-shaped (17 digits and X): the privacy policy masks it.
    assert nobody == {
        "subject": "913300********000X",
        "subject_name": None,
        "records": [],
        "pending": [],
        "quarantined": [],
        "rejected_files": [],
    }


@pytest.mark.integration
def test_subjects_about_to_become_eligible_are_listed_for_a_reminder(platform, systems) -> None:
    reconcile_day(DAY, engine=platform, systems=systems)
    with platform.connect() as connection:
        soon = reminders(connection, DAY, within_days=30)
        later = reminders(connection, DAY, within_days=5)

    assert soon[["document_no", "publicity_min_end"]].values.tolist() == [
        ["文号〔2026〕9号", date(2026, 12, 1)]
    ]
    assert later.empty


@pytest.mark.integration
def test_hub_case_prints_the_case_as_json(platform, systems, platform_url, monkeypatch) -> None:
    reconcile_day(DAY, engine=platform, systems=systems)
    monkeypatch.setenv("HUB_DATABASE_URL", platform_url)
    settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["case", RECORDS["person"]["id_number"], "--json"])
        missing = CliRunner().invoke(app, ["case", "91330000000000000X"])
    finally:
        settings.cache_clear()

    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["subject"] == "330106********421X"
    assert [r["status"] for r in shown["records"]] == ["repaired"]
    assert "33010619850312421X" not in result.output
    assert missing.exit_code == 1
    assert "no record of 913300********000X" in missing.output


@pytest.mark.integration
def test_a_later_run_compares_what_moved_since_including_moves_made_elsewhere(
    platform, systems
) -> None:
    from hub.reconcile.changes import apply_status_changes
    from hub.store.reconcile_schema import reconcile_pending, reconcile_run

    reconcile_day(DAY, engine=platform, systems=systems)
    # A department marks a record repaired on the platform itself; no system has a word on it.
    moved = pd.DataFrame(
        {
            "record_key": [RECORDS["untouched"]["record_key"]],
            "kind": "penalty",
            "new_status": "repaired",
            "reason": "决定机关撤销",
            "decided_by": ENVIRONMENT,
            "effective_date": DAY,
        }
    )
    with platform.begin() as connection:
        apply_status_changes(connection, moved)
    next_day = date(2026, 11, 23)

    summary = reconcile_day(next_day, engine=platform, systems=systems)

    found = _findings(platform)
    new = found[found["first_seen"] == next_day]
    assert new[["finding_class", "document_no", "responsible"]].values.tolist() == [
        ["platform_repaired_unconfirmed", "文号〔2026〕8号", ENVIRONMENT]
    ]
    assert summary.findings["resolved"] == 0
    with platform.connect() as connection:
        watermarks = connection.scalars(
            sa.select(reconcile_run.c.status_change_watermark).order_by(reconcile_run.c.id)
        ).all()
        pending = connection.scalar(sa.select(sa.func.count()).select_from(reconcile_pending))
    # Each run takes into account the moves up to its own: five, then the department's.
    assert watermarks == [5, 6] and pending == 0


@pytest.mark.integration
def test_a_push_that_failed_is_tried_again_on_the_next_run(platform, systems) -> None:
    def down(system, facts):
        raise ConnectionError("Credit China answered 502")

    systems.push = down
    first = reconcile_day(DAY, engine=platform, systems=systems)
    del systems.push  # the class's own push again
    second = reconcile_day(date(2026, 11, 23), engine=platform, systems=systems)

    assert first.errors == ["push to credit_china: Credit China answered 502"]
    assert first.status == "partial" and second.status == "succeeded"
    assert [p["document_no"] for p in systems.pushed["credit_china"]] == ["文号〔2026〕1号"]
    assert second.pushed == {"credit_china": 1}


@pytest.mark.integration
def test_the_case_view_masks_every_case_in_what_it_returns_and_prints(
    platform, systems, platform_url, monkeypatch
) -> None:
    reconcile_day(DAY, engine=platform, systems=systems)
    person = RECORDS["person"]
    penalty = RECORD_TABLES["penalty"]
    with platform.begin() as connection:
        # Every field the case view shows of the person's record carries the cases.
        connection.execute(
            penalty.update()
            .where(penalty.c.record_key == person["record_key"])
            .values(
                subject_name=f"{CASES[0].label}{CASES[0].text}",
                document_no=f"文号{CASES[1].text}",
                authority_name=f"{CASES[2].label}{CASES[2].text}",
                source_department=f"{CASES[3].label}{CASES[3].text}",
            )
        )
        connection.execute(status_change.update().values(reason=PLANTED))
        connection.execute(reconcile_finding.update().values(detail=PLANTED))
        connection.execute(
            reconcile_finding.insert().values(
                finding_key=f"privacy:{person['record_key']}",
                finding_class="repaired_in_one_system",
                record_key=person["record_key"],
                kind="penalty",
                document_no="文号",
                subject_name="张伟",
                responsible=f"{CASES[4].label}{CASES[4].text}",
                detail=PLANTED,
                first_seen=DAY,
                last_changed=DAY,
                run_id=1,
            )
        )
        found = case_of(connection, person["id_number"])

    assert found["records"][0]["record_key"] == person["record_key"]
    shown = json.dumps(found, ensure_ascii=False)
    assert_masked(shown)
    assert person["id_number"] not in shown

    monkeypatch.setenv("HUB_DATABASE_URL", platform_url)
    settings.cache_clear()
    try:
        runner = CliRunner()
        as_json = runner.invoke(app, ["case", person["id_number"], "--json"])
        as_text = runner.invoke(app, ["case", person["id_number"]], env={"COLUMNS": "400"})
        unknown = [runner.invoke(app, ["case", case.text]) for case in CASES]
        company = runner.invoke(app, ["case", "123300004700519006"])  # valid, all digits
    finally:
        settings.cache_clear()
    assert as_json.exit_code == 0, as_json.output
    assert_masked(as_json.stdout)
    assert as_text.exit_code == 0, as_text.output
    assert leaked(as_text.stdout) == []
    assert person["id_number"] not in as_json.stdout + as_text.stdout
    assert f"{CASES[0].label}{CASES[0].masked}" in as_text.stdout
    assert f"文号{CASES[1].masked}" in as_text.stdout
    # A subject not on the platform: the operator's own input comes back masked.
    assert_masked("\n".join(result.stdout for result in unknown))
    # An all-digit credit code in printed text looks like an ID number: the policy masks it.
    assert "no record of 123300********9006 on the platform" in company.stdout


@dataclass
class _Quoting(Systems):
    """A feed fails quoting the cases; pushes are refused for a reason quoting them."""

    failing: str = "gsxt"

    def fetch(self, system: str, since: str | None):
        if system == self.failing:
            raise RuntimeError(f"{system} answered 500: {PLANTED}")
        yield from super().fetch(system, since)

    def push(self, system: str, facts: pd.DataFrame) -> Outcome:
        return Outcome(0, [(i, f"refused: {PLANTED}") for i in facts["external_id"]])


@pytest.mark.integration
def test_what_a_run_hands_on_and_stores_is_masked(platform) -> None:
    quoting = _Quoting(failing="credit_china")
    quoting.decide("gsxt", RECORDS["gsxt_only"], "repaired", AT)

    summary = reconcile_day(DAY, engine=platform, systems=quoting)

    assert (summary.status, len(summary.errors), len(summary.push_rejected)) == ("partial", 1, 1)
    assert_masked(json.dumps(summary.as_dict(), ensure_ascii=False))  # what XCom carries
    assert_masked(summary.errors[0])  # what the CLI prints
    assert_masked(summary.push_rejected[0])
    with platform.connect() as connection:
        run = connection.execute(sa.select(reconcile_run)).one()
        [error] = connection.scalars(sa.select(repair_push.c.error)).all()
    assert_masked(run.error)
    assert_masked(run.figures)
    assert_masked(error)
