"""A sync batch links the ids found for its artists, and saves their history cursors, in a fixed
number of statements, with the same outcome as doing it one artist at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.artists import (
    ArtistCandidate,
    LinkResult,
    link_artist_ids,
    link_artists_ids,
    other_rows_knowledge,
)
from models.sync_state import HistoryMark, history, save_history_mark, save_history_marks
from models.tables import Artist
from tests.sync.test_identity_batching import _rows, _verbs, recorded_statements

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=3)
artists = Artist.__table__  # type: ignore[attr-defined]

MBID = "00000000-0000-4000-8000-{:012d}".format


def _row(i: int, **values: Any) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"Artist {i}",
        "normalized_name": f"artist {i}",
        "slug": f"artist-{i}",
        "created_at": EARLIER,
        "updated_at": EARLIER,
        "sync_failures": 0,
        **values,
    }


# Rows 1-12 are synced; 20-22 hold ids some of their searches found.
ROWS = [
    _row(1, ticketmaster_id="tm1"),
    _row(2, ticketmaster_id="tm2", mbid=MBID(2)),
    _row(3, ticketmaster_id="tm3", mbid=MBID(3)),
    _row(4, spotify_id="sp4", image_url="https://i.example/old4.jpg"),
    _row(5, ticketmaster_id="tm5", image_url="https://i.example/5.jpg"),
    _row(6, ticketmaster_id="tm6"),
    _row(7),
    _row(8, ticketmaster_id="tm8", popularity=10),
    _row(9, ticketmaster_id="tm9"),
    _row(10, ticketmaster_id="tm10"),
    _row(11, ticketmaster_id="tm11"),
    _row(12, ticketmaster_id="tm12"),
    _row(20, mbid=MBID(20)),
    _row(21, mbid=MBID(21), ticketmaster_id="tm21"),
    _row(
        22,
        mbid=MBID(22),
        claimed_by_run=1,
        claimed_until=NOW + timedelta(minutes=5),
    ),
]

# (row, candidate, exact fields): every branch of ``link_artist_ids`` but a merge.
FOUND: list[tuple[int, ArtistCandidate, frozenset[str]]] = [
    # a new MusicBrainz id and a sort name
    (
        1,
        ArtistCandidate(name="Artist 1", ticketmaster_id="tm1", mbid=MBID(1), sort_name="1, A"),
        frozenset({"mbid"}),
    ),
    # the id it already has: metadata only
    (2, ArtistCandidate(name="Artist 2", mbid=MBID(2), sort_name="2, Artist"), frozenset()),
    # another MusicBrainz id than its own: refused, no metadata
    (3, ArtistCandidate(name="Artist 3", mbid=MBID(30), sort_name="x"), frozenset({"mbid"})),
    # Spotify metadata on a row with that id
    (
        4,
        ArtistCandidate(
            name="Artist 4",
            spotify_id="sp4",
            image_url="https://i.example/4.jpg",
            images=[{"url": "https://i.example/4.jpg", "width": 64, "height": 64}],
            genres=["folk"],
            popularity=40,
            followers=1234,
        ),
        frozenset(),
    ),
    # a lesser source's image: kept only where there is none
    (
        5,
        ArtistCandidate(
            name="Artist 5",
            ticketmaster_id="tm5",
            image_url="https://tm.example/5.jpg",
            fill_only=frozenset({"image_url"}),
        ),
        frozenset(),
    ),
    (
        6,
        ArtistCandidate(
            name="Artist 6",
            ticketmaster_id="tm6",
            image_url="https://tm.example/6.jpg",
            fill_only=frozenset({"image_url"}),
        ),
        frozenset(),
    ),
    # two ids at once
    (7, ArtistCandidate(name="Artist 7", ticketmaster_id="tm7", mbid=MBID(7)), frozenset()),
    # nothing new
    (8, ArtistCandidate(name="Artist 8", ticketmaster_id="tm8", popularity=10), frozenset()),
    # an id another row holds, found by name only: refused
    (9, ArtistCandidate(name="Artist 9", mbid=MBID(20)), frozenset()),
    # found exactly, but the rows' ids contradict: refused
    (10, ArtistCandidate(name="Artist 10", mbid=MBID(21)), frozenset({"mbid"})),
    # found exactly, but another run is syncing the holder: refused
    (11, ArtistCandidate(name="Artist 11", mbid=MBID(22)), frozenset({"mbid"})),
    # a new id and metadata
    (12, ArtistCandidate(name="Artist 12", mbid=MBID(12), genres=["jazz"]), frozenset()),
]


async def _seed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for row in ROWS:  # one by one: the rows have different column sets
            await conn.execute(insert(artists).values(**row))


def _outcome(result: LinkResult) -> tuple[int, int, int, dict[str, str]]:
    return (result.linked, result.updated, result.merged, dict(result.refused))


async def test_linking_a_batch_matches_linking_one_by_one(
    engine: AsyncEngine, database_url: str, tmp_path: Any
) -> None:
    await _seed(engine)
    with recorded_statements(engine) as statements:
        async with engine.begin() as conn:
            batched = await link_artists_ids(conn, FOUND, now=NOW)
    assert batched is not None
    after_batch = await _rows(engine)

    # The same rows linked one by one, on a fresh copy of the same rows.
    async with engine.begin() as conn:
        await conn.execute(artists.delete())
    await _seed(engine)
    async with engine.begin() as conn:
        single = [
            await link_artist_ids(conn, artist_id, candidate, now=NOW, exact=exact)
            for artist_id, candidate, exact in FOUND
        ]
    assert [_outcome(r) for r in batched] == [_outcome(r) for r in single]
    assert after_batch == await _rows(engine)

    # Linked: 1 (mbid), 7 (two ids), 12 (mbid); metadata only: 2, 4, 6; refused: 3, 9, 10, 11.
    assert [(r.linked, r.updated, sorted(r.refused)) for r in batched] == [
        (1, 0, []),
        (0, 1, []),
        (0, 0, ["mbid"]),
        (0, 1, []),
        (0, 0, []),
        (0, 1, []),
        (1, 0, []),
        (0, 0, []),
        (0, 0, ["mbid"]),
        (0, 0, ["mbid"]),
        (0, 0, ["mbid"]),
        (1, 0, []),
    ]
    rows = {row["id"]: row for row in after_batch}
    assert (rows[1]["mbid"], rows[1]["sort_name"], rows[1]["updated_at"]) == (MBID(1), "1, A", NOW)
    assert (rows[3]["mbid"], rows[3]["sort_name"], rows[3]["updated_at"]) == (
        MBID(3),
        None,
        EARLIER,
    )
    assert (rows[4]["genres"], rows[4]["followers"], rows[4]["image_url"]) == (
        ["folk"],
        1234,
        "https://i.example/4.jpg",
    )
    assert rows[5]["image_url"] == "https://i.example/5.jpg"
    assert rows[6]["image_url"] == "https://tm.example/6.jpg"
    assert (rows[7]["ticketmaster_id"], rows[7]["mbid"]) == ("tm7", MBID(7))
    assert rows[8]["updated_at"] == EARLIER
    assert [rows[i]["mbid"] for i in (9, 10, 11)] == [None, None, None]

    # The rows in one read, the holders of the new ids in one per id field (MusicBrainz,
    # Ticketmaster), then one UPDATE per set of changed columns: not one per artist.
    verbs = _verbs(statements)
    assert verbs[:3] == [("SELECT", False)] * 3
    assert {verb for verb, _ in verbs[3:]} == {"UPDATE"}
    assert len(verbs[3:]) == len(
        {
            frozenset(("mbid", "sort_name", "updated_at")),
            frozenset(("sort_name", "updated_at")),
            frozenset(("image_url", "images", "genres", "popularity", "followers", "updated_at")),
            frozenset(("image_url", "updated_at")),
            frozenset(("ticketmaster_id", "mbid", "updated_at")),
            frozenset(("mbid", "genres", "updated_at")),
        }
    )


async def test_a_batch_that_would_merge_a_row_is_not_linked(engine: AsyncEngine) -> None:
    await _seed(engine)
    before = await _rows(engine)
    # Row 20 holds MBID(20) and nothing contradicts: found exactly, linking it merges row 20.
    found = [
        (1, ArtistCandidate(name="Artist 1", mbid=MBID(1)), frozenset({"mbid"})),
        (7, ArtistCandidate(name="Artist 7", mbid=MBID(20)), frozenset({"mbid"})),
    ]
    async with engine.begin() as conn:
        assert await link_artists_ids(conn, found, now=NOW) is None
    assert await _rows(engine) == before


async def test_a_batch_of_rows_sharing_an_id_is_refused(engine: AsyncEngine) -> None:
    await _seed(engine)
    found = [
        (1, ArtistCandidate(name="Artist 1", mbid=MBID(1)), frozenset()),
        (7, ArtistCandidate(name="Artist 7", mbid=MBID(1)), frozenset()),
    ]
    async with engine.begin() as conn:
        with pytest.raises(ValueError, match="share no id"):
            await link_artists_ids(conn, found, now=NOW)
        with pytest.raises(LookupError, match="artist 99"):
            await link_artists_ids(
                conn, [(99, ArtistCandidate(name="Gone", mbid=MBID(99)), frozenset())], now=NOW
            )


async def _history(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        result = await conn.execute(select(history).order_by(history.c.artist_id))
        return [tuple(row) for row in result]


async def test_history_marks_of_a_batch_match_saving_them_one_by_one(engine: AsyncEngine) -> None:
    await _seed(engine)
    stored = [
        (1, HistoryMark(MBID(1), 3, False)),  # a shorter read later: the cursor stays
        (2, HistoryMark(MBID(2), 1, False)),  # a longer read later: it moves on
        (3, HistoryMark(MBID(3), 5, True)),  # complete stays complete
        (4, HistoryMark(MBID(40), 7, True)),  # another id later: starts over
    ]
    later = [
        (1, HistoryMark(MBID(1), 1, False)),
        (2, HistoryMark(MBID(2), 4, False)),
        (3, HistoryMark(MBID(3), 1, False)),
        (4, HistoryMark(MBID(4), 1, False)),
        (5, HistoryMark(MBID(5), 2, True)),  # new
        (6, HistoryMark(MBID(6), -1, False)),  # never below 0
    ]
    async with engine.begin() as conn:
        for artist_id, mark in stored:
            await save_history_mark(conn, artist_id, mark, now=EARLIER)
    with recorded_statements(engine) as statements:
        async with engine.begin() as conn:
            await save_history_marks(conn, later, now=NOW)
    batched = await _history(engine)
    # One read, one INSERT of the new cursors, one UPDATE of the others.
    assert _verbs(statements) == [("SELECT", False), ("INSERT", True), ("UPDATE", True)]

    async with engine.begin() as conn:
        await conn.execute(history.delete())
        for artist_id, mark in stored:
            await save_history_mark(conn, artist_id, mark, now=EARLIER)
        for artist_id, mark in later:
            await save_history_mark(conn, artist_id, mark, now=NOW)
    assert batched == await _history(engine)
    assert [row[:4] for row in batched] == [
        (1, MBID(1), 3, False),
        (2, MBID(2), 4, False),
        (3, MBID(3), 5, True),
        (4, MBID(4), 1, False),
        (5, MBID(5), 2, True),
        (6, MBID(6), 0, False),
    ]
    async with engine.begin() as conn:
        with pytest.raises(ValueError, match="one mark per artist"):
            await save_history_marks(conn, [later[0], later[0]], now=NOW)


async def test_what_other_rows_know_is_read_in_one_statement(engine: AsyncEngine) -> None:
    await _seed(engine)
    async with engine.begin() as conn:
        await conn.execute(
            insert(artists).values(
                **_row(30, name="Artist 1", normalized_name="artist 1", slug="artist-1-b"),
                ticketmaster_genres=["Rock", "Pop Rock"],
                genres=["indie rock"],
            )
        )
        await conn.execute(
            insert(artists).values(
                **_row(
                    31,
                    name="Artist 1",
                    normalized_name="artist 1",
                    slug="artist-1-c",
                    mbid=MBID(31),
                )
            )
        )
    with recorded_statements(engine) as statements:
        async with engine.connect() as conn:
            known = await other_rows_knowledge(
                conn, 1, "Artist 1", "mbid", [MBID(20), "tm21", "tm1", MBID(99), MBID(31)]
            )
            none = await other_rows_knowledge(conn, 1, "Artist 1", "ticketmaster_id", [])
    # Held by other rows: MBID(20) (row 20), tm21 and MBID(21)'s row, MBID(31); not tm1 (row 1
    # itself), not MBID(99). Same name without an MBID: row 30 (row 31 has one), with its
    # Ticketmaster and Spotify genres.
    assert known == (
        frozenset({MBID(20), "tm21", MBID(31)}),
        [(("Rock", "Pop Rock"), ("indie rock",))],
    )
    # Same name without a Ticketmaster id: rows 30 and 31 (in either order; 31 without genres).
    assert none[0] == frozenset()
    assert sorted(none[1]) == [((), ()), (("Rock", "Pop Rock"), ("indie rock",))]
    assert [verb for verb, _ in _verbs(statements)] == ["SELECT", "SELECT"]


async def test_ids_found_by_name_are_linked_together_or_one_by_one(engine: AsyncEngine) -> None:
    from tasks.store import Writer, link_found_ids

    await _seed(engine)
    found = [(artist_id, candidate) for artist_id, candidate, _ in FOUND]
    with recorded_statements(engine) as statements:
        total, conflicts = await link_found_ids(Writer(engine), found, now=NOW)
    together = await _rows(engine)
    assert (total.linked, total.updated, total.merged) == (3, 3, 0)
    # Found by name only (no exact field): rows 9, 10, 11 refused, and row 3's own mbid.
    assert [key for key, _ in conflicts] == [
        "artist:3:mbid",
        "artist:9:mbid",
        "artist:10:mbid",
        "artist:11:mbid",
    ]
    assert len([verb for verb, _ in _verbs(statements) if verb == "SELECT"]) == 3

    async with engine.begin() as conn:
        await conn.execute(artists.delete())
    await _seed(engine)
    async with engine.begin() as conn:
        for artist_id, candidate in found:
            await link_artist_ids(conn, artist_id, candidate, now=NOW)
    assert together == await _rows(engine)

    # Two rows found the same id: one by one, in order (the second is refused), and a row
    # merged away meanwhile is skipped.
    shared = [
        (1, ArtistCandidate(name="Artist 1", spotify_id="sp-x")),
        (7, ArtistCandidate(name="Artist 7", spotify_id="sp-x")),
        (99, ArtistCandidate(name="Gone", spotify_id="sp-y")),
    ]
    total, conflicts = await link_found_ids(Writer(engine), shared, now=NOW)
    assert (total.linked, total.updated, total.merged) == (1, 0, 0)
    assert [key for key, _ in conflicts] == ["artist:7:spotify_id"]
    rows = {row["id"]: row for row in await _rows(engine)}
    assert (rows[1]["spotify_id"], rows[7]["spotify_id"]) == ("sp-x", None)
    # A row merged away meanwhile, alone: skipped too (the batch read found it missing).
    total, conflicts = await link_found_ids(
        Writer(engine), [(99, ArtistCandidate(name="Gone", spotify_id="sp-y"))], now=NOW
    )
    assert (total.linked, total.updated, total.merged, conflicts) == (0, 0, 0, [])
