"""The daily request plan's shared counters (``models/request_budget.py``) and the plan's rules
(``flows/_plan.py``): grants from what is left of the day, never above the ceiling with two
workers granting at once, settled at a run's end; the share of each run; the limiter that never
lets a run send past its grant.

Every store test runs on SQLite and PostgreSQL (``engine``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from flows._plan import BudgetedLimiter, PlanBudgetSpent, make_plan, runs_left_today, settle_plan
from models.db import make_engine
from models.request_budget import committed, grant, settle
from settings import Settings

DAY = date(2026, 3, 2)


def fixed(n: int) -> object:
    return lambda left: n


async def test_a_grant_is_the_share_asked_within_what_is_left(engine: AsyncEngine) -> None:
    first = await grant(
        engine, day=DAY, ceilings={"setlistfm": 100}, share={"setlistfm": fixed(60)}
    )
    second = await grant(
        engine, day=DAY, ceilings={"setlistfm": 100}, share={"setlistfm": fixed(60)}
    )
    third = await grant(engine, day=DAY, ceilings={"setlistfm": 100}, share={"setlistfm": fixed(5)})

    assert (first, second, third) == (
        {"setlistfm": (60, 100)},
        {"setlistfm": (40, 40)},
        {"setlistfm": (0, 0)},
    )
    assert await committed(engine, "setlistfm", DAY) == 100
    # The next day starts from nothing.
    assert await committed(engine, "setlistfm", date(2026, 3, 3)) == 0


async def test_two_workers_granting_at_once_never_pass_the_ceiling(
    engine: AsyncEngine, database_url: str
) -> None:
    other = make_engine(database_url)
    try:
        grants = await asyncio.gather(
            *(
                grant(
                    eng,
                    day=DAY,
                    ceilings={"ticketmaster": 1000, "setlistfm": 300},
                    share={"ticketmaster": fixed(70), "setlistfm": lambda left: left // 2 + 1},
                )
                for _ in range(10)
                for eng in (engine, other)
            )
        )
    finally:
        await other.dispose()

    tm = sorted(g["ticketmaster"][0] for g in grants)
    assert sum(tm) == 1000  # 14 grants of 70 and one of 20; the other 5 got nothing
    assert tm == [0] * 5 + [20] + [70] * 14
    assert sum(g["setlistfm"][0] for g in grants) == 300
    assert await committed(engine, "ticketmaster", DAY) == 1000
    assert await committed(engine, "setlistfm", DAY) == 300


async def test_settling_gives_back_the_unspent_and_counts_the_unplanned(
    engine: AsyncEngine,
) -> None:
    await grant(engine, day=DAY, ceilings={"ticketmaster": 500}, share={"ticketmaster": fixed(200)})

    await settle(engine, day=DAY, unspent={"ticketmaster": 150, "setlistfm": 0})
    assert await committed(engine, "ticketmaster", DAY) == 50
    # A run outside the plan (no grant) adds what it spent.
    await settle(engine, day=DAY, unspent={"ticketmaster": -7, "setlistfm": -3})
    assert await committed(engine, "ticketmaster", DAY) == 57
    assert await committed(engine, "setlistfm", DAY) == 3
    # Never below zero, whatever a caller gives back.
    await settle(engine, day=DAY, unspent={"setlistfm": 10})
    assert await committed(engine, "setlistfm", DAY) == 0


def test_the_runs_still_to_come_today_follow_the_deployments() -> None:
    five = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    # setlist.fm: the sync runs at 6, 8, ..., 22 (weight 1 each) and the daily master sync at 6
    # (weight 12).
    setlistfm = runs_left_today(five, "setlistfm")
    assert [(at.hour, weight) for at, weight in setlistfm] == [
        (6, 1),
        (6, 12),
        (8, 1),
        (10, 1),
        (12, 1),
        (14, 1),
        (16, 1),
        (18, 1),
        (20, 1),
        (22, 1),
    ]
    # Ticketmaster: discovery at 8, 12, 16, 20, the sync runs, the master sync (weight 3).
    ticketmaster = runs_left_today(five, "ticketmaster")
    assert sum(weight for _, weight in ticketmaster) == 4 + 9 + 3
    assert len(ticketmaster) == 14
    # The last run of the day has nothing after it: it gets everything left.
    assert runs_left_today(datetime(2026, 3, 2, 22, 0, 1, tzinfo=UTC), "setlistfm") == []
    assert runs_left_today(five, "spotify") == []


async def test_a_run_is_granted_its_weighted_share_of_what_is_left(engine: AsyncEngine) -> None:
    settings = Settings(_env_file=None)
    at_five = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # after the 4:00 sync run
    plan = await make_plan(
        engine,
        settings,
        job="autonomous-sync",
        mode="sync",
        apis=["ticketmaster", "spotify", "setlistfm"],
        now=at_five,
    )
    # setlist.fm: 90 % of 1,440 = 1,296 left; weight 1 against 21 still to come: 1296 // 22.
    assert plan.apis["setlistfm"].granted == 1296 // 22 == 58
    # Ticketmaster: 4,500 left; weight 1 against 16: 4500 // 17.
    assert plan.apis["ticketmaster"].granted == 4500 // 17 == 264
    assert set(plan.apis) == {"ticketmaster", "setlistfm"}  # Spotify is not planned
    assert plan.left("setlistfm") == 58
    assert plan.cap("setlistfm", 1000, per_item=3) == 19
    assert plan.cap("setlistfm", 10) == 10
    assert plan.lines()[0] == (
        "Request plan: setlistfm: granted 58 of 1,296 left today (plan ceiling 1,296 of the"
        " 1,440 quota; weight 1 against 21 for the 10 runs still to come today)."
    )

    # The daily master sync just after 6:00: what is left, weight 12 against the 8 sync runs to
    # come (8:00 to 22:00).
    master = await make_plan(
        engine,
        settings,
        job="master-sync",
        mode="daily",
        apis=["spotify", "ticketmaster", "setlistfm"],
        now=datetime(2026, 3, 2, 6, 0, 1, tzinfo=UTC),
    )
    assert master.apis["setlistfm"].left == 1296 - 58
    assert master.apis["setlistfm"].granted == (1296 - 58) * 12 // 20 == 742

    # Settled: the sync run spent 10 setlist.fm requests and no Ticketmaster one.
    await settle_plan(engine, plan, {"setlistfm": 10})
    assert await committed(engine, "setlistfm", DAY) == 10 + 742
    assert await committed(engine, "ticketmaster", DAY) == master.apis["ticketmaster"].granted


async def test_a_fixed_plan_or_an_unplanned_job_grants_nothing(engine: AsyncEngine) -> None:
    now = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    fixed_plan = await make_plan(
        engine,
        Settings(_env_file=None, request_plan="fixed"),
        job="autonomous-sync",
        mode="sync",
        apis=["ticketmaster"],
        now=now,
    )
    on_demand = await make_plan(
        engine,
        Settings(_env_file=None),
        job="sync-artist",
        mode=None,
        apis=["ticketmaster", "setlistfm"],
        now=now,
    )
    for plan in (fixed_plan, on_demand):
        assert plan.grants() == {}
        assert plan.left("ticketmaster") is None
        assert plan.cap("ticketmaster", 25) == 25
    assert fixed_plan.lines() == ["Request plan: fixed (each phase takes its limit)."]
    assert await committed(engine, "ticketmaster", DAY) == 0
    # What the on-demand run spent counts for the planned runs after it.
    await settle_plan(engine, on_demand, {"ticketmaster": 4, "setlistfm": 2})
    assert await committed(engine, "ticketmaster", DAY) == 4
    assert await committed(engine, "setlistfm", DAY) == 2


class _Counting:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def acquire(self, api: str) -> None:
        await asyncio.sleep(0)
        self.calls.append(api)


async def test_the_limiter_never_lets_a_run_send_past_its_grant() -> None:
    inner = _Counting()
    limiter = BudgetedLimiter(inner, {"setlistfm": 3})

    results = await asyncio.gather(
        *(limiter.acquire("setlistfm") for _ in range(5)), return_exceptions=True
    )

    refused = [r for r in results if isinstance(r, PlanBudgetSpent)]
    assert len(refused) == 2
    assert inner.calls == ["setlistfm"] * 3  # no token taken for a refused request
    assert limiter.spent["setlistfm"] == 3
    assert refused[0].api == "setlistfm"
    assert str(refused[0]) == (
        "setlistfm: this run's share of today's request plan (3 requests) is spent; the next run"
        " has its own"
    )
    # An API without a grant is not limited by the plan.
    await limiter.acquire("spotify")
    assert inner.calls[-1] == "spotify"


async def test_a_request_the_rate_limiter_refuses_is_not_counted_as_spent() -> None:
    class Refusing:
        async def acquire(self, api: str) -> None:
            raise RuntimeError("store unavailable")

    limiter = BudgetedLimiter(Refusing(), {"ticketmaster": 2})
    with pytest.raises(RuntimeError):
        await limiter.acquire("ticketmaster")
    assert limiter.spent["ticketmaster"] == 0
