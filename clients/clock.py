"""Time for the clients: a real monotonic clock and a virtual one for tests and the sandbox."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock", "VirtualClock"]


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
