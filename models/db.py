"""The async engine and sessions, on SQLite (embedded default) or PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers every table on the metadata)
from models.write_gate import SQLITE_BUSY_TIMEOUT

__all__ = [
    "create_all",
    "has_math_functions",
    "make_engine",
    "make_sessionmaker",
    "register_math_functions",
    "run_engine",
    "session_scope",
]


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``; SQLite gets foreign keys, WAL, a busy timeout, a big cache."""
    parsed = make_url(url)
    # A failed statement's error never carries its parameters: they may hold a whole batch of
    # user input or upstream data, and errors are logged and recorded.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT})
        engine = create_async_engine(url, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Bulk upserts: a page cache that holds the indexes of a 100k-row batch (allocated on
            # demand, up to 64 MiB), and staging tables in memory rather than in temp files.
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.execute("PRAGMA temp_store=MEMORY")
            math_ok = has_math_functions(cursor)
            cursor.close()
            if not math_ok:
                register_math_functions(dbapi_connection)

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


# The engines flow runs borrow, per event loop and URL (see ``run_engine``).
_RUN_ENGINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AsyncEngine]] = (
    weakref.WeakKeyDictionary()
)
_BORROWERS: Counter[int] = Counter()


@asynccontextmanager
async def run_engine(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine for ``url`` that outlives the block: the one every run in this event loop
    borrows.

    A new engine per flow run compiled every statement again on each run (an engine's compiled
    statements are cached on the engine, keyed by its dialect): in a simulated month of 1,320
    runs, a fifth of the wall time. The engine is kept per event loop (an asyncpg or aiosqlite
    connection belongs to the loop that opened it) and per URL. When its last borrower leaves,
    its pool is disposed: no connection stays open between runs, and the compiled statements
    stay."""
    loop = asyncio.get_running_loop()
    engines = _RUN_ENGINES.setdefault(loop, {})
    engine = engines.get(url)
    if engine is None:
        engine = engines[url] = make_engine(url)
    _BORROWERS[id(engine)] += 1
    try:
        yield engine
    finally:
        _BORROWERS[id(engine)] -= 1
        if not _BORROWERS[id(engine)]:
            del _BORROWERS[id(engine)]
            await engine.dispose()


def has_math_functions(cursor: Any) -> bool:
    """Whether this SQLite was built with its math functions (trending uses ``power``/``floor``)."""
    try:
        cursor.execute("SELECT power(2, 0.5), floor(1.5)")
        cursor.fetchall()
    except sqlite3.OperationalError:  # no such function
        return False
    return True


def _power(x: float | None, y: float | None) -> float | None:
    return None if x is None or y is None else math.pow(x, y)


def _floor(x: float | None) -> float | None:
    return None if x is None else float(math.floor(x))


def register_math_functions(dbapi_connection: Any) -> None:
    """Deterministic ``power`` and ``floor`` from C's libm (what SQLite's own versions call)."""
    dbapi_connection.create_function("power", 2, _power, deterministic=True)
    dbapi_connection.create_function("floor", 1, _floor, deterministic=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def session_scope(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    async with make_sessionmaker(engine)() as session, session.begin():
        yield session


async def create_all(engine: AsyncEngine) -> None:
    """Create every table straight from the metadata (tests; production runs migrations)."""
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
