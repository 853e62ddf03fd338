"""Rate-limit leases: one global send schedule per API and per-day quota counters, in our DB.

Each API's cap is a schedule of evenly spaced send slots, ``interval`` seconds apart, shared by
every worker. ``lease_slots`` hands a worker the next ``count`` consecutive slots and reserves
them from the API's quota of that UTC calendar day, in one write transaction that serialises
leasers (PostgreSQL: ``SELECT ... FOR UPDATE`` on the API's row; SQLite: ``BEGIN IMMEDIATE``).
Blocks never overlap, so the union of all workers' sends is at most one per ``interval``.
``release_slots`` gives back what a worker did not use: the unused tail of its latest block
(only while no one leased after it) and the quota of every slot it did not send.

Times are "store time": seconds since the epoch on the store's clock (PostgreSQL's
``clock_timestamp()``, so workers on several machines share one time base; on SQLite, which
lives on one machine, that machine's clock). Tests pass ``now`` to drive a fake clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import CheckConstraint, Table, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import Field, SQLModel

import models.tables  # noqa: F401  (the metadata's naming convention first)
from models.write_gate import sqlite_write_gate

__all__ = [
    "BlockPlan",
    "Lease",
    "RateQuotaDay",
    "RateSchedule",
    "Release",
    "day_of",
    "lease_slots",
    "next_midnight",
    "plan_block",
    "quota_used",
    "release_slots",
    "schedule_state",
    "write_transaction",
]

# Slots this close to a boundary count as on it (float arithmetic on epoch seconds, ~1e-7 s).
_EPSILON = 1e-6


class RateSchedule(SQLModel, table=True):
    """One row per API: where its shared send schedule goes on, and how many leases it gave."""

    __tablename__ = "rate_schedules"

    api: str = Field(primary_key=True, max_length=32)
    # Store time (epoch seconds) of the first slot no one holds yet.
    next_slot_at: float = Field(default=0.0)
    # Bumped by every lease: a release moves next_slot_at back only if no lease came after it.
    lease_seq: int = Field(default=0)


class RateQuotaDay(SQLModel, table=True):
    """Requests reserved against an API's daily quota on one UTC calendar day."""

    __tablename__ = "rate_quota_days"

    api: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    used: int = Field(default=0)

    __table_args__ = (CheckConstraint("used >= 0", name="used"),)


_schedules: Table = RateSchedule.__table__  # type: ignore[attr-defined]
_quotas: Table = RateQuotaDay.__table__  # type: ignore[attr-defined]


# --- pure schedule arithmetic -----------------------------------------------------------------


def day_of(store_time: float) -> date:
    """The UTC calendar day of a store time (the quotas reset at UTC midnight)."""
    return datetime.fromtimestamp(store_time, tz=UTC).date()


def next_midnight(day: date) -> float:
    """Store time of the UTC midnight that ends ``day``."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC).timestamp()


@dataclass(frozen=True, slots=True)
class BlockPlan:
    """Where a new block starts, the quota day it counts on, and how many slots fit that day."""

    start: float
    day: date | None
    max_count: int


def plan_block(
    *,
    next_slot_at: float,
    now: float,
    want: int,
    interval: float,
    tolerance: float,
    daily: bool,
) -> BlockPlan:
    """The next block: it starts at the schedule's end or now, whichever is later.

    With a daily quota (``daily``), every slot ``s`` of a block is sent within
    ``[s, s + tolerance]``, so the whole block must fit in one UTC day: a block whose first send
    could fall after midnight starts at midnight instead, and a block is cut where its sends
    would reach the next day. Each slot is then counted on the day it is really sent.
    """
    if want < 1:
        raise ValueError(f"want must be at least 1, got {want}")
    if interval <= 0 or tolerance < 0:
        raise ValueError(f"bad interval {interval} or tolerance {tolerance}")
    start = max(next_slot_at, now)
    if not daily:
        return BlockPlan(start=start, day=None, max_count=want)
    day = day_of(start)
    end = next_midnight(day)
    if start + tolerance >= end - _EPSILON:
        start, day = end, day + timedelta(days=1)
        end = next_midnight(day)
    # Slots i = 0, 1, ... with start + i * interval + tolerance < end.
    fit = math.ceil((end - tolerance - start) / interval - _EPSILON)
    return BlockPlan(start=start, day=day, max_count=max(1, min(want, fit)))


# --- the store --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lease:
    """A block of ``count`` slots: slot ``i`` is at store time ``start + i * interval``.

    ``count`` 0 means the day's quota is spent (``day`` says which). ``store_now`` is the store's
    time when the lease was taken, read between the local clock readings ``local_before`` and
    ``local_after`` (None without a local clock): what converts slot times to the worker's clock.
    """

    api: str
    seq: int
    start: float
    interval: float
    count: int
    day: date | None
    store_now: float
    quota_left: int | None
    local_before: float | None = None
    local_after: float | None = None

    def slot(self, index: int) -> float:
        """Store time of slot ``index``."""
        return self.start + index * self.interval

    @property
    def end(self) -> float:
        """Store time right after the block (the next block's first slot, if it follows)."""
        return self.start + self.count * self.interval


@dataclass(frozen=True, slots=True)
class Release:
    """What a worker gives back of ``lease``: slots from ``consumed`` on were never handed out
    (the tail), and ``sent`` slots were used for a request (the rest of the quota returns)."""

    lease: Lease
    consumed: int
    sent: int

    def __post_init__(self) -> None:
        if not 0 <= self.sent <= self.consumed <= self.lease.count:
            raise ValueError(
                f"release needs 0 <= sent ({self.sent}) <= consumed ({self.consumed}) "
                f"<= count ({self.lease.count})"
            )


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that takes the write lock first: leasers are serialised, never interleaved.

    SQLite's default BEGIN is deferred (two readers could both decide, then one fails to write);
    ``BEGIN IMMEDIATE`` takes the database's write lock up front and waits on the busy timeout;
    within this process it first queues on ``sqlite_write_gate`` with the other writers.
    PostgreSQL callers lock the API's row with ``FOR UPDATE`` instead.
    """
    async with sqlite_write_gate(engine), engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()


async def _store_now(
    conn: AsyncConnection,
    now: float | Callable[[], float] | None,
    local_clock: Callable[[], float] | None,
) -> tuple[float, float | None, float | None]:
    """The store's time, bracketed by two readings of the caller's local clock (if given)."""
    before = local_clock() if local_clock is not None else None
    if callable(now):
        store_now = now()
    elif now is not None:
        store_now = now
    elif conn.dialect.name == "postgresql":
        result = await conn.execute(
            text("SELECT CAST(extract(epoch FROM clock_timestamp()) AS double precision)")
        )
        store_now = float(result.scalar_one())
    else:
        store_now = time.time()
    after = local_clock() if local_clock is not None else None
    return store_now, before, after


def _insert(conn: AsyncConnection, table: Table) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def _locked_schedule(conn: AsyncConnection, api: str) -> tuple[float, int]:
    query = (
        select(_schedules.c.next_slot_at, _schedules.c.lease_seq)
        .where(_schedules.c.api == api)
        .with_for_update()
    )
    row = (await conn.execute(query)).first()
    if row is None:
        await conn.execute(
            _insert(conn, _schedules)
            .values(api=api, next_slot_at=0.0, lease_seq=0)
            .on_conflict_do_nothing()
        )
        row = (await conn.execute(query)).one()
    return float(row[0]), int(row[1])


async def _locked_quota(conn: AsyncConnection, api: str, day: date) -> int:
    query = (
        select(_quotas.c.used).where(_quotas.c.api == api, _quotas.c.day == day).with_for_update()
    )
    used = (await conn.execute(query)).scalar()
    if used is None:
        await conn.execute(
            _insert(conn, _quotas).values(api=api, day=day, used=0).on_conflict_do_nothing()
        )
        used = (await conn.execute(query)).scalar_one()
    return int(used)


async def lease_slots(
    engine: AsyncEngine,
    *,
    api: str,
    want: int,
    interval: float,
    tolerance: float,
    daily_limit: int | None,
    now: float | Callable[[], float] | None = None,
    local_clock: Callable[[], float] | None = None,
) -> Lease:
    """Lease the next ``want`` slots of ``api`` (fewer at a day's end or when the quota is short).

    One write transaction: lock the API's schedule row, plan the block (``plan_block``), reserve
    its slots from the quota of its day, move the schedule's end past the block. The store's
    clock is read once the row is locked (``now``, a time or a clock, replaces it: tests),
    between two readings of
    ``local_clock``, which place the block on the caller's clock.
    """
    async with write_transaction(engine) as conn:
        next_slot_at, seq = await _locked_schedule(conn, api)
        store_now, local_before, local_after = await _store_now(conn, now, local_clock)
        plan = plan_block(
            next_slot_at=next_slot_at,
            now=store_now,
            want=want,
            interval=interval,
            tolerance=tolerance,
            daily=daily_limit is not None,
        )
        count = plan.max_count
        quota_left: int | None = None
        if daily_limit is not None and plan.day is not None:
            used = await _locked_quota(conn, api, plan.day)
            count = min(count, max(0, daily_limit - used))
            quota_left = max(0, daily_limit - used - count)
            if count:
                await conn.execute(
                    update(_quotas)
                    .where(_quotas.c.api == api, _quotas.c.day == plan.day)
                    .values(used=_quotas.c.used + count)
                )
        if count:
            seq += 1
            await conn.execute(
                update(_schedules)
                .where(_schedules.c.api == api)
                .values(next_slot_at=plan.start + count * interval, lease_seq=seq)
            )
        return Lease(
            api=api,
            seq=seq,
            start=plan.start,
            interval=interval,
            count=count,
            day=plan.day,
            store_now=store_now,
            quota_left=quota_left,
            local_before=local_before,
            local_after=local_after,
        )


async def release_slots(engine: AsyncEngine, releases: Sequence[Release]) -> list[bool]:
    """Give back what was not used; per release, whether its tail went back to the schedule.

    The tail goes back only while the lease is still the API's latest (``lease_seq`` unchanged):
    once another worker leased after it, the schedule's end is past that worker's block and the
    tail's slots just pass unused. The quota of every slot not sent returns to its day.
    """
    returned: list[bool] = []
    if not releases:
        return returned
    async with write_transaction(engine) as conn:
        greatest = func.greatest if conn.dialect.name == "postgresql" else func.max
        for item in releases:
            lease = item.lease
            back = False
            if item.consumed < lease.count:
                result = await conn.execute(
                    update(_schedules)
                    .where(_schedules.c.api == lease.api, _schedules.c.lease_seq == lease.seq)
                    .values(next_slot_at=lease.slot(item.consumed))
                )
                back = result.rowcount == 1
            unsent = lease.count - item.sent
            if lease.day is not None and unsent > 0:
                await conn.execute(
                    update(_quotas)
                    .where(_quotas.c.api == lease.api, _quotas.c.day == lease.day)
                    .values(used=greatest(_quotas.c.used - unsent, 0))
                )
            returned.append(back)
    return returned


async def schedule_state(engine: AsyncEngine, api: str) -> tuple[float, int] | None:
    """``(next_slot_at, lease_seq)`` of ``api``'s schedule, or None before its first lease."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(_schedules.c.next_slot_at, _schedules.c.lease_seq).where(
                    _schedules.c.api == api
                )
            )
        ).first()
    return None if row is None else (float(row[0]), int(row[1]))


async def quota_used(engine: AsyncEngine, api: str, day: date) -> int:
    """Requests reserved against ``api``'s quota on ``day`` (0 when none)."""
    async with engine.connect() as conn:
        used = (
            await conn.execute(
                select(_quotas.c.used).where(_quotas.c.api == api, _quotas.c.day == day)
            )
        ).scalar()
    return 0 if used is None else int(used)
