"""Work split across workers: claimed artists are never given to two runs (issue 14.3)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.db import make_engine
from models.sync_state import (
    claim_artists_for_sync,
    claim_hourly_artists,
    history_due,
    release_claims,
    select_artists_for_sync,
    select_hourly_artists,
)
from models.tables import UserActivity
from tests.monitor.factories import ARTISTS, SHOWS, artist, insert_rows, show

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
LEASE = timedelta(minutes=30)
ACTIVITY = UserActivity.__table__  # type: ignore[attr-defined]


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


# Selection order (master sync, by setlistfm_synced_at): never synced first, then the stalest.
ARTIST_ROWS = [
    artist(1, last_synced_at=ago(2), setlistfm_synced_at=ago(2)),
    artist(2, last_synced_at=ago(30), setlistfm_synced_at=ago(30)),
    artist(3),
    artist(4, last_synced_at=ago(50), setlistfm_synced_at=ago(50)),
    artist(5, last_synced_at=ago(48), next_sync_at=NOW + 2 * H, sync_failures=1),
    artist(6, last_synced_at=ago(10), setlistfm_synced_at=ago(10)),
    artist(7),
]
ORDER = [3, 7, 4, 2, 6, 1]  # 5 is backing off after a failure


async def _claims(engine: AsyncEngine) -> dict[int, tuple[int | None, datetime | None]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(ARTISTS.c.id, ARTISTS.c.claimed_by_run, ARTISTS.c.claimed_until).order_by(
                    ARTISTS.c.id
                )
            )
        ).all()
    return {row.id: (row.claimed_by_run, row.claimed_until) for row in rows}


async def _claim(
    engine: AsyncEngine, run_id: int, *, now: datetime = NOW, **options: Any
) -> list[int]:
    arguments: dict[str, Any] = {
        "limit": None,
        "stale_after_hours": None,
        "source_column": "setlistfm_synced_at",
    } | options
    async with engine.begin() as conn:
        chosen = await claim_artists_for_sync(
            conn, run_id=run_id, now=now, lease=LEASE, **arguments
        )
    return [a.id for a in chosen]


async def test_a_claim_takes_the_selection_in_its_order_and_marks_it(engine: AsyncEngine) -> None:
    await insert_rows(engine, (ARTISTS, ARTIST_ROWS))
    async with engine.connect() as conn:
        selected = await select_artists_for_sync(
            conn, now=NOW, limit=4, stale_after_hours=None, source_column="setlistfm_synced_at"
        )

    claimed = await _claim(engine, 1, limit=4)

    assert claimed == [a.id for a in selected] == ORDER[:4]
    until = NOW + LEASE
    assert await _claims(engine) == {
        1: (None, None),
        2: (1, until),
        3: (1, until),
        4: (1, until),
        5: (None, None),
        6: (None, None),
        7: (1, until),
    }


async def test_artists_never_synced_who_just_played_come_first(engine: AsyncEngine) -> None:
    """Among the artists never synced, those awaiting the setlist of a show of the last 3 days
    first (issue 16: their setlists are being published); the others keep their order."""
    today = NOW.date()
    await insert_rows(
        engine,
        (ARTISTS, ARTIST_ROWS),
        (
            SHOWS,
            [
                show(1, artist_id=7, local_date=today - timedelta(days=1), status="completed"),
                show(2, artist_id=3, local_date=today - timedelta(days=4), status="completed"),
                show(3, artist_id=6, local_date=today, status="upcoming"),  # synced already
            ],
        ),
    )

    assert await _claim(engine, 1, limit=3, just_played_days=3) == [7, 3, 4]
    async with engine.begin() as conn:
        await release_claims(conn, run_id=1)
    # Without the option (and for a show 4 days ago), the order of ORDER.
    assert await _claim(engine, 2, limit=3) == ORDER[:3] == [3, 7, 4]


async def test_master_sync_takes_the_unidentified_then_those_who_just_played_first(
    engine: AsyncEngine,
) -> None:
    """The master sync's order among the artists never read from setlist.fm: without a
    MusicBrainz id first (no other run can read their setlists), then those awaiting a
    setlist, then the rest; artists read already keep their staleness order after them."""
    today = NOW.date()
    await insert_rows(
        engine,
        (
            ARTISTS,
            [
                artist(1, mbid="m1"),
                artist(2),
                artist(3, mbid="m3"),
                artist(4),
                artist(5, setlistfm_synced_at=ago(10), last_synced_at=ago(10)),
            ],
        ),
        (
            SHOWS,
            [
                show(i, artist_id=i, local_date=today - timedelta(days=1), status="completed")
                for i in (1, 4, 5)
            ],
        ),
    )

    async def order(**options: Any) -> list[int]:
        async with engine.connect() as conn:
            chosen = await select_artists_for_sync(
                conn,
                now=NOW,
                limit=None,
                stale_after_hours=None,
                source_column="setlistfm_synced_at",
                **options,
            )
        return [a.id for a in chosen]

    assert await order(just_played_days=3, unidentified_first=True) == [4, 2, 1, 3, 5]
    assert await order(unidentified_first=True) == [2, 4, 1, 3, 5]
    assert await order(just_played_days=3) == [1, 4, 2, 3, 5]
    assert await order() == [1, 2, 3, 4, 5]
    assert await _claim(engine, 9, limit=2, just_played_days=3, unidentified_first=True) == [4, 2]


async def test_the_first_reads_of_the_backfill_take_the_artists_who_just_played_first(
    engine: AsyncEngine,
) -> None:
    today = NOW.date()
    await insert_rows(
        engine,
        (ARTISTS, [artist(i, mbid=f"mbid-{i}") for i in (1, 2, 3)] + [artist(4)]),
        (
            SHOWS,
            [
                show(1, artist_id=3, local_date=today - timedelta(days=2), status="completed"),
                show(2, artist_id=4, local_date=today, status="ongoing"),  # no MusicBrainz id
            ],
        ),
    )
    async with engine.connect() as conn:
        plain = await history_due(conn, limit=10, first_reads=True)
        first = await history_due(conn, limit=10, first_reads=True, just_played=(today, 3))
        narrow = await history_due(conn, limit=10, first_reads=True, just_played=(today, 1))
    assert [d.artist_id for d in plain] == [1, 2, 3]
    assert [d.artist_id for d in first] == [3, 1, 2]
    assert [d.artist_id for d in narrow] == [1, 2, 3]
    assert {(d.mbid, d.next_page) for d in first} == {("mbid-1", 1), ("mbid-2", 1), ("mbid-3", 1)}


async def test_claims_keep_the_staleness_and_required_column_rules(engine: AsyncEngine) -> None:
    await insert_rows(
        engine,
        (
            ARTISTS,
            [
                artist(1, ticketmaster_id="T1", last_synced_at=ago(30)),
                artist(2, ticketmaster_id="T2", last_synced_at=ago(2)),
                artist(3),
                artist(4, ticketmaster_id="T4"),
            ],
        ),
    )

    claimed = await _claim(
        engine,
        1,
        limit=10,
        stale_after_hours=24,
        source_column="ticketmaster_synced_at",
        require=("ticketmaster_id",),
    )

    assert claimed == [1, 4]  # 2 is fresh, 3 has no Ticketmaster id


async def test_a_second_run_gets_the_rest_and_a_third_nothing(engine: AsyncEngine) -> None:
    await insert_rows(engine, (ARTISTS, ARTIST_ROWS))

    first = await _claim(engine, 1, limit=4)
    second = await _claim(engine, 2, limit=4)
    third = await _claim(engine, 3, limit=4)

    assert (first, second, third) == (ORDER[:4], ORDER[4:], [])


async def test_an_expired_claim_is_taken_over(engine: AsyncEngine) -> None:
    await insert_rows(engine, (ARTISTS, ARTIST_ROWS))
    await _claim(engine, 1, limit=2)

    before_expiry = await _claim(engine, 2, now=NOW + LEASE - timedelta(seconds=1), limit=2)
    at_expiry = await _claim(engine, 3, now=NOW + LEASE, limit=2)

    assert before_expiry == ORDER[2:4]
    assert at_expiry == ORDER[:2]
    assert (await _claims(engine))[ORDER[0]] == (3, NOW + 2 * LEASE)


async def test_a_run_reclaims_its_own_artists_and_extends_them(engine: AsyncEngine) -> None:
    await insert_rows(engine, (ARTISTS, ARTIST_ROWS))
    await _claim(engine, 1, limit=2)

    again = await _claim(engine, 1, now=NOW + H, limit=2)

    assert again == ORDER[:2]
    assert (await _claims(engine))[ORDER[0]] == (1, NOW + H + LEASE)


async def test_released_claims_are_free_again_and_only_the_runs_own(engine: AsyncEngine) -> None:
    await insert_rows(engine, (ARTISTS, ARTIST_ROWS))
    await _claim(engine, 1, limit=2)
    await _claim(engine, 2, limit=2)

    async with engine.begin() as conn:
        assert await release_claims(conn, run_id=1, artist_ids=[ORDER[0]]) == 1
        assert await release_claims(conn, run_id=1) == 1
        assert await release_claims(conn, run_id=1) == 0

    claims = await _claims(engine)
    assert [claims[i] for i in ORDER[:4]] == [
        (None, None),
        (None, None),
        (2, NOW + LEASE),
        (2, NOW + LEASE),
    ]
    assert await _claim(engine, 3, limit=3) == [*ORDER[:2], ORDER[4]]


async def test_two_concurrent_claimers_on_two_engines_get_disjoint_artists(
    engine: AsyncEngine, database_url: str
) -> None:
    await insert_rows(engine, (ARTISTS, ARTIST_ROWS))
    other = make_engine(database_url)
    try:
        first, second = await asyncio.wait_for(
            asyncio.gather(_claim(engine, 1, limit=4), _claim(other, 2, limit=4)), timeout=60
        )
    finally:
        await other.dispose()

    assert set(first).isdisjoint(second)
    assert sorted(first + second) == sorted(ORDER)
    assert max(len(first), len(second)) <= 4
    claims = await _claims(engine)
    assert {i for i, (holder, _) in claims.items() if holder == 1} == set(first)
    assert {i for i, (holder, _) in claims.items() if holder == 2} == set(second)


@pytest.mark.postgres
async def test_postgresql_passes_over_rows_another_claimer_holds_without_waiting(
    engine: AsyncEngine, database_url: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer at a time)")
    await insert_rows(engine, (ARTISTS, ARTIST_ROWS))
    other = make_engine(database_url)
    try:
        async with engine.begin() as holding:
            first = await claim_artists_for_sync(
                holding,
                run_id=1,
                now=NOW,
                lease=LEASE,
                limit=2,
                stale_after_hours=None,
                source_column="setlistfm_synced_at",
            )
            # The first claim is not committed yet: its rows are locked, and look unclaimed.
            second = await asyncio.wait_for(_claim(other, 2, limit=2), timeout=10)
    finally:
        await other.dispose()

    assert [a.id for a in first] == ORDER[:2]
    assert second == ORDER[2:4]


# --- the hourly selection -------------------------------------------------------------------


HOURLY_ARTISTS = [artist(i, last_synced_at=ago(i)) for i in range(1, 7)]
HOURLY_SHOWS = [
    show(1, artist_id=1, local_date=date(2026, 3, 12), status="upcoming"),
    show(2, artist_id=2, local_date=date(2026, 3, 11), status="upcoming"),
    show(3, artist_id=3, local_date=date(2026, 3, 20), status="upcoming"),
]


def _activity(activity_id: int, artist_id: int) -> dict[str, Any]:
    return {
        "id": activity_id,
        "user_id": "u",
        "kind": "view",
        "artist_id": artist_id,
        "occurred_at": ago(1),
    }


HOURLY_ACTIVITY = [_activity(i, a) for i, a in enumerate([5, 5, 5, 4, 4, 6, 2], start=1)]


async def _claim_hourly(conn: AsyncConnection, run_id: int, limit: int) -> list[int]:
    chosen = await claim_hourly_artists(conn, run_id=run_id, now=NOW, lease=LEASE, limit=limit)
    return [a.id for a in chosen]


async def test_hourly_claims_follow_the_hourly_order_and_skip_claimed_artists(
    engine: AsyncEngine,
) -> None:
    await insert_rows(
        engine,
        (ARTISTS, HOURLY_ARTISTS),
        (SHOWS, HOURLY_SHOWS),
        (ACTIVITY, HOURLY_ACTIVITY),
    )
    async with engine.connect() as conn:
        selected = [a.id for a in await select_hourly_artists(conn, now=NOW, limit=4)]

    async with engine.begin() as conn:
        first = await _claim_hourly(conn, 1, 4)
    async with engine.begin() as conn:
        second = await _claim_hourly(conn, 2, 4)

    # Soonest shows (2, 1), then the most activity (5, 4); then what is left.
    assert first == selected == [2, 1, 5, 4]
    assert second == [3, 6]
    claims = await _claims(engine)
    assert [claims[i][0] for i in range(1, 7)] == [1, 1, 2, 1, 1, 2]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"now": datetime(2026, 3, 10, 12)}, "now must be a timezone-aware datetime"),
        ({"lease": timedelta(0)}, "lease must be positive"),
    ],
)
async def test_claims_refuse_bad_options(
    engine: AsyncEngine, options: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"now": NOW, "lease": LEASE} | options
    async with engine.begin() as conn:
        with pytest.raises(ValueError, match=f"^{message}$"):
            await claim_artists_for_sync(
                conn, run_id=1, limit=1, stale_after_hours=None, **arguments
            )
        with pytest.raises(ValueError, match=f"^{message}$"):
            await claim_hourly_artists(conn, run_id=1, limit=1, **arguments)
