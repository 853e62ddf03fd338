"""One queue per SQLite file for the write transactions of a process (``sqlite_write_gate``).

No model imports here: ``models.rate_leases`` (imported while ``models.tables`` loads) uses it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["SQLITE_BUSY_TIMEOUT", "sqlite_write_gate"]

#: Seconds a SQLite connection waits for the database's write lock (the driver's busy timeout).
SQLITE_BUSY_TIMEOUT = 30.0

_WRITE_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def sqlite_write_gate(engine: AsyncEngine) -> AsyncIterator[None]:
    """Held around a write transaction on a SQLite file by the writers of this process (a run's
    stores, the rate leases, the request plan's grants): SQLite has one writer at a time, and a
    connection that finds the write lock taken polls for it, sleeping up to 100 ms between
    tries (its busy handler), so a lease waiting behind a batch's store lost up to 0.1 s each
    time. Queued here instead, within one event loop, the next writer starts as soon as the
    previous one commits. Across processes the busy timeout still applies. It waits at most
    ``SQLITE_BUSY_TIMEOUT`` (``TimeoutError``), as the busy timeout would. No-op elsewhere."""
    if engine.dialect.name != "sqlite":
        yield
        return
    loop = asyncio.get_running_loop()
    gates = _WRITE_GATES.setdefault(loop, {})
    key = str(engine.url.database or "")
    gate = gates.get(key)
    if gate is None:
        gate = gates[key] = asyncio.Lock()
    async with asyncio.timeout(SQLITE_BUSY_TIMEOUT):
        await gate.acquire()
    try:
        yield
    finally:
        gate.release()
