"""``seed-comprehensive``: a new installation's first fill, from the configured APIs only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from flows.seed import seed_comprehensive
from models.tables import Artist, Setlist, Show, TrendingArtist
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld, ledger

pytestmark = pytest.mark.prefect


async def test_seed_runs_discovery_sync_master_sync_and_trending_from_the_apis_only(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    sandbox = use_sandbox()
    counts = await seed_comprehensive(limit=15)

    runs = await ledger(world.engine)
    assert [(r["job"], r["mode"], r["status"]) for r in runs] == [
        ("seed-comprehensive", None, "success"),
        ("autonomous-sync", "discovery", "success"),
        ("autonomous-sync", "sync", "success"),
        ("master-sync", "full", "success"),
        ("calculate-trending", "daily", "success"),
    ]
    assert runs[0]["counts"] == counts
    assert counts["discovered_artists_added"] == 15
    assert "artists_added" not in counts  # counted once, on the discovery run's own row
    async with world.engine.connect() as conn:
        artists = (await conn.execute(select(Artist.__table__))).all()  # type: ignore[attr-defined]
        scored = set(
            (await conn.execute(select(TrendingArtist.artist_id))).scalars()  # type: ignore[call-overload]
        )
        shows = (
            await conn.execute(select(func.count()).select_from(Show.__table__))  # type: ignore[attr-defined]
        ).scalar_one()
        setlists = (
            await conn.execute(select(func.count()).select_from(Setlist.__table__))  # type: ignore[attr-defined]
        ).scalar_one()
    assert len(artists) == 15
    # Every artist is a real catalogue artist (nothing random was made up) and got a score.
    catalog = sandbox.catalog
    assert all(a.ticketmaster_id in catalog.artist_by_ticketmaster_id for a in artists)
    assert scored == {a.id for a in artists}
    assert shows > 0
    assert setlists > 0
    assert counts["setlists_added"] == setlists
