"""SQLite builds without math functions get deterministic ``power``/``floor`` on connect."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import models.db
from models.db import create_all, has_math_functions, make_engine, register_math_functions
from models.trending import recalculate_trending
from tests.trending.scenario import ARTIST_TRENDS, NOW, scores, seed, trending_settings
from tests.trending.test_scores import EXPECTED_ARTISTS

EXPRESSIONS = (
    "power(2, -1.0 / 72)",
    "power(2, -0.5)",
    "power(2.0, -13.7)",
    "power(2, 3)",
    "power(NULL, 1)",
    "floor(2.5)",
    "floor(-0.5)",
    "floor(1234567.89 * 100 + 0.5) / 100",
    "floor(NULL)",
)


def _evaluate(conn: sqlite3.Connection) -> tuple[Any, ...]:
    return tuple(conn.execute(f"SELECT {', '.join(EXPRESSIONS)}").fetchone())


def test_registered_functions_give_exactly_what_sqlites_own_give() -> None:
    with (
        closing(sqlite3.connect(":memory:")) as builtin,
        closing(sqlite3.connect(":memory:")) as registered,
    ):
        register_math_functions(registered)  # application functions take precedence

        assert _evaluate(registered) == _evaluate(builtin)
        assert _evaluate(registered)[:4] == (2 ** (-1 / 72), 2**-0.5, 2**-13.7, 8.0)
        assert _evaluate(registered)[4:] == (None, 2.0, -1.0, 1234567.89, None)


class _NoMathCursor:
    def execute(self, sql: str) -> None:
        raise sqlite3.OperationalError("no such function: power")

    def fetchall(self) -> list[Any]:  # pragma: no cover - never reached
        return []


def test_a_sqlite_without_math_functions_is_detected() -> None:
    with closing(sqlite3.connect(":memory:")) as conn:
        assert has_math_functions(conn.cursor()) is True
    assert has_math_functions(_NoMathCursor()) is False


async def test_the_engine_registers_them_where_missing_and_trending_still_agrees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered: list[object] = []

    def spy(dbapi_connection: Any) -> None:
        registered.append(dbapi_connection)
        register_math_functions(dbapi_connection)

    monkeypatch.setattr(models.db, "has_math_functions", lambda cursor: False)
    monkeypatch.setattr(models.db, "register_math_functions", spy)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'nomath.db'}")
    try:
        await create_all(engine)
        await seed(engine)
        await recalculate_trending(engine, mode="daily", now=NOW, settings=trending_settings())
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT power(2, -1)"))).scalar_one() == 0.5
        assert await scores(engine, ARTIST_TRENDS) == EXPECTED_ARTISTS
    finally:
        await engine.dispose()
    assert registered
