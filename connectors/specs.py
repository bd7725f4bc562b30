"""Declarative connector settings, as read from the ``connector:`` block of a source YAML file.

Every option a source needs is data here; the readers in this package only interpret it.
Secrets never appear in these files: a connector names an Airflow Connection (``connection``)
and the secret is resolved at run time (see ``connectors.connections``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.http_session import HttpPolicy

DEFAULT_LOOKBACK = timedelta(days=1)
"""How far behind its stored cursor a source with a time cursor reads again, unless it says.

An agency's nightly job may commit rows stamped with their business time, hours behind the
newest row already read; a day covers the nightly copy of the day before. Rows read again
unchanged are skipped by their payload's fingerprint and counted apart (``n_reread``).
"""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PageNumberPagination(_Spec):
    """``?page=1&page_size=500``; stops on a short page or when ``total_pages_path`` is reached."""

    type: Literal["page_number"] = "page_number"
    page_param: str = "page"
    size_param: str = "page_size"
    page_size: int = 500
    first_page: int = 1
    total_pages_path: str | None = None


class OffsetPagination(_Spec):
    """``?offset=0&limit=500``; stops on a short page or when ``total_path`` is reached."""

    type: Literal["offset"] = "offset"
    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = 500
    total_path: str | None = None


class CursorPagination(_Spec):
    """The response names the next page (``next_cursor_path``); stops when it is empty."""

    type: Literal["cursor"] = "cursor"
    cursor_param: str = "cursor"
    next_cursor_path: str = "next_cursor"
    size_param: str | None = None
    page_size: int = 500


Pagination = Annotated[
    PageNumberPagination | OffsetPagination | CursorPagination, Field(discriminator="type")
]


class HttpIncremental(_Spec):
    """Incremental sync by an updated-since cursor.

    The stored cursor less ``lookback`` is sent as ``since_param``; the new cursor is the greatest
    ``cursor_field`` of the records read (compared as strings, so ISO timestamps). ``lookback``
    (an ISO 8601 duration like ``PT6H``, or seconds) re-reads what an agency committed late with
    an earlier time; unset, a cursor that is an ISO 8601 time gets ``DEFAULT_LOOKBACK`` and any
    other (a sequence number) none.
    """

    since_param: str = "updated_since"
    until_param: str | None = None
    cursor_field: str = "updated_at"
    lookback: timedelta | None = None


class BearerAuth(_Spec):
    """``Authorization: Bearer <token>``; the token is the Connection's password."""

    type: Literal["bearer"] = "bearer"


class TokenEndpointAuth(_Spec):
    """Log in first, then send the token as a bearer token.

    POSTs the Connection's login and password as JSON to ``path`` and uses the ``token_field`` of
    the answer (fetched again once on a 401).
    """

    type: Literal["token_endpoint"] = "token_endpoint"
    path: str = "/auth/token"
    username_field: str = "username"
    password_field: str = "password"
    token_field: str = "access_token"


Auth = Annotated[BearerAuth | TokenEndpointAuth, Field(discriminator="type")]


class HttpConnector(_Spec, HttpPolicy):
    """An agency's JSON API.

    The base URL and the secret come from the Airflow Connection ``connection`` (host/schema/port,
    password, or ``extra.base_url``).
    """

    type: Literal["http"] = "http"
    connection: str
    path: str
    records_path: str = "data"
    auth: Auth | None = None
    pagination: Pagination = Field(default_factory=PageNumberPagination)
    incremental: HttpIncremental | None = None
    params: dict[str, str] = Field(default_factory=dict)

    @property
    def http_policy(self) -> HttpPolicy:
        """The source's retries, backoff, timeout and rate (the fields of ``HttpPolicy``)."""
        return HttpPolicy.model_validate(self.model_dump(include=set(HttpPolicy.model_fields)))


class SqlConnector(_Spec):
    """A table in an agency's exchange database (前置库), read incrementally.

    The SQLAlchemy URL is the Connection ``connection`` (its URI, or ``extra.sqlalchemy_url``).
    ``cursor_column`` is an update time or an increasing sequence; rows are read in its order,
    above the stored cursor and, where ``window_end`` is given to the reader, below it. An update
    time is read from ``lookback`` behind the stored cursor, the cursor itself included (an ISO
    8601 duration like ``PT6H``, or seconds; default one day), so a row committed late with an
    earlier or equal time is read.
    """

    type: Literal["sql"] = "sql"
    connection: str
    table: str
    schema_name: str | None = Field(default=None, alias="schema")
    cursor_column: str
    cursor_kind: Literal["timestamp", "sequence"] = "timestamp"
    chunk_size: int = 50_000
    lookback: timedelta | None = None

    @model_validator(mode="after")
    def _lookback_needs_time(self) -> SqlConnector:
        if self.cursor_kind == "sequence" and self.lookback is not None:
            raise ValueError("lookback applies to a timestamp cursor, not a sequence")
        return self

    @property
    def time_lookback(self) -> timedelta:
        """How far behind the stored time cursor to read again (a sequence: not at all)."""
        if self.cursor_kind == "sequence":
            return timedelta(0)
        return DEFAULT_LOOKBACK if self.lookback is None else self.lookback


class FileConnector(_Spec):
    """A drop folder an agency writes files into.

    The folder is ``<drop root>/<folder>``, the drop root being the Connection's ``extra.path``
    (or its host). Files matching ``pattern`` are read once; afterwards they are moved to
    ``archive/<date>/`` beside them, and unreadable files to ``rejected/`` with a reason file.

    ``name_date_format`` (e.g. ``%Y%m%d``) says the agency names each file by its export date.
    A record's versions then apply in export order, so a file dropped again late (after a
    rejected transfer, say) does not undo a correction exported after it; a file whose name holds
    no such date is rejected.
    """

    type: Literal["file"] = "file"
    connection: str
    folder: str
    pattern: str = "*"
    format: Literal["csv", "xlsx", "jsonl"]
    encoding: Literal["auto", "utf-8", "gbk", "gb18030"] = "auto"
    delimiter: str = ","
    sheet: str | int = 0
    name_date_format: str | None = None


Connector = Annotated[HttpConnector | SqlConnector | FileConnector, Field(discriminator="type")]
