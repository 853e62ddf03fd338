"""The sandbox's side of the rate caps: token buckets that refuse instead of waiting, and
quotas counted per calendar day.

The buckets (per-second and per-minute caps) follow the token-bucket arithmetic of
``clients.ratelimit.TokenBucketLimiter`` (start full, refill continuously, one token from every
bucket of the API, the same floating point tolerance), so a client pacing itself by the real
caps is never refused. Daily quotas are ``CalendarQuota`` counters: what a calendar day allows,
reset at midnight, never refilled during the day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from clients.clock import Clock
from clients.ratelimit import Bucket

__all__ = ["CalendarQuota", "DailyQuota", "RateGate", "Refusal", "horizon_label"]

_EPSILON: Final = 1e-9
SECONDS_PER_DAY: Final = 86400.0


def horizon_label(bucket: Bucket) -> str:
    """What a bucket caps, from how long it takes to refill: per second, minute, hour or day."""
    horizon = bucket.capacity / bucket.refill_per_second
    if horizon <= 5:
        return "per_second"
    if horizon <= 300:
        return "per_minute"
    if horizon <= 6 * 3600:
        return "per_hour"
    return "per_day"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused by a cap: which one, and how long until every bucket has a token."""

    api: str
    reason: str
    retry_after: float

    @property
    def quota(self) -> bool:
        """True when a daily bucket is the one that is empty."""
        return self.reason == "per_day"

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, rounded up, at least 1."""
        return str(max(1, math.ceil(self.retry_after - _EPSILON)))


@dataclass(frozen=True, slots=True)
class DailyQuota:
    """An API's quota for today, as Ticketmaster reports it in its headers."""

    limit: int
    available: int


class CalendarQuota:
    """Requests per calendar day: ``limit`` a day, counted by the day they were admitted on."""

    __slots__ = ("_counts", "enforced", "limit")

    def __init__(self, limit: int, *, enforced: bool) -> None:
        if limit < 1:
            raise ValueError(f"a daily quota must be at least 1, got {limit}")
        self.limit = limit
        self.enforced = enforced
        self._counts: dict[date, int] = {}

    def used(self, day: date) -> int:
        return self._counts.get(day, 0)

    def spent(self, day: date) -> bool:
        """True when an enforced quota has nothing left on ``day``."""
        return self.enforced and self.used(day) >= self.limit

    def count(self, day: date) -> None:
        self._counts[day] = self.used(day) + 1

    def today(self, day: date) -> DailyQuota:
        return DailyQuota(limit=self.limit, available=max(0, self.limit - self.used(day)))


class _State:
    __slots__ = ("bucket", "tokens", "updated")

    def __init__(self, bucket: Bucket, now: float) -> None:
        self.bucket = bucket
        self.tokens = bucket.capacity
        self.updated = now

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(
            self.bucket.capacity, self.tokens + elapsed * self.bucket.refill_per_second
        )
        self.updated = now

    def wait(self) -> float:
        missing = 1.0 - self.tokens
        return 0.0 if missing <= _EPSILON else missing / self.bucket.refill_per_second


class RateGate:
    """Per-API buckets on ``clock``; APIs in ``enforced`` are refused when a bucket is empty.

    Buckets of APIs not enforced still count (for Ticketmaster's quota headers) but never refuse.
    """

    def __init__(
        self,
        buckets: Mapping[str, Sequence[Bucket]],
        *,
        enforced: frozenset[str],
        clock: Clock,
    ) -> None:
        now = clock.now()
        self._clock = clock
        self._states = {api: [_State(b, now) for b in group] for api, group in buckets.items()}
        self._enforced = enforced

    def enforced(self, api: str) -> bool:
        return api in self._enforced and bool(self._states.get(api))

    def admit(self, api: str) -> Refusal | None:
        """Take a token from every bucket of ``api``, or refuse (taking none)."""
        states = self._states.get(api)
        if not states:
            return None
        now = self._clock.now()
        for state in states:
            state.refill(now)
        if api in self._enforced:
            waits = [(state.wait(), state) for state in states]
            longest, limiting = max(waits, key=lambda pair: pair[0])
            if longest > 0.0:
                empty = [state for wait, state in waits if wait > 0.0]
                daily = [s for s in empty if horizon_label(s.bucket) == "per_day"]
                reason = horizon_label((daily or [limiting])[0].bucket)
                return Refusal(api=api, reason=reason, retry_after=longest)
        floor = float("-inf") if api in self._enforced else 0.0
        for state in states:
            state.tokens = max(floor, state.tokens - 1.0)
        return None

    def tokens(self, api: str) -> list[float]:
        """Tokens now in each bucket of ``api`` (for tests)."""
        states = self._states.get(api, [])
        now = self._clock.now()
        for state in states:
            state.refill(now)
        return [state.tokens for state in states]
