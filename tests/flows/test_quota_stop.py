"""Issue 12 defect: setlist.fm had no quota stop. Its spent day (a 429 whose Retry-After names
midnight, or a 429 that outlasts the retries) was waited for the cap and retried, then each
remaining artist was marked failed, with back-off and an error row. Now the spent day ends
setlist.fm's work for the run, as a Ticketmaster quota stop does: the artists not reached are left
exactly as they were."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from flows.autonomous_sync import autonomous_sync
from flows.master_sync import master_sync
from models.tables import Artist, SyncError
from sandbox.caps import ApiCaps
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld

pytestmark = pytest.mark.prefect

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
ERRORS = SyncError.__table__  # type: ignore[attr-defined]


async def _state(world: SyncWorld) -> dict[int, tuple[object, ...]]:
    columns = (
        ARTISTS.c.setlistfm_synced_at,
        ARTISTS.c.last_synced_at,
        ARTISTS.c.next_sync_at,
        ARTISTS.c.sync_failures,
        ARTISTS.c.last_sync_error,
    )
    async with world.engine.connect() as conn:
        rows = (await conn.execute(select(ARTISTS.c.id, *columns).order_by(ARTISTS.c.id))).all()
    return {row[0]: tuple(row[1:]) for row in rows}


async def test_a_spent_setlistfm_day_ends_its_work_and_leaves_the_rest_as_they_were(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    # One artist at a time (a deterministic order); a short cap, so that before the fix the
    # retries did not wait a minute each.
    world.configure(SYNC_CONCURRENCY="1", HTTP_RETRY_AFTER_CAP_SECONDS="0.01")
    use_sandbox()
    await autonomous_sync(mode="discovery", limit=8)
    before = await _state(world)
    assert len(before) == 8
    # setlist.fm serves 3 requests today, then answers 429 with Retry-After until midnight.
    sandbox = use_sandbox(caps={"setlistfm": ApiCaps(per_day=3)})

    counts = await master_sync(mode="full", limit=8)

    assert "artists_failed" not in counts
    # the first two artists took the day's 3 requests; the third one's request was refused
    assert (counts["artists_synced"], counts["artists_skipped"]) == (2, 6)
    assert counts["requests_setlistfm"] == 4
    # the one request refused is the one that stopped setlist.fm: nothing was retried
    assert sandbox.stats.over_cap["setlistfm"] == 1
    after = await _state(world)
    untouched = [artist for artist, state in after.items() if state == before[artist]]
    synced = [artist for artist, state in after.items() if state[0] is not None]
    assert len(untouched) == counts["artists_skipped"]
    assert len(synced) == counts["artists_synced"]
    for artist in untouched:  # not failed, no back-off, not marked fresh
        assert after[artist][3] == 0
        assert after[artist][2] is None
        assert after[artist][0] is None
    async with world.engine.connect() as conn:
        errors = (await conn.execute(select(ERRORS.c.source, ERRORS.c.key))).all()
    assert errors == [("setlistfm", "run")]  # one row for the API, none per artist
