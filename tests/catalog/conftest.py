"""Helpers of the catalogue tests: artists to hang shows on, and readers of what is stored."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.tables import Artist, Show, Venue


@pytest.fixture
async def artist_ids(engine: AsyncEngine) -> list[int]:
    """Two artists, ids 1 and 2."""
    table = Artist.__table__  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        await conn.execute(
            insert(table),
            [
                {"name": name, "normalized_name": name.lower(), "slug": name.lower()}
                for name in ("Alpha", "Beta")
            ],
        )
        return list((await conn.execute(select(table.c.id).order_by(table.c.id))).scalars())


async def venue_rows(conn: AsyncConnection) -> list[dict[str, Any]]:
    table = Venue.__table__  # type: ignore[attr-defined]
    result = await conn.execute(select(table).order_by(table.c.id))
    return [dict(row) for row in result.mappings()]


async def show_rows(conn: AsyncConnection) -> list[dict[str, Any]]:
    table = Show.__table__  # type: ignore[attr-defined]
    result = await conn.execute(select(table).order_by(table.c.id))
    return [dict(row) for row in result.mappings()]
