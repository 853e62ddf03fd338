"""Issue 12 defect: an artist whose setlist.fm search found nothing got its setlist.fm sync time
stamped; when its MusicBrainz id turned up later (here through Ticketmaster's link), only the
setlists edited since that stamp were read, so its history was never fetched."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select, update

from flows.autonomous_sync import autonomous_sync
from flows.master_sync import master_sync
from models.tables import Artist, Setlist
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld, failing_when, reset_database

pytestmark = pytest.mark.prefect

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
SETLISTS = Setlist.__table__  # type: ignore[attr-defined]


async def _setlists(world: SyncWorld) -> int:
    async with world.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(SETLISTS))).scalar_one())


async def test_an_id_that_arrives_after_an_empty_search_brings_the_whole_first_sync_history(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    # The first sync's own reads (the fixed plan: the daily plan's backfill would read the
    # histories of artists with an id at once, from page 1, in the same run).
    world.configure(REQUEST_PLAN="fixed")
    use_sandbox()
    await autonomous_sync(mode="discovery", limit=8)
    await master_sync(mode="full", limit=8)
    expected = await _setlists(world)  # a first sync of these artists, found at once
    assert expected > 0

    await reset_database(world.engine)
    use_sandbox()
    await autonomous_sync(mode="discovery", limit=8)
    async with world.engine.begin() as conn:  # no MusicBrainz link on Ticketmaster either
        await conn.execute(update(ARTISTS).values(mbid=None))
    # setlist.fm knows none of them yet: every artist search answers 404 (no result)
    use_sandbox(wrap=failing_when(lambda r: r.url.path.endswith("/search/artists"), status=404))
    searched = await master_sync(mode="full", limit=8)
    assert searched["artists_synced"] == 8
    assert await _setlists(world) == 0
    async with world.engine.connect() as conn:
        stamped = (
            await conn.execute(
                select(func.count()).where(ARTISTS.c.setlistfm_synced_at.is_not(None))
            )
        ).scalar_one()
    assert stamped == 8  # searched: not searched again before SETLIST_RESEARCH_AFTER_DAYS

    use_sandbox()  # the same run linked their ids from Ticketmaster's links; no 404 any more
    found = await master_sync(mode="full", limit=8)
    assert found.get("setlists_added", 0) == await _setlists(world) == expected
