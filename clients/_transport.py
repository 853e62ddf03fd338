"""The transport shared by the three clients: limiter hook, retries, Retry-After, redaction, stats.

Policy is pure: ``classify`` turns what came back (an answer or a transport error) into an
``Outcome``, and ``decide`` turns an outcome, the attempt number and the time into a
``Decision`` (deliver, retry after N s, renew the credentials, give up, stop for the quota).
Both are tested as tables of rules (tests/clients/test_retry_policy.py). ``Transport.request``
only does the I/O around them: limiter, send, sleep, raise.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from clients._logging import install_http_log_redaction
from clients.clock import Clock, calendar_now, current_clock
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
    "Authenticator",
    "BodyErrorCheck",
    "Decision",
    "Deliver",
    "ErrorInfo",
    "ErrorMapper",
    "GiveUp",
    "Outcome",
    "RateLimitStatus",
    "RenewAuth",
    "Reply",
    "RequestStats",
    "Retry",
    "RetryPolicy",
    "StopForQuota",
    "Transport",
    "backoff_ceiling",
    "classify",
    "decide",
    "default_error_info",
    "join_url",
    "no_body_error",
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


def backoff_ceiling(attempt: int, *, base: float, cap: float) -> float:
    """The longest backoff before retry number ``attempt + 1``: ``min(cap, base * 2**attempt)``;
    the wait is a full-jitter share of it."""
    return min(cap, base * (2.0**attempt))


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
BodyErrorCheck = Callable[[Any], bool]


def no_body_error(body: Any) -> bool:
    """For APIs whose 2xx answers never carry an error object."""
    del body
    return False


def default_error_info(status: int, body: Any) -> ErrorInfo:
    """The generic mapping by status, for APIs without a more precise one."""
    kinds: dict[int, type[UpstreamError]] = {400: BadRequest, 401: AuthError, 404: NotFound}
    return ErrorInfo(kinds.get(status, UpstreamError), f"HTTP {status}")


# --- observability ----------------------------------------------------------------------------


@dataclass
class RequestStats:
    """What one client sent: attempts, answers per HTTP status, failures (transport errors,
    bodies that are not JSON, 2xx answers carrying an error object), retries, waits."""

    api: str
    attempts: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    invalid_bodies: int = 0
    error_bodies: int = 0
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
            "error_bodies": self.error_bodies,
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


# --- the retry decision (pure) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one request tries: ``1 + max_retries`` attempts, backoff, a Retry-After cap."""

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = DEFAULT_BACKOFF_BASE
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt brought back, reduced to what the decision reads.

    ``status`` None: no answer (a transport error, in ``failure``). ``failure`` on an answer: its
    body was not JSON. ``error``: the API's error, for a non-2xx status or a 2xx whose body is the
    API's error object. ``retry_after`` and ``server_date``: the raw headers.
    """

    status: int | None
    body: Any = None
    failure: str | None = None
    error: ErrorInfo | None = None
    retry_after: str | None = None
    server_date: str | None = None


@dataclass(frozen=True, slots=True)
class Deliver:
    """A good answer: return it."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Send again after ``delay`` seconds. ``unusable`` is a Retry-After that could not be read
    (backoff used instead)."""

    delay: float
    reason: str
    unusable: str | None = None


@dataclass(frozen=True, slots=True)
class RenewAuth:
    """The credentials were refused (401): renew them and send again, once, without waiting."""

    reason: str


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Raise ``kind``: a refusal that retrying cannot change, or retries spent (``exhausted``)."""

    kind: type[UpstreamError]
    reason: str
    exhausted: bool = False


@dataclass(frozen=True, slots=True)
class StopForQuota:
    """The API refuses us for longer than the retry policy may wait: latch the client, send
    nothing more. The daily quota is spent, a ``Retry-After`` names a wait above the cap
    (``asked`` seconds), or a 429 outlasted every retry (setlist.fm's only sign of its spent
    daily quota)."""

    reason: str
    asked: float | None = None


Decision = Deliver | Retry | RenewAuth | GiveUp | StopForQuota


def classify(
    status: int,
    content: bytes,
    *,
    mapper: ErrorMapper,
    body_error: BodyErrorCheck = no_body_error,
    retry_after: str | None = None,
    server_date: str | None = None,
) -> Outcome:
    """An answer as an ``Outcome``: its JSON body, or why it is not a usable one."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: nested beyond what Python parses
        body = None
        if 200 <= status < 300:
            failure = f"invalid JSON body with HTTP {status}"
            return Outcome(status, failure=failure, retry_after=retry_after)
    error = None
    if not 200 <= status < 300 or body_error(body):
        error = mapper(status, body)
    return Outcome(status, body=body, error=error, retry_after=retry_after, server_date=server_date)


def _waited(
    outcome: Outcome, *, attempt: int, policy: RetryPolicy, now: datetime, jitter: float
) -> tuple[float, float | None, str | None]:
    """The wait before the next attempt: Retry-After or jittered backoff; the Retry-After asked
    for when it exceeds the cap (the caller stops: it never retries before that time)."""
    backoff = jitter * backoff_ceiling(
        attempt, base=policy.backoff_base, cap=policy.retry_after_cap
    )
    if outcome.retry_after is None:
        return backoff, None, None
    when = now
    if outcome.server_date:
        try:
            server_now = parsedate_to_datetime(outcome.server_date)
        except (TypeError, ValueError, IndexError):
            server_now = None
        if server_now is not None:
            when = server_now if server_now.tzinfo else server_now.replace(tzinfo=UTC)
    seconds = parse_retry_after(outcome.retry_after, now=when)
    if seconds is None:
        return backoff, None, outcome.retry_after[:64]
    if seconds > policy.retry_after_cap:
        return seconds, seconds, None
    return seconds, None, None


def decide(
    outcome: Outcome,
    *,
    attempt: int,
    policy: RetryPolicy,
    now: datetime,
    jitter: float = 1.0,
    can_renew_auth: bool = False,
) -> Decision:
    """What to do after attempt number ``attempt`` (0-based) brought ``outcome``.

    Rules, in order: a 2xx without error is delivered; a spent quota stops; a 401 renews the
    credentials once where they can be renewed; transport errors, bodies that are not JSON, 429,
    5xx and errors the API marks transient are retried (after their Retry-After, else backoff
    with ``jitter`` in [0, 1] of ``min(cap, base * 2**attempt)``) until ``max_retries`` retries
    are spent; a Retry-After longer than the cap stops instead (never retried before the time it
    names), and so does a 429 still there when the retries are spent; anything else is given up
    at once as the API's error."""
    error = outcome.error
    if outcome.status is not None and outcome.failure is None and error is None:
        return Deliver()
    if error is not None and error.kind is QuotaExhausted:
        return StopForQuota(error.message)
    if outcome.status == 401 and can_renew_auth:
        return RenewAuth(f"HTTP 401 ({error.message if error else 'refused'})")
    if outcome.failure is not None or error is None:
        reason = outcome.failure or "no answer"
        retryable = True
    else:
        reason = f"HTTP {outcome.status} ({error.message})"
        status = outcome.status or 0
        retryable = (
            error.retryable if error.retryable is not None else status == 429 or status >= 500
        )
        if not retryable:
            return GiveUp(error.kind, error.message)
    delay, asked, unusable = _waited(
        outcome, attempt=attempt, policy=policy, now=now, jitter=jitter
    )
    if asked is not None:
        return StopForQuota(
            f"{reason}; Retry-After {asked:g} s exceeds the cap "
            f"http_retry_after_cap_seconds={policy.retry_after_cap:g} s",
            asked=asked,
        )
    if attempt >= policy.max_retries:
        if outcome.status == 429 and outcome.failure is None:
            return StopForQuota(f"{reason}; still refused after {attempt + 1} attempts")
        return GiveUp(RetriesExhausted, reason, exhausted=True)
    return Retry(delay, reason, unusable=unusable)


class Authenticator(Protocol):
    """Credentials a request can renew once when refused (Spotify's access token)."""

    async def headers(self) -> Mapping[str, str]: ...

    def refused(self, headers: Mapping[str, str]) -> None:
        """The credentials in ``headers`` were refused: the next ``headers()`` renews them."""


# --- the transport ----------------------------------------------------------------------------


class Transport:
    """Sends one logical request: limiter, attempts, the decision's waits, the quota latch."""

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
        body_error: BodyErrorCheck = no_body_error,
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
        self.clock: Clock = clock if clock is not None else current_clock()
        self._timeout = httpx.Timeout(timeout)
        self.policy = RetryPolicy(
            max_retries=max_retries, backoff_base=backoff_base, retry_after_cap=retry_after_cap
        )
        self._rng = rng if rng is not None else random.Random()
        self._secrets: list[str] = [secret for secret in secrets if secret]
        self._error_mapper = error_mapper
        self._body_error = body_error
        self.stats = RequestStats(api=api)
        self.rate_limit_status: RateLimitStatus | None = None
        self.exhausted: QuotaExhausted | None = None
        install_http_log_redaction(self._secrets)

    # secrets and redaction

    @property
    def secrets(self) -> Sequence[str]:
        return tuple(self._secrets)

    def add_secret(self, secret: str) -> None:
        """Redact ``secret`` from now on (e.g. a fresh access token)."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            install_http_log_redaction([secret])

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
        auth: Authenticator | None = None,
    ) -> Reply:
        """Send with retries; return the 2xx answer or raise an ``UpstreamError``."""
        mapper = error_mapper if error_mapper is not None else self._error_mapper
        attempt = 0
        renewed = False
        while True:
            # One turn of the event loop per request: an upstream that answers without ever
            # suspending (an in-process server such as the sandbox, a cache) would otherwise hold
            # the loop for an artist's every read, while the run's database round trips (each a
            # hop to the driver's thread and back) wait for it to let go.
            await asyncio.sleep(0)
            if self.exhausted is not None:
                raise self._quota_error(self.exhausted)
            sent_headers = dict(headers or {})
            if auth is not None:
                sent_headers.update(await auth.headers())
            request = self._http.build_request(
                method, url, params=params, headers=sent_headers, data=data, timeout=self._timeout
            )
            shown = self.redact(str(request.url))
            outcome, answer_headers = await self._attempt(
                request, mapper, method=method, shown=shown, attempt=attempt
            )
            decision = decide(
                outcome,
                attempt=attempt,
                policy=self.policy,
                now=calendar_now(),
                jitter=self._rng.uniform(0.0, 1.0),
                can_renew_auth=auth is not None and not renewed,
            )
            if isinstance(decision, Deliver):
                return Reply(outcome.status or 0, outcome.body, answer_headers, shown)
            if isinstance(decision, RenewAuth):
                self.logger.info("%s: credentials refused (401); renewing them once", self.api)
                if auth is not None:
                    auth.refused(sent_headers)
                renewed = True
                continue
            if isinstance(decision, Retry):
                await self._wait(decision, attempt=attempt, method=method, url=shown)
                attempt += 1
                continue
            if isinstance(decision, GiveUp | StopForQuota):
                raise self._failure(decision, outcome, attempt=attempt, method=method, url=shown)

    async def _attempt(
        self,
        request: httpx.Request,
        mapper: ErrorMapper,
        *,
        method: str,
        shown: str,
        attempt: int,
    ) -> tuple[Outcome, httpx.Headers]:
        """One attempt: a limiter token, the send, the answer classified (and counted)."""
        await self._limiter.acquire(self.api)
        self.stats.attempts += 1
        try:
            response = await self._http.send(request)
        except httpx.TransportError as exc:
            self.stats.transport_errors += 1
            failure = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return Outcome(None, failure=failure), httpx.Headers()
        self.stats.by_status[response.status_code] += 1
        limit_status = parse_rate_limit_headers(response.headers)
        if limit_status is not None:
            self.rate_limit_status = limit_status
        self.logger.debug(
            "%s %s -> %d (attempt %d)", method, shown, response.status_code, attempt + 1
        )
        outcome = classify(
            response.status_code,
            response.content,
            mapper=mapper,
            body_error=self._body_error,
            retry_after=response.headers.get("retry-after"),
            server_date=response.headers.get("date"),
        )
        if outcome.failure is not None:
            self.stats.invalid_bodies += 1
        if outcome.error is not None and response.is_success:
            self.stats.error_bodies += 1
        return outcome, response.headers

    async def _wait(self, decision: Retry, *, attempt: int, method: str, url: str) -> None:
        if decision.unusable is not None:
            self.logger.warning("%s: ignoring unusable Retry-After %r", self.api, decision.unusable)
        self.stats.retries += 1
        self.stats.retry_wait_seconds += decision.delay
        self.logger.warning(
            "%s: %s from %s %s; retry %d/%d in %.3f s",
            self.api,
            self.redact(decision.reason),
            method,
            url,
            attempt + 1,
            self.policy.max_retries,
            decision.delay,
        )
        await self.clock.sleep(decision.delay)

    def _failure(
        self,
        decision: GiveUp | StopForQuota,
        outcome: Outcome,
        *,
        attempt: int,
        method: str,
        url: str,
    ) -> UpstreamError:
        code = outcome.error.code if outcome.error is not None else None
        if isinstance(decision, StopForQuota):
            quota = outcome.error is not None and outcome.error.kind is QuotaExhausted
            what = "daily quota exhausted" if quota else "refused beyond the retry policy"
            self.exhausted = QuotaExhausted(
                f"{self.api}: {what} ({decision.reason}); no further requests from this client",
                api=self.api,
                status=outcome.status,
                code=code,
                url=url,
                secrets=self._secrets,
            )
            self.logger.error("%s", self.exhausted)
            return self._quota_error(self.exhausted)
        if decision.exhausted:
            return RetriesExhausted(
                f"{self.api}: {method} {url} failed after {attempt + 1} attempts: "
                f"{decision.reason}",
                api=self.api,
                attempts=attempt + 1,
                status=outcome.status,
                code=code,
                url=url,
                secrets=self._secrets,
            )
        carrying = (
            " carrying an error object"
            if outcome.error is not None
            and (outcome.status is not None and 200 <= outcome.status < 300)
            else ""
        )
        return decision.kind(
            f"{self.api}: HTTP {outcome.status}{carrying} from {method} {url}: {decision.reason}",
            api=self.api,
            status=outcome.status,
            code=code,
            url=url,
            secrets=self._secrets,
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
