"""Storage test helpers: a second, empty database of the same dialect, and table readers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.db import make_engine


@pytest.fixture
async def empty_database_url(engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[str]:
    """A brand-new database without any table, of the same dialect as ``engine``."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    server = engine.url
    name = f"mysetlist_empty_{uuid.uuid4().hex[:12]}"
    admin = make_engine(
        server.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def table_rows(
    conn: AsyncConnection, table: Table, *, order_by: str, skip: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Every row of ``table`` as plain dicts (without the ``skip`` columns), in a fixed order."""
    result = await conn.execute(select(table).order_by(table.c[order_by]))
    return [{k: v for k, v in row.items() if k not in skip} for row in result.mappings()]


async def sql_rows(url: str, sql: str) -> list[tuple[object, ...]]:
    """The rows ``sql`` reads from the database at ``url`` (its own engine: a migration test's
    database is upgraded and downgraded between reads)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql))).all()]
    finally:
        await engine.dispose()
