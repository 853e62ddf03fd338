"""Issue 12: two different artists with one name stay two rows, and ids that point at two rows
that cannot be merged never move a record to the oldest of them (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from clients.ticketmaster import TmAttraction
from models.artists import ArtistCandidate, resolve_artists
from models.tables import Artist
from tasks.mapping import attraction_candidate

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
artists = Artist.__table__  # type: ignore[attr-defined]
MB1 = "a1b2c3d4-0000-4000-8000-000000000001"
MBA = "a1b2c3d4-0000-4000-8000-00000000000a"
SP_H = "0000000000000000000HHH"
SP_B = "0000000000000000000BBB"
SP_X = "0000000000000000000XXX"


async def _rows(engine: AsyncEngine) -> list[tuple[int, str, str | None, str | None, str | None]]:
    async with engine.connect() as conn:
        found = await conn.execute(
            select(
                artists.c.id,
                artists.c.name,
                artists.c.spotify_id,
                artists.c.ticketmaster_id,
                artists.c.mbid,
            ).order_by(artists.c.id)
        )
        return [tuple(row) for row in found.all()]  # type: ignore[misc]


def _attraction(name: str, tm_id: str, **ids: str) -> ArtistCandidate:
    """A Ticketmaster attraction as the flows map it (its own id, the ids it links)."""
    return attraction_candidate(TmAttraction(id=tm_id, name=name, **ids))


async def test_two_attractions_of_one_name_never_link_by_name_to_a_lone_row(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await resolve_artists(conn, [ArtistCandidate(name="Young Owls", spotify_id="spY")])
        result = await resolve_artists(
            conn,
            [_attraction("Young Owls", "tm1"), _attraction("The Young Owls", "tm2")],
            create=False,
            now=NOW,
        )
    assert result.artist_ids == [0, 0]  # which of the two is the Spotify row? nobody knows
    assert await _rows(engine) == [(1, "Young Owls", "spY", None, None)]


async def test_a_lone_attraction_of_a_name_still_links_to_the_lone_row(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await resolve_artists(conn, [ArtistCandidate(name="Young Owls", spotify_id="spY")])
        # An attraction another id places (its own row) does not make the name ambiguous.
        await resolve_artists(conn, [_attraction("Young Owls Tribute", "tm9")])
        result = await resolve_artists(
            conn,
            [_attraction("Young Owls", "tm1"), _attraction("Young Owls Tribute", "tm9")],
            create=False,
            now=NOW,
        )
    assert result.artist_ids == [1, 2]
    assert (await _rows(engine))[0] == (1, "Young Owls", "spY", "tm1", None)


async def test_ids_on_two_rows_that_cannot_merge_resolve_to_the_record_own_row(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        # The older row holds the MusicBrainz id with another Ticketmaster id.
        await resolve_artists(conn, [_attraction("Somebody Else", "tm-other", mbid=MB1)], now=NOW)
        await resolve_artists(conn, [_attraction("Young Harbor", "tm-own")], now=NOW)
        result = await resolve_artists(
            conn,
            [_attraction("Young Harbor", "tm-own", mbid=MB1, spotify_id=SP_H)],
            create=False,
            now=NOW,
        )
    assert result.artist_ids == [2]
    assert result.merged == 0
    assert await _rows(engine) == [
        (1, "Somebody Else", None, "tm-other", MB1),
        (2, "Young Harbor", SP_H, "tm-own", None),
    ]


async def test_ids_on_two_rows_that_cannot_merge_and_no_own_row_resolve_to_none(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await resolve_artists(conn, [_attraction("A", "tm-a", mbid=MBA)], now=NOW)
        await resolve_artists(conn, [_attraction("B", "tm-b", spotify_id=SP_B)], now=NOW)
        result = await resolve_artists(
            conn,
            [ArtistCandidate(name="A or B", spotify_id=SP_X, mbid=MBA, ticketmaster_id="tm-b")],
            create=True,
            now=NOW,
        )
    assert result.artist_ids == [0]
    assert result.added == 0
    assert len(await _rows(engine)) == 2


async def test_an_attraction_links_by_name_only_to_a_row_whose_genres_fit(
    engine: AsyncEngine,
) -> None:
    """The month's cross-API twins: a Ticketmaster-only "X" classified R&B is not the
    Spotify-only "X" tagged metal, though no id tells them apart; a fitting genre still links."""
    metal = ArtistCandidate(
        name="The Hollow Strangers", spotify_id=SP_H, genres=["metalcore", "metal", "hard rock"]
    )
    folk = ArtistCandidate(name="Baptiste Collective", spotify_id=SP_B, genres=["indie folk"])
    async with engine.begin() as conn:
        await resolve_artists(conn, [metal, folk], now=NOW)
        twin = attraction_candidate(
            TmAttraction(id="tm1", name="The Hollow Strangers", genres=["R&B", "Soul"])
        )
        same = attraction_candidate(
            TmAttraction(id="tm2", name="Baptiste Collective", genres=["Folk", "Singer-Songwriter"])
        )
        result = await resolve_artists(conn, [twin, same], create=True, now=NOW)
    assert result.artist_ids == [3, 2]  # the twin is a new row; the folk act links by name
    assert await _rows(engine) == [
        (1, "The Hollow Strangers", SP_H, None, None),
        (2, "Baptiste Collective", SP_B, "tm2", None),
        (3, "The Hollow Strangers", None, "tm1", None),
    ]
    async with engine.connect() as conn:
        stored = await conn.execute(
            select(artists.c.id, artists.c.genres, artists.c.ticketmaster_genres).order_by(
                artists.c.id
            )
        )
        assert [tuple(row) for row in stored] == [
            (1, ["metalcore", "metal", "hard rock"], None),
            (2, ["indie folk"], ["Folk", "Singer-Songwriter"]),
            (3, None, ["R&B", "Soul"]),
        ]
    # And the other way: a Spotify artist found by name does not join the attraction's row.
    async with engine.begin() as conn:
        again = await resolve_artists(
            conn,
            [ArtistCandidate(name="The Hollow Strangers", spotify_id="sp-other", genres=["rap"])],
            create=False,
            now=NOW,
        )
    assert again.artist_ids == [0]  # neither row: row 1 has another id, row 3 is R&B
