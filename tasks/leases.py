"""Rate limits leased from our database: each worker spends blocks of one shared send schedule.

Every API's cap becomes a schedule of evenly spaced send slots, ``interval = 1 / (pace x cap)``
seconds apart, kept in our database (``models.rate_leases``) and shared by every worker. A worker
leases the next few consecutive slots in one short write transaction (which also reserves them
from the API's quota of that UTC day), then sends each request at its slot's time: ``acquire``
returns at the slot, immediately before the request goes out. Blocks never overlap, so all
workers together send at most one request per ``interval``, whatever their number, and a single
busy worker uses ``pace`` of the cap. Capacity follows demand: a worker leases about as many
slots as it was asked for in the last lease window, at most one window's worth at a time, and
leases its next block while half of the current one is left, so a busy worker never waits on
the store. Workers that come and go simply take the next slots; nothing is divided up front.

Failure modes, chosen to stay under every cap:

* the store unreachable: a lease is retried a bounded number of times, then ``acquire`` raises
  ``LeaseStoreUnavailable``; no request is ever sent without a leased slot (fail closed);
* a worker killed (``kill -9``) while holding slots: they pass unused (at most one lease window
  of that API's capacity) and their quota stays counted as used (never over the quota);
* a slot reached too late (a busy event loop): sending it could bunch up with the next worker's
  slots, so past ``tolerance`` it is skipped instead (``lateness_tolerance``).

On close, a worker gives back the unused tail of its latest block (if no one leased after it)
and the quota of every slot it did not send.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Final, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from clients.clock import Clock, current_clock
from clients.errors import QuotaExhausted
from clients.ratelimit import SECONDS_PER_DAY, Bucket, RateLimiter, TokenBucketLimiter, rate_caps
from models.rate_leases import (
    Lease,
    Release,
    lease_slots,
    next_midnight,
    release_slots,
    schedule_state,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from settings import Settings

__all__ = [
    "ApiSchedule",
    "DailyQuotaSpent",
    "LeaseStoreUnavailable",
    "LeasedRateLimiter",
    "api_schedules",
    "held_slots",
    "lateness_tolerance",
    "lease_size",
    "open_rate_limiter",
    "to_local",
    "use_process_limiter",
]

T = TypeVar("T")
logger = logging.getLogger("mysetlist.leases")

# A tolerance below this cannot absorb a wake-up's ordinary delay: every slot would be skipped.
MIN_TOLERANCE: Final = 0.002
# Times this close count as equal: epoch seconds in a double are exact to ~2.4e-7 s only.
TIME_EPSILON: Final = 1e-6
STORE_ATTEMPTS: Final = 3
STORE_BACKOFF_SECONDS: Final = 0.5
STORE_TIMEOUT_SECONDS: Final = 10.0


class LeaseStoreUnavailable(RuntimeError):
    """The lease store (our database) could not be reached: no request was sent without a lease."""


class DailyQuotaSpent(QuotaExhausted):
    """The API's quota for this UTC day is spent according to the shared counter."""


# --- pure rules ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiSchedule:
    """How one API's cap is leased: slot spacing, allowed lateness, block size, daily quota."""

    api: str
    interval: float
    tolerance: float
    max_slots: int
    daily_limit: int | None


def _is_daily(bucket: Bucket) -> bool:
    return bucket.capacity / bucket.refill_per_second >= SECONDS_PER_DAY * (1 - 1e-9)


def lateness_tolerance(bucket: Bucket, *, interval: float) -> float:
    """How late a slot may be sent while every worker's sends still conform to ``bucket``.

    Slots are ``interval`` apart; each send happens within ``[slot, slot + L]``. Two sends ``n``
    slots apart are then at least ``(n - 1) x interval - L`` apart, and a bucket of capacity
    ``C`` refilling at ``R`` takes ``n`` sends in a span ``d`` if ``n <= C + R x d``. The tightest
    case is ``n = 2``: ``L <= (C - 1) / R + interval - 1 / R``. Half of that is allowed here; the
    other half is left for the way from our send to the API's counter (network, server queue).
    """
    if interval * bucket.refill_per_second < 1 - 1e-9:
        raise ValueError(
            f"slots every {interval:g} s exceed the cap of {bucket.refill_per_second:g}/s"
        )
    bound = (
        (bucket.capacity - 1) / bucket.refill_per_second + interval - 1 / bucket.refill_per_second
    )
    return max(0.0, bound / 2)


def api_schedules(
    settings: Settings, *, pace: float | None = None, window: float | None = None
) -> dict[str, ApiSchedule]:
    """Every API's schedule from ``rate_caps(settings)`` (the settings' pace and window by
    default). Per-day buckets become the daily quota; the others set the pace and tolerance."""
    pace = settings.rate_lease_pace if pace is None else pace
    window = settings.rate_lease_window_seconds if window is None else window
    if not 0 < pace <= 1 or window <= 0:
        raise ValueError(f"pace must be in (0, 1] and window positive, got {pace}, {window}")
    schedules: dict[str, ApiSchedule] = {}
    for api, buckets in rate_caps(settings).items():
        daily = [bucket for bucket in buckets if _is_daily(bucket)]
        pacing = [bucket for bucket in buckets if not _is_daily(bucket)]
        if not pacing:
            raise ValueError(f"{api}: a per-second or per-minute cap is needed to pace requests")
        rate = pace * min(bucket.refill_per_second for bucket in pacing)
        interval = 1.0 / rate
        tolerance = min(lateness_tolerance(bucket, interval=interval) for bucket in pacing)
        if tolerance < MIN_TOLERANCE:
            raise ValueError(
                f"{api}: at pace {pace:g} a slot can be at most {tolerance:.4f} s late, too little "
                "to send on time; lower RATE_LEASE_PACE"
            )
        schedules[api] = ApiSchedule(
            api=api,
            interval=interval,
            tolerance=min(tolerance, window),
            max_slots=max(1, math.floor(window * rate + 1e-9)),
            daily_limit=min(int(bucket.capacity) for bucket in daily) if daily else None,
        )
    return schedules


def to_local(store_time: float, *, store_now: float, local_now: float) -> float:
    """A store time on the local monotonic clock, given a store reading and a local one.

    Pass the local time read *after* the store answered: the store's reading was taken before,
    so the slot is placed a little late, never early (late is safe, early could go over a cap).
    """
    return store_time - store_now + local_now


def held_slots(*, start: float, interval: float, count: int, now: float) -> int:
    """Slots of a block (local ``start``) held at ``now``: those less than one interval in the
    past (a request may still be on its way) or ahead. Holding at most ``n`` of them, a worker's
    schedule ends at most ``n`` intervals after ``now``: what a crash now can waste."""
    if count <= 0:
        return 0
    gone = max(0, math.floor((now - start + TIME_EPSILON) / interval))
    return max(0, count - gone)


def lease_size(*, held: int, max_slots: int, waiting: int, recent: int) -> int:
    """Slots to lease now: the demand (requests waiting, or asked for in the last window) within
    one window's worth held at a time (0: the worker already holds a window)."""
    return max(0, min(max_slots - held, max(1, waiting, recent)))


# --- the limiter -------------------------------------------------------------------------------


class _Block:
    __slots__ = ("assigned", "lease", "pending", "sent", "slack", "start")

    def __init__(self, lease: Lease, *, start: float, slack: float) -> None:
        self.lease = lease
        self.start = start  # local time of slot 0
        self.slack = slack  # how late ``start`` may already be (clock conversion uncertainty)
        self.assigned = 0  # slots handed out or passed
        self.pending = 0  # handed out, their holder still waiting for the slot's time
        self.sent = 0

    @classmethod
    def placed(cls, lease: Lease) -> _Block:
        """The lease on the local clock: placed by the later local reading (never early)."""
        if lease.local_before is None or lease.local_after is None:
            raise ValueError("a lease needs the local clock readings to be placed")
        return cls(
            lease,
            start=to_local(lease.start, store_now=lease.store_now, local_now=lease.local_after),
            slack=lease.local_after - lease.local_before,
        )

    def slot(self, index: int) -> float:
        return self.start + index * self.lease.interval

    def local(self, store_time: float) -> float:
        """A store time on the local clock, as this block was placed."""
        return self.start + store_time - self.lease.start

    def held(self, now: float) -> int:
        return held_slots(
            start=self.start, interval=self.lease.interval, count=self.lease.count, now=now
        )


class _ApiState:
    def __init__(self, schedule: ApiSchedule) -> None:
        self.schedule = schedule
        self.counts: Counter[str] = Counter()
        self.blocks: deque[_Block] = deque()
        self.done: list[_Block] = []  # finished blocks with unsent slots (quota to give back)
        self.leasing: asyncio.Task[BaseException | None] | None = None
        self.arrivals: deque[float] = deque()
        self.waiting = 0
        self.spent: DailyQuotaSpent | None = None
        self.spent_until = 0.0  # local time of the UTC midnight that ends the spent day
        self.latency = 0.0  # how long the last lease took (local clock): leases start that early

    def quota_spent(self, now: float) -> DailyQuotaSpent | None:
        """The day's quota error, until the UTC midnight that ends that day."""
        if self.spent is not None and now >= self.spent_until:
            self.spent = None
        return self.spent

    def take(self, now: float) -> tuple[_Block, float] | None:
        """The next slot still usable at ``now``; slots already too late pass unused."""
        tolerance = self.schedule.tolerance
        for block in self.blocks:
            while block.assigned < block.lease.count:
                at = block.slot(block.assigned)
                block.assigned += 1
                if now - at + block.slack <= tolerance:
                    block.pending += 1
                    return block, at
                self.counts["passed"] += 1
        return None

    def held(self, now: float) -> int:
        return sum(block.held(now) for block in self.blocks)

    def usable(self, now: float) -> int:
        """Slots not handed out yet that are still on time at ``now`` (``take`` would give
        them): the future ones, and those past by no more than the tolerance."""
        tolerance = self.schedule.tolerance
        total = 0
        for block in self.blocks:
            late = now + block.slack - tolerance - block.start  # earlier slots are too late
            first = math.ceil(late / block.lease.interval - TIME_EPSILON) if late > 0 else 0
            total += max(0, block.lease.count - max(block.assigned, first))
        return total

    def next_release(self, now: float) -> float | None:
        """When the first held slot stops being held (one interval after it)."""
        for block in self.blocks:
            index = block.lease.count - block.held(now)
            if index < block.lease.count:
                return block.slot(index + 1)
        return None

    def prune(self) -> None:
        while self.blocks and (
            self.blocks[0].assigned == self.blocks[0].lease.count and self.blocks[0].pending == 0
        ):
            block = self.blocks.popleft()
            if block.sent < block.lease.count:
                self.done.append(block)

    def note_arrival(self, now: float, window: float) -> int:
        self.arrivals.append(now)
        while self.arrivals and self.arrivals[0] < now - window:
            self.arrivals.popleft()
        return len(self.arrivals)


class LeasedRateLimiter:
    """``clients.ratelimit.RateLimiter`` spending slots leased from the shared schedule.

    One instance per flow run (one event loop). ``start`` checks the store; ``aclose`` gives
    back what is unused. ``store_time`` replaces the store's clock (tests drive a fake clock);
    ``stats`` counts per API: acquired requests, leases, slots leased, skipped (too late) and
    store calls.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        engine: AsyncEngine,
        apis: Iterable[str] | None = None,
        clock: Clock | None = None,
        store_time: Callable[[], float] | None = None,
        store_attempts: int = STORE_ATTEMPTS,
        store_backoff_seconds: float = STORE_BACKOFF_SECONDS,
        store_timeout_seconds: float = STORE_TIMEOUT_SECONDS,
    ) -> None:
        if store_attempts < 1:
            raise ValueError("store_attempts must be at least 1")
        schedules = api_schedules(settings)
        wanted = list(schedules) if apis is None else list(dict.fromkeys(apis))
        unknown = [api for api in wanted if api not in schedules]
        if unknown:
            raise ValueError(f"no rate cap configured for api {', '.join(map(repr, unknown))}")
        self._engine = engine
        self._window = settings.rate_lease_window_seconds
        self._clock: Clock = clock if clock is not None else current_clock()
        self._store_time = store_time
        self._attempts = store_attempts
        self._backoff = store_backoff_seconds
        self._timeout = store_timeout_seconds
        self._states = {api: _ApiState(schedules[api]) for api in wanted}
        self._closed = False
        self.stats: dict[str, Counter[str]] = {
            api: state.counts for api, state in self._states.items()
        }

    def schedule(self, api: str) -> ApiSchedule:
        return self._state(api).schedule

    def leases(self, api: str) -> list[Lease]:
        """The blocks this worker holds now for ``api``, oldest first."""
        return [block.lease for block in self._state(api).blocks]

    async def settle(self) -> None:
        """Wait for the leases under way (tests, and before reading ``leases``)."""
        for state in self._states.values():
            if state.leasing is not None:
                await asyncio.shield(state.leasing)

    async def start(self) -> None:
        """Check that the store answers (before any work): ``LeaseStoreUnavailable`` if not."""
        for api in self._states:
            await self._store(api, partial(schedule_state, self._engine, api))

    async def acquire(self, api: str) -> None:
        state = self._state(api)
        self._check_open()
        state.note_arrival(self._clock.now(), self._window)
        state.waiting += 1
        try:
            while True:
                now = self._clock.now()
                taken = state.take(now)
                if taken is None:
                    await self._wait_for_slots(state, now)
                    continue
                block, at = taken
                state.waiting -= 1
                try:
                    self._ensure_supply(state, now)
                    if at > now:
                        await self._clock.sleep(at - now)
                finally:
                    block.pending -= 1
                    state.waiting += 1
                self._check_open()
                if self._clock.now() - at + block.slack > state.schedule.tolerance:
                    self.stats[api]["skipped"] += 1
                    continue
                block.sent += 1
                self.stats[api]["acquired"] += 1
                state.prune()
                return
        finally:
            state.waiting -= 1

    async def aclose(self) -> None:
        """Give back the unused tail of each API's latest block and the quota of unsent slots.

        Failing to reach the store here only wastes those slots (logged), it never raises.
        """
        if self._closed:
            return
        self._closed = True
        releases: list[Release] = []
        for state in self._states.values():
            if state.leasing is not None:
                await asyncio.shield(state.leasing)
            for block in [*state.done, *state.blocks]:
                if block.sent < block.lease.count:
                    releases.append(Release(block.lease, consumed=block.assigned, sent=block.sent))
        if not releases:
            return
        api = releases[0].lease.api
        try:
            await self._store(api, lambda: release_slots(self._engine, releases))
        except LeaseStoreUnavailable as exc:
            logger.warning("rate-limit leases not given back (their slots pass unused): %s", exc)

    # internals

    def _state(self, api: str) -> _ApiState:
        try:
            return self._states[api]
        except KeyError:
            raise ValueError(f"no rate-limit lease opened for api {api!r}") from None

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the rate limiter is closed")

    async def _wait_for_slots(self, state: _ApiState, now: float) -> None:
        """No slot at hand: lease (or join the lease under way), or wait until room to lease."""
        self._check_open()
        spent = state.quota_spent(now)
        if spent is not None:
            raise spent
        self._ensure_supply(state, now)
        if state.leasing is not None:
            error = await asyncio.shield(state.leasing)
            if error is not None:
                raise error
            return
        wake = state.next_release(now)
        await self._clock.sleep((wake if wake is not None else now) - now)

    def _ensure_supply(self, state: _ApiState, now: float) -> None:
        """Lease once at most half a window is held: for requests waiting, or ahead of time while
        slots are being used (prefetch, so a busy worker never waits on the store). Holding
        more, waiters wait for held slots to pass: blocks stay large, store calls few. Slots
        whose time has passed are no longer held but may still be sent (within the tolerance):
        while they last, the next block is leased once they are down to half the requests of
        the last window (a cap far above the demand leases blocks whose slots all pass at once;
        waiting for them to run out put every lease, and any wait for the store, on the
        requests' path)."""
        if state.leasing is not None or state.quota_spent(now) is not None or self._closed:
            return
        held = state.held(now)
        if held > state.schedule.max_slots // 2:
            return
        # Counted as they will be once a lease started now has arrived (the last one's time,
        # within half the tolerance): slots that will be too late by then are not counted, so
        # the next block comes before the requests run out, not after.
        ahead = min(state.latency, state.schedule.tolerance / 2)
        if held == 0 and state.waiting == 0 and 2 * state.usable(now + ahead) > len(state.arrivals):
            return
        state.leasing = asyncio.create_task(self._lease(state))

    async def _lease(self, state: _ApiState) -> BaseException | None:
        """Lease a block. Sized when the task runs, not when it was started: the requests of a
        burst that arrived meanwhile (``gather``) are all counted in one block."""
        schedule = state.schedule
        now = self._clock.now()
        want = lease_size(
            held=state.held(now),
            max_slots=schedule.max_slots,
            waiting=state.waiting,
            recent=sum(1 for at in state.arrivals if at >= now - self._window),
        )
        if want == 0:
            state.leasing = None
            return None
        started = now
        try:
            lease = await self._store(
                schedule.api,
                partial(
                    lease_slots,
                    self._engine,
                    api=schedule.api,
                    want=want,
                    interval=schedule.interval,
                    tolerance=schedule.tolerance,
                    daily_limit=schedule.daily_limit,
                    now=self._store_time,
                    local_clock=self._clock.now,
                ),
            )
        except LeaseStoreUnavailable as exc:
            return exc
        finally:
            state.leasing = None
        state.latency = max(0.0, self._clock.now() - started)
        if lease.count == 0 and lease.day is not None:
            state.spent = DailyQuotaSpent(
                f"{schedule.api}: the daily quota of {schedule.daily_limit} requests for "
                f"{lease.day} (UTC) is spent (shared lease counter); no further requests today",
                api=schedule.api,
                code="daily_quota",
            )
            state.spent_until = _Block.placed(lease).local(next_midnight(lease.day))
            logger.error("%s", state.spent)
            return state.spent
        stats = self.stats[schedule.api]
        stats["leases"] += 1
        stats["slots"] += lease.count
        state.blocks.append(_Block.placed(lease))
        return None

    async def _store(self, api: str, call: Callable[[], Awaitable[T]]) -> T:
        """One store call with bounded retries: ``LeaseStoreUnavailable`` when all fail."""
        last: BaseException | None = None
        for attempt in range(self._attempts):
            self.stats[api]["store_calls"] += 1
            try:
                async with asyncio.timeout(self._timeout):
                    return await call()
            except (SQLAlchemyError, OSError, TimeoutError) as exc:
                last = exc
                logger.warning(
                    "rate-limit lease store call failed (attempt %d of %d): %s",
                    attempt + 1,
                    self._attempts,
                    _first_line(exc),
                )
                if attempt + 1 < self._attempts:
                    await self._clock.sleep(self._backoff * 2**attempt)
        assert last is not None
        raise LeaseStoreUnavailable(
            f"rate-limit lease store unreachable for {api} after {self._attempts} attempts "
            f"({type(last).__name__}: {_first_line(last)}); no request is sent without a lease"
        ) from last


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


#: Limiters installed by ``use_process_limiter``, innermost last.
_process_limiters: list[RateLimiter] = []


@contextmanager
def use_process_limiter(limiter: RateLimiter) -> Iterator[None]:
    """Within the block, every run with ``RATE_LIMITER=local`` takes ``limiter`` instead of fresh
    buckets of its own: one process's buckets shared by the runs it makes one after another
    (``mysetlist simulate``), so a run never starts with a full burst its predecessor spent."""
    _process_limiters.append(limiter)
    try:
        yield
    finally:
        _process_limiters.remove(limiter)


@asynccontextmanager
async def open_rate_limiter(
    settings: Settings,
    apis: Sequence[str],
    *,
    engine: AsyncEngine,
    clock: Clock | None = None,
) -> AsyncIterator[RateLimiter]:
    """The run's rate limiter for ``apis``, closed (its unused leases given back) at the end.

    ``RATE_LIMITER=lease`` (the default): a ``LeasedRateLimiter`` on ``engine`` (our database),
    checked before the block starts (``LeaseStoreUnavailable`` when it does not answer);
    ``local``: in-process token buckets (one process only: tests and benchmarks).
    """
    if settings.rate_limiter == "local":
        if _process_limiters:
            yield _process_limiters[-1]
            return
        yield TokenBucketLimiter.from_settings(settings, clock=clock)
        return
    limiter = LeasedRateLimiter(settings, engine=engine, apis=apis, clock=clock)
    await limiter.start()
    try:
        yield limiter
    finally:
        await limiter.aclose()
