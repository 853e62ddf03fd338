"""The rate-limit hook: one ``acquire(api)`` before every upstream request attempt.

``rate_caps`` is the single derivation of the product caps from the settings: the flows lease
send slots from it (``tasks/leases.py``) and ``TokenBucketLimiter`` applies it in-process. The
sandbox enforces its own copy of the real APIs' caps (a test keeps both equal).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from clients.clock import Clock, current_clock

if TYPE_CHECKING:
    from settings import Settings

__all__ = [
    "API_NAMES",
    "SECONDS_PER_DAY",
    "Bucket",
    "NoLimiter",
    "RateLimiter",
    "TokenBucketLimiter",
    "rate_caps",
]

SPOTIFY: Final = "spotify"
TICKETMASTER: Final = "ticketmaster"
SETLISTFM: Final = "setlistfm"
API_NAMES: Final[tuple[str, ...]] = (SPOTIFY, TICKETMASTER, SETLISTFM)
SECONDS_PER_DAY: Final = 86400.0

# Tolerance for floating point refill arithmetic (a token short by this much counts as whole).
_EPSILON = 1e-9


@runtime_checkable
class RateLimiter(Protocol):
    """Waits until one more request to ``api`` is allowed."""

    async def acquire(self, api: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token bucket: ``capacity`` tokens at most, ``refill_per_second`` tokens added per second.

    Same semantics as a Prefect global concurrency limit with ``limit=capacity`` and
    ``slot_decay_per_second=refill_per_second``.
    """

    capacity: float
    refill_per_second: float

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"bucket capacity must be at least 1, got {self.capacity}")
        if self.refill_per_second <= 0:
            raise ValueError(
                f"bucket refill_per_second must be positive, got {self.refill_per_second}"
            )


def rate_caps(settings: Settings) -> dict[str, list[Bucket]]:
    """The product's rate caps per API name, derived from the settings."""
    spotify_per_minute = float(settings.spotify_requests_per_minute)
    tm_per_second = float(settings.ticketmaster_requests_per_second)
    tm_per_day = float(settings.ticketmaster_requests_per_day)
    sfm_per_second = float(settings.setlistfm_requests_per_second)
    sfm_per_day = float(settings.setlistfm_requests_per_day)
    return {
        SPOTIFY: [Bucket(spotify_per_minute, spotify_per_minute / 60.0)],
        TICKETMASTER: [
            Bucket(tm_per_second, tm_per_second),
            Bucket(tm_per_day, tm_per_day / SECONDS_PER_DAY),
        ],
        SETLISTFM: [
            Bucket(sfm_per_second, sfm_per_second),
            Bucket(sfm_per_day, sfm_per_day / SECONDS_PER_DAY),
        ],
    }


class _BucketState:
    __slots__ = ("bucket", "tokens", "updated")

    def __init__(self, bucket: Bucket, now: float) -> None:
        self.bucket = bucket
        self.tokens = bucket.capacity
        self.updated = now

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        refilled = self.tokens + elapsed * self.bucket.refill_per_second
        self.tokens = min(self.bucket.capacity, refilled)
        self.updated = now

    def wait_for_token(self) -> float:
        missing = 1.0 - self.tokens
        return 0.0 if missing <= _EPSILON else missing / self.bucket.refill_per_second


class TokenBucketLimiter:
    """In-process token buckets per API: ``acquire`` sleeps until every bucket has a token.

    Buckets start full. Waiters on one API are served first come, first served.
    ``acquired`` counts grants per API; ``waited_seconds`` sums the time spent waiting.
    """

    def __init__(self, buckets: Mapping[str, Sequence[Bucket]], clock: Clock) -> None:
        now = clock.now()
        self._clock = clock
        self._states = {
            api: [_BucketState(bucket, now) for bucket in api_buckets]
            for api, api_buckets in buckets.items()
        }
        self._locks = {api: asyncio.Lock() for api in buckets}
        self.acquired: Counter[str] = Counter()
        self.waited_seconds: dict[str, float] = dict.fromkeys(buckets, 0.0)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> TokenBucketLimiter:
        """The product caps (``rate_caps``) on ``clock`` (``current_clock()`` by default)."""
        return cls(rate_caps(settings), clock if clock is not None else current_clock())

    def tokens(self, api: str) -> list[float]:
        """Tokens currently available in each bucket of ``api`` (for tests and summaries)."""
        states = self._states_for(api)
        now = self._clock.now()
        for state in states:
            state.refill(now)
        return [state.tokens for state in states]

    async def acquire(self, api: str) -> None:
        states = self._states_for(api)
        async with self._locks[api]:
            while True:
                now = self._clock.now()
                for state in states:
                    state.refill(now)
                wait = max((state.wait_for_token() for state in states), default=0.0)
                if wait <= 0.0:
                    for state in states:
                        state.tokens -= 1.0
                    self.acquired[api] += 1
                    return
                self.waited_seconds[api] += wait
                await self._clock.sleep(wait)

    def _states_for(self, api: str) -> list[_BucketState]:
        try:
            return self._states[api]
        except KeyError:
            raise ValueError(f"no rate cap configured for api {api!r}") from None


class NoLimiter:
    """Caps lifted: ``acquire`` never waits (it still counts grants in ``acquired``)."""

    def __init__(self) -> None:
        self.acquired: Counter[str] = Counter()

    async def acquire(self, api: str) -> None:
        self.acquired[api] += 1
