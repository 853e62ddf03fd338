"""Issue 10: a rate lease waiting behind a run's store on a SQLite file queues in the process
(``models.write_gate``) and starts as soon as the store commits, instead of polling SQLite's
write lock from a connection (the busy handler sleeps up to 100 ms between tries).
PostgreSQL has row locks: the gate lets its writers run together."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from models.rate_leases import write_transaction
from tasks.store import Writer


async def _turns() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_lease_waits_for_a_store_in_the_process_not_in_sqlite(engine: AsyncEngine) -> None:
    writer = Writer(engine)
    order: list[str] = []
    inside = asyncio.Event()
    release = asyncio.Event()

    async def store() -> None:
        async with writer.transaction() as conn:
            # A write: on SQLite the transaction now holds the database's write lock.
            await conn.execute(text("UPDATE rate_schedules SET next_slot_at = 0 WHERE 1 = 0"))
            await conn.execute(
                text("INSERT INTO request_budget_days (api, day, committed) VALUES ('x', :d, 1)"),
                {"d": date(2026, 3, 2)},
            )
            order.append("store writes")
            inside.set()
            await release.wait()
            order.append("store commits")

    async def lease() -> None:
        await inside.wait()
        async with write_transaction(engine) as conn:
            await conn.execute(text("SELECT 1"))
            order.append("lease writes")

    stored = asyncio.create_task(store())
    leased = asyncio.create_task(lease())
    try:
        await asyncio.wait(
            [stored, asyncio.ensure_future(inside.wait())],
            timeout=30,
            return_when=asyncio.FIRST_COMPLETED,
        )
        assert inside.is_set(), stored
        if engine.dialect.name == "sqlite":
            await _turns()
            # Queued in the process: no second connection is waiting on SQLite's lock.
            assert order == ["store writes"]
            assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
        else:
            await asyncio.wait_for(leased, timeout=30)  # row locks: no wait on an unrelated row
            assert order == ["store writes", "lease writes"]
    finally:
        release.set()
        await asyncio.gather(stored, leased)
    if engine.dialect.name == "sqlite":
        assert order == ["store writes", "store commits", "lease writes"]
    else:
        assert order == ["store writes", "lease writes", "store commits"]
