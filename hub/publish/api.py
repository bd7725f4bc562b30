"""The pull API: each downstream site lists and downloads its own delta files.

| request | answer |
|---|---|
| ``GET /sites/{site}/deltas?since=N&limit=L`` | the site's sets numbered above N, in order (JSON) |
| ``GET /files/{id}`` | one file, with ``X-Checksum-SHA256`` (hex) and ``Repr-Digest`` (RFC 9530) |

Every request, whatever its path, first needs ``Authorization: Bearer <token>`` (``hub token
--site S``): 401 with ``WWW-Authenticate: Bearer`` without one or with an unknown or revoked one.
Then 403 for another site's listing or file; 404 for an unknown site or file (or any other path);
410 for a file deleted by the retention rule.
Files are found by their id in ``delta_file``; nothing in the URL is ever used as a path. Ids and
``since`` are ASCII digits within the 32-bit columns; anything else is 404 (an id) or 422
(``since``, ``limit``). Every request, whatever its answer, method or headers, is recorded in
``pull_log``, its client address taken from ``X-Forwarded-For`` only when the request comes from a
proxy in ``HUB_PULL_TRUSTED_PROXIES``.

The same app runs standalone (``hub serve``) and inside Airflow's API server (``plugins/``).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response, Security
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from hub.core import clock
from hub.core.logs import get_logger
from hub.core.privacy import mask_document, mask_text
from hub.publish.api_schema import (
    FILE_ANSWERS,
    LISTING_ANSWERS,
    MAX_ID,
    Listing,
    ascii_numbers,
    file_id,
)
from hub.publish.config import Network, PublishConfigError, publish_settings, trusted_proxies
from hub.publish.encode import FORMATS, MEDIA_TYPES
from hub.publish.forwarded import client_address
from hub.publish.pulls import Pull, record_pull
from hub.publish.tokens import site_of_token
from hub.store.db import make_engine
from hub.store.publish_schema import delta_file, delta_manifest

REALM = "credit-deltas"
log = get_logger(__name__)


class _Resources:
    """The database and the delta folder, opened on first use.

    Importing the app, as Airflow does with its plugins, touches neither.
    """

    def __init__(self, engine: sa.Engine | None, delta_dir: Path | None) -> None:
        self._engine = engine
        self._own_engine = engine is None
        self._delta_dir = delta_dir
        self._lock = threading.Lock()

    @property
    def engine(self) -> sa.Engine:
        with self._lock:
            if self._engine is None:
                self._engine = make_engine()
            return self._engine

    @property
    def delta_dir(self) -> Path:
        with self._lock:
            if self._delta_dir is None:
                self._delta_dir = publish_settings().delta_dir
            return self._delta_dir

    def close(self) -> None:
        """Dispose of the engine if it was opened here."""
        with self._lock:
            if self._own_engine and self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def sites(self) -> set[str]:
        return {site.id for site in publish_settings().sites}

    def trusted(self) -> tuple[Network, ...]:
        """The trusted proxies, read from the environment on every request."""
        return trusted_proxies()


def _unauthorised(detail: str, error: str | None = None) -> JSONResponse:
    challenge = f'Bearer realm="{REALM}"' + (f', error="{error}"' if error else "")
    return JSONResponse({"detail": detail}, 401, headers={"WWW-Authenticate": challenge})


def _resources(request: Request) -> _Resources:
    return request.app.state.resources


def _authenticate(request: Request) -> JSONResponse | None:
    """Set the site whose live token the request carries; the 401 answer when there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorised("a bearer token is required (Authorization: Bearer <token>)")
    with _resources(request).engine.connect() as connection:
        site_id = site_of_token(connection, token.strip())
    if site_id is None:
        return _unauthorised("the token is unknown or revoked", "invalid_token")
    request.state.site_id = site_id
    return None


_bearer = HTTPBearer(auto_error=False, description="the site's token (hub token --site S)")


def _site(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> str:
    """The site the request was authenticated as (by the middleware, before any route).

    The security dependency only puts the bearer scheme in the OpenAPI document.
    """
    return request.state.site_id


Site = Annotated[str, Depends(_site)]
router = APIRouter()


def _file_entry(request: Request, row: sa.Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "format": row.format,
        "name": row.name,
        "bytes": row.bytes,
        "sha256": row.sha256,
        "url": str(request.url_for("download_file", file_ref=str(row.id))),
    }


def _listing(
    request: Request, connection: sa.Connection, site_id: str, since: int, limit: int
) -> list[dict[str, Any]]:
    manifests = connection.execute(
        sa.select(delta_manifest)
        .where(delta_manifest.c.site_id == site_id, delta_manifest.c.sequence > since)
        .order_by(delta_manifest.c.sequence)
        .limit(limit)
    ).all()
    files: dict[int, list[sa.Row]] = {}
    for row in connection.execute(
        sa.select(delta_file).where(delta_file.c.manifest_id.in_([m.id for m in manifests]))
    ):
        files.setdefault(row.manifest_id, []).append(row)
    order = {name: i for i, name in enumerate(FORMATS)}
    return [
        {
            "sequence": m.sequence,
            "day": m.day.isoformat(),
            "watermark_from": m.watermark_from,
            "watermark_to": m.watermark_to,
            "row_count": m.row_count,
            "schema_version": m.schema_version,
            "expired": m.expired_at is not None,
            "files": [
                _file_entry(request, f)
                for f in sorted(files.get(m.id, []), key=lambda f: order[f.format])
            ],
        }
        for m in manifests
    ]


def _client(request: Request) -> str | None:
    """The client address to record (``hub.publish.forwarded``)."""
    peer = request.client.host if request.client else None
    try:
        trusted = _resources(request).trusted()
    except PublishConfigError as exc:
        log.error("X-Forwarded-For ignored: the setting is unusable", reason=str(exc))
        return peer
    return client_address(peer, request.headers.getlist("x-forwarded-for"), trusted)


def _guard_and_record(app: FastAPI) -> None:
    """Every request: who is asking first (401 without a live token), then in ``pull_log``."""

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]):
        requested_at = clock.now()
        status, length = 500, None
        try:
            refusal = await run_in_threadpool(_authenticate, request)
            response = refusal or await call_next(request)
            status, length = response.status_code, response.headers.get("content-length")
            return response
        finally:
            pull = Pull(
                requested_at=requested_at,
                site_id=getattr(request.state, "site_id", None),
                method=request.method,
                path=request.scope.get("raw_path", b"").decode("utf-8", "replace"),
                file_id=getattr(request.state, "file_id", None),
                status=status,
                bytes=int(length) if length and length.isdigit() else None,
                client=await run_in_threadpool(_client, request),
            )
            await run_in_threadpool(record_pull, _resources(request).engine, pull)


@router.get(
    "/sites/{site_id}/deltas",
    response_model=Listing,
    responses=LISTING_ANSWERS,
    dependencies=[Depends(ascii_numbers)],
)
def list_deltas(
    request: Request,
    site_id: str,
    site: Site,
    since: Annotated[int, Query(ge=0, le=MAX_ID, description="the last sequence already held")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many sets")] = 100,
) -> dict[str, Any]:
    """The site's delta file sets with a sequence above ``since``, in sequence order."""
    resources = _resources(request)
    if site_id != site:
        if site_id not in resources.sites():
            raise HTTPException(404, f"no delta-file site {site_id!r}")
        raise HTTPException(403, f"this token is {site}'s; it may not list {site_id}'s files")
    with resources.engine.connect() as connection:
        deltas = _listing(request, connection, site, since, limit)
    return mask_document({"site": site, "since": since, "deltas": deltas}, keep={"sha256"})


@router.get(
    "/files/{file_ref}",
    name="download_file",
    response_class=Response,
    responses=FILE_ANSWERS,
)
def download_file(request: Request, file_ref: str, site: Site) -> FileResponse:
    """One file of a set, by its id, with its SHA-256 in the headers."""
    number = file_id(file_ref)
    if number is None:
        raise HTTPException(404, f"no file {file_ref!r}: files are named by their id")
    request.state.file_id = number
    resources = _resources(request)
    with resources.engine.connect() as connection:
        row = connection.execute(
            sa.select(
                delta_file,
                delta_manifest.c.site_id,
                delta_manifest.c.day,
                delta_manifest.c.expired_at,
            )
            .join(delta_manifest, delta_manifest.c.id == delta_file.c.manifest_id)
            .where(delta_file.c.id == number)
        ).first()
    if row is None:
        raise HTTPException(404, f"no file {file_ref}")
    if row.site_id != site:
        raise HTTPException(403, f"file {row.id} is not one of {site}'s files")
    if row.expired_at is not None:
        raise HTTPException(410, f"file {row.name} was deleted by the retention rule")
    path = resources.delta_dir / row.site_id / row.name
    if not path.is_file():
        raise HTTPException(
            500, f"file {row.name} is missing on the server: publish day {row.day} again"
        )
    digest = base64.b64encode(bytes.fromhex(row.sha256)).decode("ascii")
    headers = {"X-Checksum-SHA256": row.sha256, "Repr-Digest": f"sha-256=:{digest}:"}
    media_type = MEDIA_TYPES[row.format]
    return FileResponse(path, media_type=media_type, headers=headers, filename=row.name)


async def _masked_error(request: Request, exc: HTTPException) -> Response:
    """An error answer by the privacy policy: its detail may quote what the client sent."""
    masked = HTTPException(exc.status_code, mask_text(str(exc.detail)), exc.headers)
    return await http_exception_handler(request, masked)


async def _masked_invalid(request: Request, exc: RequestValidationError) -> Response:
    """A 422 answer by the privacy policy: it quotes the parameter the client sent."""
    masked = RequestValidationError(mask_document(list(exc.errors())), body=exc.body)
    return await request_validation_exception_handler(request, masked)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.resources.close()


def create_app(engine: sa.Engine | None = None, delta_dir: Path | None = None) -> FastAPI:
    """The pull API app.

    Args:
        engine: the platform database (``HUB_DATABASE_URL``, opened on first request, by default).
        delta_dir: the delta-file folder (``HUB_DELTA_DIR``, read on first request, by default).
    """
    app = FastAPI(
        title="信用修复增量文件下载接口 (credit-repair delta files)",
        description=__doc__,
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.resources = _Resources(engine, delta_dir)
    _guard_and_record(app)
    app.add_exception_handler(HTTPException, _masked_error)
    app.add_exception_handler(RequestValidationError, _masked_invalid)
    app.include_router(router)
    return app
