"""Issue 12 identity recall: discovery imports at most ``limit`` new artists a run, ranked by
evidence (events headlined, markets). On a first day with hundreds of unknown artists, an artist
whose only listed events were that day or the next ranked low, was left for a later run, and no
later sweep saw it again: 6 of 735 exposed artists never got a row in a simulated month of
1,000 artists. Those about to leave the listing now come first."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from clients.clock import VirtualClock, use_time
from flows.autonomous_sync import autonomous_sync
from models.tables import Artist
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld

pytestmark = pytest.mark.prefect

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
TODAY = date(2026, 3, 2)


@pytest.fixture
def virtual(use_sandbox: Callable[..., Sandbox]) -> Iterator[Sandbox]:
    clock = VirtualClock()
    sandbox = use_sandbox(artists=200, clock=clock, today=TODAY)
    with use_time(clock, sandbox.now):
        yield sandbox


async def test_artists_about_to_leave_the_listing_are_imported_first(
    world: SyncWorld, virtual: Sandbox
) -> None:
    sandbox = virtual
    # The 90-day sweep of the fixed plan: there, artists whose every listed event is today or
    # tomorrow are common (the daily plan sweeps the year ahead, where 200 artists have none).
    settings = world.configure(REQUEST_PLAN="fixed")
    markets = set(settings.discovery_markets)
    start = sandbox.now()  # midnight UTC: the sweep's window starts here
    end = start + timedelta(days=settings.sweep_window_days)
    # What the sweep lists now: each attraction's events in the discovery markets and window.
    days: dict[str, list[date]] = {}
    headlined: dict[str, int] = {}
    for event in sandbox.truth.listed_events(sandbox.now()):
        if event.venue.market.id not in markets or not start <= event.sort_instant < end:
            continue
        for position, artist in enumerate(event.attractions):
            days.setdefault(artist.ticketmaster_id, []).append(event.local_date)
            headlined[artist.ticketmaster_id] = headlined.get(artist.ticketmaster_id, 0) + (
                position == 0
            )
    leaving = {tm for tm, dates in days.items() if max(dates) <= TODAY + timedelta(days=1)}
    assert 0 < len(leaving) < len(days)
    by_evidence = sorted(days, key=lambda tm: -headlined[tm])[: len(leaving)]
    assert not leaving <= set(by_evidence)  # evidence alone would leave some of them out

    await autonomous_sync(mode="discovery", limit=len(leaving))

    async with world.engine.connect() as conn:
        imported = set((await conn.execute(select(ARTISTS.c.ticketmaster_id))).scalars())
    assert imported == leaving
