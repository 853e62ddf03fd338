"""The lease store: disjoint blocks of one shared slot schedule, per-day quotas, releases.

Every store test runs on SQLite and PostgreSQL (``engine``); store time is passed explicitly
(``now=``), so nothing here depends on the real clock.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import make_engine
from models.rate_leases import (
    Lease,
    Release,
    day_of,
    lease_slots,
    next_midnight,
    plan_block,
    quota_used,
    release_slots,
    schedule_state,
)

INTERVAL = 0.25
DAY = date(2026, 3, 1)
NOON = datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp()
MIDNIGHT = datetime(2026, 3, 2, tzinfo=UTC).timestamp()


def slots_of(lease: Lease) -> list[float]:
    return [lease.slot(i) for i in range(lease.count)]


async def take(
    engine: AsyncEngine,
    want: int,
    *,
    now: float = NOON,
    api: str = "ticketmaster",
    daily_limit: int | None = None,
    tolerance: float = 0.1,
) -> Lease:
    return await lease_slots(
        engine,
        api=api,
        want=want,
        interval=INTERVAL,
        tolerance=tolerance,
        daily_limit=daily_limit,
        now=now,
    )


# --- pure rules -------------------------------------------------------------------------------


def test_a_block_starts_at_the_schedule_end_or_now_whichever_is_later() -> None:
    ahead = plan_block(
        next_slot_at=NOON + 3, now=NOON, want=4, interval=INTERVAL, tolerance=0.1, daily=False
    )
    idle = plan_block(
        next_slot_at=NOON - 3, now=NOON, want=4, interval=INTERVAL, tolerance=0.1, daily=False
    )

    assert (ahead.start, ahead.day, ahead.max_count) == (NOON + 3, None, 4)
    assert (idle.start, idle.day, idle.max_count) == (NOON, None, 4)


def test_a_block_with_a_daily_quota_is_cut_where_its_sends_would_reach_the_next_day() -> None:
    # Slots at -1.0, -0.75, -0.5, -0.25 s before midnight; sent up to 0.1 s late: all four fit,
    # and a fifth at midnight itself would not.
    plan = plan_block(
        next_slot_at=MIDNIGHT - 1.0, now=NOON, want=10, interval=INTERVAL, tolerance=0.1, daily=True
    )

    assert (plan.start, plan.day, plan.max_count) == (MIDNIGHT - 1.0, DAY, 4)


def test_a_slot_that_could_be_sent_after_midnight_moves_the_block_to_the_next_day() -> None:
    plan = plan_block(
        next_slot_at=MIDNIGHT - 0.05, now=NOON, want=3, interval=INTERVAL, tolerance=0.1, daily=True
    )

    assert (plan.start, plan.day, plan.max_count) == (MIDNIGHT, date(2026, 3, 2), 3)


def test_the_quota_day_is_the_utc_calendar_day() -> None:
    assert day_of(MIDNIGHT - 0.001) == DAY
    assert day_of(MIDNIGHT) == date(2026, 3, 2)
    assert next_midnight(DAY) == MIDNIGHT


def test_a_plan_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="want must be at least 1"):
        plan_block(next_slot_at=0, now=0, want=0, interval=1, tolerance=0, daily=False)
    with pytest.raises(ValueError, match="bad interval"):
        plan_block(next_slot_at=0, now=0, want=1, interval=0, tolerance=0, daily=False)


def test_a_release_cannot_send_more_than_it_consumed() -> None:
    lease = Lease("ticketmaster", 1, NOON, INTERVAL, 4, None, NOON, None)

    with pytest.raises(ValueError, match="sent \\(3\\) <= consumed \\(2\\)"):
        Release(lease, consumed=2, sent=3)


# --- the store ----------------------------------------------------------------------------------


async def test_consecutive_leases_are_contiguous_blocks_of_one_schedule(
    engine: AsyncEngine,
) -> None:
    first = await take(engine, 4)
    second = await take(engine, 3, now=NOON + 0.1)

    assert (first.start, first.count, first.seq) == (NOON, 4, 1)
    assert (second.start, second.count, second.seq) == (NOON + 1.0, 3, 2)
    assert await schedule_state(engine, "ticketmaster") == (NOON + 1.75, 2)
    assert await schedule_state(engine, "setlistfm") is None


async def test_after_an_idle_gap_the_next_block_starts_now_not_in_the_past(
    engine: AsyncEngine,
) -> None:
    await take(engine, 2)

    later = await take(engine, 2, now=NOON + 60)

    assert later.start == NOON + 60


async def test_each_api_has_its_own_schedule(engine: AsyncEngine) -> None:
    tm = await take(engine, 4)
    sfm = await take(engine, 4, api="setlistfm")

    assert tm.start == sfm.start == NOON


async def test_concurrent_leasers_on_one_engine_never_get_overlapping_slots(
    engine: AsyncEngine,
) -> None:
    leases = await asyncio.gather(*(take(engine, 1 + i % 4) for i in range(24)))

    slots = sorted(slot for lease in leases for slot in slots_of(lease))
    assert len(slots) == sum(1 + i % 4 for i in range(24)) == 60
    # One schedule, no slot twice, no gap: exactly NOON, NOON + 0.25, ...
    assert slots == [NOON + i * INTERVAL for i in range(60)]
    assert sorted(lease.seq for lease in leases) == list(range(1, 25))


async def test_two_engines_on_the_same_database_never_get_overlapping_slots(
    engine: AsyncEngine, database_url: str
) -> None:
    other = make_engine(database_url)
    try:
        leases = await asyncio.gather(*(take(eng, 3) for _ in range(10) for eng in (engine, other)))
    finally:
        await other.dispose()

    slots = sorted(slot for lease in leases for slot in slots_of(lease))
    assert slots == [NOON + i * INTERVAL for i in range(60)]


async def test_the_daily_quota_is_never_exceeded_by_concurrent_leasers(
    engine: AsyncEngine,
) -> None:
    leases = await asyncio.gather(*(take(engine, 4, daily_limit=25) for _ in range(10)))

    counts = sorted(lease.count for lease in leases)
    assert sum(counts) == 25
    assert counts[:3] == [0, 0, 0]  # 6 full blocks + one of 1: the other three got nothing
    assert await quota_used(engine, "ticketmaster", DAY) == 25
    assert min(lease.quota_left for lease in leases if lease.quota_left is not None) == 0


async def test_a_lease_refused_for_quota_does_not_move_the_schedule(
    engine: AsyncEngine,
) -> None:
    await take(engine, 2, daily_limit=2)

    refused = await take(engine, 2, daily_limit=2)

    assert (refused.count, refused.quota_left, refused.seq) == (0, 0, 1)
    assert await schedule_state(engine, "ticketmaster") == (NOON + 0.5, 1)


async def test_the_quota_resets_at_utc_midnight_and_a_block_never_spans_two_days(
    engine: AsyncEngine,
) -> None:
    before = await take(engine, 10, now=MIDNIGHT - 1.0, daily_limit=5)
    spent = await take(engine, 10, now=MIDNIGHT - 0.5, daily_limit=5)
    after = await take(engine, 10, now=MIDNIGHT + 0.2, daily_limit=5)

    assert (before.day, before.count, before.quota_left) == (DAY, 4, 1)
    assert (spent.day, spent.count) == (date(2026, 3, 2), 5)  # ahead of time: tomorrow's quota
    assert spent.start == MIDNIGHT
    assert (after.day, after.count, after.quota_left) == (date(2026, 3, 2), 0, 0)
    assert await quota_used(engine, "ticketmaster", DAY) == 4
    assert await quota_used(engine, "ticketmaster", date(2026, 3, 2)) == 5


async def test_a_release_gives_back_the_tail_only_while_no_one_leased_after(
    engine: AsyncEngine,
) -> None:
    mine = await take(engine, 8, daily_limit=100)

    assert await release_slots(engine, [Release(mine, consumed=3, sent=2)]) == [True]
    assert await schedule_state(engine, "ticketmaster") == (NOON + 0.75, 1)
    assert await quota_used(engine, "ticketmaster", DAY) == 2  # 8 reserved, 6 unsent returned

    again = await take(engine, 4, daily_limit=100)
    theirs = await take(engine, 4, daily_limit=100)
    assert again.start == NOON + 0.75  # the tail was handed out again

    assert await release_slots(engine, [Release(again, consumed=1, sent=1)]) == [False]
    assert await schedule_state(engine, "ticketmaster") == (theirs.end, 3)
    assert await quota_used(engine, "ticketmaster", DAY) == 2 + 1 + 4


async def test_releasing_a_fully_used_block_changes_nothing(engine: AsyncEngine) -> None:
    mine = await take(engine, 4, daily_limit=10)

    assert await release_slots(engine, [Release(mine, consumed=4, sent=4)]) == [False]
    assert await release_slots(engine, []) == []
    assert await schedule_state(engine, "ticketmaster") == (NOON + 1.0, 1)
    assert await quota_used(engine, "ticketmaster", DAY) == 4


async def test_without_a_given_time_the_store_clock_is_used(engine: AsyncEngine) -> None:
    wall = datetime.now(UTC).timestamp()

    lease = await lease_slots(
        engine, api="spotify", want=1, interval=1.0, tolerance=0.0, daily_limit=None
    )

    assert lease.start == lease.store_now
    assert abs(lease.store_now - wall) < 60  # the database's clock, not a fake one
