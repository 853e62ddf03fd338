from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def test_every_table_exists(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM artists"))).scalar_one()
    assert count == 0
