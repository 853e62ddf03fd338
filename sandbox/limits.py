"""The sandbox's side of the rate caps: token buckets that refuse instead of waiting.

Same semantics as ``clients.ratelimit.TokenBucketLimiter`` (buckets start full, refill
continuously, a request takes one token from every bucket of its API, the same floating point
tolerance), so a client that waits for its own buckets is never refused here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from clients.clock import Clock
from clients.ratelimit import Bucket

__all__ = ["DailyQuota", "RateGate", "Refusal", "horizon_label"]

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
    """The longest-horizon bucket of an API, as Ticketmaster reports it in its headers."""

    limit: int
    available: int
    full_in_seconds: float


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

    def daily_quota(self, api: str) -> DailyQuota | None:
        """The API's longest-horizon bucket: limit, whole tokens left, seconds until full."""
        states = self._states.get(api)
        if not states:
            return None
        state = max(states, key=lambda s: s.bucket.capacity / s.bucket.refill_per_second)
        state.refill(self._clock.now())
        missing = state.bucket.capacity - state.tokens
        return DailyQuota(
            limit=int(state.bucket.capacity),
            available=max(0, math.floor(state.tokens + _EPSILON)),
            full_in_seconds=max(0.0, missing / state.bucket.refill_per_second),
        )
