from __future__ import annotations

import asyncio

import pytest

from clients.clock import VirtualClock
from clients.ratelimit import (
    Bucket,
    NoLimiter,
    RateLimiter,
    TokenBucketLimiter,
    rate_caps,
)
from settings import Settings


def test_rate_caps_are_the_product_caps_from_default_settings() -> None:
    assert rate_caps(Settings()) == {
        "spotify": [Bucket(180, 3.0)],
        "ticketmaster": [Bucket(5, 5), Bucket(5000, 5000 / 86400)],
        "setlistfm": [Bucket(2, 2), Bucket(1440, 1440 / 86400)],
    }


def test_rate_caps_follow_the_settings_fields() -> None:
    settings = Settings(
        spotify_requests_per_minute=60,
        ticketmaster_requests_per_second=2,
        ticketmaster_requests_per_day=100,
        setlistfm_requests_per_second=16,
        setlistfm_requests_per_day=50000,
    )
    assert rate_caps(settings) == {
        "spotify": [Bucket(60, 1.0)],
        "ticketmaster": [Bucket(2, 2), Bucket(100, 100 / 86400)],
        "setlistfm": [Bucket(16, 16), Bucket(50000, 50000 / 86400)],
    }


@pytest.mark.parametrize(
    ("capacity", "refill", "message"),
    [(0.5, 1.0, "capacity"), (5.0, 0.0, "refill_per_second")],
)
def test_bucket_rejects_caps_that_could_never_grant(
    capacity: float, refill: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Bucket(capacity, refill)


async def test_full_bucket_grants_a_burst_then_waits_for_refill() -> None:
    clock = VirtualClock()
    limiter = TokenBucketLimiter({"setlistfm": [Bucket(2, 2)]}, clock)
    await limiter.acquire("setlistfm")
    await limiter.acquire("setlistfm")
    assert clock.now() == 0.0
    await limiter.acquire("setlistfm")
    assert clock.now() == pytest.approx(0.5)
    assert clock.sleeps == [pytest.approx(0.5)]
    assert limiter.acquired["setlistfm"] == 3
    assert limiter.waited_seconds["setlistfm"] == pytest.approx(0.5)


async def test_acquire_waits_until_every_bucket_of_the_api_has_a_token() -> None:
    clock = VirtualClock()
    # 5 per second, but only 6 per minute: the seventh request waits for the minute bucket.
    limiter = TokenBucketLimiter({"ticketmaster": [Bucket(5, 5), Bucket(6, 0.1)]}, clock)
    for _ in range(6):
        await limiter.acquire("ticketmaster")
    assert clock.now() == pytest.approx(0.2)
    await limiter.acquire("ticketmaster")
    assert clock.now() == pytest.approx(10.0)


async def test_sustained_rate_never_exceeds_the_refill_rate() -> None:
    clock = VirtualClock()
    limiter = TokenBucketLimiter.from_settings(Settings(), clock=clock)
    for _ in range(180 + 300):
        await limiter.acquire("spotify")
    # 180 burst, then 300 more at 3 per second.
    assert clock.now() == pytest.approx(100.0)


async def test_concurrent_acquirers_are_spaced_by_the_refill_rate() -> None:
    clock = VirtualClock()
    limiter = TokenBucketLimiter({"setlistfm": [Bucket(1, 2)]}, clock)
    granted: list[float] = []

    async def one() -> None:
        await limiter.acquire("setlistfm")
        granted.append(clock.now())

    await asyncio.gather(*(one() for _ in range(4)))
    assert granted == pytest.approx([0.0, 0.5, 1.0, 1.5])


async def test_apis_have_independent_buckets() -> None:
    clock = VirtualClock()
    limiter = TokenBucketLimiter.from_settings(Settings(), clock=clock)
    await limiter.acquire("setlistfm")
    await limiter.acquire("setlistfm")
    await limiter.acquire("ticketmaster")
    assert clock.now() == 0.0
    assert limiter.tokens("setlistfm") == [0.0, 1438.0]
    assert limiter.tokens("ticketmaster") == [4.0, 4999.0]


async def test_unknown_api_is_refused() -> None:
    limiter = TokenBucketLimiter({"spotify": [Bucket(1, 1)]}, VirtualClock())
    with pytest.raises(ValueError, match="'lastfm'"):
        await limiter.acquire("lastfm")


async def test_no_limiter_never_waits_but_counts() -> None:
    limiter = NoLimiter()
    assert isinstance(limiter, RateLimiter)
    for _ in range(1000):
        await limiter.acquire("ticketmaster")
    assert limiter.acquired["ticketmaster"] == 1000
