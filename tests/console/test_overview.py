"""The overview: a lead opens the console from Airflow's navigation after Airflow's login and
reads the day as ``hub status`` tells it, the day's figures, and what needs action."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub import jobs
from hub.store.schema import RECORD_TABLES, ingest_batch
from tests.console.conftest import DAYS, Run, Session

pytestmark = [pytest.mark.integration, pytest.mark.dag]


def test_airflow_lists_the_console_in_its_navigation(airflow_url: str) -> None:
    from airflow import plugins_manager

    info = {p["name"]: p for p in plugins_manager.get_plugin_info()}
    assert plugins_manager.get_import_errors() == {}
    console = info["credit_console"]
    assert [(a["url_prefix"]) for a in console["fastapi_apps"]] == ["/credit-console"]
    assert [(v["href"], v["destination"]) for v in console["external_views"]] == [
        ("credit-console/", "nav")
    ]


def test_the_overview_shows_the_days_figures_dag_runs_and_problems(run: Run, lead: Session) -> None:
    status, dom = lead.open("/")
    lead.screenshot("overview-lead")

    assert status == 200
    assert dom.text("viewer") == "lead（领导）"
    b = ingest_batch.c
    with run.engine.connect() as connection:
        read, quarantined, batches = connection.execute(
            sa.select(sa.func.sum(b.n_read), sa.func.sum(b.n_quarantined), sa.func.count()).where(
                b.logical_date == DAYS[-1]
            )
        ).one()
        held = {}
        for table in RECORD_TABLES.values():
            for state, n in connection.execute(
                sa.select(table.c.status, sa.func.count()).group_by(table.c.status)
            ):
                held[state] = held.get(state, 0) + n
    assert str(DAYS[-1]) in dom.text("figures")
    assert dom.text("fig-sources") == str(batches)
    assert dom.text("fig-read") == f"{read:,}"
    assert dom.text("fig-quarantined") == f"{quarantined:,}"
    assert dom.text("fig-failed") == "0"
    assert dom.rows_by_first_cell("figures") == {
        state: {"记录状态": state, "平台在库": f"{n:,}"} for state, n in sorted(held.items())
    }

    said = jobs.status(jobs.Runtime())  # what `hub status` prints
    dags = dom.rows_by_first_cell("dags")
    assert [row["DAG"] for row in dags.values()] == [d.dag_id for d in said.dags]
    collect = dags["采集"]
    assert (collect["最近一次"], collect["结果"]) == (str(DAYS[-1]), said.dags[0].state)
    assert said.dags[0].state == f"{batches} succeeded"
    problems = dom.text("problems")
    assert f"待处理事项（{len(said.problems)}）" in problems
    for problem in said.problems:
        assert problem in problems


def test_the_overview_links_each_problem_to_where_it_is_acted_on(
    run: Run, lead: Session, operator: Session
) -> None:
    _, as_lead = lead.open("/")
    _, as_operator = operator.open("/")
    operator.screenshot("overview-operator")

    # The planted cases' department is not in the registry: a problem for the departments page.
    assert "/credit-console/departments" in as_lead.rendered.links
    assert "/credit-console/sources" not in as_lead.rendered.links  # operators' page
    assert "/credit-console/sources" in as_operator.rendered.links
    assert as_operator.text("viewer") == "operator（运维）"


def test_without_a_session_the_console_sends_a_visitor_to_airflows_login(
    airflow_url: str,
) -> None:
    import requests

    answer = requests.get(f"{airflow_url}/credit-console/", allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/auth/login?next=")
    forged = requests.get(
        f"{airflow_url}/credit-console/",
        cookies={"_token": "not-a-token"},
        allow_redirects=False,
        timeout=10,
    )
    assert forged.status_code == 303
