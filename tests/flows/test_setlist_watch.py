"""Issue 12: a setlist published after an artist's daily turn waited for its next turn (about a
fortnight at 1,000 artists), so by the end of a simulated month 6.6 % of the synced artists
lacked part of their published history. The ``sync`` run (every 2 h) now watches the artists
with a show of the last days that has no setlist yet: their new setlists are read from their
incremental cursor and stored with the show, their other sync marks untouched."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from clients.clock import VirtualClock, use_time
from flows.autonomous_sync import apis_for, autonomous_sync
from flows.master_sync import master_sync
from flows.params import AutonomousSyncParams
from models.tables import Artist, Setlist, Show
from sandbox.catalog import Performance
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld

pytestmark = pytest.mark.prefect

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
SHOWS = Show.__table__  # type: ignore[attr-defined]
SETLISTS = Setlist.__table__  # type: ignore[attr-defined]


@pytest.fixture
def virtual(use_sandbox: Callable[..., Sandbox]) -> Iterator[Sandbox]:
    """The sandbox and the flows on one virtual calendar (as ``mysetlist simulate`` runs them)."""
    clock = VirtualClock()
    sandbox = use_sandbox(artists=60, clock=clock, today=date(2026, 3, 2))
    with use_time(clock, sandbox.now):
        yield sandbox


async def _next_publication(world: SyncWorld, sandbox: Sandbox) -> tuple[Performance, int, int]:
    """The first setlist to be published (after now) of a show stored for a synced artist with
    setlists: (its performance, the show's id, the artist's id)."""
    async with world.engine.connect() as conn:
        stored = {
            r.ticketmaster_id: (r.id, r.artist_id)
            for r in await conn.execute(
                select(SHOWS.c.id, SHOWS.c.artist_id, SHOWS.c.ticketmaster_id)
                .join(ARTISTS, ARTISTS.c.id == SHOWS.c.artist_id)
                .where(SHOWS.c.ticketmaster_id.is_not(None), ARTISTS.c.mbid.is_not(None))
            )
        }
    now = sandbox.now()
    coming = sorted(
        (p.versions[0], p.setlist_id, p, *stored[p.event_id])
        for artist in sandbox.catalog.artists
        for p in sandbox.catalog.performances(artist)
        if p.event_id in stored and p.versions[0] > now
    )
    _, _, performance, show_id, artist_id = coming[0]
    return performance, show_id, artist_id


async def test_a_setlist_published_after_the_daily_turn_is_stored_by_the_next_sync_run(
    world: SyncWorld, virtual: Sandbox
) -> None:
    sandbox = virtual
    await autonomous_sync(mode="discovery", limit=500)
    await master_sync(mode="full", limit=500)
    performance, show_id, artist_id = await _next_publication(world, sandbox)
    async with world.engine.connect() as conn:
        before = (
            await conn.execute(
                select(ARTISTS.c.last_synced_at, ARTISTS.c.next_sync_at).where(
                    ARTISTS.c.id == artist_id
                )
            )
        ).one()
    assert sandbox.now() < performance.versions[0] < sandbox.now() + timedelta(days=3)

    # Published an hour ago; the artist's next daily turn is far away.
    sandbox.advance(seconds=(performance.versions[0] - sandbox.now()).total_seconds() + 3600)
    world.configure(SETLIST_WATCH_PER_RUN="500")
    counts = await autonomous_sync(mode="sync", limit=1)

    async with world.engine.connect() as conn:
        stored = (
            await conn.execute(
                select(SETLISTS.c.artist_id, SETLISTS.c.show_id).where(
                    SETLISTS.c.setlistfm_id == performance.setlist_id
                )
            )
        ).one_or_none()
        artist = (
            await conn.execute(
                select(
                    ARTISTS.c.setlistfm_synced_at,
                    ARTISTS.c.last_synced_at,
                    ARTISTS.c.next_sync_at,
                ).where(ARTISTS.c.id == artist_id)
            )
        ).one()
    assert stored == (artist_id, show_id)
    assert counts["setlists_watched"] >= 1
    assert counts["setlists_added"] >= 1
    # The check moved only the artist's setlist.fm cursor.
    assert artist.setlistfm_synced_at > performance.versions[0]
    if artist.last_synced_at == before.last_synced_at:  # not the show sync's one artist
        assert artist.next_sync_at == before.next_sync_at

    # Checked a moment ago: the next run reads only setlist.fm's news (one page), in which the
    # stored setlist is no news.
    sandbox.stats.reset()
    again = await autonomous_sync(mode="sync", limit=1)
    assert "setlists_watched" not in again
    assert "setlist_news_artists" not in again
    assert again["setlist_news_pages"] == 1
    assert sandbox.stats.total("setlistfm") == 1


def test_the_watch_needs_a_setlistfm_key_and_a_budget(world: SyncWorld) -> None:
    sync = AutonomousSyncParams(mode="sync")
    # The daily plan keeps Spotify metadata fresh from the sync runs, when Spotify is configured.
    assert apis_for(sync, world.settings) == ["ticketmaster", "spotify", "setlistfm"]
    assert apis_for(sync, world.configure(SPOTIFY_CLIENT_SECRET="")) == [
        "ticketmaster",
        "setlistfm",
    ]
    world.configure(SPOTIFY_CLIENT_SECRET="secret", REQUEST_PLAN="fixed")
    assert apis_for(sync, world.settings) == ["ticketmaster", "setlistfm"]
    assert apis_for(AutonomousSyncParams(mode="discovery"), world.settings) == ["ticketmaster"]
    assert apis_for(sync, world.configure(SETLIST_WATCH_PER_RUN="0")) == ["ticketmaster"]
    world.configure(SETLIST_WATCH_PER_RUN="25")
    assert apis_for(sync, world.configure(SETLISTFM_API_KEY="")) == ["ticketmaster"]
