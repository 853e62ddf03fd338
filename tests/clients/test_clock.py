from __future__ import annotations

import asyncio

import pytest

from clients.clock import Clock, SystemClock, VirtualClock


async def test_virtual_sleep_advances_now_instantly_and_records_it() -> None:
    clock = VirtualClock(start=100.0)
    await clock.sleep(2.5)
    await clock.sleep(-1.0)
    assert clock.now() == 102.5
    assert clock.sleeps == [2.5, 0.0]
    assert clock.slept == 2.5


def test_virtual_advance_moves_time_and_refuses_to_go_backwards() -> None:
    clock = VirtualClock()
    clock.advance(3.0)
    assert clock.now() == 3.0
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-0.1)


async def test_concurrent_virtual_sleeps_overlap_and_wake_in_time_order() -> None:
    clock = VirtualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    await asyncio.gather(sleeper("late", 10.0), sleeper("early", 1.0), sleeper("mid", 4.0))
    assert woke == [("early", 1.0), ("mid", 4.0), ("late", 10.0)]
    assert clock.now() == 10.0


async def test_cancelled_virtual_sleeper_does_not_block_the_others() -> None:
    clock = VirtualClock()
    first = asyncio.ensure_future(clock.sleep(1.0))
    second = asyncio.ensure_future(clock.sleep(5.0))
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await second
    assert clock.now() == 5.0


async def test_both_clocks_satisfy_the_protocol() -> None:
    system = SystemClock()
    assert isinstance(system, Clock)
    assert isinstance(VirtualClock(), Clock)
    before = system.now()
    await system.sleep(0)
    assert system.now() >= before


async def test_use_time_installs_one_source_of_now_for_models_clients_and_limiters() -> None:
    from datetime import UTC, datetime, timedelta

    from clients.clock import calendar_now, current_clock, use_time
    from clients.ratelimit import Bucket, TokenBucketLimiter
    from models.types import utcnow

    clock = VirtualClock()
    origin = datetime(2001, 3, 2, tzinfo=UTC)
    with use_time(clock, lambda: origin + timedelta(seconds=clock.now())):
        assert current_clock() is clock
        assert utcnow() == calendar_now() == origin
        limiter = TokenBucketLimiter({"x": [Bucket(1, 0.5)]}, current_clock())
        await limiter.acquire("x")
        await limiter.acquire("x")  # waits 2 s of virtual time, no real waiting
        assert utcnow() == origin + timedelta(seconds=2)
    assert isinstance(current_clock(), SystemClock)
    assert utcnow().year > 2001  # the wall clock again
