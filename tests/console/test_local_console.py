"""``hub console`` on a laptop: the same app behind a local login, started as a person would."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.browser import Page, chromium
from tests.console.conftest import ARTEFACTS, Run
from tests.console.dom import Dom

pytestmark = pytest.mark.integration

LEAD_PASSWORD = "a-lead-password-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def hub_console(run: Run) -> Iterator[tuple[str, str]]:
    """``hub console`` running on the sandbox run's platform: its URL and the operator's
    password as it printed it."""
    port = _free_port()
    hub = Path(sys.executable).with_name("hub")
    process = subprocess.Popen(
        [str(hub), "console", "--port", str(port)],
        env={**os.environ, "HUB_CONSOLE_LEAD_PASSWORD": LEAD_PASSWORD},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = []
        deadline = time.monotonic() + 60
        while not any("console at" in line for line in printed):
            assert process.poll() is None and time.monotonic() < deadline, "".join(printed)
            printed.append(process.stdout.readline())
        password = re.search(r"password for operator .*: (\S+)", "".join(printed))
        assert password, "".join(printed)
        with socket.socket() as probe:
            while probe.connect_ex(("127.0.0.1", port)) != 0:
                assert time.monotonic() < deadline, "hub console did not listen"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", password.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def _log_in(page: Page, base: str, name: str, password: str) -> int:
    page.open(f"{base}/departments")
    assert page.url == f"{base}/login?next=/departments"
    page.type_into("input[name=username]", name)
    page.type_into("input[name=password]", password)
    return page.click_and_wait("form button[type=submit]")


def test_a_lead_logs_in_locally_and_lands_on_the_page_asked_for(
    hub_console: tuple[str, str],
) -> None:
    base, _ = hub_console
    with chromium() as browser:
        page = browser.page()
        assert _log_in(page, base, "lead", "wrong") == 401
        assert Dom(page.dom()).rendered.alerts == ["用户名或密码不正确。"]
        assert _log_in(page, base, "lead", LEAD_PASSWORD) == 200
        assert page.url == f"{base}/departments"
        dom = Dom(page.dom())
        assert dom.text("viewer") == "lead（领导）"
        assert dom.text("period") == "2026年11月"
        page.screenshot(ARTEFACTS / "local-departments-lead.png")
        assert page.open(f"{base}/sources") == 403


def test_the_operator_logs_in_with_the_password_printed_at_start(
    hub_console: tuple[str, str],
) -> None:
    base, password = hub_console
    with chromium() as browser:
        page = browser.page()
        assert _log_in(page, base, "operator", password) == 200
        assert page.open(f"{base}/sources") == 200
        assert Dom(page.dom()).text("viewer") == "operator（运维）"


@pytest.mark.parametrize(
    "elsewhere", ["//evil.example/", "/\\evil.example/", "https://evil.example/"]
)
def test_the_login_never_sends_a_person_off_the_console(
    hub_console: tuple[str, str], elsewhere: str
) -> None:
    import requests

    base, _ = hub_console
    answer = requests.post(
        f"{base}/login",
        data={"username": "lead", "password": LEAD_PASSWORD, "next": elsewhere},
        allow_redirects=False,
        timeout=10,
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
