"""What the three clients share: the payload base model, record validation, lifecycle."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypedDict, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from clients._bounds import HttpUrl, ImageSize
from clients._transport import (
    BodyErrorCheck,
    ErrorMapper,
    RateLimitStatus,
    RequestStats,
    Transport,
    no_body_error,
)
from clients.clock import Clock
from clients.errors import MalformedRecord, record_key
from clients.ratelimit import RateLimiter, TokenBucketLimiter

if TYPE_CHECKING:
    import random

    from settings import Settings

__all__ = [
    "BaseClient",
    "Image",
    "Payload",
    "TransportOptions",
    "as_utc",
    "client_transport",
    "nested",
    "transport_options",
]

M = TypeVar("M", bound=BaseModel)
EXCERPT_CHARS = 500


class Payload(BaseModel):
    """Base of every parsed record: immutable, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Image(Payload):
    """An image reference (Spotify and Ticketmaster share the shape)."""

    url: HttpUrl
    height: ImageSize | None = None
    width: ImageSize | None = None


class TransportOptions(TypedDict, total=False):
    """The transport keywords every client constructor takes (``**options``); what is left out
    takes ``Transport``'s default."""

    http: httpx.AsyncClient | None
    limiter: RateLimiter | None
    clock: Clock | None
    timeout: float
    max_retries: int
    backoff_base: float
    retry_after_cap: float
    rng: random.Random | None
    secrets: Iterable[str]


def client_transport(
    api: str,
    error_mapper: ErrorMapper,
    credentials: Sequence[str],
    options: TransportOptions,
    *,
    body_error: BodyErrorCheck = no_body_error,
) -> Transport:
    """A client's ``Transport``: its api, how it reads the API's errors (on an error status, and
    in a 2xx body) and the keyword options, with the client's own credentials added to the
    secrets it redacts."""
    merged: TransportOptions = {**options, "secrets": [*credentials, *options.get("secrets", ())]}
    return Transport(api=api, error_mapper=error_mapper, body_error=body_error, **merged)


def transport_options(
    settings: Settings,
    *,
    http: httpx.AsyncClient | None,
    limiter: RateLimiter | None,
    clock: Clock | None,
    rng: random.Random | None,
) -> TransportOptions:
    """The transport keywords from the settings (what every ``from_settings`` passes on);
    without ``limiter``, the product caps apply in-process."""
    return TransportOptions(
        http=http,
        limiter=limiter
        if limiter is not None
        else TokenBucketLimiter.from_settings(settings, clock=clock),
        clock=clock,
        timeout=settings.http_timeout_seconds,
        max_retries=settings.http_max_retries,
        backoff_base=settings.http_backoff_base_seconds,
        retry_after_cap=settings.http_retry_after_cap_seconds,
        rng=rng,
        secrets=settings.secret_values(),
    )


def nested(data: Any, *path: str) -> Any:
    """``data[path[0]][path[1]]...`` or None where any level is missing or not a mapping."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _error_summary(exc: ValidationError) -> list[str]:
    summary = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "record"
        summary.append(f"{location}: {error['msg']}")
    return summary


def _excerpt(item: object) -> str:
    try:
        text = json.dumps(item, ensure_ascii=False, default=str)
    except RecursionError:
        text = f"<{type(item).__name__} nested too deep to show>"
    except (TypeError, ValueError):
        text = repr(item)
    return text[:EXCERPT_CHARS]


class BaseClient:
    """Lifecycle, stats and per-record validation over one ``Transport``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self.malformed_records: list[MalformedRecord] = []

    @property
    def api(self) -> str:
        return self._transport.api

    @property
    def stats(self) -> RequestStats:
        """Requests sent by this client, per HTTP status, with retries and waits."""
        return self._transport.stats

    @property
    def rate_limit_status(self) -> RateLimitStatus | None:
        """The latest quota headers seen (Ticketmaster only sends them)."""
        return self._transport.rate_limit_status

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it."""
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _malformed(
        self, kind: str, key: str | int, errors: list[str], item: object
    ) -> MalformedRecord:
        record = MalformedRecord(
            api=self.api,
            kind=kind,
            key=key,
            errors=errors,
            excerpt=_excerpt(item),
            secrets=self._transport.secrets,
        )
        self.malformed_records.append(record)
        self.stats.malformed_records += 1
        self._transport.logger.warning("%s", record)
        return record

    def _validate_one(self, kind: str, item: object, model: type[M], *, key: str | int) -> M:
        """One record, or ``MalformedRecord`` raised (and logged)."""
        try:
            return model.model_validate(item)
        except ValidationError as exc:
            safe_key = record_key(key, index=0)
            raise self._malformed(kind, safe_key, _error_summary(exc), item) from None

    def _validate_items(
        self, kind: str, items: object, model: type[M], *, key_field: str = "id"
    ) -> tuple[list[M], list[MalformedRecord]]:
        """Each item validated on its own: the good ones, and a ``MalformedRecord`` per bad one."""
        if items is None:
            return [], []
        if not isinstance(items, list):
            return [], [self._malformed(f"{kind} list", "0", ["not a list"], items)]
        good: list[M] = []
        bad: list[MalformedRecord] = []
        for index, item in enumerate(items):
            candidate = item.get(key_field) if isinstance(item, dict) else None
            key = record_key(candidate, index=index)
            try:
                good.append(model.model_validate(item))
            except ValidationError as exc:
                bad.append(self._malformed(kind, key, _error_summary(exc), item))
        return good, bad
