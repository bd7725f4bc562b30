from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base import RawPage, ReadRequest, SourceError
from connectors.connections import Connection
from connectors.http import HttpReader
from connectors.specs import (
    BearerAuth,
    CursorPagination,
    HttpConnector,
    HttpIncremental,
    OffsetPagination,
    PageNumberPagination,
    TokenEndpointAuth,
)
from tests.connectors.conftest import FakeApi
from tests.loopback_http import Answer, Seen

SECRET = "s3cret-token-value"


def make_records(first: int, last: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "name": f"企业{i}", "updated_at": f"2026-11-03T08:{i:02d}:00"}
        for i in range(first, last + 1)
    ]


def make_reader(
    api: FakeApi, password: str = "", base_url: str | None = None, **fields: Any
) -> HttpReader:
    settings: dict[str, Any] = {
        "connection": "agency_api",
        "path": "/records",
        "max_retries": 2,
        "backoff_seconds": 0.01,
        "max_backoff_seconds": 0.05,
        "timeout_seconds": 2.0,
        **fields,
    }
    extra = {"base_url": base_url or api.url}
    connection = Connection("agency_api", login="hub", password=password, extra=extra)
    return HttpReader("agency_api", HttpConnector(**settings), connection)


def read_all(reader: HttpReader, request: ReadRequest | None = None) -> list[RawPage]:
    return list(reader.pages(request or ReadRequest()))


def ids_of(pages: list[RawPage]) -> list[int]:
    return [int(i) for page in pages for i in page.frame.get("id", [])]


def visible(records: list[dict[str, Any]], seen: Seen) -> list[dict[str, Any]]:
    """The records an incremental API returns for the request's since/until parameters."""
    since, until = seen.query.get("updated_since"), seen.query.get("updated_before")
    until = until[:19] if until else None  # drop the UTC offset: the records are local time
    return [
        r
        for r in records
        if (since is None or r["updated_at"] > since) and (until is None or r["updated_at"] < until)
    ]


def serve_page_numbers(api: FakeApi, records: list[dict[str, Any]]) -> None:
    @api.route("/records")
    def records_page(seen: Seen) -> Answer:
        page, size = int(seen.query["page"]), int(seen.query["page_size"])
        matching = visible(records, seen)
        items = matching[(page - 1) * size : page * size]
        pages = math.ceil(len(matching) / size)
        return Answer(body={"data": {"items": items}, "meta": {"pages": pages}})


def serve_offsets(api: FakeApi, records: list[dict[str, Any]]) -> None:
    @api.route("/records")
    def records_page(seen: Seen) -> Answer:
        offset, limit = int(seen.query["offset"]), int(seen.query["limit"])
        return Answer(body={"data": records[offset : offset + limit], "total": len(records)})


def serve_cursor(api: FakeApi, records: list[dict[str, Any]], size: int = 5) -> None:
    @api.route("/records")
    def records_page(seen: Seen) -> Answer:
        start = int(seen.query.get("cursor", "0"))
        following = str(start + size) if start + size < len(records) else None
        return Answer(body={"items": records[start : start + size], "paging": {"next": following}})


@pytest.mark.parametrize(
    ("record_count", "total_pages_path", "requests_expected"),
    [(23, None, 5), (20, None, 5), (20, "meta.pages", 4)],
    ids=["short-last-page", "empty-last-page", "total-pages"],
)
def test_page_numbers_read_every_record_once(
    fake_api: FakeApi, record_count: int, total_pages_path: str | None, requests_expected: int
) -> None:
    serve_page_numbers(fake_api, make_records(1, record_count))
    pagination = PageNumberPagination(page_size=5, total_pages_path=total_pages_path)
    reader = make_reader(fake_api, records_path="data.items", pagination=pagination)

    pages = read_all(reader)

    assert ids_of(pages) == list(range(1, record_count + 1))
    assert len(fake_api.seen) == requests_expected
    assert pages[1].origin == f"{fake_api.url}/records?page=2&page_size=5"
    assert pages[0].frame.loc[0, "name"] == "企业1"


@pytest.mark.parametrize("total_path", [None, "total"])
def test_offsets_read_every_record_once(fake_api: FakeApi, total_path: str | None) -> None:
    serve_offsets(fake_api, make_records(1, 12))
    reader = make_reader(fake_api, pagination=OffsetPagination(limit=4, total_path=total_path))

    pages = read_all(reader)

    assert ids_of(pages) == list(range(1, 13))
    assert [s.query["offset"] for s in fake_api.seen] == (
        ["0", "4", "8"] if total_path else ["0", "4", "8", "12"]
    )


def test_cursor_pagination_follows_next_until_null(fake_api: FakeApi) -> None:
    serve_cursor(fake_api, make_records(1, 12))
    pagination = CursorPagination(next_cursor_path="paging.next", size_param="size", page_size=5)
    reader = make_reader(fake_api, records_path="items", pagination=pagination, params={"k": "v"})

    pages = read_all(reader)

    assert ids_of(pages) == list(range(1, 13))
    assert [s.query for s in fake_api.seen] == [
        {"k": "v", "size": "5"},
        {"k": "v", "size": "5", "cursor": "5"},
        {"k": "v", "size": "5", "cursor": "10"},
    ]


def test_incremental_second_run_reads_again_from_a_day_behind_the_cursor(
    fake_api: FakeApi,
) -> None:
    records = make_records(1, 7)
    serve_page_numbers(fake_api, records)
    reader = make_reader(
        fake_api,
        records_path="data.items",
        pagination=PageNumberPagination(page_size=5),
        incremental=HttpIncremental(),
    )

    first = read_all(reader)
    records.extend(make_records(8, 10))
    second = read_all(reader, ReadRequest(cursor=first[-1].cursor))

    assert ids_of(first) == list(range(1, 8))
    assert [p.cursor for p in first] == ["2026-11-03T08:05:00", "2026-11-03T08:07:00"]
    assert ids_of(second) == list(range(1, 11))
    behind = [flag for page in second for flag in page.behind_cursor]
    assert behind == [True] * 7 + [False] * 3
    assert second[-1].cursor == "2026-11-03T08:10:00"
    assert fake_api.seen[-1].query["updated_since"] == "2026-11-02T08:07:00"


def test_incremental_run_with_nothing_new_keeps_the_cursor(fake_api: FakeApi) -> None:
    serve_page_numbers(fake_api, make_records(1, 3))
    without_lookback = HttpIncremental(lookback=timedelta(0))
    reader = make_reader(fake_api, records_path="data.items", incremental=without_lookback)

    pages = read_all(reader, ReadRequest(cursor="2026-11-03T08:03:00"))

    assert len(pages) == 1
    assert pages[0].frame.empty
    assert pages[0].cursor == "2026-11-03T08:03:00"


def test_incremental_window_end_is_sent_as_until(fake_api: FakeApi) -> None:
    serve_page_numbers(fake_api, make_records(1, 9))
    reader = make_reader(
        fake_api,
        records_path="data.items",
        incremental=HttpIncremental(until_param="updated_before", lookback=timedelta(0)),
    )
    window_end = datetime(2026, 11, 3, 8, 5, tzinfo=ZoneInfo("Asia/Shanghai"))

    pages = read_all(reader, ReadRequest(cursor="2026-11-03T08:02:00", window_end=window_end))

    assert ids_of(pages) == [3, 4]
    assert fake_api.seen[0].query["updated_before"] == "2026-11-03T08:05:00+08:00"


def serve_bearer_protected(api: FakeApi, token: str) -> None:
    @api.route("/records")
    def records_page(seen: Seen) -> Answer:
        if seen.headers.get("Authorization") != f"Bearer {token}":
            return Answer(401, {"error": "unauthorized"})
        return Answer(body={"data": make_records(1, 2)})


def test_bearer_auth_sends_the_connection_password(fake_api: FakeApi) -> None:
    serve_bearer_protected(fake_api, SECRET)
    reader = make_reader(fake_api, password=SECRET, auth=BearerAuth())

    assert ids_of(read_all(reader)) == [1, 2]


def test_missing_or_wrong_bearer_token_is_refused_without_showing_it(fake_api: FakeApi) -> None:
    serve_bearer_protected(fake_api, "the-right-one")
    reader = make_reader(fake_api, password=SECRET, auth=BearerAuth())

    with pytest.raises(SourceError) as raised:
        read_all(make_reader(fake_api))
    with pytest.raises(SourceError) as raised_wrong:
        read_all(reader)

    assert "401 Unauthorized" in str(raised.value)
    assert "credentials were refused" in str(raised_wrong.value)
    assert SECRET not in str(raised_wrong.value)
    assert SECRET not in repr(reader)


def serve_token_endpoint(api: FakeApi, requests_per_token: int) -> list[str]:
    """Issues tokens t1, t2...; each token is accepted for ``requests_per_token`` requests."""
    issued: list[str] = []
    uses: dict[str, int] = {}

    @api.route("/auth/token")
    def log_in(seen: Seen) -> Answer:
        if seen.json() != {"username": "hub", "password": SECRET}:
            return Answer(401, {"error": "bad credentials"})
        issued.append(f"t{len(issued) + 1}")
        return Answer(body={"access_token": issued[-1]})

    @api.route("/records")
    def records_page(seen: Seen) -> Answer:
        token = seen.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in issued or uses.get(token, 0) >= requests_per_token:
            return Answer(401, {"error": "token expired"})
        uses[token] = uses.get(token, 0) + 1
        page = int(seen.query["page"])
        return Answer(body={"data": make_records(1, 6)[(page - 1) * 2 : page * 2]})

    return issued


def test_token_endpoint_auth_logs_in_again_after_a_401(fake_api: FakeApi) -> None:
    issued = serve_token_endpoint(fake_api, requests_per_token=2)
    reader = make_reader(
        fake_api,
        password=SECRET,
        auth=TokenEndpointAuth(),
        pagination=PageNumberPagination(page_size=2),
    )

    pages = read_all(reader)

    assert ids_of(pages) == [1, 2, 3, 4, 5, 6]
    assert issued == ["t1", "t2"]  # 4 pages (the last one empty), 2 per token
    assert len(fake_api.requests_to("/auth/token")) == 2


def test_token_refused_again_after_a_fresh_login_is_a_source_error(fake_api: FakeApi) -> None:
    serve_token_endpoint(fake_api, requests_per_token=0)
    reader = make_reader(fake_api, password=SECRET, auth=TokenEndpointAuth())

    with pytest.raises(SourceError, match="401 Unauthorized") as raised:
        read_all(reader)

    assert len(fake_api.requests_to("/auth/token")) == 2
    assert SECRET not in str(raised.value)


def test_token_endpoint_refusing_the_login_is_a_source_error(fake_api: FakeApi) -> None:
    serve_token_endpoint(fake_api, requests_per_token=5)
    reader = make_reader(fake_api, password="wrong", auth=TokenEndpointAuth())

    with pytest.raises(SourceError, match="401 Unauthorized from token endpoint"):
        read_all(reader)


def test_forbidden_is_a_source_error(fake_api: FakeApi) -> None:
    fake_api.route("/records")(lambda seen: Answer(403, {"error": "forbidden"}))

    with pytest.raises(SourceError, match=r"403 Forbidden from .* may not read this"):
        read_all(make_reader(fake_api))


def failing_first(times: int, failure: Answer, records: list[dict[str, Any]]) -> Any:
    calls = {"n": 0}

    def answer(seen: Seen) -> Answer:
        calls["n"] += 1
        return failure if calls["n"] <= times else Answer(body={"data": records})

    return answer


def test_503_is_retried_until_the_data_arrives(fake_api: FakeApi) -> None:
    failure = Answer(503, "busy")
    fake_api.route("/records")(failing_first(2, failure, make_records(1, 3)))

    pages = read_all(make_reader(fake_api, max_retries=3))

    assert ids_of(pages) == [1, 2, 3]
    assert len(fake_api.seen) == 3


def test_429_waits_for_retry_after(fake_api: FakeApi) -> None:
    failure = Answer(429, "slow down", headers={"Retry-After": "1"})
    fake_api.route("/records")(failing_first(1, failure, make_records(1, 3)))
    reader = make_reader(fake_api, max_backoff_seconds=5)

    started = time.monotonic()
    pages = read_all(reader)

    assert time.monotonic() - started >= 0.9
    assert ids_of(pages) == [1, 2, 3]
    assert len(fake_api.seen) == 2


def test_hostile_retry_after_is_capped_at_the_max_backoff(fake_api: FakeApi) -> None:
    failure = Answer(429, "slow down", headers={"Retry-After": "86400"})
    fake_api.route("/records")(failing_first(2, failure, make_records(1, 3)))
    reader = make_reader(fake_api, max_backoff_seconds=0.05)

    started = time.monotonic()
    pages = read_all(reader)

    assert time.monotonic() - started < 5
    assert ids_of(pages) == [1, 2, 3]
    assert len(fake_api.seen) == 3


def test_a_server_that_keeps_failing_is_given_up(fake_api: FakeApi) -> None:
    fake_api.route("/records")(lambda seen: Answer(503, "busy"))

    with pytest.raises(SourceError) as raised:
        read_all(make_reader(fake_api, max_retries=2))

    assert str(raised.value) == (
        "source agency_api: gave up after 3 attempts: 503 Service Unavailable "
        f"from {fake_api.url}/records?page=1&page_size=500"
    )
    assert len(fake_api.seen) == 3


def test_read_timeout_is_retried(fake_api: FakeApi) -> None:
    calls = {"n": 0}

    @fake_api.route("/records")
    def slow_first(seen: Seen) -> Answer:
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(0.6)
        return Answer(body={"data": make_records(1, 2)})

    pages = read_all(make_reader(fake_api, timeout_seconds=0.2))

    assert ids_of(pages) == [1, 2]
    assert len(fake_api.seen) == 2


def test_an_unreachable_server_is_given_up(fake_api: FakeApi) -> None:
    reader = make_reader(fake_api, base_url="http://127.0.0.1:9", max_retries=1)

    with pytest.raises(SourceError, match=r"gave up after 2 attempts: could not connect"):
        read_all(reader)


def test_html_with_status_200_is_a_source_error(fake_api: FakeApi) -> None:
    html = "<html><body>系统维护中 / maintenance</body></html>"
    fake_api.route("/records")(
        lambda seen: Answer(body=html, headers={"Content-Type": "text/html; charset=utf-8"})
    )

    with pytest.raises(SourceError) as raised:
        read_all(make_reader(fake_api))

    assert str(raised.value) == (
        f"source agency_api: expected JSON from {fake_api.url}/records?page=1&page_size=500, "
        f"got text/html; charset=utf-8: {html!r}"
    )


def test_json_cut_off_mid_way_is_a_source_error(fake_api: FakeApi) -> None:
    body = '{"data": [{"id": 1, "name": "企业'
    fake_api.route("/records")(
        lambda seen: Answer(body=body, headers={"Content-Type": "application/json"})
    )

    with pytest.raises(SourceError, match=r"expected JSON from .*, got application/json: '{"):
        read_all(make_reader(fake_api))


def test_connection_closed_before_the_announced_length_is_a_source_error(
    fake_api: FakeApi,
) -> None:
    fake_api.route("/records")(lambda seen: Answer(body=b'{"data": [{"id": 1', content_length=5000))

    with pytest.raises(SourceError, match=r"the answer from .* was cut off"):
        read_all(make_reader(fake_api))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"result": []}, "records_path 'data.items' is missing from"),
        ({"data": {"items": {"id": 1}}}, "records_path 'data.items' is not a list in .* dict"),
    ],
)
def test_records_path_missing_or_not_a_list(fake_api: FakeApi, body: Any, message: str) -> None:
    fake_api.route("/records")(lambda seen: Answer(body=body))

    with pytest.raises(SourceError, match=message):
        read_all(make_reader(fake_api, records_path="data.items"))


def test_rate_limit_spaces_the_requests(fake_api: FakeApi) -> None:
    serve_page_numbers(fake_api, make_records(1, 8))
    reader = make_reader(
        fake_api,
        records_path="data.items",
        pagination=PageNumberPagination(page_size=2),
        rate_limit_per_second=20,
    )

    started = time.monotonic()
    pages = read_all(reader)

    assert ids_of(pages) == list(range(1, 9))
    assert time.monotonic() - started >= 4 * 0.05 * 0.9


def test_values_are_kept_as_the_json_sent_them(fake_api: FakeApi) -> None:
    records = [
        {"id": 1, "credit_code": "91330000MA27XYZ123", "amount": 12.5, "note": None},
        {"id": 12345678901234567, "credit_code": "", "amount": None, "note": "x"},
    ]
    fake_api.route("/records")(lambda seen: Answer(body={"data": records}))

    frame = read_all(make_reader(fake_api))[0].frame

    assert frame.to_dict("records") == records
