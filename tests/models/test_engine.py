"""The engine settings the storage layer relies on."""

from __future__ import annotations

import asyncio
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


async def test_runs_of_one_event_loop_share_an_engine_and_its_compiled_statements(
    engine: AsyncEngine, database_url: str
) -> None:
    del engine  # the schema
    from sqlalchemy import select

    from models.db import run_engine
    from models.tables import Artist

    query = select(Artist.id, Artist.name).where(Artist.name == "x")
    async with run_engine(database_url) as first, run_engine(database_url) as inner:
        assert inner is first
        async with first.connect() as conn:
            assert (await conn.execute(query)).all() == []
        compiled = len(first.sync_engine._compiled_cache)  # type: ignore[attr-defined]
        assert compiled >= 1
    # the last borrower left: no connection stays open, the compiled statements stay
    assert first.sync_engine.pool.checkedin() == 0
    assert first.sync_engine.pool.checkedout() == 0
    async with run_engine(database_url) as again:
        assert again is first
        async with again.connect() as conn:
            assert (await conn.execute(query)).all() == []
        assert len(again.sync_engine._compiled_cache) == compiled  # type: ignore[attr-defined]

    async def other_loop() -> int:
        async with run_engine(database_url) as engine:
            async with engine.connect() as conn:
                assert (await conn.execute(query)).all() == []
            return id(engine)

    # another event loop (a connection belongs to the loop that opened it): another engine
    assert await asyncio.to_thread(asyncio.run, other_loop()) != id(first)
