"""Reading an agency's paginated JSON API (``HttpConnector``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import requests

from connectors.base import RawPage, ReadRequest, SourceError
from connectors.connections import Connection
from connectors.http_session import GaveUpError, RateLimiter, build_session, send_request
from connectors.specs import (
    DEFAULT_LOOKBACK,
    Auth,
    CursorPagination,
    HttpConnector,
    OffsetPagination,
    PageNumberPagination,
    TokenEndpointAuth,
)
from hub.core.logs import masked_logger

log = masked_logger(__name__)

_MISSING = object()


class _BadAnswerError(Exception):
    """The API answered something the connector cannot read; the reader adds the source id."""


@dataclass(frozen=True)
class _Answer:
    """One page as the API answered it."""

    url: str
    body: Any
    records: list[Any]


Fetch = Callable[[dict[str, Any]], _Answer]


class HttpReader:
    """Reads an ``HttpConnector`` source page by page; one ``RawPage`` per API page.

    Values are kept exactly as the JSON held them (``object`` columns: strings, numbers,
    ``None``), so that long numeric identifiers are not turned into floats.
    """

    def __init__(self, source_id: str, spec: HttpConnector, connection: Connection) -> None:
        self.source_id = source_id
        self.spec = spec
        self._connection = connection
        self._rate_limiter = RateLimiter(spec.rate_limit_per_second)

    def pages(self, request: ReadRequest) -> Iterator[RawPage]:
        """Yield every page of new records, following the connector's pagination.

        Raises:
            SourceError: the API is unreachable, refuses the credentials, keeps failing, or
                answers something other than the expected JSON.
        """
        session = build_session(self.spec.http_policy, log_fields={"source": self.source_id})
        client = _Client(
            session=session,
            base_url=self._connection.base_url(),
            connection=self._connection,
            auth=self.spec.auth,
            timeout=self.spec.timeout_seconds,
            rate_limiter=self._rate_limiter,
        )
        try:
            yield from self._read(client, request)
        except _BadAnswerError as exc:
            raise SourceError(self.source_id, str(exc)) from None
        finally:
            session.close()

    def settle(self, page: RawPage, day: str) -> None:
        """Nothing to archive for an API."""

    def _read(self, client: _Client, request: ReadRequest) -> Iterator[RawPage]:
        params = {**self.spec.params, **self._incremental_params(request)}
        url = client.url(self.spec.path)

        def fetch(page_params: dict[str, Any]) -> _Answer:
            answer = _parse(client.get(url, {**params, **page_params}), self.spec.records_path)
            log.debug(
                "%d records from %s [source=%s]",
                len(answer.records),
                answer.url,
                self.source_id,
                extra={"source": self.source_id, "url": answer.url},
            )
            return answer

        cursor = request.cursor
        for answer in _paginate(self.spec, fetch):
            cursor = self._advance_cursor(cursor, answer.records)
            frame = pd.DataFrame(answer.records, dtype=object)
            behind = self._behind(request.cursor, answer.records)
            yield RawPage(frame=frame, origin=answer.url, cursor=cursor, behind_cursor=behind)

    def _behind(self, stored: str | None, records: list[Any]) -> pd.Series | None:
        """Which records are at or behind the stored cursor (read again by the look-back)."""
        if self.spec.incremental is None or stored is None:
            return None
        name = self.spec.incremental.cursor_field
        return pd.Series(
            [
                isinstance(r, dict) and r.get(name) is not None and str(r[name]) <= stored
                for r in records
            ],
            dtype=bool,
        )

    def _since(self, cursor: str) -> str:
        """What to send as ``since_param``: the stored cursor less the look-back."""
        incremental = self.spec.incremental
        assert incremental is not None
        if incremental.lookback is not None and not incremental.lookback:
            return cursor
        try:
            moment = datetime.fromisoformat(cursor)
        except ValueError:
            if incremental.lookback is None:
                return cursor  # not a time (a sequence number): no look-back by default
            raise SourceError(
                self.source_id,
                f"cursor {cursor!r} of {incremental.cursor_field} is not an ISO 8601 time, so no "
                "look-back can be taken from it: remove incremental.lookback from the source file",
            ) from None
        return (moment - (incremental.lookback or DEFAULT_LOOKBACK)).isoformat()

    def _incremental_params(self, request: ReadRequest) -> dict[str, str]:
        incremental = self.spec.incremental
        params: dict[str, str] = {}
        if incremental is None:
            return params
        if request.cursor is not None:
            params[incremental.since_param] = self._since(request.cursor)
        if incremental.until_param and request.window_end is not None:
            params[incremental.until_param] = request.window_end.isoformat()
        return params

    def _advance_cursor(self, cursor: str | None, records: list[Any]) -> str | None:
        if self.spec.incremental is None:
            return cursor
        name = self.spec.incremental.cursor_field
        seen = [str(r[name]) for r in records if isinstance(r, dict) and r.get(name) is not None]
        # Never move back: an API whose since-filter is inclusive repeats the stored cursor.
        return max([*seen, *([cursor] if cursor is not None else [])], default=None)


@dataclass
class _Client:
    """Authenticated, rate-limited requests for one read, HTTP failures as ``_BadAnswerError``."""

    session: requests.Session
    base_url: str
    connection: Connection = field(repr=False)
    auth: Auth | None
    timeout: float
    rate_limiter: RateLimiter
    token: str | None = field(default=None, repr=False)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, url: str, params: dict[str, Any]) -> requests.Response:
        response = self._send("GET", url, params=params, headers=self._auth_headers())
        if response.status_code == 401 and isinstance(self.auth, TokenEndpointAuth):
            response.close()
            self.token = None  # expired: log in again, once
            response = self._send("GET", url, params=params, headers=self._auth_headers())
        _raise_for_status(response)
        return response

    def _auth_headers(self) -> dict[str, str]:
        if self.auth is None:
            return {}
        if isinstance(self.auth, TokenEndpointAuth):
            if self.token is None:
                self.token = self._log_in(self.auth)
            return {"Authorization": f"Bearer {self.token}"}
        return {"Authorization": f"Bearer {self.connection.password}"}

    def _log_in(self, auth: TokenEndpointAuth) -> str:
        credentials = {
            auth.username_field: self.connection.login,
            auth.password_field: self.connection.password,
        }
        response = self._send("POST", self.url(auth.path), json=credentials)
        _raise_for_status(response, what="token endpoint ")
        try:
            return str(response.json()[auth.token_field])
        except (ValueError, KeyError, TypeError):
            raise _BadAnswerError(
                f"token endpoint {response.url} answered no {auth.token_field!r} field"
            ) from None

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.rate_limiter.wait()
        try:
            return send_request(self.session, method, url, timeout=self.timeout, **kwargs)
        except GaveUpError as exc:
            raise _BadAnswerError(str(exc)) from None
        except requests.exceptions.ChunkedEncodingError as exc:
            raise _BadAnswerError(f"the answer from {url} was cut off: {exc}") from None
        except requests.RequestException as exc:
            raise _BadAnswerError(f"request to {url} failed: {exc}") from None


def _raise_for_status(response: requests.Response, what: str = "") -> None:
    if response.ok:
        return
    hint = {
        401: ": the connection's credentials were refused",
        403: ": the connection's credentials may not read this",
    }.get(response.status_code, "")
    response.close()
    raise _BadAnswerError(
        f"{response.status_code} {response.reason} from {what}{response.url}{hint}"
    )


def _parse(response: requests.Response, records_path: str) -> _Answer:
    try:
        body = response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type", "no content type")
        raise _BadAnswerError(
            f"expected JSON from {response.url}, got {content_type}: {response.text[:80]!r}"
        ) from None
    records = _dig(body, records_path)
    if records is _MISSING:
        raise _BadAnswerError(f"records_path {records_path!r} is missing from {response.url}")
    if not isinstance(records, list):
        raise _BadAnswerError(
            f"records_path {records_path!r} is not a list in {response.url} "
            f"(got {type(records).__name__})"
        )
    return _Answer(url=response.url, body=body, records=records)


def _paginate(spec: HttpConnector, fetch: Fetch) -> Iterator[_Answer]:
    pagination = spec.pagination
    if isinstance(pagination, PageNumberPagination):
        return _by_page_number(pagination, fetch)
    if isinstance(pagination, OffsetPagination):
        return _by_offset(pagination, fetch)
    return _by_cursor(pagination, fetch)


def _by_page_number(pagination: PageNumberPagination, fetch: Fetch) -> Iterator[_Answer]:
    page = pagination.first_page
    while True:
        answer = fetch({pagination.page_param: page, pagination.size_param: pagination.page_size})
        yield answer
        total_pages = _total(answer, pagination.total_pages_path)
        pages_read = page - pagination.first_page + 1
        if len(answer.records) < pagination.page_size or (
            total_pages is not None and pages_read >= total_pages
        ):
            return
        page += 1


def _by_offset(pagination: OffsetPagination, fetch: Fetch) -> Iterator[_Answer]:
    offset = 0
    while True:
        answer = fetch({pagination.offset_param: offset, pagination.limit_param: pagination.limit})
        yield answer
        offset += len(answer.records)
        total = _total(answer, pagination.total_path)
        if len(answer.records) < pagination.limit or (total is not None and offset >= total):
            return


def _by_cursor(pagination: CursorPagination, fetch: Fetch) -> Iterator[_Answer]:
    size = {pagination.size_param: pagination.page_size} if pagination.size_param else {}
    next_cursor: Any = None
    while True:
        position = {pagination.cursor_param: next_cursor} if next_cursor is not None else {}
        answer = fetch({**size, **position})
        yield answer
        following = _dig(answer.body, pagination.next_cursor_path)
        if following is _MISSING or following in (None, ""):
            return
        if following == next_cursor:
            raise _BadAnswerError(f"{answer.url} names itself as the next page ({following!r})")
        next_cursor = following


def _total(answer: _Answer, path: str | None) -> int | None:
    value = _MISSING if path is None else _dig(answer.body, path)
    if value is _MISSING or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _BadAnswerError(f"{path!r} in {answer.url} is not a number: {value!r}") from None


def _dig(body: Any, dotted_path: str) -> Any:
    """The value at ``a.b.c`` in nested JSON objects, or ``_MISSING``; ``""`` is the body."""
    value = body
    for key in filter(None, dotted_path.split(".")):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value
