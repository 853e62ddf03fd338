"""A small catalogue with known similarity and geography, for the insights tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.monitor.factories import (
    ARTISTS,
    ENTRIES,
    SETLISTS,
    SHOWS,
    SONGS,
    SUPPORT_ACTS,
    VENUES,
    artist,
    entry,
    insert_rows,
    setlist,
    show,
    song,
    venue,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)
MBID_1 = "00000000-0000-0000-0000-000000000001"


async def build_world(engine: AsyncEngine) -> None:
    """Artists 1-6. Show 1 (venue 2, market 3): 1 headlines, 2 supports. Shows 2 and 3 at venue
    1 (market 3, Chicago): artists 1 and 3. Artist 4 covers a song of 1 (by MusicBrainz id) and
    plays it from tape once (not counted). Artists 5 and 6 share the genre rock; 5 is also
    indie rock. Show 4 (venue 3, market 27, Los Angeles) of artist 6; show 5 of 2 cancelled."""
    await insert_rows(
        engine,
        (
            ARTISTS,
            [
                artist(1, name="One", mbid=MBID_1, popularity=80),
                artist(2, name="Two", popularity=40),
                artist(3, name="Three", popularity=None),
                artist(4, name="Four", popularity=10),
                artist(5, name="Five", genres=["Rock", "indie rock"], popularity=60),
                artist(6, name="Six", genres=["rock"], popularity=50),
            ],
        ),
        (
            VENUES,
            [
                venue(1, city="Chicago", state_code="IL", country_code="US", market_id=3),
                venue(2, city="Rosemont", state_code="IL", country_code="US", market_id=3),
                venue(3, city="Los Angeles", state_code="CA", country_code="US", market_id=27),
            ],
        ),
        (
            SHOWS,
            [
                show(1, artist_id=1, venue_id=2, local_date=date(2026, 3, 24)),
                show(2, artist_id=1, venue_id=1, local_date=date(2026, 3, 10)),
                show(3, artist_id=3, venue_id=1, local_date=date(2026, 4, 7)),
                show(4, artist_id=6, venue_id=3, local_date=date(2026, 3, 17)),
                show(5, artist_id=2, venue_id=3, local_date=date(2026, 3, 12), status="cancelled"),
            ],
        ),
        (SUPPORT_ACTS, [{"show_id": 1, "artist_id": 2, "position": 1}]),
        (SONGS, [song(1, artist_id=4), song(2, artist_id=4)]),
        (SETLISTS, [setlist(1, artist_id=4, show_id=None)]),
        (
            ENTRIES,
            [
                {**entry(1, setlist_id=1, position=1, song_id=1), "cover_mbid": MBID_1},
                {
                    **entry(2, setlist_id=1, position=2, song_id=2),
                    "cover_mbid": MBID_1,
                    "tape": True,
                },
            ],
        ),
    )
