"""Checking a source before it runs: its file, its connection, a first page read but not loaded.

What ``hub sources check <id>`` shows, as ``airflow connections test`` does for a connection: if
the source file is valid, whether the connection it names answers, and what the first page the
source would deliver becomes: each record mapped and judged by the rules (loaded, or quarantined
for which rule), the columns the mapping does not know. Nothing is written anywhere: no batch, no
cursor, no file moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from connectors import open_reader
from connectors.base import ReadRequest, SourceError
from connectors.connections import ConnectionResolver
from hub.collect.mapping import MissingColumnError, map_page
from hub.collect.sources import SourceSpec, get_source
from hub.collect.validate import validate

VERDICT_COLUMNS = ["record", "document_no", "verdict", "reasons"]


@dataclass
class SourceCheck:
    """What checking a source found.

    Attributes:
        spec: the source as its file declares it.
        page_origin: where the first page came from (``None``: nothing to read, or unreadable).
        read: the records on that page.
        drift: columns the mapping does not know, or mapped columns the page lacks.
        verdicts: one row per record checked: ``record`` (its place on the page),
            ``document_no``, ``verdict`` (``loads`` or ``quarantined``) and ``reasons``.
        error: why the source could not be read (connection, transport, an unusable page).
    """

    spec: SourceSpec
    page_origin: str | None = None
    read: int = 0
    drift: list[str] = field(default_factory=list)
    verdicts: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["record", "document_no", "verdict", "reasons"]
        )
    )
    error: str | None = None

    @property
    def problems(self) -> list[str]:
        """Why the source would not run today; empty when it would."""
        return [self.error] if self.error else []


def check_source(source_id: str, resolve: ConnectionResolver, records: int = 20) -> SourceCheck:
    """Check ``source_id``: its file, its connection, and its first page's first ``records``.

    Raises:
        hub.collect.sources.SourceConfigError: the source file is not valid (names file and field).
        hub.collect.sources.UnknownSourceError: no file declares the source.
    """
    spec = get_source(source_id)
    check = SourceCheck(spec)
    try:
        reader = open_reader(spec.id, spec.connector, resolve)
        page = next(iter(reader.pages(ReadRequest())), None)
    except SourceError as exc:
        check.error = str(exc)
        return check
    if page is None:
        return check
    check.page_origin = page.origin
    if page.error:
        check.error = f"{page.origin}: {page.error}"
        return check
    frame = page.frame.head(records).reset_index(drop=True)
    check.read = len(page.frame)
    try:
        mapped = map_page(spec, frame)
    except MissingColumnError as exc:
        check.error = str(exc)
        return check
    check.drift = mapped.drift
    problems = pd.concat(
        [mapped.problems, *validate(spec.kind, mapped.records, mapped.problems)],
        ignore_index=True,
    )
    reasons = problems.groupby("row")["message"].agg("; ".join)
    check.verdicts = pd.DataFrame(
        {
            "record": frame.index,
            "document_no": mapped.records["document_no"],
            "verdict": ["quarantined" if row in reasons.index else "loads" for row in frame.index],
            "reasons": [reasons.get(row, "") for row in frame.index],
        }
    )
    return check
