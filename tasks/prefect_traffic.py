"""Counts this process's traffic to the Prefect server: API requests and events.

Prefect must stay off the per-request path; this is how a run proves it. ``install()`` wraps
``PrefectHttpxAsyncClient.send`` (every REST call of every Prefect client) and
``EventsWorker.send`` (every event: task-run states travel as events in Prefect 3) with a
counter, once per process. ``snapshot()`` reads the totals; a run reports the difference
between its start and its end (``flows/_runs.py``). Counts are per process, so concurrent runs
in one process see each other's traffic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

__all__ = ["PrefectTraffic", "install", "snapshot"]


@dataclass(frozen=True, slots=True)
class PrefectTraffic:
    requests: int = 0
    events: int = 0

    @property
    def calls(self) -> int:
        return self.requests + self.events

    def __sub__(self, other: PrefectTraffic) -> PrefectTraffic:
        return PrefectTraffic(self.requests - other.requests, self.events - other.events)


_counts = {"requests": 0, "events": 0}
_installed = False


def install() -> None:
    """Start counting (idempotent)."""
    global _installed
    if _installed:
        return
    from prefect.client.base import PrefectHttpxAsyncClient
    from prefect.events.worker import EventsWorker

    send_request = PrefectHttpxAsyncClient.send
    send_event = EventsWorker.send

    @functools.wraps(send_request)
    async def counted_request(self: Any, *args: Any, **kwargs: Any) -> Any:
        _counts["requests"] += 1
        return await send_request(self, *args, **kwargs)

    @functools.wraps(send_event)
    def counted_event(self: Any, *args: Any, **kwargs: Any) -> Any:
        _counts["events"] += 1
        return send_event(self, *args, **kwargs)

    PrefectHttpxAsyncClient.send = counted_request  # type: ignore[method-assign]
    EventsWorker.send = counted_event  # type: ignore[method-assign]
    _installed = True


def snapshot() -> PrefectTraffic:
    """The traffic counted so far in this process."""
    return PrefectTraffic(_counts["requests"], _counts["events"])
