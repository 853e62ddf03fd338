"""The engine settings the storage layer relies on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import make_engine


async def test_sqlite_connections_enforce_keys_and_get_the_bulk_settings(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'settings.db'}")
    try:
        async with engine.connect() as conn:
            values = [
                (await conn.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in (
                    "foreign_keys",
                    "journal_mode",
                    "synchronous",
                    "cache_size",
                    "temp_store",
                )
            ]
    finally:
        await engine.dispose()
    # synchronous NORMAL = 1, cache_size in KiB when negative, temp_store MEMORY = 2
    assert values == [1, "wal", 1, -65536, 2]


async def test_a_failed_statement_never_shows_its_parameters(engine: AsyncEngine) -> None:
    secret = "canary-parameter-7d1e"
    with pytest.raises(DBAPIError) as raised:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT * FROM no_such_table WHERE x = :x"), {"x": secret})
    assert secret not in str(raised.value)
    assert "hidden due to hide_parameters" in str(raised.value)
