"""One real-world artist is one row, whichever source found it first."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.artists import ArtistCandidate, resolve_artists
from models.identity import normalize_name, normalize_title, slugify
from models.tables import Artist, ArtistSnapshot, Show, Song

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
artists = Artist.__table__  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        ("The Beatles", "beatles"),
        ("BEATLES!", "beatles"),
        ("Beyoncé", "beyonce"),
        ("Simon & Garfunkel", "simon and garfunkel"),
        ("  A  Tribe Called Quest ", "tribe called quest"),
        ("The The", "the"),
    ],
)
def test_normalize_name_ignores_case_accents_punctuation_and_articles(
    name: str, normalized: str
) -> None:
    assert normalize_name(name) == normalized


def test_normalize_title_drops_featuring_suffix() -> None:
    assert normalize_title("Crazy in Love (feat. Jay-Z)") == "crazy in love"
    assert normalize_title("Crazy In Love") == "crazy in love"


def test_slugify_is_ascii_and_dashed() -> None:
    assert slugify("Beyoncé & Jay-Z") == "beyonce-and-jay-z"
    assert slugify("!!!") == "artist"


async def _rows(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as conn:
        result = await conn.execute(select(artists).order_by(artists.c.id))
        return [dict(row) for row in result.mappings()]


@pytest.mark.parametrize("spotify_first", [True, False])
async def test_artist_known_to_all_three_sources_is_one_row_whichever_came_first(
    engine: AsyncEngine, spotify_first: bool
) -> None:
    spotify = ArtistCandidate(
        name="Phoebe Bridgers", spotify_id="1r1uxoy19fzMxunt3ONAkG", popularity=71
    )
    ticketmaster = ArtistCandidate(
        name="Phoebe Bridgers", ticketmaster_id="K8vZ917_tm", spotify_id="1r1uxoy19fzMxunt3ONAkG"
    )
    setlistfm = ArtistCandidate(
        name="phoebe bridgers",
        ticketmaster_id="K8vZ917_tm",
        mbid="a1b2c3d4-0000-4000-8000-000000000001",
    )
    order = (
        [spotify, ticketmaster, setlistfm] if spotify_first else [setlistfm, ticketmaster, spotify]
    )
    for candidate in order:
        async with engine.begin() as conn:
            await resolve_artists(conn, [candidate], now=NOW)
    rows = await _rows(engine)
    assert len(rows) == 1
    row = rows[0]
    assert (row["spotify_id"], row["ticketmaster_id"], row["mbid"]) == (
        "1r1uxoy19fzMxunt3ONAkG",
        "K8vZ917_tm",
        "a1b2c3d4-0000-4000-8000-000000000001",
    )
    assert row["popularity"] == 71
    assert row["slug"] == "phoebe-bridgers"


async def test_resolving_the_same_batch_twice_changes_nothing(engine: AsyncEngine) -> None:
    batch = [
        ArtistCandidate(name="Boygenius", ticketmaster_id="tm1", spotify_id="sp1"),
        ArtistCandidate(name="Lucy Dacus", ticketmaster_id="tm2"),
    ]
    async with engine.begin() as conn:
        first = await resolve_artists(conn, batch, now=NOW)
    before = await _rows(engine)
    async with engine.begin() as conn:
        second = await resolve_artists(conn, batch, now=NOW)
    assert (first.added, first.linked, first.updated) == (2, 0, 0)
    assert (second.added, second.linked, second.updated, second.merged) == (0, 0, 0, 0)
    assert second.artist_ids == first.artist_ids
    assert await _rows(engine) == before


async def test_candidates_of_one_batch_sharing_an_id_become_one_artist(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        result = await resolve_artists(
            conn,
            [
                ArtistCandidate(name="MUNA", ticketmaster_id="tmM"),
                ArtistCandidate(name="Muna", ticketmaster_id="tmM", spotify_id="spM", followers=10),
            ],
            now=NOW,
        )
    assert result.added == 1
    assert result.artist_ids[0] == result.artist_ids[1]
    rows = await _rows(engine)
    assert [(r["ticketmaster_id"], r["spotify_id"], r["followers"]) for r in rows] == [
        ("tmM", "spM", 10)
    ]


async def test_rows_found_separately_are_merged_when_a_source_links_them(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        first = await resolve_artists(
            conn, [ArtistCandidate(name="Alvvays", ticketmaster_id="tmA")], now=NOW
        )
        second = await resolve_artists(
            conn, [ArtistCandidate(name="ALVVAYS (band)", spotify_id="spA")], now=NOW
        )
        tm_row, sp_row = first.artist_ids[0], second.artist_ids[0]
        assert tm_row != sp_row
        await conn.execute(
            insert(Show.__table__).values(  # type: ignore[attr-defined]
                artist_id=sp_row,
                local_date=date(2026, 12, 1),
                status="upcoming",
                ticketmaster_id="ev1",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        await conn.execute(
            insert(Song.__table__).values(
                artist_id=sp_row, title="Archie", normalized_title="archie", created_at=NOW
            )  # type: ignore[attr-defined]
        )
        await conn.execute(
            insert(ArtistSnapshot.__table__).values(
                artist_id=sp_row, day=date(2026, 11, 27), captured_at=NOW
            )  # type: ignore[attr-defined]
        )
        merged = await resolve_artists(
            conn,
            [ArtistCandidate(name="Alvvays", ticketmaster_id="tmA", spotify_id="spA")],
            now=NOW,
        )
    assert merged.merged == 1
    assert merged.artist_ids == [tm_row]
    rows = await _rows(engine)
    assert [(r["id"], r["ticketmaster_id"], r["spotify_id"]) for r in rows] == [
        (tm_row, "tmA", "spA")
    ]
    async with engine.connect() as conn:
        for table in (Show, Song, ArtistSnapshot):
            owners = (await conn.execute(select(table.artist_id))).scalars().all()  # type: ignore[attr-defined]
            assert owners == [tm_row]


async def test_name_match_never_overrides_a_conflicting_id(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await resolve_artists(conn, [ArtistCandidate(name="Nirvana", spotify_id="sp-us")], now=NOW)
        other = await resolve_artists(
            conn, [ArtistCandidate(name="Nirvana", spotify_id="sp-uk")], now=NOW
        )
    assert other.added == 1
    rows = await _rows(engine)
    assert [(r["spotify_id"], r["slug"]) for r in rows] == [
        ("sp-us", "nirvana"),
        ("sp-uk", "nirvana-sp-uk"),
    ]


async def test_unknown_candidates_are_not_created_when_create_is_false(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        result = await resolve_artists(
            conn, [ArtistCandidate(name="X", ticketmaster_id="t")], create=False
        )
        count = (await conn.execute(select(func.count()).select_from(artists))).scalar_one()
    assert result.artist_ids == [0]
    assert count == 0


async def test_partial_source_never_erases_known_fields(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await resolve_artists(
            conn,
            [ArtistCandidate(name="Wet Leg", spotify_id="spW", popularity=60, followers=1000)],
            now=NOW,
        )
        result = await resolve_artists(
            conn, [ArtistCandidate(name="Wet Leg", spotify_id="spW")], now=NOW
        )
    assert (result.updated, result.linked) == (0, 0)
    rows = await _rows(engine)
    assert (rows[0]["popularity"], rows[0]["followers"]) == (60, 1000)


async def test_database_refuses_a_second_artist_with_an_existing_id(engine: AsyncEngine) -> None:
    from sqlalchemy.exc import IntegrityError

    async with engine.begin() as conn:
        await resolve_artists(
            conn, [ArtistCandidate(name="Japanese Breakfast", mbid="mb-1")], now=NOW
        )
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                insert(artists).values(
                    name="JB",
                    normalized_name="jb",
                    slug="jb",
                    mbid="mb-1",
                    sync_failures=0,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


def test_normalize_title_keeps_articles() -> None:
    assert normalize_title("The Summer Hands") == "the summer hands"
    assert normalize_title("Summer Hands") == "summer hands"
