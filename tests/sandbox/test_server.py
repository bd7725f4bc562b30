from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.config import API_LOGIN, SandboxConfig, api_password, api_token
from sandbox.deliver import Delivery
from sandbox.server import ServerHandle, serve_in_thread

pytestmark = pytest.mark.integration

SCJG, TAX, WJW = "zj_scjg_penalty_api", "zj_tax_serious_api", "zj_wjw_penalty_api"


@pytest.fixture
def server(sandbox_config: SandboxConfig, delivered: dict[str, Delivery]) -> Iterator[ServerHandle]:
    with serve_in_thread(sandbox_config, faults={}) as handle:
        yield handle


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def _bearer(config: SandboxConfig, source_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(config.seed, source_id)}"}


def test_page_number_pagination_reads_every_record_in_stable_order(
    server: ServerHandle, session: requests.Session, sandbox_config: SandboxConfig, delivered
) -> None:
    url, headers = f"{server.base_url}/scjg/v1/penalties", _bearer(sandbox_config, SCJG)
    records, page = [], 1
    while True:
        answer = session.get(url, params={"page": page, "page_size": 40}, headers=headers).json()
        records += answer["data"]
        if page >= answer["total_pages"]:
            break
        page += 1
    assert len(records) == delivered[SCJG].truth["rows"] == answer["total"]
    stamps = [(r["updatedAt"], r["recordId"]) for r in records]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_offset_pagination_and_time_window(
    server: ServerHandle, session: requests.Session, sandbox_config: SandboxConfig, delivered
) -> None:
    url, headers = f"{server.base_url}/wjw/sgs/xzcf", _bearer(sandbox_config, WJW)
    window = {"updated_since": "2026-11-03T12:00:00+08:00", "updated_until": "2026-11-03 15:00:00"}
    records, offset = [], 0
    while True:
        params = {"offset": offset, "limit": 7, **window}
        answer = session.get(url, params=params, headers=headers).json()
        records += answer["rows"]
        offset += 7
        if offset >= answer["total"]:
            break
    stamps = [r["GXSJ"] for r in records]
    assert records and len(records) == answer["total"] < delivered[WJW].truth["rows"]
    assert all("2026-11-03T12:00:00+08:00" < s <= "2026-11-03T15:00:00+08:00" for s in stamps)
    later = session.get(url, params={"updated_since": "2026-11-02T16:00:00Z"}, headers=headers)
    assert later.json()["total"] == delivered[WJW].truth["rows"]  # from 2026-11-03 00:00 local


def test_token_endpoint_and_cursor_pagination(
    server: ServerHandle, session: requests.Session, sandbox_config: SandboxConfig, delivered
) -> None:
    url = f"{server.base_url}/tax/api/blacklist"
    assert session.get(url).status_code == 401
    wrong = {"username": API_LOGIN, "password": "wrong"}
    assert session.post(f"{server.base_url}/tax/auth/token", json=wrong).status_code == 401
    login = {"username": API_LOGIN, "password": api_password(sandbox_config.seed, TAX)}
    token = session.post(f"{server.base_url}/tax/auth/token", json=login).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    records, cursor = [], None
    while True:
        params = {"limit": 6} | ({"cursor": cursor} if cursor else {})
        answer = session.get(url, params=params, headers=headers).json()
        records += answer["items"]
        cursor = answer["next_cursor"]
        if not cursor:
            break
    assert len(records) == delivered[TAX].truth["rows"]
    assert len({r["id"] for r in records}) == len(records)


def test_bearer_token_is_checked(server: ServerHandle, session: requests.Session) -> None:
    url = f"{server.base_url}/scjg/v1/penalties"
    assert session.get(url).status_code == 401
    assert session.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_faults_can_be_injected_and_counted(
    server: ServerHandle, session: requests.Session, sandbox_config: SandboxConfig
) -> None:
    url, headers = f"{server.base_url}/wjw/sgs/xzcf", _bearer(sandbox_config, WJW)
    before = server.request_counts()[WJW]
    server.set_faults(WJW, rate_limit_rate=1.0)
    answer = session.get(url, headers=headers)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"
    server.set_faults(WJW, rate_limit_rate=0.0, fail_rate=1.0)
    assert {session.get(url, headers=headers).status_code for _ in range(20)} == {500, 503}
    server.set_faults(WJW, fail_rate=0.0, mode="html")
    answer = session.get(url, headers=headers)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    put = session.put(f"{server.base_url}/_admin/faults/{WJW}", json={"mode": "down"})
    assert put.json()["mode"] == "down"
    assert session.get(url, headers=headers).status_code == 503
    server.set_faults(WJW, mode="normal", slow_rate=1.0, slow_seconds=0.5)
    with pytest.raises(requests.Timeout):
        session.get(url, headers=headers, timeout=0.1)
    server.set_faults(WJW, slow_rate=0.0)
    assert session.get(url, headers=headers).status_code == 200
    stats = session.get(f"{server.base_url}/_admin/stats").json()["requests"]
    assert stats[WJW] == server.request_counts()[WJW] == before + 25
    assert stats[SCJG] == 0


def test_fail_rate_is_a_share(sandbox_config: SandboxConfig, delivered, session) -> None:
    with serve_in_thread(sandbox_config) as server:  # the catalogue's faults: wjw fails at times
        url, headers = f"{server.base_url}/wjw/sgs/xzcf", _bearer(sandbox_config, WJW)
        codes = [session.get(url, headers=headers).status_code for _ in range(200)]
    failures = sum(1 for c in codes if c != 200)
    assert 10 <= failures <= 60 and set(codes) <= {200, 429, 500, 503}
