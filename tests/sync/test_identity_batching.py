"""Resolving artists is batch-oriented: the statement count does not grow with the batch."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.artists import ArtistCandidate, resolve_artists
from models.identity import normalize_name, slugify
from models.tables import Artist

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 29, 8, 30, tzinfo=UTC)
artists = Artist.__table__  # type: ignore[attr-defined]


@contextmanager
def recorded_statements(engine: AsyncEngine) -> Iterator[list[tuple[str, bool]]]:
    """Every statement sent to the database meanwhile, as (SQL, executemany); an executemany
    is one call (an insertmanyvalues INSERT is one call per batch of rows it sends)."""
    statements: list[tuple[str, bool]] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, executemany: bool
    ) -> None:
        statements.append((statement, executemany))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def _verbs(statements: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """(first SQL word, executemany) of each statement."""
    return [(sql.split(None, 1)[0].upper(), many) for sql, many in statements]


async def _rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(select(artists).order_by(artists.c.id))
        return [dict(row) for row in result.mappings()]


async def _null_counts(engine: AsyncEngine) -> tuple[int, int]:
    """How many rows have SQL NULL (not JSON ``null``) in ``images`` and in ``genres``."""
    async with engine.connect() as conn:
        images = await conn.execute(
            select(func.count()).select_from(artists).where(artists.c.images.is_(None))
        )
        genres = await conn.execute(
            select(func.count()).select_from(artists).where(artists.c.genres.is_(None))
        )
        return int(images.scalar_one()), int(genres.scalar_one())


def _new_candidate(i: int) -> ArtistCandidate:
    """Three shapes (three column sets): full Spotify metadata, Ticketmaster id only, and
    Ticketmaster id with an MBID and an image."""
    if i % 3 == 0:
        return ArtistCandidate(
            name=f"Spotify Artist {i}",
            spotify_id=f"sp{i}",
            image_url=f"https://i.example/{i}.jpg",
            images=[{"url": f"https://i.example/{i}.jpg", "width": 640, "height": 640}],
            genres=["indie", f"genre {i}"],
            popularity=i % 101,
            followers=1000 + i,
        )
    if i % 3 == 1:
        return ArtistCandidate(name=f"TM Artist {i}", ticketmaster_id=f"tm{i}")
    return ArtistCandidate(
        name=f"MB Artist {i}",
        ticketmaster_id=f"tm{i}",
        mbid=f"00000000-0000-4000-8000-{i:012d}",
        image_url=f"https://tm.example/{i}.jpg",
    )


@pytest.mark.parametrize("count", [60, 120])
async def test_new_artists_are_inserted_in_a_fixed_number_of_statements(
    engine: AsyncEngine, count: int, caplog: pytest.LogCaptureFixture
) -> None:
    candidates = [_new_candidate(i) for i in range(count)]
    caplog.set_level(logging.INFO, logger="mysetlist.models.artists")
    with recorded_statements(engine) as statements:
        async with engine.begin() as conn:
            result = await resolve_artists(conn, candidates, now=NOW)

    # One lookup (spotify_id, ticketmaster_id, mbid or normalized_name in one statement; four
    # before), 1 slug lookup and one INSERT per column set (3), whatever the batch size (one
    # per new artist before that: 65 / 125).
    assert [verb for verb, _ in _verbs(statements)] == ["SELECT"] * 2 + ["INSERT"] * 3
    assert (result.added, result.linked, result.updated, result.merged) == (count, 0, 0, 0)
    assert result.conflicts == []
    assert len(set(result.artist_ids)) == count

    rows = {row["id"]: row for row in await _rows(engine)}
    assert len(rows) == count
    for candidate, artist_id in zip(candidates, result.artist_ids, strict=True):
        row = rows[artist_id]
        assert {
            name: row[name]
            for name in (
                "name",
                "normalized_name",
                "slug",
                "spotify_id",
                "ticketmaster_id",
                "mbid",
                "image_url",
                "images",
                "genres",
                "popularity",
                "followers",
                "created_at",
                "updated_at",
                "sync_failures",
            )
        } == {
            "name": candidate.name,
            "normalized_name": normalize_name(candidate.name),
            "slug": slugify(candidate.name),
            "spotify_id": candidate.spotify_id,
            "ticketmaster_id": candidate.ticketmaster_id,
            "mbid": candidate.mbid,
            "image_url": candidate.image_url,
            "images": candidate.images,
            "genres": candidate.genres,
            "popularity": candidate.popularity,
            "followers": candidate.followers,
            "created_at": NOW,
            "updated_at": NOW,
            "sync_failures": 0,
        }
    # Absent metadata is SQL NULL, not JSON null: a third of the candidates have images/genres.
    assert await _null_counts(engine) == (count - count // 3, count - count // 3)
    # One log line per new artist, in candidate order.
    assert [r.getMessage() for r in caplog.records if r.msg.startswith("artist added")] == [
        f"artist added: {c.name} ({', '.join(f'{k}={v}' for k, v in c.ids.items())})"
        for c in candidates
    ]


async def test_new_artists_keep_slug_collision_rules_within_one_batch(
    engine: AsyncEngine,
) -> None:
    batch = [
        ArtistCandidate(name="Nirvana", spotify_id="sp-us", genres=["grunge"]),
        ArtistCandidate(name="Nirvana", spotify_id="sp-uk"),
        ArtistCandidate(name="Nirvana", ticketmaster_id="tm-x"),
        ArtistCandidate(name="Nirvana!"),
        ArtistCandidate(name="NIRVANA"),
    ]
    with recorded_statements(engine) as statements:
        async with engine.begin() as conn:
            result = await resolve_artists(conn, batch, now=NOW)
    # One lookup by every id and name, the slug lookup, then one INSERT per column set:
    # Spotify id with genres, Spotify id, Ticketmaster id, no id (two rows).
    assert [verb for verb, _ in _verbs(statements)] == ["SELECT"] * 2 + ["INSERT"] * 4
    assert result.added == 5
    rows = {row["id"]: row for row in await _rows(engine)}
    assert len(rows) == 5
    assert [
        (
            rows[i]["name"],
            rows[i]["slug"],
            rows[i]["spotify_id"],
            rows[i]["ticketmaster_id"],
            rows[i]["genres"],
        )
        for i in result.artist_ids
    ] == [
        ("Nirvana", "nirvana", "sp-us", None, ["grunge"]),
        ("Nirvana", "nirvana-sp-uk", "sp-uk", None, None),
        ("Nirvana", "nirvana-tm-x", None, "tm-x", None),
        ("Nirvana!", "nirvana-2", None, None, None),
        ("NIRVANA", "nirvana-3", None, None, None),
    ]
    assert await _null_counts(engine) == (5, 4)


@pytest.mark.parametrize("count", [60, 120])
async def test_existing_artists_are_updated_in_a_fixed_number_of_statements(
    engine: AsyncEngine, count: int
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(artists),
            [
                {
                    "name": f"Artist {i}",
                    "normalized_name": normalize_name(f"Artist {i}"),
                    "slug": f"artist-{i}",
                    "spotify_id": f"sp{i}",
                    "popularity": 10,
                    "created_at": NOW,
                    "updated_at": NOW,
                    "sync_failures": 0,
                }
                for i in range(count + 2)
            ],
        )
    before = {row["spotify_id"]: row for row in await _rows(engine)}
    # Even: a Ticketmaster id to link. Odd: new popularity and genres. The last two: nothing new.
    candidates = [
        ArtistCandidate(name=f"Artist {i}", spotify_id=f"sp{i}", ticketmaster_id=f"tm{i}")
        if i % 2 == 0
        else ArtistCandidate(name=f"Artist {i}", spotify_id=f"sp{i}", popularity=50, genres=["x"])
        for i in range(count)
    ] + [ArtistCandidate(name=f"Artist {i}", spotify_id=f"sp{i}") for i in (count, count + 1)]

    with recorded_statements(engine) as statements:
        async with engine.begin() as conn:
            result = await resolve_artists(conn, candidates, now=LATER)

    # One lookup (spotify_id, ticketmaster_id, normalized_name), then one executemany UPDATE
    # per set of changed columns (one UPDATE per changed row before: 63 / 123).
    assert _verbs(statements) == [("SELECT", False)] + [("UPDATE", True)] * 2
    assert (result.added, result.linked, result.updated, result.merged) == (
        0,
        count // 2,
        count // 2,
        0,
    )
    assert result.artist_ids == [before[f"sp{i}"]["id"] for i in range(count + 2)]

    after = {row["spotify_id"]: row for row in await _rows(engine)}
    columns = ("id", "ticketmaster_id", "popularity", "genres", "updated_at")
    assert {sp: tuple(row[c] for c in columns) for sp, row in after.items()} == {
        f"sp{i}": (
            before[f"sp{i}"]["id"],
            f"tm{i}" if i % 2 == 0 and i < count else None,
            50 if i % 2 == 1 and i < count else 10,
            ["x"] if i % 2 == 1 and i < count else None,
            LATER if i < count else NOW,
        )
        for i in range(count + 2)
    }
    assert await _null_counts(engine) == (count + 2, count // 2 + 2)


async def test_a_row_changed_twice_in_one_call_is_updated_once(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await resolve_artists(
            conn, [ArtistCandidate(name="Big Thief", spotify_id="spBT", popularity=40)], now=NOW
        )
    row_id = first.artist_ids[0]
    batch = [
        # Matches by Spotify id: new popularity and genres.
        ArtistCandidate(name="Big Thief", spotify_id="spBT", popularity=55, genres=["folk"]),
        # Shares no id with the first (so not combined with it), matches by name: links a
        # Ticketmaster id, adds followers and sets popularity again (the later value wins).
        ArtistCandidate(name="BIG THIEF", ticketmaster_id="tmBT", popularity=60, followers=900),
    ]
    with recorded_statements(engine) as statements:
        async with engine.begin() as conn:
            result = await resolve_artists(conn, batch, now=LATER)
    # One lookup, one UPDATE with a single parameter set (so not an executemany).
    assert _verbs(statements) == [("SELECT", False), ("UPDATE", False)]
    assert result.artist_ids == [row_id, row_id]
    assert (result.added, result.linked, result.updated, result.merged) == (0, 1, 1, 0)
    rows = await _rows(engine)
    assert [
        (
            r["id"],
            r["spotify_id"],
            r["ticketmaster_id"],
            r["popularity"],
            r["followers"],
            r["genres"],
        )
        for r in rows
    ] == [(row_id, "spBT", "tmBT", 60, 900, ["folk"])]
    assert rows[0]["updated_at"] == LATER


async def test_pending_updates_are_written_before_a_merge_reads_the_rows(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        setup = await resolve_artists(
            conn,
            [
                ArtistCandidate(name="Alvvays", spotify_id="spA", mbid="mbA"),
                ArtistCandidate(
                    name="Alvvays (band)",
                    ticketmaster_id="tmB",
                    popularity=20,
                    image_url="https://tm.example/b.jpg",
                ),
            ],
            now=NOW,
        )
    a_id, b_id = setup.artist_ids
    assert a_id < b_id
    # No two candidates share an id, so each is resolved on its own (none are combined).
    batch = [
        # Row A (by name): popularity 50, pending when the merge comes.
        ArtistCandidate(name="Alvvays", popularity=50),
        # Row B (by name): followers 999, pending when the merge comes.
        ArtistCandidate(name="Alvvays (band)", followers=999),
        # Ids of A and B: B merges into A, reading both rows from the database. B's followers
        # must be written by then to reach A (A's popularity must not be filled from B's 20).
        ArtistCandidate(name="Alvvays", spotify_id="spA", ticketmaster_id="tmB"),
        # A again (by MBID), after the merge: pending until the end of the call.
        ArtistCandidate(name="Alvvays", mbid="mbA", sort_name="Alvvays, The"),
    ]
    with recorded_statements(engine) as statements:
        async with engine.begin() as conn:
            result = await resolve_artists(conn, batch, now=LATER)
    # The second candidate found row B, merged into A later in the call: it gets A's id.
    assert result.artist_ids == [a_id, a_id, a_id, a_id]
    assert (result.added, result.linked, result.updated, result.merged) == (0, 0, 3, 1)
    assert result.conflicts == []
    # Before the merge: A's popularity and B's followers (two column sets); at the end: A's
    # sort name. (The merge's own UPDATE of A is the fourth.)
    artist_updates = [sql for sql, _ in statements if sql.startswith("UPDATE artists ")]
    assert len(artist_updates) == 4
    rows = await _rows(engine)
    columns = (
        "id",
        "name",
        "spotify_id",
        "ticketmaster_id",
        "mbid",
        "sort_name",
        "popularity",
        "followers",
        "image_url",
        "updated_at",
    )
    assert [tuple(r[c] for c in columns) for r in rows] == [
        (
            a_id,
            "Alvvays",
            "spA",
            "tmB",
            "mbA",
            "Alvvays, The",
            50,
            999,
            "https://tm.example/b.jpg",
            LATER,
        )
    ]
