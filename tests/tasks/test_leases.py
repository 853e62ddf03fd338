"""Leased rate limits: one shared slot schedule per API, spent by any number of workers.

Time is a ``VirtualClock`` (the store's clock too, through ``store_time``): sends are exact
instants and nothing sleeps for real. Every store test runs on SQLite and PostgreSQL. The kill -9
test runs a real worker process against the real store clock and only waits for its first line.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from clients.clock import VirtualClock
from clients.ratelimit import Bucket, TokenBucketLimiter, rate_caps
from models.db import make_engine
from models.rate_leases import day_of, lease_slots, quota_used, schedule_state
from sandbox.limits import RateGate
from settings import Settings
from tasks.leases import (
    DailyQuotaSpent,
    LeasedRateLimiter,
    LeaseStoreUnavailable,
    api_schedules,
    held_slots,
    lateness_tolerance,
    lease_size,
    open_rate_limiter,
    to_local,
)
from tests.tasks.lease_holder import WINDOW_SECONDS

ROOT = Path(__file__).resolve().parents[2]
NOON = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2026, 3, 2, tzinfo=UTC).timestamp()
DAY = date(2026, 3, 1)
TM_INTERVAL = 1 / (0.98 * 5)
SFM_INTERVAL = 1 / (0.98 * 2)


def make_settings(url: str = "sqlite+aiosqlite:///:memory:", **overrides: Any) -> Settings:
    return Settings(_env_file=None, database_url=url, **overrides)


def limiter_on(
    engine: AsyncEngine, clock: VirtualClock, settings: Settings | None = None
) -> LeasedRateLimiter:
    return LeasedRateLimiter(
        settings if settings is not None else make_settings(),
        engine=engine,
        clock=clock,
        store_time=clock.now,
    )


async def sends(limiter: LeasedRateLimiter, clock: VirtualClock, api: str, n: int) -> list[float]:
    """``n`` requests one after the other: the instants ``acquire`` let each one go."""
    out = []
    for _ in range(n):
        await limiter.acquire(api)
        out.append(clock.now())
    return out


def refusals(times: Sequence[float], buckets: Sequence[Bucket]) -> int:
    """How many of these send instants the sandbox's own cap enforcement would refuse."""
    clock = VirtualClock(start=min(times, default=0.0))
    gate = RateGate({"api": list(buckets)}, enforced=frozenset({"api"}), clock=clock)
    refused = 0
    for at in sorted(times):
        clock.advance(at - clock.now())
        refused += gate.admit("api") is not None
    return refused


# --- pure rules -------------------------------------------------------------------------------


def test_each_cap_becomes_slots_at_pace_times_the_cap_with_one_window_held_at_most() -> None:
    schedules = api_schedules(make_settings())

    tm, sfm, spotify = schedules["ticketmaster"], schedules["setlistfm"], schedules["spotify"]
    assert [tm.interval, sfm.interval, spotify.interval] == pytest.approx(
        [TM_INTERVAL, SFM_INTERVAL, 1 / 2.94]
    )
    assert [(s.max_slots, s.daily_limit) for s in (tm, sfm, spotify)] == [
        (14, 5000),
        (5, 1440),
        (8, None),
    ]
    # Half of (C - 1) / R + interval - 1 / R; Spotify's 180-request burst is capped at the window.
    assert tm.tolerance == pytest.approx((4 / 5 + TM_INTERVAL - 1 / 5) / 2)
    assert sfm.tolerance == pytest.approx((1 / 2 + SFM_INTERVAL - 1 / 2) / 2)
    assert spotify.tolerance == 3.0


def test_a_cap_with_no_room_for_send_jitter_is_refused_naming_the_setting() -> None:
    # A cap of 1/s is a bucket of 1: at full pace a send may not be late at all.
    with pytest.raises(ValueError, match="lower RATE_LEASE_PACE"):
        api_schedules(make_settings(setlistfm_requests_per_second=1, rate_lease_pace=1.0))


def test_slots_faster_than_the_cap_are_refused() -> None:
    with pytest.raises(ValueError, match="exceed the cap"):
        lateness_tolerance(Bucket(5, 5), interval=0.19)


@pytest.mark.parametrize("api", ["ticketmaster", "setlistfm", "spotify"])
def test_sends_at_most_twice_the_tolerance_late_still_conform_to_every_cap(api: str) -> None:
    settings = make_settings()
    schedule = api_schedules(settings)[api]
    buckets = [b for b in rate_caps(settings)[api] if b.capacity / b.refill_per_second < 86400]
    slots = [i * schedule.interval for i in range(600)]
    bound = 2 * schedule.tolerance  # the other half is the allowance for the way to the API
    rng = random.Random(7)

    adversarial = [at + (bound if i % 2 == 0 else 0.0) for i, at in enumerate(slots)]
    jittered = [at + rng.uniform(0, bound) for at in slots]

    assert refusals(slots, buckets) == 0
    assert refusals(adversarial, buckets) == 0
    assert refusals(jittered, buckets) == 0


def test_sends_later_than_the_bound_can_go_over_the_cap() -> None:
    """The lateness allowance is what keeps the caps: without it bunched sends are refused."""
    schedule = api_schedules(make_settings())["ticketmaster"]
    slots = [i * schedule.interval for i in range(600)]
    # Ten slots sent 2 s late land on the next ten: 20 sends in 2 s against 5 + 2 x 5 allowed.
    late = [at + (10 * schedule.interval if i % 20 < 10 else 0.0) for i, at in enumerate(slots)]

    assert refusals(late, [Bucket(5, 5)]) > 0


def test_a_slot_is_placed_on_the_local_clock_by_the_reading_after_the_store_answered() -> None:
    assert to_local(1000.5, store_now=1000.0, local_now=20.25) == 20.75


def test_slots_less_than_one_interval_old_are_still_held() -> None:
    assert held_slots(start=10.0, interval=0.5, count=4, now=9.0) == 4
    assert held_slots(start=10.0, interval=0.5, count=4, now=10.4) == 4
    assert held_slots(start=10.0, interval=0.5, count=4, now=10.5) == 3
    assert held_slots(start=10.0, interval=0.5, count=4, now=12.0) == 0
    assert held_slots(start=10.0, interval=0.5, count=0, now=9.0) == 0


def test_a_lease_follows_demand_within_one_window() -> None:
    assert lease_size(held=0, max_slots=14, waiting=1, recent=1) == 1
    assert lease_size(held=0, max_slots=14, waiting=8, recent=3) == 8
    assert lease_size(held=4, max_slots=14, waiting=0, recent=30) == 10
    assert lease_size(held=14, max_slots=14, waiting=5, recent=30) == 0


def test_settings_refuse_a_pace_or_window_out_of_range() -> None:
    from pydantic import ValidationError

    assert (make_settings().rate_limiter, make_settings().rate_lease_pace) == ("lease", 0.98)
    for field, value in (
        ("rate_lease_pace", 0.0),
        ("rate_lease_pace", 1.01),
        ("rate_lease_window_seconds", 0.0),
        ("rate_lease_window_seconds", 61.0),
    ):
        overrides: dict[str, Any] = {field: value}
        with pytest.raises(ValidationError) as refused:
            make_settings(**overrides)
        assert [error["loc"][0] for error in refused.value.errors()] == [field]


# --- one worker -------------------------------------------------------------------------------


async def test_one_busy_worker_sends_exactly_on_the_slot_grid_at_pace_times_the_cap(
    engine: AsyncEngine,
) -> None:
    clock = VirtualClock(start=NOON)
    limiter = limiter_on(engine, clock)

    times = await sends(limiter, clock, "setlistfm", 30)
    await limiter.aclose()

    assert [at - NOON for at in times] == pytest.approx(
        [i * SFM_INTERVAL for i in range(30)], abs=1e-5
    )
    assert limiter.stats["setlistfm"]["acquired"] == 30
    # The block sizes grow with the demand; a lease every ~half window once busy.
    assert limiter.stats["setlistfm"]["leases"] < 15


async def test_a_worker_prefetches_so_it_never_waits_on_the_store_once_busy(
    engine: AsyncEngine,
) -> None:
    clock = VirtualClock(start=NOON)
    limiter = limiter_on(engine, clock)
    times = await sends(limiter, clock, "ticketmaster", 40)

    # The next block is already held while the current one runs.
    assert sum(lease.count for lease in limiter.leases("ticketmaster")) > 1
    await limiter.aclose()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([TM_INTERVAL] * 39, abs=1e-5)


async def test_slots_reached_too_late_pass_unused_and_a_new_block_starts_now(
    engine: AsyncEngine,
) -> None:
    clock = VirtualClock(start=NOON)
    limiter = limiter_on(engine, clock)
    await sends(limiter, clock, "ticketmaster", 20)
    held = sum(lease.count for lease in limiter.leases("ticketmaster"))

    clock.advance(60.0)  # a long pause: every slot still held is in the past
    resumed = clock.now()
    await limiter.acquire("ticketmaster")

    assert clock.now() == resumed
    assert limiter.stats["ticketmaster"]["passed"] > 0
    assert held > 0
    await limiter.aclose()


async def test_slots_that_would_pass_before_a_lease_arrives_are_leased_ahead_of_time(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cap far above the demand: a block's slots are all due at once and then pass together
    at the tolerance. The next block is leased while they are still usable, as early as the
    last lease took (within half the tolerance), so a request after they pass does not wait on
    a store that takes time to answer."""
    settings = make_settings(setlistfm_requests_per_second=100_000.0)
    schedule = api_schedules(settings)["setlistfm"]
    tolerance = schedule.tolerance
    clock = VirtualClock(start=NOON)
    limiter = limiter_on(engine, clock, settings)
    latency = tolerance / 4  # every lease takes this long to answer
    real_lease = lease_slots

    async def slow_lease(*args: Any, **kwargs: Any) -> Any:
        clock.advance(latency)
        return await real_lease(*args, **kwargs)

    monkeypatch.setattr("tasks.leases.lease_slots", slow_lease)
    await asyncio.gather(*(limiter.acquire("setlistfm") for _ in range(20)))
    await sends(limiter, clock, "setlistfm", 1)
    await limiter.settle()
    leases = limiter.stats["setlistfm"]["leases"]
    last = max(  # the last slot held, on the local clock
        to_local(lease.start, store_now=lease.store_now, local_now=lease.local_after or 0.0)
        + (lease.count - 1) * schedule.interval
        for lease in limiter.leases("setlistfm")
    )

    # Still usable now, no longer once a lease started now would arrive: one is started.
    clock.advance(last + tolerance - latency / 2 - clock.now())
    before = clock.now()
    await limiter.acquire("setlistfm")
    assert clock.now() == before
    await limiter.settle()
    assert limiter.stats["setlistfm"]["leases"] == leases + 1

    # Past the tolerance of the old block: the request takes a slot of the new one at once.
    clock.advance(latency)
    resumed = clock.now()
    await limiter.acquire("setlistfm")
    assert clock.now() == resumed
    assert limiter.stats["setlistfm"]["leases"] == leases + 1
    assert limiter.stats["setlistfm"]["skipped"] == 0
    await limiter.aclose()


async def test_an_unknown_api_is_refused(engine: AsyncEngine) -> None:
    limiter = LeasedRateLimiter(make_settings(), engine=engine, apis=["setlistfm"])

    with pytest.raises(ValueError, match="no rate-limit lease opened for api 'spotify'"):
        await limiter.acquire("spotify")
    with pytest.raises(ValueError, match="no rate cap configured for api 'myspace'"):
        LeasedRateLimiter(make_settings(), engine=engine, apis=["myspace"])


# --- many workers -----------------------------------------------------------------------------


async def test_concurrent_tasks_on_two_limiters_with_two_engines_never_send_closer_than_a_slot(
    engine: AsyncEngine, database_url: str
) -> None:
    clock = VirtualClock(start=NOON)
    other_engine = make_engine(database_url)
    first, second = limiter_on(engine, clock), limiter_on(other_engine, clock)
    try:
        runs = await asyncio.gather(
            *(sends(limiter, clock, "ticketmaster", 10) for limiter in (first, second) * 5)
        )
        await first.aclose()
        await second.aclose()
    finally:
        await other_engine.dispose()

    times = sorted(at for run in runs for at in run)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 100
    assert min(gaps) >= TM_INTERVAL - 1e-6  # one schedule: never two sends in one slot
    assert refusals(times, rate_caps(make_settings())["ticketmaster"]) == 0
    assert first.stats["ticketmaster"]["acquired"] == second.stats["ticketmaster"]["acquired"] == 50
    # Together they use the schedule: 100 sends in 100 slots, plus at most the window one of
    # them still held when its own demand stopped.
    assert 99 * TM_INTERVAL - 1e-6 <= times[-1] - times[0] <= (99 + 14) * TM_INTERVAL + 1e-6


# --- daily quotas -----------------------------------------------------------------------------


async def test_the_daily_quota_is_shared_never_exceeded_and_survives_a_new_limiter(
    engine: AsyncEngine,
) -> None:
    clock = VirtualClock(start=NOON)
    settings = make_settings(ticketmaster_requests_per_day=7)
    first, second = limiter_on(engine, clock, settings), limiter_on(engine, clock, settings)

    async def until_spent(limiter: LeasedRateLimiter) -> int:
        sent = 0
        try:
            while True:
                await limiter.acquire("ticketmaster")
                sent += 1
        except DailyQuotaSpent:
            return sent

    sent = await asyncio.gather(*(until_spent(lim) for lim in (first, second, first, second)))
    # A slot can pass late (skipped, never sent) when the virtual clock moves on while another
    # coroutine waits on the database, which a loaded machine makes likelier: every slot of the
    # day is leased once, and sent or skipped.
    late = first.stats["ticketmaster"]["skipped"] + second.stats["ticketmaster"]["skipped"]
    assert sum(sent) + late == 7
    await first.aclose()
    await second.aclose()

    # The quota of a slot not sent returns to the day; a new limiter spends exactly that.
    assert await quota_used(engine, "ticketmaster", DAY) == sum(sent)
    restarted = limiter_on(engine, clock, settings)
    assert await until_spent(restarted) == late
    assert await quota_used(engine, "ticketmaster", DAY) == 7
    with pytest.raises(DailyQuotaSpent, match=r"daily quota of 7 requests for 2026-03-01 \(UTC\)"):
        await restarted.acquire("ticketmaster")
    await restarted.aclose()


async def test_the_daily_quota_resets_at_utc_midnight(engine: AsyncEngine) -> None:
    clock = VirtualClock(start=MIDNIGHT - 2.0)
    settings = make_settings(setlistfm_requests_per_day=3)
    limiter = limiter_on(engine, clock, settings)

    before = await sends(limiter, clock, "setlistfm", 3)
    with pytest.raises(DailyQuotaSpent, match="2026-03-01"):
        await limiter.acquire("setlistfm")
    clock.advance(MIDNIGHT - clock.now())
    after = await sends(limiter, clock, "setlistfm", 3)
    with pytest.raises(DailyQuotaSpent, match="2026-03-02"):
        await limiter.acquire("setlistfm")
    await limiter.aclose()

    assert before == pytest.approx([MIDNIGHT - 2.0 + i * SFM_INTERVAL for i in range(3)])
    assert after == pytest.approx([MIDNIGHT + i * SFM_INTERVAL for i in range(3)])
    assert await quota_used(engine, "setlistfm", DAY) == 3
    assert await quota_used(engine, "setlistfm", DAY + timedelta(days=1)) == 3


async def test_closing_returns_the_quota_of_slots_never_sent(engine: AsyncEngine) -> None:
    clock = VirtualClock(start=NOON)
    limiter = limiter_on(engine, clock)
    await asyncio.gather(*(limiter.acquire("ticketmaster") for _ in range(6)))
    await limiter.settle()
    leased = limiter.stats["ticketmaster"]["slots"]

    await limiter.aclose()

    assert leased > 6
    assert await quota_used(engine, "ticketmaster", DAY) == 6


# --- release ----------------------------------------------------------------------------------


async def test_closing_gives_the_unused_tail_back_when_no_one_leased_after(
    engine: AsyncEngine,
) -> None:
    clock = VirtualClock(start=NOON)
    limiter = limiter_on(engine, clock)
    await asyncio.gather(*(limiter.acquire("ticketmaster") for _ in range(6)))
    await limiter.settle()
    before = await schedule_state(engine, "ticketmaster")

    await limiter.aclose()

    assert before is not None
    assert before[0] > NOON + 6 * TM_INTERVAL + 1e-6
    # Back to right after the six slots used.
    after = await schedule_state(engine, "ticketmaster")
    assert after is not None
    assert after[0] == pytest.approx(NOON + 6 * TM_INTERVAL)


async def test_closing_keeps_the_schedule_when_another_worker_leased_after(
    engine: AsyncEngine,
) -> None:
    clock = VirtualClock(start=NOON)
    mine, theirs = limiter_on(engine, clock), limiter_on(engine, clock)
    await asyncio.gather(*(mine.acquire("ticketmaster") for _ in range(6)))
    await mine.settle()
    mine_end = max(lease.end for lease in mine.leases("ticketmaster"))
    await theirs.acquire("ticketmaster")
    await theirs.settle()
    their_state = await schedule_state(engine, "ticketmaster")

    await mine.aclose()

    assert await schedule_state(engine, "ticketmaster") == their_state
    assert their_state is not None
    assert their_state[0] > mine_end
    # Mine's unsent slots still return their quota: 6 sent by mine, all of theirs reserved.
    assert (
        await quota_used(engine, "ticketmaster", DAY) == 6 + theirs.stats["ticketmaster"]["slots"]
    )
    await theirs.aclose()


# --- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:////nonexistent-folder/mysetlist.db",
        "postgresql+asyncpg://postgres@127.0.0.1:1/mysetlist",
    ],
    ids=["sqlite", "postgresql"],
)
async def test_an_unreachable_store_fails_closed_after_bounded_retries(url: str) -> None:
    clock = VirtualClock(start=NOON)
    engine = make_engine(url)
    limiter = limiter_on(engine, clock)
    acquired: list[str] = []

    async def one() -> None:
        await limiter.acquire("setlistfm")
        acquired.append("setlistfm")

    try:
        with pytest.raises(LeaseStoreUnavailable, match="after 3 attempts") as failed:
            await limiter.start()
        results = await asyncio.gather(one(), one(), return_exceptions=True)
        await limiter.aclose()
    finally:
        await engine.dispose()

    assert "no request is sent without a lease" in str(failed.value)
    assert acquired == []
    assert [type(result) for result in results] == [LeaseStoreUnavailable] * 2
    # start: 2 backoffs; the two acquires share one lease attempt: 2 more. No real sleep.
    assert clock.sleeps == [0.5, 1.0, 0.5, 1.0]


async def test_open_rate_limiter_refuses_to_start_on_an_unreachable_store() -> None:
    engine = make_engine("sqlite+aiosqlite:////nonexistent-folder/mysetlist.db")
    clock = VirtualClock()
    entered = False
    try:
        with pytest.raises(LeaseStoreUnavailable):
            async with open_rate_limiter(
                make_settings(), ["setlistfm"], engine=engine, clock=clock
            ):
                entered = True
    finally:
        await engine.dispose()
    assert entered is False


async def test_open_rate_limiter_gives_the_mode_asked_for_and_releases_at_the_end(
    engine: AsyncEngine,
) -> None:
    async with open_rate_limiter(
        make_settings(rate_limiter="local"), ["setlistfm"], engine=engine
    ) as local:
        assert isinstance(local, TokenBucketLimiter)

    async with open_rate_limiter(make_settings(), ["setlistfm"], engine=engine) as leased:
        assert isinstance(leased, LeasedRateLimiter)
        await leased.acquire("setlistfm")
        await leased.settle()
        leased_slots = leased.stats["setlistfm"]["slots"]
        held = await schedule_state(engine, "setlistfm")

    # One request sent: on the way out the rest of what it leased went back to the schedule.
    released = await schedule_state(engine, "setlistfm")
    assert held is not None
    assert released is not None
    assert leased_slots > 1
    assert released[0] == pytest.approx(held[0] - (leased_slots - 1) * SFM_INTERVAL)
    assert await quota_used(engine, "setlistfm", day_of(released[0])) == 1


async def test_a_lease_holder_killed_with_kill_9_wastes_at_most_one_window_and_its_slots_stay_its(
    engine: AsyncEngine, database_url: str
) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.tasks.lease_holder",
        database_url,
        str(NOON),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    try:
        line = await asyncio.wait_for(holder.stdout.readline(), timeout=120)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        await holder.wait()
    held = json.loads(line)
    schedule = api_schedules(make_settings(rate_lease_window_seconds=WINDOW_SECONDS))["setlistfm"]

    # It held one block of one window for its twenty waiting requests and sent one of them.
    assert holder.returncode == -signal.SIGKILL
    assert held["sent"] == 1
    assert [(block["start"], block["count"], block["seq"]) for block in held["blocks"]] == [
        (NOON, schedule.max_slots, 1)
    ]
    # Dead, it keeps the rest of that block: at most one lease window of capacity lost...
    state = await schedule_state(engine, "setlistfm")
    assert state is not None
    assert state[0] == pytest.approx(NOON + schedule.max_slots * schedule.interval)
    assert state[1] == 1
    assert schedule.max_slots * schedule.interval <= WINDOW_SECONDS
    # ...and its whole reservation stays counted against the day's quota (never over it).
    assert await quota_used(engine, "setlistfm", DAY) == schedule.max_slots

    # Another worker, a moment later, gets the slots after that block: never one of its own.
    clock = VirtualClock(start=NOON + 0.1)
    other = limiter_on(engine, clock)
    times = await sends(other, clock, "setlistfm", 3)
    await other.aclose()
    assert times == pytest.approx(
        [held["blocks"][0]["end"] + i * schedule.interval for i in range(3)], abs=1e-5
    )
