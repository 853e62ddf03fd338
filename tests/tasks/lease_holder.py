"""A worker process for the kill -9 test: it leases setlist.fm slots, prints its blocks, and
holds them until it is killed.

``python -m tests.tasks.lease_holder <database url> <store time>``: the store's clock is pinned
to ``<store time>`` and the local clock is frozen (a wait never ends), so the process holds
exactly the block it leased for twenty waiting requests, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import json
import sys

from models.db import make_engine
from settings import Settings
from tasks.leases import LeasedRateLimiter

WINDOW_SECONDS = 3.0
REQUESTS = 20


class FrozenClock:
    """Time stands still: ``sleep`` of any positive length waits forever."""

    def now(self) -> float:
        return 1000.0

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.Event().wait()


async def hold(url: str, store_time: float) -> None:
    settings = Settings(_env_file=None, database_url=url, rate_lease_window_seconds=WINDOW_SECONDS)
    limiter = LeasedRateLimiter(
        settings,
        engine=make_engine(url),
        apis=["setlistfm"],
        clock=FrozenClock(),
        store_time=lambda: store_time,
    )
    await limiter.start()
    requests = [asyncio.create_task(limiter.acquire("setlistfm")) for _ in range(REQUESTS)]
    # The first request goes at once; the others wait for their slots, for ever.
    await asyncio.wait(requests, return_when=asyncio.FIRST_COMPLETED)
    await limiter.settle()
    blocks = [
        {"start": lease.start, "count": lease.count, "end": lease.end, "seq": lease.seq}
        for lease in limiter.leases("setlistfm")
    ]
    print(json.dumps({"blocks": blocks, "sent": limiter.stats["setlistfm"]["acquired"]}))
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(hold(sys.argv[1], float(sys.argv[2])))
