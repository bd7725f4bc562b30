"""Reading a repair system's feed as repair facts, page by page, from a feed position on.

The HTTP side (bearer token, pagination, retries with backoff on 429/5xx/timeouts, HTML or
non-JSON answers) is the agency reader's (``connectors.http.HttpReader``); this module turns each
page of items into facts. An item the declarations cannot read (an unknown code, an unreadable
time, a missing identifier) fails the fetch with a ``SourceError`` naming the system, the item,
the field and the rule: the caller's cursor stays where it was, so nothing is lost once the
system's data or the YAML file is fixed.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from connectors.base import ReadRequest, SourceError
from connectors.connections import Connection
from connectors.http import HttpReader
from connectors.repair.spec import RepairSystem
from connectors.specs import BearerAuth, HttpConnector, HttpIncremental
from hub.core.settings import settings

FACT_COLUMNS = (
    "system",
    "external_id",
    "kind",
    "document_no",
    "credit_code",
    "id_number",
    "subject_name",
    "authority_name",
    "decision",
    "decided_at",
    "payload",
)


def decided_at_dtype() -> str:
    """The dtype of ``decided_at``: the systems write local time, the platform's time zone."""
    return f"datetime64[ns, {settings().timezone.key}]"


_REQUIRED = ("external_id", "kind", "document_no", "subject_name", "decision", "decided_at")
_TEXT = ("external_id", "document_no", "credit_code", "id_number", "subject_name", "authority_name")


@dataclass(frozen=True)
class FactPage:
    """One page of a repair system's feed, as facts.

    Attributes:
        facts: exactly ``FACT_COLUMNS``: text columns of ``str`` dtype (missing values are
            NA), ``decided_at`` in the platform's time zone (``decided_at_dtype``), ``payload``
            the item's JSON.
        cursor: the feed position after this page; pass the last page's as ``since`` next time.
        origin: the URL the page was read from.
    """

    facts: pd.DataFrame
    cursor: str
    origin: str


class _UnreadableItemError(Exception):
    """An item the system's declarations cannot read."""


def empty_facts() -> pd.DataFrame:
    """A frame of no facts with the columns and dtypes of ``FactPage.facts``."""
    frame = pd.DataFrame({name: pd.Series(dtype="str") for name in FACT_COLUMNS})
    frame["decided_at"] = pd.Series(dtype=decided_at_dtype())
    return frame


def fetch_repairs(
    system: RepairSystem, since: str | None, connection: Connection
) -> Iterator[FactPage]:
    """Yield the repair facts ``system`` has taken in since feed position ``since``.

    Args:
        system: the system, from ``repair_system(...)``.
        since: the cursor of the last page read before (``None`` or ``""``: from the start).
        connection: the system's connection (base URL; its password is the bearer token).

    Yields:
        One ``FactPage`` per page of the feed, in feed order (at least one, maybe empty).

    Raises:
        SourceError: the system is unreachable, refuses the token, keeps failing, answers
            something other than its JSON, or serves an item its declarations cannot read.
    """
    reader = HttpReader(system.id, _connector(system), connection)
    for page in reader.pages(ReadRequest(cursor=since or None)):
        try:
            facts = to_facts(system, page.frame)
        except _UnreadableItemError as exc:
            raise SourceError(system.id, f"{exc} in {page.origin}") from None
        yield FactPage(facts, page.cursor or since or "", page.origin)


def _connector(system: RepairSystem) -> HttpConnector:
    """The feed as an HTTP source: the reader's pagination, retries and errors."""
    feed = system.feed
    return HttpConnector(
        connection=system.connection,
        path=feed.path,
        records_path=feed.records_path,
        auth=BearerAuth(),
        pagination=feed.pagination,
        incremental=HttpIncremental(since_param=feed.since_param, cursor_field=feed.cursor_field),
        **system.http_policy.model_dump(),
    )


def _absent(value: Any) -> bool:
    """Whether a frame cell stands for a key the item did not have (JSON has no NaN)."""
    return isinstance(value, float) and math.isnan(value)


def _text(value: Any) -> str | None:
    """As the platform normalises text: NFKC (full-width to half-width), trimmed, empty: none."""
    if value is None or _absent(value):
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def to_facts(system: RepairSystem, frame: pd.DataFrame) -> pd.DataFrame:
    """A page of feed items (one column per field, as received) as facts.

    Raises:
        _UnreadableItemError: an item lacks a required value or holds an unknown code or an
            unreadable time; the message names the item, the field and the rule.
    """
    if frame.empty:
        return empty_facts()
    fields = system.feed.fields
    items = [{k: v for k, v in row.items() if not _absent(v)} for row in frame.to_dict("records")]
    values = {name: [_text(item.get(fields[name])) for item in items] for name in fields}
    for position, item in enumerate(items):
        for name in _REQUIRED:
            if values[name][position] is None:
                raise _UnreadableItemError(
                    f"{_which(system, item)} has no {fields[name]} ({name}), which is required"
                )
    for item in items:
        _origin(system, item)
    facts = pd.DataFrame(
        {
            "system": system.id,
            **{name: pd.Series(values[name], dtype="str") for name in _TEXT},
            "kind": _decoded(system, items, values, "kind", system.codes.kind),
            "decision": _decoded(system, items, values, "decision", system.codes.decision),
            "decided_at": _times(system, items, values["decided_at"]),
            "payload": pd.Series(
                [json.dumps(i, ensure_ascii=False, separators=(",", ":")) for i in items],
                dtype="str",
            ),
        }
    )
    facts["system"] = facts["system"].astype("str")
    return facts[list(FACT_COLUMNS)]


def _origin(system: RepairSystem, item: dict[str, Any]) -> str:
    """The system that decided an item: its own (no origin given) or the one it synced from."""
    origin = system.feed.origin
    code = _text(item.get(origin.field))
    if code is None:
        return system.id
    if code not in origin.codes:
        raise _UnreadableItemError(
            f"{_which(system, item)}: {origin.field} {code!r} is not in feed.origin.codes "
            f"({', '.join(origin.codes)}) of mappings/repair_systems/{system.id}.yaml"
        )
    return origin.codes[code]


def decided_in(system: RepairSystem, facts: pd.DataFrame) -> pd.Series:
    """Per fact of ``system``'s feed, the system that decided it.

    A system's feed holds its own decisions and those it took over from the other system
    (shared by it, or pushed by the hub); only the payload tells which, in the system's words.

    Args:
        system: the system whose feed the facts come from.
        facts: facts read from its feed (``FactPage.facts``).

    Returns:
        ``credit_china`` or ``gsxt`` per fact, indexed like ``facts``.

    Raises:
        ValueError: the facts are not all ``system``'s, or a payload names a system its
            declarations do not know.
    """
    foreign = sorted(set(facts["system"]) - {system.id})
    if foreign:
        raise ValueError(f"decided_in({system.id}): the facts hold facts of {', '.join(foreign)}")
    try:
        origins = [_origin(system, json.loads(payload)) for payload in facts["payload"]]
    except _UnreadableItemError as exc:
        raise ValueError(f"facts of {system.id}: {exc}") from None
    return pd.Series(origins, index=facts.index, dtype="str")


def _which(system: RepairSystem, item: dict[str, Any]) -> str:
    field = system.feed.fields["external_id"]
    return f"item {field}={item.get(field)!r}"


def _decoded(
    system: RepairSystem,
    items: list[dict[str, Any]],
    values: dict[str, list[str | None]],
    name: str,
    codes: dict[str, str],
) -> pd.Series:
    decoded = []
    for item, code in zip(items, values[name], strict=True):
        if code not in codes:
            field = system.feed.fields[name]
            raise _UnreadableItemError(
                f"{_which(system, item)}: {field} {code!r} is not in codes.{name} "
                f"({', '.join(codes)}) of mappings/repair_systems/{system.id}.yaml"
            )
        decoded.append(codes[code])
    return pd.Series(decoded, dtype="str")


def _times(system: RepairSystem, items: list[dict[str, Any]], texts: list[str | None]) -> pd.Series:
    parsed = pd.to_datetime(
        pd.Series(texts, dtype="str"), format=system.time_format, errors="coerce"
    )
    for item, text, moment in zip(items, texts, parsed, strict=True):
        if pd.isna(moment):
            field = system.feed.fields["decided_at"]
            raise _UnreadableItemError(
                f"{_which(system, item)}: {field} {text!r} does not match the time format "
                f"{system.time_format!r}"
            )
    return parsed.dt.tz_localize(settings().timezone.key).astype(decided_at_dtype())
