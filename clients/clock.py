"""Time: a real monotonic clock and a virtual one, and the process's one source of "now".

Everything that reads the current instant (``models.types.utcnow``: flows, tasks, models, the
monitor, the CLI) and every client or limiter built without an explicit clock reads it here:
``current_clock()`` for monotonic time and sleeping, ``calendar_now()`` for the UTC instant.
Production reads the real clocks. A simulation installs a virtual clock and a calendar derived
from it with ``use_time`` (``cli/simulate.py``): sleeping then moves virtual time instead of
waiting, and the flows' calendar and the sandbox's move together.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

__all__ = [
    "Clock",
    "SystemClock",
    "VirtualClock",
    "calendar_now",
    "current_clock",
    "use_time",
]


@runtime_checkable
class Clock(Protocol):
    """Monotonic seconds and an awaitable sleep."""

    def now(self) -> float:
        """Monotonic time in seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (negative means zero)."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """A clock that only moves when told; ``sleep`` jumps time forward without real waiting.

    Sleepers waiting at the same moment wake in order of their wake-up time (ties: first come,
    first served), and each wake-up moves ``now`` to ``max(now, wake time)``, so parallel waits
    overlap instead of adding up, as in real time. A sleeper does not wait for tasks that are busy
    but not sleeping on this clock. Every requested sleep is recorded in ``sleeps``.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._sequence = itertools.count()
        self._waiting: list[tuple[float, int]] = []
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, float(seconds))
        self.sleeps.append(seconds)
        entry = (self._now + seconds, next(self._sequence))
        heapq.heappush(self._waiting, entry)
        try:
            await asyncio.sleep(0)
            # Let earlier wake-ups go first; an Event would need a scheduler to set it.
            while self._waiting[0] != entry:  # noqa: ASYNC110
                await asyncio.sleep(0)
        finally:
            self._waiting.remove(entry)
            heapq.heapify(self._waiting)
        self._now = max(self._now, entry[0])

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (must not be negative)."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += float(seconds)

    @property
    def slept(self) -> float:
        """Total seconds requested through ``sleep``."""
        return sum(self.sleeps)


def _wall_calendar() -> datetime:
    return datetime.now(UTC)


_SYSTEM_CLOCK = SystemClock()
#: The installed (clock, calendar) pairs, innermost last; empty: the real ones.
_installed: list[tuple[Clock, Callable[[], datetime]]] = []


def current_clock() -> Clock:
    """The process's monotonic clock: the real one unless ``use_time`` installed another."""
    return _installed[-1][0] if _installed else _SYSTEM_CLOCK


def calendar_now() -> datetime:
    """The process's current instant, UTC-aware: the wall clock unless ``use_time`` installed
    another calendar."""
    return _installed[-1][1]() if _installed else _wall_calendar()


@contextmanager
def use_time(clock: Clock, calendar: Callable[[], datetime]) -> Iterator[None]:
    """Within the block, ``current_clock()`` is ``clock`` and ``calendar_now()`` reads
    ``calendar`` (which must return UTC-aware instants). Process-wide, not per task: one
    simulation at a time."""
    pair = (clock, calendar)
    _installed.append(pair)
    try:
        yield
    finally:
        _installed.remove(pair)
