"""The transport shared by the three clients: limiter hook, retries, Retry-After, redaction, stats.

Policy lives in small pure functions (``parse_retry_after``, ``backoff_delay``,
``parse_rate_limit_headers``); ``Transport`` only sequences them around ``httpx``.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from clients.clock import Clock, SystemClock
from clients.errors import (
    AuthError,
    BadRequest,
    NotFound,
    QuotaExhausted,
    RetriesExhausted,
    UpstreamError,
    redact,
)
from clients.ratelimit import NoLimiter, RateLimiter

__all__ = [
    "DEFAULT_BACKOFF_BASE",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RETRY_AFTER_CAP",
    "DEFAULT_TIMEOUT",
    "ErrorInfo",
    "ErrorMapper",
    "RateLimitStatus",
    "Reply",
    "RequestStats",
    "Transport",
    "backoff_delay",
    "default_error_info",
    "join_url",
    "parse_rate_limit_headers",
    "parse_retry_after",
]

DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_RETRIES = 4
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_RETRY_AFTER_CAP = 60.0
USER_AGENT = "mysetlist-sync/0.1"

Params = Mapping[str, str | int]


# --- pure policy -------------------------------------------------------------------------------


def join_url(base: str, path: str) -> str:
    """``base`` and ``path`` joined with exactly one slash (no ``urljoin`` surprises)."""
    return f"{base.rstrip('/')}/{path.lstrip('/')}"


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait for a ``Retry-After`` (delta seconds or HTTP date); None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in ``[0, min(cap, base * 2**attempt)]``."""
    return rng.uniform(0.0, min(cap, base * (2.0**attempt)))


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    """Ticketmaster's quota headers from the latest answer (``reset_at`` from epoch ms)."""

    limit: int | None
    available: int | None
    over: int | None
    reset_at: datetime | None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def parse_rate_limit_headers(headers: Mapping[str, str]) -> RateLimitStatus | None:
    """``Rate-Limit``, ``Rate-Limit-Available``, ``Rate-Limit-Over``, ``Rate-Limit-Reset``."""
    names = ("rate-limit", "rate-limit-available", "rate-limit-over", "rate-limit-reset")
    if not any(name in headers for name in names):
        return None
    reset_ms = _int_header(headers, "rate-limit-reset")
    reset_at = datetime.fromtimestamp(reset_ms / 1000, tz=UTC) if reset_ms is not None else None
    return RateLimitStatus(
        limit=_int_header(headers, "rate-limit"),
        available=_int_header(headers, "rate-limit-available"),
        over=_int_header(headers, "rate-limit-over"),
        reset_at=reset_at,
    )


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """How an API's error answer is raised: exception class, message, API error code.

    ``retryable`` None means "decided by the status": 429 and 5xx are retried, the rest never.
    """

    kind: type[UpstreamError]
    message: str
    code: str | None = None
    retryable: bool | None = None


ErrorMapper = Callable[[int, Any], ErrorInfo]


def default_error_info(status: int, body: Any) -> ErrorInfo:
    """The generic mapping by status, for APIs without a more precise one."""
    kinds: dict[int, type[UpstreamError]] = {400: BadRequest, 401: AuthError, 404: NotFound}
    return ErrorInfo(kinds.get(status, UpstreamError), f"HTTP {status}")


# --- observability ----------------------------------------------------------------------------


@dataclass
class RequestStats:
    """What one client sent: attempts, answers per HTTP status, failures, retries, waits."""

    api: str
    attempts: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    invalid_bodies: int = 0
    retries: int = 0
    retry_wait_seconds: float = 0.0
    malformed_records: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for run ledgers."""
        return {
            "api": self.api,
            "attempts": self.attempts,
            "by_status": {str(status): count for status, count in sorted(self.by_status.items())},
            "transport_errors": self.transport_errors,
            "invalid_bodies": self.invalid_bodies,
            "retries": self.retries,
            "retry_wait_seconds": round(self.retry_wait_seconds, 3),
            "malformed_records": self.malformed_records,
        }


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer: status, parsed JSON body, headers and the redacted URL."""

    status: int
    body: Any
    headers: httpx.Headers
    url: str


# --- the transport ----------------------------------------------------------------------------


class Transport:
    """Sends one logical request: limiter, attempts, retries, error mapping, quota latch."""

    def __init__(
        self,
        *,
        api: str,
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
        rng: random.Random | None = None,
        secrets: Iterable[str] = (),
        error_mapper: ErrorMapper = default_error_info,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self.api = api
        self.logger = logging.getLogger(f"mysetlist.clients.{api}")
        self._owns_http = http is None
        self._http = (
            http
            if http is not None
            else httpx.AsyncClient(timeout=timeout, headers={"User-Agent": USER_AGENT})
        )
        self._limiter: RateLimiter = limiter if limiter is not None else NoLimiter()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._timeout = httpx.Timeout(timeout)
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._retry_after_cap = retry_after_cap
        self._rng = rng if rng is not None else random.Random()
        self._secrets: list[str] = [secret for secret in secrets if secret]
        self._error_mapper = error_mapper
        self.stats = RequestStats(api=api)
        self.rate_limit_status: RateLimitStatus | None = None
        self.exhausted: QuotaExhausted | None = None

    # secrets and redaction

    @property
    def secrets(self) -> Sequence[str]:
        return tuple(self._secrets)

    def add_secret(self, secret: str) -> None:
        """Redact ``secret`` from now on (e.g. a fresh access token)."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    # lifecycle

    async def aclose(self) -> None:
        """Close the HTTP client if this transport created it."""
        if self._owns_http:
            await self._http.aclose()

    # sending

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        error_mapper: ErrorMapper | None = None,
    ) -> Reply:
        """Send with retries; return the 2xx answer or raise an ``UpstreamError``."""
        mapper = error_mapper if error_mapper is not None else self._error_mapper
        attempt = 0
        while True:
            if self.exhausted is not None:
                raise self._quota_error(self.exhausted)
            failure: str | None = None
            request = self._http.build_request(
                method, url, params=params, headers=headers, data=data, timeout=self._timeout
            )
            shown = self.redact(str(request.url))
            await self._limiter.acquire(self.api)
            self.stats.attempts += 1
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                self.stats.transport_errors += 1
                failure = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if failure is not None:
                attempt = await self._retry_or_raise(
                    attempt, reason=failure, method=method, url=shown, status=None, code=None
                )
                continue
            self.stats.by_status[response.status_code] += 1
            limit_status = parse_rate_limit_headers(response.headers)
            if limit_status is not None:
                self.rate_limit_status = limit_status
            self.logger.debug(
                "%s %s -> %d (attempt %d)", method, shown, response.status_code, attempt + 1
            )
            if response.is_success:
                try:
                    body = json.loads(response.content)
                except ValueError:
                    self.stats.invalid_bodies += 1
                    attempt = await self._retry_or_raise(
                        attempt,
                        reason=f"invalid JSON body with HTTP {response.status_code}",
                        method=method,
                        url=shown,
                        status=response.status_code,
                        code=None,
                    )
                    continue
                return Reply(response.status_code, body, response.headers, shown)

            info = mapper(response.status_code, _json_or_none(response))
            if info.kind is QuotaExhausted:
                self.exhausted = QuotaExhausted(
                    f"{self.api}: daily quota exhausted ({info.message}); "
                    "no further requests from this client",
                    api=self.api,
                    status=response.status_code,
                    code=info.code,
                    url=shown,
                    secrets=self._secrets,
                )
                self.logger.error("%s", self.exhausted)
                raise self._quota_error(self.exhausted)
            retryable = info.retryable
            if retryable is None:
                retryable = response.status_code == 429 or response.status_code >= 500
            if not retryable:
                raise info.kind(
                    f"{self.api}: HTTP {response.status_code} from {method} {shown}: "
                    f"{info.message}",
                    api=self.api,
                    status=response.status_code,
                    code=info.code,
                    url=shown,
                    secrets=self._secrets,
                )
            attempt = await self._retry_or_raise(
                attempt,
                reason=f"HTTP {response.status_code} ({info.message})",
                method=method,
                url=shown,
                status=response.status_code,
                code=info.code,
                retry_after=self._retry_after(response),
            )

    def _quota_error(self, latched: QuotaExhausted) -> QuotaExhausted:
        return QuotaExhausted(
            latched.message,
            api=latched.api,
            status=latched.status,
            code=latched.code,
            url=latched.url,
            secrets=self._secrets,
        )

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after")
        if value is None:
            return None
        now = datetime.now(UTC)
        date_header = response.headers.get("date")
        if date_header:
            try:
                server_now = parsedate_to_datetime(date_header)
            except (TypeError, ValueError, IndexError):
                server_now = None
            if server_now is not None:
                now = server_now if server_now.tzinfo else server_now.replace(tzinfo=UTC)
        seconds = parse_retry_after(value, now=now)
        if seconds is None:
            self.logger.warning("%s: ignoring unusable Retry-After %r", self.api, value[:64])
            return None
        if seconds > self._retry_after_cap:
            self.logger.warning(
                "%s: Retry-After %g s exceeds the cap http_retry_after_cap_seconds=%g s; "
                "waiting %g s",
                self.api,
                seconds,
                self._retry_after_cap,
                self._retry_after_cap,
            )
            return self._retry_after_cap
        return seconds

    async def _retry_or_raise(
        self,
        attempt: int,
        *,
        reason: str,
        method: str,
        url: str,
        status: int | None,
        code: str | None,
        retry_after: float | None = None,
    ) -> int:
        """Sleep before the next attempt and return its number, or raise when none is left."""
        reason = self.redact(reason)
        if attempt >= self._max_retries:
            raise RetriesExhausted(
                f"{self.api}: {method} {url} failed after {attempt + 1} attempts: {reason}",
                api=self.api,
                attempts=attempt + 1,
                status=status,
                code=code,
                url=url,
                secrets=self._secrets,
            ) from None
        if retry_after is not None:
            delay = retry_after
        else:
            delay = backoff_delay(
                attempt, base=self._backoff_base, cap=self._retry_after_cap, rng=self._rng
            )
        self.stats.retries += 1
        self.stats.retry_wait_seconds += delay
        self.logger.warning(
            "%s: %s from %s %s; retry %d/%d in %.3f s",
            self.api,
            reason,
            method,
            url,
            attempt + 1,
            self._max_retries,
            delay,
        )
        await self.clock.sleep(delay)
        return attempt + 1


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None
