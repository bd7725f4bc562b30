"""The console's pages: Jinja2 templates rendered on the server, masked at the boundary.

Every page leaves through ``render``: the data handed to a template has been masked where it was
read (``mask_document``), and the finished HTML goes through ``mask_text`` once more, so no ID
number reaches a browser whatever a template prints.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pandas as pd
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from hub.console.auth import Viewer
from hub.core.privacy import MACHINE_IDENTIFIERS, mask_document, mask_text
from hub.core.settings import settings

NAVIGATION: tuple[tuple[str, str, bool], ...] = (
    ("/", "总览", False),
    ("/case", "一件事查询", False),
    ("/departments", "部门考评", False),
    ("/reconciliation", "修复对账", False),
    ("/sources", "数据源与站点", True),
)
"""The pages in the navigation: path, label, operators only."""


def local_time(value: datetime | str | None) -> str:
    """An instant (or its ISO 8601 text) in the platform's time zone, to the minute."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(settings().timezone).strftime("%Y-%m-%d %H:%M")


def figure(value: Any) -> str:
    """A count with thousands separators ("" for none)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def day(value: date | str | None) -> str:
    """A day as ISO 8601 ("" for none); an instant's day in the platform's time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        zoned = value.astimezone(settings().timezone) if value.tzinfo else value
        return zoned.date().isoformat()
    return value.isoformat() if isinstance(value, date) else str(value)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows as dicts for a template, missing values (NaN, NaT) as ``None``."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


_environment = Environment(
    loader=PackageLoader("hub.console", "templates"),
    autoescape=select_autoescape(["j2"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(local_time=local_time, figure=figure, day=day)


def page_path(request: Request) -> str:
    """The request's path inside the console (without the prefix it is mounted under)."""
    root = request.scope.get("root_path", "")
    path = request.scope["path"]
    return path[len(root) :] if root and path.startswith(root) else path


def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page of ``template`` for ``viewer``, its HTML masked by the privacy policy."""
    html = _environment.get_template(template).render(
        base=request.scope.get("root_path", ""),
        here=page_path(request),
        viewer=viewer,
        navigation=[n for n in NAVIGATION if not n[2] or (viewer and viewer.is_operator)],
        **context,
    )
    return HTMLResponse(mask_text(html), status_code=status_code)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_answer(document: Any, *, credit_codes: tuple[str, ...] = ()) -> Response:
    """``document`` as a JSON answer, through the privacy policy (machine identifiers kept)."""
    masked = mask_document(document, keep=MACHINE_IDENTIFIERS, credit_codes=credit_codes)
    body = json.dumps(masked, default=_plain, ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json")
