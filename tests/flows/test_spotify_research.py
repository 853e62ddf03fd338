"""Issue 12 defect: every daily run searched Spotify again by name for each artist without a
Spotify id; like setlist.fm, a search that found nothing now waits SPOTIFY_RESEARCH_AFTER_DAYS."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select, update

from flows.autonomous_sync import autonomous_sync
from flows.master_sync import master_sync
from models.tables import Artist
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld

pytestmark = pytest.mark.prefect

ARTISTS = Artist.__table__  # type: ignore[attr-defined]


class SearchCounter(httpx.AsyncBaseTransport):
    """Counts the Spotify artist searches that pass through to the sandbox."""

    searches = 0

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v1/search"):
            SearchCounter.searches += 1
        return await self.inner.handle_async_request(request)


async def test_an_artist_spotify_does_not_know_is_searched_again_only_after_the_pause(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    use_sandbox()
    await autonomous_sync(mode="discovery", limit=6)
    async with world.engine.begin() as conn:  # names Spotify has never heard of, and no id
        nobody = "Nobody " + func.cast(ARTISTS.c.id, ARTISTS.c.name.type)
        await conn.execute(update(ARTISTS).values(spotify_id=None, name=nobody))
        without_id = (
            await conn.execute(select(func.count()).where(ARTISTS.c.spotify_id.is_(None)))
        ).scalar_one()
    SearchCounter.searches = 0
    use_sandbox(wrap=SearchCounter)

    first = await master_sync(mode="daily", limit=6)
    after_first = SearchCounter.searches
    second = await master_sync(mode="daily", limit=6)  # the same day: nobody is due
    after_second = SearchCounter.searches
    world.configure(SPOTIFY_RESEARCH_AFTER_DAYS="0.0000001")
    async with world.engine.connect() as conn:  # some got their id from Ticketmaster's links
        still_without = (
            await conn.execute(select(func.count()).where(ARTISTS.c.spotify_id.is_(None)))
        ).scalar_one()
    await master_sync(mode="daily", limit=6)

    assert first["artists_synced"] == second["artists_synced"] == 6
    assert after_first == without_id == 6  # one search each
    assert after_second == after_first  # none again within the pause
    assert SearchCounter.searches - after_second == still_without  # after it, once more each
