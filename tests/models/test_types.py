from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.types import MAX_INSTANT, MIN_INSTANT, OutOfRangeInstantError, UTCDateTime

_PLUS_14 = timezone(timedelta(hours=14))
_MINUS_12 = timezone(timedelta(hours=-12))
_metadata = MetaData()
_instants = Table(
    "test_instants",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime),
)


@pytest.fixture
async def instants(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The engine with a table of one ``UTCDateTime`` column."""
    async with engine.begin() as conn:
        await conn.run_sync(_metadata.create_all)
    try:
        yield engine
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(_metadata.drop_all)


async def _store(engine: AsyncEngine, value: datetime) -> datetime:
    async with engine.begin() as conn:
        await conn.execute(insert(_instants).values(id=1, at=value))
    async with engine.connect() as conn:
        stored: datetime = (await conn.execute(select(_instants.c.at))).scalar_one()
    return stored


@pytest.mark.parametrize(
    "value",
    [
        MIN_INSTANT,
        MAX_INSTANT,
        datetime(1, 1, 2, 14, 0, tzinfo=_PLUS_14),
        datetime(9999, 12, 30, 11, 59, 59, 999999, tzinfo=_MINUS_12),
    ],
    ids=["min", "max", "min-at-plus-14", "max-at-minus-12"],
)
async def test_instants_at_the_edges_of_the_range_come_back_equal_on_both_databases(
    instants: AsyncEngine, value: datetime
) -> None:
    stored = await _store(instants, value)

    assert stored == value
    assert stored.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        # Python's datetime.min in UTC: asyncpg wrote it as -infinity.
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00+00:00"),
        # Converting to UTC overflowed (OverflowError, an HTTP 500 at the monitor API).
        (datetime(1, 1, 1, tzinfo=_PLUS_14), "0001-01-01T00:00:00+14:00"),
        (datetime(1, 1, 2, 13, 59, 59, tzinfo=_PLUS_14), "0001-01-02T13:59:59+14:00"),
        # Python's datetime.max: asyncpg wrote it as infinity.
        (datetime.max.replace(tzinfo=UTC), "9999-12-31T23:59:59.999999+00:00"),
        (datetime(9999, 12, 31, 23, 0, tzinfo=_MINUS_12), "9999-12-31T23:00:00-12:00"),
    ],
    ids=["utc-min", "min-at-plus-14", "day-2-at-plus-14", "utc-max", "max-at-minus-12"],
)
async def test_instants_outside_the_common_range_are_refused_and_nothing_is_stored(
    instants: AsyncEngine, value: datetime, shown: str
) -> None:
    with pytest.raises(StatementError) as caught:
        await _store(instants, value)

    assert isinstance(caught.value.orig, OutOfRangeInstantError)
    assert str(caught.value.orig) == (
        f"{shown} is outside the instants both databases store alike "
        "(0001-01-02T00:00:00+00:00 to 9999-12-30T23:59:59.999999+00:00)"
    )
    async with instants.connect() as conn:
        assert (await conn.execute(select(_instants.c.id))).all() == []


async def test_a_naive_instant_is_refused(instants: AsyncEngine) -> None:
    with pytest.raises(StatementError) as caught:
        await _store(instants, datetime(2026, 3, 10, 12, 0))

    assert str(caught.value.orig) == (
        "naive datetime 2026-03-10T12:00:00 given where UTC is required"
    )
