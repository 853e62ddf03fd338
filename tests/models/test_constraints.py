"""The database itself refuses what the schema forbids: natural keys, checks, parents, NOT NULL.

Plain Core inserts (no upsert, no ORM): the constraint, not application code, must say no.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers every table)

T = SQLModel.metadata.tables
WHEN = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
DAY = date(2026, 2, 1)

Ids = dict[str, int]


async def _add(conn: AsyncConnection, table: str, **values: Any) -> int:
    """Insert one row; its id (0 for tables keyed otherwise)."""
    if "id" not in T[table].c:
        await conn.execute(insert(T[table]).values(**values))
        return 0
    result = await conn.execute(insert(T[table]).values(**values).returning(T[table].c.id))
    return int(result.scalar_one())


async def seed(conn: AsyncConnection) -> Ids:
    """One row in every table, linked together; returns their ids."""
    ids: Ids = {}
    ids["artist"] = await _add(
        conn,
        "artists",
        spotify_id="sp1",
        ticketmaster_id="tm1",
        mbid="mb1",
        name="A",
        normalized_name="a",
        slug="a",
    )
    ids["other"] = await _add(conn, "artists", name="B", normalized_name="b", slug="b")
    ids["venue"] = await _add(
        conn, "venues", ticketmaster_id="tv1", setlistfm_id="sv1", name="V", normalized_name="v"
    )
    ids["show"] = await _add(
        conn,
        "shows",
        ticketmaster_id="ts1",
        setlistfm_id="ss1",
        artist_id=ids["artist"],
        venue_id=ids["venue"],
        local_date=DAY,
    )
    await _add(conn, "show_support_acts", show_id=ids["show"], artist_id=ids["other"], position=1)
    ids["song"] = await _add(
        conn, "songs", artist_id=ids["artist"], title="Intro", normalized_title="intro"
    )
    ids["setlist"] = await _add(
        conn,
        "setlists",
        setlistfm_id="sl1",
        version_id="v1",
        artist_id=ids["artist"],
        show_id=ids["show"],
        event_date=DAY,
    )
    await _add(
        conn,
        "setlist_entries",
        setlist_id=ids["setlist"],
        position=1,
        set_index=1,
        song_id=ids["song"],
    )
    await _add(
        conn,
        "user_activity",
        event_id="e1",
        user_id="u1",
        kind="follow",
        artist_id=ids["artist"],
        show_id=ids["show"],
        occurred_at=WHEN,
    )
    await _add(conn, "artist_snapshots", artist_id=ids["artist"], day=DAY)
    await _add(
        conn, "trending_history", entity_type="artist", entity_id=ids["artist"], day=DAY, score=1.0
    )
    await _add(conn, "trending_watermarks", name="activity", computed_at=WHEN, mode="daily")
    ids["run"] = await _add(conn, "sync_runs", job="discovery", parameters={}, counts={})
    await _add(
        conn,
        "sync_errors",
        source="spotify",
        key="k1",
        entity="artist",
        error="boom",
        run_id=ids["run"],
    )
    return ids


def artist(**values: Any) -> dict[str, Any]:
    return {"name": "N", "normalized_name": "n", "slug": "n", **values}


Offence = Callable[[Ids], tuple[str, dict[str, Any]]]

# (case, offending row, PostgreSQL says, SQLite says)
VIOLATIONS: list[tuple[str, Offence, str, str]] = [
    (
        "artist-spotify-id",
        lambda ids: ("artists", artist(spotify_id="sp1")),
        'unique constraint "uq_artists_spotify_id"',
        "UNIQUE constraint failed: artists.spotify_id",
    ),
    (
        "artist-ticketmaster-id",
        lambda ids: ("artists", artist(ticketmaster_id="tm1")),
        'unique constraint "uq_artists_ticketmaster_id"',
        "UNIQUE constraint failed: artists.ticketmaster_id",
    ),
    (
        "artist-mbid",
        lambda ids: ("artists", artist(mbid="mb1")),
        'unique constraint "uq_artists_mbid"',
        "UNIQUE constraint failed: artists.mbid",
    ),
    (
        "artist-slug",
        lambda ids: ("artists", artist(slug="a")),
        'unique constraint "uq_artists_slug"',
        "UNIQUE constraint failed: artists.slug",
    ),
    (
        "venue-ticketmaster-id",
        lambda ids: ("venues", {"ticketmaster_id": "tv1", "name": "W", "normalized_name": "w"}),
        'unique constraint "uq_venues_ticketmaster_id"',
        "UNIQUE constraint failed: venues.ticketmaster_id",
    ),
    (
        "venue-setlistfm-id",
        lambda ids: ("venues", {"setlistfm_id": "sv1", "name": "W", "normalized_name": "w"}),
        'unique constraint "uq_venues_setlistfm_id"',
        "UNIQUE constraint failed: venues.setlistfm_id",
    ),
    (
        "show-ticketmaster-id",
        lambda ids: (
            "shows",
            {"ticketmaster_id": "ts1", "artist_id": ids["artist"], "local_date": DAY},
        ),
        'unique constraint "uq_shows_ticketmaster_id"',
        "UNIQUE constraint failed: shows.ticketmaster_id",
    ),
    (
        "show-setlistfm-id",
        lambda ids: (
            "shows",
            {"setlistfm_id": "ss1", "artist_id": ids["artist"], "local_date": DAY},
        ),
        'unique constraint "uq_shows_setlistfm_id"',
        "UNIQUE constraint failed: shows.setlistfm_id",
    ),
    (
        "song-per-artist-normalized-title",
        lambda ids: (
            "songs",
            {"artist_id": ids["artist"], "title": "INTRO", "normalized_title": "intro"},
        ),
        'unique constraint "uq_songs_artist_title"',
        "UNIQUE constraint failed: songs.artist_id, songs.normalized_title",
    ),
    (
        "setlist-setlistfm-id",
        lambda ids: (
            "setlists",
            {
                "setlistfm_id": "sl1",
                "version_id": "v2",
                "artist_id": ids["artist"],
                "event_date": DAY,
            },
        ),
        'unique constraint "uq_setlists_setlistfm_id"',
        "UNIQUE constraint failed: setlists.setlistfm_id",
    ),
    (
        "setlist-entry-position",
        lambda ids: (
            "setlist_entries",
            {"setlist_id": ids["setlist"], "position": 1, "set_index": 2, "song_id": ids["song"]},
        ),
        'unique constraint "uq_setlist_entries_position"',
        "UNIQUE constraint failed: setlist_entries.setlist_id, setlist_entries.position",
    ),
    (
        "support-act-twice",
        lambda ids: (
            "show_support_acts",
            {"show_id": ids["show"], "artist_id": ids["other"], "position": 2},
        ),
        'unique constraint "pk_show_support_acts"',
        "UNIQUE constraint failed: show_support_acts.show_id, show_support_acts.artist_id",
    ),
    (
        "activity-event-id",
        lambda ids: (
            "user_activity",
            {
                "event_id": "e1",
                "user_id": "u2",
                "kind": "view",
                "artist_id": ids["artist"],
                "occurred_at": WHEN,
            },
        ),
        'unique constraint "uq_user_activity_event_id"',
        "UNIQUE constraint failed: user_activity.event_id",
    ),
    (
        "snapshot-per-day",
        lambda ids: ("artist_snapshots", {"artist_id": ids["artist"], "day": DAY}),
        'unique constraint "pk_artist_snapshots"',
        "UNIQUE constraint failed: artist_snapshots.artist_id, artist_snapshots.day",
    ),
    (
        "trending-per-day",
        lambda ids: (
            "trending_history",
            {"entity_type": "artist", "entity_id": ids["artist"], "day": DAY, "score": 2.0},
        ),
        'unique constraint "pk_trending_history"',
        "UNIQUE constraint failed: trending_history.entity_type, trending_history.entity_id, "
        "trending_history.day",
    ),
    (
        "sync-error-source-key",
        lambda ids: (
            "sync_errors",
            {"source": "spotify", "key": "k1", "entity": "artist", "error": "again"},
        ),
        'unique constraint "uq_sync_errors_source_key"',
        "UNIQUE constraint failed: sync_errors.source, sync_errors.key",
    ),
    (
        "popularity-over-100",
        lambda ids: ("artists", artist(popularity=101)),
        'check constraint "ck_artists_popularity"',
        "CHECK constraint failed: ck_artists_popularity",
    ),
    (
        "negative-followers",
        lambda ids: ("artists", artist(followers=-1)),
        'check constraint "ck_artists_followers"',
        "CHECK constraint failed: ck_artists_followers",
    ),
    (
        "negative-sync-failures",
        lambda ids: ("artists", artist(sync_failures=-1)),
        'check constraint "ck_artists_sync_failures"',
        "CHECK constraint failed: ck_artists_sync_failures",
    ),
    (
        "unknown-show-status",
        lambda ids: ("shows", {"artist_id": ids["artist"], "local_date": DAY, "status": "onsale"}),
        'check constraint "ck_shows_status"',
        "CHECK constraint failed: ck_shows_status",
    ),
    (
        "support-act-position-0",
        lambda ids: (
            "show_support_acts",
            {"show_id": ids["show"], "artist_id": ids["artist"], "position": 0},
        ),
        'check constraint "ck_show_support_acts_position"',
        "CHECK constraint failed: ck_show_support_acts_position",
    ),
    (
        "entry-position-0",
        lambda ids: (
            "setlist_entries",
            {"setlist_id": ids["setlist"], "position": 0, "set_index": 1, "song_id": ids["song"]},
        ),
        'check constraint "ck_setlist_entries_position"',
        "CHECK constraint failed: ck_setlist_entries_position",
    ),
    (
        "negative-encore",
        lambda ids: (
            "setlist_entries",
            {
                "setlist_id": ids["setlist"],
                "position": 2,
                "set_index": 1,
                "song_id": ids["song"],
                "encore": -1,
            },
        ),
        'check constraint "ck_setlist_entries_encore"',
        "CHECK constraint failed: ck_setlist_entries_encore",
    ),
    (
        "unknown-activity-kind",
        lambda ids: (
            "user_activity",
            {"user_id": "u", "kind": "like", "artist_id": ids["artist"], "occurred_at": WHEN},
        ),
        'check constraint "ck_user_activity_kind"',
        "CHECK constraint failed: ck_user_activity_kind",
    ),
    (
        "activity-without-target",
        lambda ids: ("user_activity", {"user_id": "u", "kind": "view", "occurred_at": WHEN}),
        'check constraint "ck_user_activity_target"',
        "CHECK constraint failed: ck_user_activity_target",
    ),
    (
        "trending-of-a-venue",
        lambda ids: (
            "trending_history",
            {"entity_type": "venue", "entity_id": 1, "day": DAY, "score": 1.0},
        ),
        'check constraint "ck_trending_history_entity"',
        "CHECK constraint failed: ck_trending_history_entity",
    ),
    (
        "unknown-run-status",
        lambda ids: ("sync_runs", {"job": "x", "parameters": {}, "counts": {}, "status": "ok"}),
        'check constraint "ck_sync_runs_status"',
        "CHECK constraint failed: ck_sync_runs_status",
    ),
    (
        "show-of-a-missing-artist",
        lambda ids: ("shows", {"artist_id": 999_999, "local_date": DAY}),
        'foreign key constraint "fk_shows_artist_id_artists"',
        "FOREIGN KEY constraint failed",
    ),
    (
        "entry-of-a-missing-song",
        lambda ids: (
            "setlist_entries",
            {"setlist_id": ids["setlist"], "position": 3, "set_index": 1, "song_id": 999_999},
        ),
        'foreign key constraint "fk_setlist_entries_song_id_songs"',
        "FOREIGN KEY constraint failed",
    ),
    (
        "artist-without-name",
        lambda ids: ("artists", artist(name=None)),
        'null value in column "name" of relation "artists"',
        "NOT NULL constraint failed: artists.name",
    ),
]


@pytest.mark.parametrize(
    ("offence", "postgres_says", "sqlite_says"),
    [case[1:] for case in VIOLATIONS],
    ids=[case[0] for case in VIOLATIONS],
)
async def test_the_database_refuses_what_the_schema_forbids(
    engine: AsyncEngine, offence: Offence, postgres_says: str, sqlite_says: str
) -> None:
    async with engine.begin() as conn:
        ids = await seed(conn)
    table, values = offence(ids)
    expected = postgres_says if engine.dialect.name == "postgresql" else sqlite_says

    with pytest.raises(IntegrityError) as refused:
        async with engine.begin() as conn:
            await conn.execute(insert(T[table]).values(**values))
    assert expected in str(refused.value.orig)


async def test_missing_natural_keys_never_collide(engine: AsyncEngine) -> None:
    """NULL is not a value: many artists, venues and shows may lack a given source's id."""
    async with engine.begin() as conn:
        ids = await seed(conn)
        for n in range(3):
            await _add(conn, "artists", name=f"X{n}", normalized_name=f"x{n}", slug=f"x{n}")
            await _add(conn, "venues", name=f"V{n}", normalized_name=f"v{n}")
            await _add(conn, "shows", artist_id=ids["artist"], local_date=DAY)
        counts = [
            (await conn.execute(select(func.count()).select_from(T[name]))).scalar_one()
            for name in ("artists", "venues", "shows")
        ]
    assert counts == [5, 4, 4]


async def test_one_song_title_may_belong_to_several_artists(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        ids = await seed(conn)
        await _add(conn, "songs", artist_id=ids["other"], title="Intro", normalized_title="intro")
        titles = (await conn.execute(select(T["songs"].c.artist_id).order_by("artist_id"))).all()
    assert [row[0] for row in titles] == [ids["artist"], ids["other"]]


async def count_rows(conn: AsyncConnection) -> dict[str, int]:
    return {
        name: (await conn.execute(select(func.count()).select_from(T[name]))).scalar_one()
        for name in (
            "shows",
            "show_support_acts",
            "songs",
            "setlists",
            "setlist_entries",
            "user_activity",
            "artist_snapshots",
        )
    }


async def test_deleting_an_artist_deletes_everything_that_is_theirs(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        ids = await seed(conn)
        before = await count_rows(conn)
        await conn.execute(delete(T["artists"]).where(T["artists"].c.id == ids["artist"]))
        after = await count_rows(conn)
    assert before == dict.fromkeys(before, 1)
    assert after == dict.fromkeys(after, 0)


async def test_deleting_a_supporting_artist_only_removes_the_billing(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        ids = await seed(conn)
        await conn.execute(delete(T["artists"]).where(T["artists"].c.id == ids["other"]))
        after = await count_rows(conn)
    assert after == {**dict.fromkeys(after, 1), "show_support_acts": 0}


async def test_deleting_a_venue_keeps_its_shows_without_venue(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        ids = await seed(conn)
        await conn.execute(delete(T["venues"]).where(T["venues"].c.id == ids["venue"]))
        venue_ids = (await conn.execute(select(T["shows"].c.venue_id))).scalars().all()
    assert venue_ids == [None]


async def test_deleting_a_show_keeps_its_setlist_and_drops_its_acts_and_activity(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        ids = await seed(conn)
        await conn.execute(delete(T["shows"]).where(T["shows"].c.id == ids["show"]))
        setlist_show = (await conn.execute(select(T["setlists"].c.show_id))).scalars().all()
        after = await count_rows(conn)
    assert setlist_show == [None]
    assert after == {
        **dict.fromkeys(after, 1),
        "shows": 0,
        "show_support_acts": 0,
        "user_activity": 0,
    }


async def test_deleting_a_run_keeps_its_errors(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        ids = await seed(conn)
        await conn.execute(delete(T["sync_runs"]).where(T["sync_runs"].c.id == ids["run"]))
        run_ids = (await conn.execute(select(T["sync_errors"].c.run_id))).scalars().all()
    assert run_ids == [None]
