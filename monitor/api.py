"""The monitor HTTP service: the health report and activity intake, behind ``CRON_SECRET``.

Every path but ``GET /healthz`` requires ``Authorization: Bearer <CRON_SECRET>``, including
unknown paths and methods: ``RequestGuard`` checks the token before routing, so a refused
request learns nothing about the routes, reads no body and runs no SQL. Without a configured
secret every protected path answers 503; a secret shorter than ``MIN_SECRET_LENGTH`` is refused
when the app is built. 401s are rate limited per client (``AuthFailureLimiter``).

Request bodies, parameters, responses and the OpenAPI schema (``/openapi.json``, behind the same
token; no docs UI) all come from FastAPI and the pydantic models. Every error answer, 4xx or 5xx,
has one shape, ``ErrorBody``: ``{"error": {"status", "code", "message", "details"?}}``.

New routes go on ``router``: they get the token, the error shape and their OpenAPI security and
error responses without anything else to do.
"""

from __future__ import annotations

import copy
import hmac
import logging
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from email.message import Message
from typing import Annotated, Any, Literal, cast
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as ASGIMessage

from flows.params import ArtistRef
from models.db import make_engine
from models.geo_trending import city_exists, market_exists, normalize_city_id, read_trending
from models.markets import MARKET_NAMES
from models.similarity import similar_artists
from models.trending.forecast import read_forecast
from models.types import utcnow
from monitor.activity import ActivityBatch, ActivityRejected, store_activity
from monitor.health import MAX_HOURS, MIN_HOURS, HealthReport, compute_health
from monitor.status_page import (
    SESSION_COOKIE,
    make_session,
    render_login,
    render_status,
    session_is_valid,
    status_data,
)
from settings import Settings

__all__ = [
    "AUTH_FAILURES_PER_MINUTE",
    "AUTH_FAILURE_BURST",
    "ERROR_CODES",
    "MAX_BODY_BYTES",
    "MIN_SECRET_LENGTH",
    "PUBLIC_PATHS",
    "SESSION_PATHS",
    "STATUS_PATH",
    "SYNC_ARTIST_DEPLOYMENT",
    "AuthFailureLimiter",
    "Clock",
    "ErrorBody",
    "QueryStringFilter",
    "RequestGuard",
    "WeakSecretError",
    "create_app",
    "error_responses",
    "log_config",
    "router",
    "serve",
]

logger = logging.getLogger("mysetlist.monitor")

Clock = Callable[[], datetime]
MAX_BODY_BYTES = 2 * 1024 * 1024
MIN_SECRET_LENGTH = 32
PUBLIC_PATHS = frozenset({"/healthz"})
#: The status page, where a signed session cookie is accepted instead of the bearer token.
STATUS_PATH = "/status"
#: The login form's target and the sign-out: no token needed, failed logins are rate limited.
SESSION_PATHS = frozenset({"/status/login", "/status/logout"})
#: Failed authentications a client may make at once, then per minute (a token bucket).
AUTH_FAILURE_BURST = 10
AUTH_FAILURES_PER_MINUTE = 10
_MAX_TRACKED_CLIENTS = 10_000
_MAX_DETAILS = 50

MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
NO_SECRET_MESSAGE = "CRON_SECRET is not configured: the monitor refuses every request"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Documents the scheme in OpenAPI; ``RequestGuard`` enforces it, before routing.
_bearer = HTTPBearer(auto_error=False, description="The CRON_SECRET.")


class WeakSecretError(ValueError):
    """``CRON_SECRET`` is set but shorter than ``MIN_SECRET_LENGTH``: the monitor does not start."""

    def __init__(self) -> None:
        super().__init__(
            f"CRON_SECRET is shorter than {MIN_SECRET_LENGTH} characters: the monitor does not "
            f"start with a guessable secret. Make one with: {MAKE_A_SECRET}"
        )


# --- The error shape ------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """One fault of a refused request."""

    location: list[str | int] = Field(
        description='Where: ["query", "hours"], ["body", "events", 2, "artist_id"], ...'
    )
    message: str
    type: str = Field(description="A stable machine-readable kind, e.g. int_type, missing.")


class ErrorInfo(BaseModel):
    status: int = Field(description="The HTTP status, repeated.")
    code: str = Field(description="A stable name of the status, e.g. validation_failed.")
    message: str = Field(description="What went wrong, for a person.")
    details: list[ErrorDetail] | None = Field(
        default=None, description=f"422 only: the faults, at most {_MAX_DETAILS}."
    )


class ErrorBody(BaseModel):
    """Every error answer of the monitor API."""

    error: ErrorInfo


ERROR_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "not_configured",
}
_DESCRIPTIONS: Mapping[int, str] = {
    401: "Missing or wrong bearer token.",
    404: "No such route.",
    405: "The route does not take this method.",
    413: "Body larger than 2 MiB.",
    415: "A body that is not sent as application/json.",
    422: "The request does not validate; nothing was stored.",
    429: "Too many failed authentications from this client; see Retry-After.",
    503: "No CRON_SECRET configured.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of these error statuses, all ``ErrorBody``."""
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses
    }


def error_response(
    status: int,
    message: str,
    *,
    details: Sequence[ErrorDetail] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An error answer in the one shape."""
    info = ErrorInfo(
        status=status,
        code=ERROR_CODES.get(status, f"http_{status}"),
        message=message,
        details=list(details) if details is not None else None,
    )
    return JSONResponse(
        status_code=status,
        content=ErrorBody(error=info).model_dump(mode="json", exclude_none=True),
        headers=dict(headers) if headers else None,
    )


def _where(location: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in location)


def _validation_details(errors: Sequence[Any]) -> list[ErrorDetail]:
    details = []
    for error in errors:
        location: list[str | int] = list(error.get("loc", ()))
        ctx = error.get("ctx") or {}
        message = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            position = location[1] if len(location) > 1 else "?"
            location = ["body"]
            message = f"invalid JSON at character {position}: {ctx.get('error', message)}"
        elif error.get("type") == "activity_target" and "field" in ctx:
            location.append(str(ctx["field"]))
        details.append(ErrorDetail(location=location, message=message, type=str(error["type"])))
    return details


def _validation_message(details: Sequence[ErrorDetail], total: int) -> str:
    first = details[0]
    message = f"{_where(first.location)}: {first.message}"
    return message if total == 1 else f"{message} (and {total - 1} more)"


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    parsed = Message()
    parsed["content-type"] = content_type
    subtype = parsed.get_content_subtype()
    return parsed.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = cast(RequestValidationError, exc).errors()
    about_body = any(tuple(error.get("loc", ()))[:1] == ("body",) for error in errors)
    if about_body and not _is_json(request.headers.get("content-type")):
        # FastAPI parses JSON only when it is declared as JSON.
        return error_response(415, "the body must be JSON, sent as Content-Type: application/json")
    details = _validation_details(errors[:_MAX_DETAILS])
    return error_response(422, _validation_message(details, len(errors)), details=details)


async def _on_activity_rejected(request: Request, exc: Exception) -> JSONResponse:
    rejected = cast(ActivityRejected, exc)
    detail = ErrorDetail(
        location=rejected.location(), message=rejected.message, type="activity_rejected"
    )
    return error_response(422, _validation_message([detail], 1), details=[detail])


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    http_error = cast(StarletteHTTPException, exc)
    status = http_error.status_code
    if status == 404:
        message = "no such route"
    elif status == 405:
        message = f"{request.method} is not allowed here"
        if http_error.headers and "Allow" in http_error.headers:
            message += f"; allowed: {http_error.headers['Allow']}"
    else:
        detail = http_error.detail
        message = detail if isinstance(detail, str) else ERROR_CODES.get(status, "error")
    return error_response(status, message, headers=http_error.headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    return error_response(500, "internal error; the server log has the cause")


# --- The guard in front of routing ----------------------------------------------------------


class AuthFailureLimiter:
    """A token bucket of failed authentications per client (its IP address).

    A client may fail ``burst`` times at once, then ``per_minute`` times a minute. While its
    bucket is empty every request of that client is answered 429 without its token being
    compared, so guessing the secret costs time. At most ``max_clients`` buckets are kept (the
    least recently used are dropped).
    """

    def __init__(
        self,
        *,
        burst: int = AUTH_FAILURE_BURST,
        per_minute: float = AUTH_FAILURES_PER_MINUTE,
        max_clients: int = _MAX_TRACKED_CLIENTS,
    ) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60.0
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _tokens(self, client: str, now: float) -> float:
        tokens, at = self._buckets.get(client, (self._burst, now))
        return min(self._burst, tokens + max(0.0, now - at) * self._rate)

    def retry_after(self, *, client: str, now: float) -> int | None:
        """Whole seconds until ``client`` may try again, or None when it may now."""
        tokens = self._tokens(client, now)
        if tokens >= 1.0:
            return None
        return max(1, math.ceil(round((1.0 - tokens) / self._rate, 6)))

    def failed(self, *, client: str, now: float) -> None:
        """Count one failed authentication of ``client``."""
        self._buckets[client] = (self._tokens(client, now) - 1.0, now)
        self._buckets.move_to_end(client)
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)


async def _send(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    await response(scope, receive, send)


class RequestGuard:
    """ASGI middleware run before routing: the token, the 401 rate limit, the body size.

    Order: public path → pass; no secret configured → 503; client rate limited → 429; missing
    or wrong token → 401 (counted); declared or streamed body over ``max_body_bytes`` → 413.
    Only then does FastAPI route (404, 405), validate (415, 422) and run the route.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret: bytes | None,
        clock: Clock,
        max_body_bytes: int = MAX_BODY_BYTES,
        limiter: AuthFailureLimiter | None = None,
    ) -> None:
        self.app = app
        self.secret = secret
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        self.limiter = limiter or AuthFailureLimiter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websocket routes
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await _send(refusal, scope, receive, send)
            return
        await self._with_bounded_body(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        if self.secret is None:
            return error_response(503, NO_SECRET_MESSAGE)
        client = scope["client"][0] if scope.get("client") else "unknown"
        now = self.clock().timestamp()
        retry_after = self.limiter.retry_after(client=client, now=now)
        if retry_after is not None:
            return error_response(
                429,
                f"too many failed authentications; retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
        if scope["path"] in SESSION_PATHS:
            return None  # the login route compares the secret and counts failures
        token = _bearer_token(scope)
        if token is not None and hmac.compare_digest(token.encode(), self.secret):
            return None
        if scope["path"] == STATUS_PATH and scope["method"] in ("GET", "HEAD"):
            session = _cookie(scope, SESSION_COOKIE)
            if session is not None and session_is_valid(self.secret, session, now=self.clock()):
                return None
            if token is None:
                # A person without a (valid) session: the login form, not counted as a failure.
                return _login_page(status=401)
        reason = "missing bearer token" if token is None else "invalid bearer token"
        self.limiter.failed(client=client, now=now)
        logger.warning("refused %s %r from %s: %s", scope["method"], scope["path"], client, reason)
        return error_response(401, reason, headers=_CHALLENGE)

    async def _with_bounded_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        too_large = error_response(413, "body larger than 2 MiB")
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _send(too_large, scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await _send(too_large, scope, receive, send)
                return
            more = bool(message.get("more_body", False))
        replayed = False

        async def replay() -> ASGIMessage:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    """The value of cookie ``name`` of the request, or None."""
    header = _header(scope, b"cookie")
    if header is None:
        return None
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None


_NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}


def _login_page(*, status: int, failed: bool = False) -> HTMLResponse:
    return HTMLResponse(render_login(failed=failed), status_code=status, headers=_NO_STORE)


def _bearer_token(scope: Scope) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (scheme case-insensitive), or None."""
    header = _header(scope, b"authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token


# --- Routes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonitorState:
    """What the routes read, kept on ``app.state.monitor``."""

    settings: Settings
    engine: AsyncEngine
    clock: Clock
    secret: bytes | None = None
    limiter: AuthFailureLimiter | None = None


def _state(request: Request) -> MonitorState:
    state: MonitorState = request.app.state.monitor
    return state


State = Annotated[MonitorState, Depends(_state)]


class ActivityStored(BaseModel):
    """How many events of the batch were stored (an already stored ``event_id`` is skipped)."""

    stored: int
    received: int


class Liveness(BaseModel):
    status: str


public = APIRouter()
router = APIRouter(dependencies=[Security(_bearer)], responses=error_responses(401, 429, 503))


@public.get("/healthz", response_model=Liveness, tags=["liveness"])
async def healthz() -> Liveness:
    """Liveness only: no data, no database, no token."""
    return Liveness(status="ok")


@router.get(
    "/api/sync/monitor",
    response_model=HealthReport,
    responses=error_responses(422),
    tags=["monitor"],
)
async def sync_monitor(
    state: State,
    hours: Annotated[
        int, Query(ge=MIN_HOURS, le=MAX_HOURS, description="Window length in hours.")
    ] = 24,
) -> HealthReport:
    """The health report for the last ``hours`` hours."""
    return await compute_health(
        state.engine,
        hours=hours,
        now=state.clock(),
        stale_after_hours=state.settings.sync_stale_after_hours,
        settings=state.settings,
    )


#: The deployment ``POST /api/sync/artist`` starts (``cli/deployments.py``, ``prefect.yaml``).
SYNC_ARTIST_DEPLOYMENT = "sync-artist/on-demand"
_REGISTER = "`prefect --no-prompt deploy --all` (and a worker) or `mysetlist serve`"


class ArtistSyncRequest(BaseModel):
    """The artist to import or refresh now."""

    model_config = ConfigDict(extra="forbid")

    artist: ArtistRef = Field(
        description="Our artist id, a Spotify id, a Ticketmaster attraction id or a name: a "
        'JSON string of 1-200 characters without control characters (our id 42 is "42").'
    )


class ArtistSyncStarted(BaseModel):
    """The flow run started; follow it in Prefect (its ledger row carries the same id)."""

    flow_run_id: UUID
    deployment: str


class _PrefectUnavailable(RuntimeError):
    """The run could not be started: no Prefect API, or no deployment on it."""


def _where_prefect(api_url: str) -> str:
    import httpx

    url = httpx.URL(api_url)
    return str(url.copy_with(userinfo=b"", query=None, fragment=None))


async def _start_artist_sync(ref: str) -> UUID:
    """Create a run of ``SYNC_ARTIST_DEPLOYMENT`` on the configured Prefect API (never an
    ephemeral one: no worker would see it); its id. The run is left to the workers."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    if not api_url:
        raise _PrefectUnavailable(
            "PREFECT_API_URL is not set: set it to the /api URL of the Prefect server where "
            f"{SYNC_ARTIST_DEPLOYMENT} is registered ({_REGISTER})"
        )
    where = f"the Prefect API at {_where_prefect(api_url)}"
    try:
        async with get_client() as client:
            deployment = await client.read_deployment_by_name(SYNC_ARTIST_DEPLOYMENT)
            flow_run = await client.create_flow_run_from_deployment(
                deployment.id, parameters={"ref": ref}
            )
    except ObjectNotFound:
        raise _PrefectUnavailable(
            f"deployment {SYNC_ARTIST_DEPLOYMENT} is not registered on {where}: register it "
            f"with {_REGISTER}"
        ) from None
    except httpx.HTTPStatusError as exc:
        raise _PrefectUnavailable(
            f"{where} answered {exc.response.status_code}; see the Prefect server's log"
        ) from None
    except (httpx.HTTPError, OSError) as exc:
        raise _PrefectUnavailable(
            f"cannot reach {where} ({type(exc).__name__}); start it or fix PREFECT_API_URL"
        ) from None
    return flow_run.id


@router.post(
    "/api/sync/artist",
    status_code=202,
    response_model=ArtistSyncStarted,
    responses={
        **error_responses(413, 415, 422),
        503: {
            "model": ErrorBody,
            "description": f"No CRON_SECRET configured, or {SYNC_ARTIST_DEPLOYMENT} not "
            "registered, or the Prefect API unreachable.",
        },
    },
    tags=["sync"],
)
async def post_sync_artist(body: ArtistSyncRequest) -> ArtistSyncStarted | JSONResponse:
    """Start a run of ``sync-artist/on-demand`` for one artist now; answers at once with its
    flow run id (the run itself may still fail: unknown or ambiguous artist)."""
    try:
        flow_run_id = await _start_artist_sync(body.artist)
    except _PrefectUnavailable as exc:
        logger.error("sync-artist not started: %s", exc)
        return error_response(503, str(exc))
    logger.info("sync-artist flow run %s started", flow_run_id)
    return ArtistSyncStarted(flow_run_id=flow_run_id, deployment=SYNC_ARTIST_DEPLOYMENT)


@router.post(
    "/api/activity",
    response_model=ActivityStored,
    responses=error_responses(413, 415, 422),
    tags=["activity"],
)
async def post_activity(batch: ActivityBatch, state: State) -> ActivityStored:
    """Store a batch of 1 to 1,000 user events in one transaction, or none of them."""
    stored = await store_activity(state.engine, batch, now=state.clock())
    return ActivityStored(stored=stored, received=len(batch.events))


# --- Insights: trending by place, similar artists ---------------------------------------------

_MAX_ID = 2**31 - 1


class TrendingEntry(BaseModel):
    """An artist, or a show with its headliner and venue."""

    rank: int
    id: int
    name: str
    score: float = Field(description="0-100.")
    artist_id: int | None = Field(default=None, description="Shows: the headliner.")
    artist_name: str | None = None
    venue_name: str | None = None
    city: str | None = None
    local_date: date | None = None


class TrendingList(BaseModel):
    """The top artists or shows of a scope. ``day``: the day the market or city list was
    computed (the latest); null for ``global`` (the current scores) or when never computed."""

    scope: Literal["global", "market", "city"]
    id: str | None = Field(description="The market id, or the city id as stored (lower case).")
    name: str | None = Field(description="The market's name, when known.")
    kind: Literal["artist", "show"]
    day: date | None
    items: list[TrendingEntry]


class SimilarArtistEntry(BaseModel):
    rank: int
    id: int
    name: str
    slug: str
    score: float = Field(description="0-100, see docs/trending.md.")
    shared_shows: int
    shared_venues: float = Field(description="Sum of 1/artists over the venues both played.")
    covers: int
    shared_genres: float = Field(description="Jaccard index of their genres.")
    shared_markets: int


class SimilarArtistsList(BaseModel):
    artist_id: int
    name: str
    day: date | None = Field(description="When they were computed; null: not yet.")
    similar: list[SimilarArtistEntry]


def _invalid(location: list[str | int], message: str) -> JSONResponse:
    detail = ErrorDetail(location=location, message=message, type="value_error")
    return error_response(422, _validation_message([detail], 1), details=[detail])


def _not_found_response(description: str) -> dict[int | str, dict[str, Any]]:
    return {404: {"model": ErrorBody, "description": description}}


@router.get(
    "/api/trending",
    response_model=TrendingList,
    responses={
        **error_responses(422),
        **_not_found_response("No such route, or an unknown market or city."),
    },
    tags=["trending"],
)
async def get_trending(
    state: State,
    scope: Annotated[
        Literal["global", "market", "city"], Query(description="Where to rank.")
    ] = "global",
    id_: Annotated[
        str | None,
        Query(
            alias="id",
            min_length=1,
            max_length=200,
            description="market: a Ticketmaster market id (e.g. 27); city: country/state/city "
            "(e.g. US/CA/San Francisco); not taken with global.",
        ),
    ] = None,
    kind: Annotated[Literal["artist", "show"], Query(description="What to rank.")] = "artist",
    limit: Annotated[int, Query(ge=1, le=100, description="How many.")] = 10,
) -> TrendingList | JSONResponse:
    """The top trending artists or shows, worldwide (the global scores) or in one market or
    city (geographic trending, computed by the daily run: its latest day)."""
    where: list[str | int] = ["query", "id"]
    scope_id: str | None = None
    name: str | None = None
    if scope == "global":
        if id_ is not None:
            return _invalid(where, "id is not taken with scope=global")
    elif id_ is None:
        example = "27" if scope == "market" else "US/CA/San Francisco"
        return _invalid(where, f"scope={scope} needs an id, e.g. id={example}")
    elif scope == "market":
        if not id_.isdigit() or not 0 < int(id_) <= _MAX_ID:
            return _invalid(where, f"a market id is a positive whole number; got {id_!r}")
        market = int(id_)
        scope_id, name = str(market), MARKET_NAMES.get(market)
    else:
        try:
            scope_id = normalize_city_id(id_)
        except ValueError as exc:
            return _invalid(where, str(exc))
    async with state.engine.connect() as conn:
        if scope == "market" and name is None and not await market_exists(conn, int(id_ or 0)):
            known = ", ".join(str(m) for m in MARKET_NAMES)
            return error_response(404, f"unknown market {id_}: the major markets are {known}")
        if scope == "city" and scope_id is not None and not await city_exists(conn, scope_id):
            return error_response(404, f"no venue stands in the city {scope_id!r}")
        day, ranked = await read_trending(
            conn,
            scope=scope,
            scope_id=scope_id,
            kind=kind,
            limit=limit,
            now=state.clock(),
            settings=state.settings,
        )
    return TrendingList(
        scope=scope,
        id=scope_id,
        name=name,
        kind=kind,
        day=day,
        items=[TrendingEntry(**asdict(entry)) for entry in ranked],
    )


@router.get(
    "/api/artists/{artist_id}/similar",
    response_model=SimilarArtistsList,
    responses={**error_responses(422), **_not_found_response("No such route, or no such artist.")},
    tags=["trending"],
)
async def get_similar_artists(
    state: State,
    artist_id: Annotated[int, Path(ge=1, le=_MAX_ID, description="Our artist id.")],
    limit: Annotated[int, Query(ge=1, le=10, description="How many.")] = 10,
) -> SimilarArtistsList | JSONResponse:
    """An artist's most similar artists (computed by the daily run; see docs/trending.md)."""
    found = await similar_artists(state.engine, artist_id, limit=limit)
    if found is None:
        return error_response(404, f"no artist with id {artist_id}")
    return SimilarArtistsList(
        artist_id=found.artist_id,
        name=found.name,
        day=found.day,
        similar=[SimilarArtistEntry(**asdict(entry)) for entry in found.similar],
    )


class ForecastDayEntry(BaseModel):
    day: date
    horizon: int = Field(description="Days after the forecast's day, 1 to 7.")
    score: float = Field(description="The expected trending score, 0-100.")


class ArtistForecastOut(BaseModel):
    """An artist's latest trending forecast (made by the daily run; see docs/trending.md)."""

    artist_id: int
    name: str
    score: float | None = Field(description="The current trending score; null before any run.")
    made_on: date | None = Field(description="The day the forecast was made; null: none yet.")
    days: list[ForecastDayEntry]


@router.get(
    "/api/artists/{artist_id}/forecast",
    response_model=ArtistForecastOut,
    responses={**error_responses(422), **_not_found_response("No such route, or no such artist.")},
    tags=["trending"],
)
async def get_artist_forecast(
    state: State,
    artist_id: Annotated[int, Path(ge=1, le=_MAX_ID, description="Our artist id.")],
) -> ArtistForecastOut | JSONResponse:
    """An artist's expected trending score on each of the next 7 days, from its scheduled
    shows, its activity's decay and its follower growth (the daily run's latest forecast)."""
    found = await read_forecast(state.engine, artist_id, now=state.clock(), settings=state.settings)
    if found is None:
        return error_response(404, f"no artist with id {artist_id}")
    return ArtistForecastOut(
        artist_id=found.artist_id,
        name=found.name,
        score=found.score,
        made_on=found.made_on,
        days=[ForecastDayEntry(**asdict(day)) for day in found.days],
    )


# --- The status page ------------------------------------------------------------------------


@router.get(
    STATUS_PATH,
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "The status page."}},
    tags=["status"],
)
async def status_page(request: Request, state: State) -> HTMLResponse:
    """The status page for a person: health scores, the last runs of each job, today's quota
    use, the top trending artists and shows with 30-day sparklines, the latest errors.

    Accepts the bearer token, or the session cookie the login form sets (``POST /status/login``);
    without either it answers 401 with the login form."""
    data = await status_data(state.engine, now=state.clock(), settings=state.settings)
    signed_in = _bearer_token(request.scope) is None
    return HTMLResponse(render_status(data, signed_in=signed_in), headers=_NO_STORE)


@public.post(
    "/status/login",
    response_class=HTMLResponse,
    status_code=303,
    responses={
        303: {"description": "Signed in: the session cookie is set; go to /status."},
        401: {"content": {"text/html": {}}, "description": "Wrong secret: the form again."},
        429: {"model": ErrorBody, "description": _DESCRIPTIONS[429]},
        503: {"model": ErrorBody, "description": _DESCRIPTIONS[503]},
    },
    tags=["status"],
)
async def status_login(request: Request, state: State) -> Response:
    """The login form's target: ``secret=<CRON_SECRET>`` as a form. Sets an HttpOnly,
    SameSite=Strict session cookie (12 h, Path=/status; Secure over HTTPS) signed with the
    secret; the cookie never holds the secret. A wrong secret counts as a failed
    authentication."""
    secret, limiter = state.secret, state.limiter
    if secret is None or limiter is None:  # the guard answered 503 already
        return error_response(503, NO_SECRET_MESSAGE)
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=5)
    given = (fields.get("secret") or [""])[0]
    now = state.clock()
    if not given or not hmac.compare_digest(given.encode(), secret):
        client = request.client.host if request.client else "unknown"
        limiter.failed(client=client, now=now.timestamp())
        logger.warning("refused status login from %s: wrong secret", client)
        return _login_page(status=401, failed=True)
    value, lifetime = make_session(secret, now=now)
    response = RedirectResponse(STATUS_PATH, status_code=303, headers=_NO_STORE)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=lifetime,
        path=STATUS_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@public.post(
    "/status/logout",
    status_code=303,
    responses={303: {"description": "The session cookie is cleared; go to /status."}},
    tags=["status"],
)
async def status_logout(request: Request) -> Response:
    """Sign out: clear the session cookie."""
    response = RedirectResponse(STATUS_PATH, status_code=303, headers=_NO_STORE)
    response.delete_cookie(
        SESSION_COOKIE,
        path=STATUS_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


# --- The app --------------------------------------------------------------------------------


def _configured_secret(settings: Settings) -> bytes | None:
    """The secret, None when unset or blank; ``WeakSecretError`` when too short."""
    if settings.cron_secret is None:
        return None
    value = settings.cron_secret.get_secret_value()
    if not value.strip():
        return None
    if len(value.strip()) < MIN_SECRET_LENGTH:
        raise WeakSecretError()
    return value.encode()


def create_app(
    settings: Settings, *, engine: AsyncEngine | None = None, clock: Clock | None = None
) -> FastAPI:
    """The monitor app. Without ``engine`` it makes one from ``settings`` and disposes it.

    Raises ``WeakSecretError`` for a ``CRON_SECRET`` shorter than ``MIN_SECRET_LENGTH``.
    """
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
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        redirect_slashes=False,  # its 307 built Location from the client's Host header
        lifespan=lifespan,
    )
    limiter = AuthFailureLimiter()
    app.state.monitor = MonitorState(
        settings=settings, engine=database, clock=now, secret=secret, limiter=limiter
    )
    app.include_router(public)
    app.include_router(router)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(ActivityRejected, _on_activity_rejected)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_middleware(
        RequestGuard, secret=secret, clock=now, max_body_bytes=MAX_BODY_BYTES, limiter=limiter
    )
    return app


# --- Serving --------------------------------------------------------------------------------


class QueryStringFilter(logging.Filter):
    """Drops the query string from uvicorn's access log lines.

    A token sent as ``?token=…`` is refused, and must not be written to the log either. uvicorn
    logs ``'%s - "%s %s HTTP/%s" %d'`` with the path and query as the third argument.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with ``QueryStringFilter`` on its access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query_string"] = {"()": QueryStringFilter}
    config["loggers"]["uvicorn.access"]["filters"] = ["no_query_string"]
    return config


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the monitor with uvicorn until interrupted (``mysetlist monitor``).

    A weak ``CRON_SECRET`` ends the process (exit 1) with the message saying how to make one.
    """
    import uvicorn

    try:
        app = create_app(settings)
    except WeakSecretError as exc:
        raise SystemExit(str(exc)) from None
    uvicorn.run(app, host=host, port=port, log_level="info", log_config=log_config())
