"""The monitor HTTP service: the health report and activity intake, behind ``CRON_SECRET``.

Every route but ``GET /healthz`` requires ``Authorization: Bearer <CRON_SECRET>``. Without a
configured secret the service answers 503 to all of them; a missing or wrong token gets 401.
The OpenAPI schema is served at ``/openapi.json`` behind the same token (no docs UI).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import make_engine
from models.types import utcnow
from monitor.activity import ActivityBatch, ActivityRejected, parse_batch, store_activity
from monitor.health import MAX_HOURS, MIN_HOURS, HealthReport, compute_health
from settings import Settings

__all__ = ["MAX_BODY_BYTES", "Clock", "create_app", "serve"]

logger = logging.getLogger("mysetlist.monitor")

Clock = Callable[[], datetime]
MAX_BODY_BYTES = 2 * 1024 * 1024

NO_SECRET_MESSAGE = "CRON_SECRET is not configured: the monitor refuses every request"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Module level: with postponed annotations FastAPI resolves dependency annotations globally.
_bearer = HTTPBearer(auto_error=False, description="The CRON_SECRET.")


class Message(BaseModel):
    """An error answer."""

    detail: str


class RejectedEvent(BaseModel):
    """Where a batch was refused: the event index (null: the batch itself) and the field."""

    index: int | None
    field: str
    message: str


class BatchRejected(BaseModel):
    detail: RejectedEvent


class ActivityStored(BaseModel):
    """How many events of the batch were stored (an already stored ``event_id`` is skipped)."""

    stored: int
    received: int


class Liveness(BaseModel):
    status: str


_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Message, "description": "Missing or wrong bearer token."},
    503: {"model": Message, "description": "No CRON_SECRET configured."},
}


def _configured_secret(settings: Settings) -> bytes | None:
    if settings.cron_secret is None:
        return None
    value = settings.cron_secret.get_secret_value()
    return value.encode() if value.strip() else None


def create_app(
    settings: Settings, *, engine: AsyncEngine | None = None, clock: Clock | None = None
) -> FastAPI:
    """The monitor app. Without ``engine`` it makes one from ``settings`` and disposes it."""
    secret = _configured_secret(settings)
    if secret is None:
        logger.error("%s (every route except /healthz answers 503)", NO_SECRET_MESSAGE)
    now = clock or utcnow
    database = engine if engine is not None else make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if engine is None:
                await database.dispose()

    app = FastAPI(
        title="MySetlist sync monitor",
        version="1",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )

    async def require_cron_secret(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> None:
        if secret is None:
            raise HTTPException(status_code=503, detail=NO_SECRET_MESSAGE)
        if credentials is None:
            logger.warning("refused %s %s: no bearer token", request.method, request.url.path)
            raise HTTPException(status_code=401, detail="missing bearer token", headers=_CHALLENGE)
        if not hmac.compare_digest(credentials.credentials.encode(), secret):
            logger.warning("refused %s %s: wrong bearer token", request.method, request.url.path)
            raise HTTPException(status_code=401, detail="invalid bearer token", headers=_CHALLENGE)

    protected = [Depends(require_cron_secret)]

    @app.get("/healthz", response_model=Liveness, tags=["liveness"])
    async def healthz() -> Liveness:
        """Liveness only: no data, no database, no token."""
        return Liveness(status="ok")

    @app.get(
        "/api/sync/monitor",
        response_model=HealthReport,
        dependencies=protected,
        responses=_AUTH_RESPONSES,
        tags=["monitor"],
    )
    async def sync_monitor(
        hours: Annotated[
            int, Query(ge=MIN_HOURS, le=MAX_HOURS, description="Window length in hours.")
        ] = 24,
    ) -> HealthReport:
        """The health report for the last ``hours`` hours."""
        return await compute_health(
            database, hours=hours, now=now(), stale_after_hours=settings.sync_stale_after_hours
        )

    @app.post(
        "/api/activity",
        response_model=ActivityStored,
        dependencies=protected,
        responses={
            **_AUTH_RESPONSES,
            413: {"model": Message, "description": "Body larger than 2 MiB."},
            422: {"model": BatchRejected, "description": "One bad event: nothing stored."},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ActivityBatch"}}
                },
            }
        },
        tags=["activity"],
    )
    async def post_activity(request: Request) -> ActivityStored | JSONResponse:
        """Store a batch of 1 to 1,000 user events in one transaction, or none of them."""
        raw = await _read_body(request)
        try:
            batch = parse_batch(raw)
            stored = await store_activity(database, batch, now=now())
        except ActivityRejected as rejected:
            return JSONResponse(status_code=422, content={"detail": rejected.as_detail()})
        return ActivityStored(stored=stored, received=len(batch.events))

    @app.get("/openapi.json", dependencies=protected, include_in_schema=False)
    async def openapi_schema() -> dict[str, Any]:
        return app.openapi()

    def build_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            batch_schema = ActivityBatch.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(batch_schema.pop("$defs", {}))
            components["ActivityBatch"] = batch_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = build_openapi  # type: ignore[method-assign]
    return app


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status_code=413, detail="body larger than 2 MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(status_code=413, detail="body larger than 2 MiB")
        chunks.append(chunk)
    return b"".join(chunks)


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the monitor with uvicorn until interrupted (``mysetlist monitor``)."""
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
