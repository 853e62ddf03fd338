from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.similarity import _STAGES, recalculate_similarity, similar_artists
from tests.insights.world import TODAY, build_world


async def _similar(engine: AsyncEngine, artist_id: int) -> list[tuple[int, float]]:
    found = await similar_artists(engine, artist_id)
    assert found is not None
    return [(s.id, s.score) for s in found.similar]


async def test_similar_artists_from_every_signal(engine: AsyncEngine) -> None:
    await build_world(engine)
    async with engine.begin() as conn:
        written = await recalculate_similarity(conn, day=TODAY)

    # 1-2: one shared bill (35 * 1/2), venue 2 of two artists (15 * 0.5/0.6), market 3 (5 / 3).
    # 1-3: venue 1 of two artists, market 3. 1-4: one cover (20 * 1/3). 5-6: rock (25 * 1/2).
    assert await _similar(engine, 1) == [(2, 31.67), (3, 14.17), (4, 6.67)]
    assert await _similar(engine, 2) == [(1, 31.67)]
    assert await _similar(engine, 4) == [(1, 6.67)]
    assert await _similar(engine, 5) == [(6, 12.5)]
    assert await _similar(engine, 6) == [(5, 12.5)]
    assert written == 8
    one = await similar_artists(engine, 1, limit=1)
    assert one is not None
    assert (one.name, one.day) == ("One", TODAY)
    [first] = one.similar
    assert (first.rank, first.shared_shows, first.shared_venues, first.shared_markets) == (
        1,
        1,
        0.5,
        1,
    )


async def test_a_rerun_replaces_the_rows_and_an_unknown_artist_is_none(
    engine: AsyncEngine,
) -> None:
    await build_world(engine)
    for _ in range(2):
        async with engine.begin() as conn:
            assert await recalculate_similarity(conn, day=TODAY) == 8

    assert await similar_artists(engine, 999) is None
    assert await similar_artists(engine, 3) is not None


async def test_two_runs_in_one_transaction_leave_no_staging_table_behind(
    engine: AsyncEngine,
) -> None:
    """The run stages its pairs in temporary tables and drops them: a second run in the same
    transaction (the same session) starts afresh and writes the same rows."""
    await build_world(engine)
    async with engine.begin() as conn:
        assert await recalculate_similarity(conn, day=TODAY) == 8
        assert await recalculate_similarity(conn, day=TODAY) == 8
        for table in _STAGES:
            with pytest.raises(DBAPIError):
                async with conn.begin_nested():
                    await conn.execute(text(f"SELECT 1 FROM {table}"))
    assert await _similar(engine, 1) == [(2, 31.67), (3, 14.17), (4, 6.67)]
