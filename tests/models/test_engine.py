"""The SQLite engine settings the storage layer relies on."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

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
