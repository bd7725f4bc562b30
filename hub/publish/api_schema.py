"""The pull API's OpenAPI document: its answers, their schemas and headers, its limits.

What the document says is what the API answers: ``tests/publish/test_api_properties.py`` runs
schemathesis over it and fails on any answer the document does not describe.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

MAX_ID = 2**31 - 1
"""The largest sequence and file id: the columns are 32-bit integers."""

_ASCII_DIGITS = re.compile(r"[0-9]+")


def ascii_numbers(request: Request) -> None:
    """Refuse ``since`` and ``limit`` unless written in ASCII digits (422, as for a bad value).

    The integer parser would take ``+5``, `` 5``, ``5_0`` and ``5.0``; a number here is digits.
    """
    errors = [
        {
            "type": "value_error",
            "loc": ("query", name),
            "msg": "must be written in ASCII digits 0-9 only",
            "input": value,
        }
        for name in ("since", "limit")
        if (value := request.query_params.get(name)) is not None
        and not _ASCII_DIGITS.fullmatch(value)
    ]
    if errors:
        raise RequestValidationError(errors)


def file_id(reference: str) -> int | None:
    """The file id a path segment names, or ``None``: ASCII digits, 1 to ``MAX_ID``."""
    if not _ASCII_DIGITS.fullmatch(reference) or len(reference.lstrip("0")) > len(str(MAX_ID)):
        return None
    number = int(reference)
    return number if 1 <= number <= MAX_ID else None


class Error(BaseModel):
    """An error answer."""

    detail: str = Field(description="what went wrong, for a person")


class FileEntry(BaseModel):
    """One file of a set."""

    id: int = Field(description="the id to download it by (GET /files/{id})")
    format: str = Field(description="parquet, csv or manifest")
    name: str
    bytes: int
    sha256: str = Field(description="SHA-256 of the file, hex")
    url: str


class DeltaSet(BaseModel):
    """One set of a site: a day's changes of its region."""

    sequence: int
    day: str = Field(description="the day, YYYY-MM-DD")
    watermark_from: int = Field(description="change ids above this one (exclusive)")
    watermark_to: int = Field(description="up to this one (inclusive)")
    row_count: int
    schema_version: int
    expired: bool = Field(description="its files were deleted by the retention rule (410)")
    files: list[FileEntry]


class Listing(BaseModel):
    """A site's sets above ``since``, in sequence order."""

    site: str
    since: int
    deltas: list[DeltaSet]


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"model": Error, "description": description}
    if headers:
        answer["headers"] = headers
    return answer


UNAUTHORISED = _error(
    "no bearer token, or an unknown or revoked one",
    {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
)
LISTING_ANSWERS: dict[int | str, dict[str, Any]] = {
    401: UNAUTHORISED,
    403: _error("another site's listing"),
    404: _error("no such delta-file site"),
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_SHA = {"schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "required": True}
FILE_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the file",
        "content": {
            "application/vnd.apache.parquet": _BINARY,
            "text/csv": _BINARY,
            "application/json": {"schema": {"type": "object"}},
        },
        "headers": {
            "X-Checksum-SHA256": _SHA,
            "Repr-Digest": {"schema": {"type": "string"}, "required": True},
        },
    },
    401: UNAUTHORISED,
    403: _error("another site's file"),
    404: _error("no file by that id (anything but ASCII digits 1 to 2147483647 is no id)"),
    410: _error("the file was deleted by the retention rule"),
    500: _error("the file is recorded but missing on the server (publish its day again)"),
}
