"""Issue 16: the daily request plan, on the real flows against the sandbox, on a virtual
calendar (``flows/_plan.py``).

- A run spends only its grant: the request past it is never sent, that API's work ends for the
  run, the artists it did not reach are left exactly as they were (no failure mark, no back-off,
  not marked fresh, no error row).
- A spent day grants nothing more; the next day grants again and the artists left over come
  first.
- Two workers on one budget never spend it twice.
- Development-tier Spotify (no batch reads) still keeps every artist's metadata fresh.
- The artists at the top of the daily trending ranking get their Spotify metadata daily.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from sqlalchemy import func, select

from clients.clock import VirtualClock, use_time
from flows.autonomous_sync import autonomous_sync
from flows.calculate_trending import calculate_trending
from models.request_budget import committed
from models.tables import Artist, Setlist, Show, SyncError, TrendingHistory
from sandbox.core import Sandbox
from sandbox.truth import Truth
from tests.flows.conftest import SyncWorld

pytestmark = pytest.mark.prefect

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
ERRORS = SyncError.__table__  # type: ignore[attr-defined]
SHOWS = Show.__table__  # type: ignore[attr-defined]
SETLISTS = Setlist.__table__  # type: ignore[attr-defined]
HISTORY = TrendingHistory.__table__  # type: ignore[attr-defined]
DAY = date(2026, 3, 2)
#: The planned runs' day: the day after the import (whose requests count on its own day).
PLANNED = date(2026, 3, 3)


@pytest.fixture
def virtual(use_sandbox: Callable[..., Sandbox]) -> Iterator[Sandbox]:
    """The sandbox and the flows on one virtual calendar (as ``mysetlist simulate`` runs them)."""
    clock = VirtualClock()
    sandbox = use_sandbox(artists=60, clock=clock, today=DAY)
    with use_time(clock, sandbox.now):
        yield sandbox


def _at(sandbox: Sandbox, instant: datetime) -> None:
    sandbox.advance(seconds=(instant - sandbox.now()).total_seconds())


async def _imported(world: SyncWorld) -> None:
    """Every artist of the markets imported (the fixed plan: discovery spends its limit)."""
    world.configure(REQUEST_PLAN="fixed")
    await autonomous_sync(mode="discovery", limit=500)
    # The plan's day: 20 Ticketmaster requests (a ceiling of 18 at 90 %).
    world.configure(
        REQUEST_PLAN="planned", TICKETMASTER_REQUESTS_PER_DAY="20", SETLIST_WATCH_PER_RUN="0"
    )


async def _tm_state(world: SyncWorld) -> dict[int, tuple[object, ...]]:
    async with world.engine.connect() as conn:
        rows = await conn.execute(
            select(
                ARTISTS.c.id,
                ARTISTS.c.ticketmaster_synced_at,
                ARTISTS.c.last_synced_at,
                ARTISTS.c.next_sync_at,
                ARTISTS.c.sync_failures,
                ARTISTS.c.last_sync_error,
            )
            .where(ARTISTS.c.ticketmaster_id.is_not(None))
            .order_by(ARTISTS.c.id)
        )
        return {row[0]: tuple(row[1:]) for row in rows}


async def _latest_summary() -> str:
    """The markdown of the latest ``autonomous-sync`` summary artifact."""
    async with get_client() as client:
        [artifact] = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["autonomous-sync-summary"])),
            sort="CREATED_DESC",
            limit=1,
        )
    return str(artifact.data)


async def _errors(world: SyncWorld) -> int:
    async with world.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(ERRORS))).scalar_one())


async def test_a_run_spends_its_grant_and_the_next_day_catches_up(
    world: SyncWorld, virtual: Sandbox
) -> None:
    sandbox = virtual
    await _imported(world)
    before = await _tm_state(world)
    assert len(before) == 34
    assert all(state[0] is None for state in before.values())  # no listing read yet

    # The next day's last sync run (22:00): nothing comes after it, it is granted all 18.
    _at(sandbox, datetime(2026, 3, 3, 22, 0, 30, tzinfo=UTC))
    sandbox.stats.reset()
    counts = await autonomous_sync(mode="sync", limit=1000)

    assert counts["artists_selected"] == 18  # as many as the grant covers, not the limit
    assert counts["requests_ticketmaster"] == sandbox.stats.total("ticketmaster") == 18
    synced_first = counts["artists_synced"]
    assert synced_first + counts.get("artists_skipped", 0) == 18
    assert await committed(world.engine, "ticketmaster", PLANNED) == 18
    after = await _tm_state(world)
    fresh = {a for a, state in after.items() if state[0] is not None}
    assert len(fresh) == synced_first
    for artist in set(after) - fresh:  # untouched: not failed, no back-off, not fresh
        assert after[artist] == before[artist]
    assert await _errors(world) == 0  # a spent grant is the plan, not an error

    # The day is spent: the next run is granted nothing, sends nothing, and says so.
    sandbox.stats.reset()
    again = await autonomous_sync(mode="sync", limit=1000)
    assert again["artists_selected"] == 0
    summary = await _latest_summary()
    assert (
        "Request plan: ticketmaster: granted 0 of 0 left today (plan ceiling 18 of the 20 quota;"
        " weight 1 against 0 for the 0 runs still to come today)." in summary
    )
    assert (
        "Request plan: ticketmaster: today's plan is spent; this run's ticketmaster work is"
        " skipped and waits for tomorrow's." in summary
    )
    assert sandbox.stats.total("ticketmaster") == 0
    assert await _tm_state(world) == after

    # The next day grants again; the artists left over (never synced) come first.
    _at(sandbox, datetime(2026, 3, 4, 22, 0, 30, tzinfo=UTC))
    sandbox.stats.reset()
    next_day = await autonomous_sync(mode="sync", limit=1000)
    assert sandbox.stats.total("ticketmaster") == 18
    assert await committed(world.engine, "ticketmaster", PLANNED + timedelta(days=1)) == 18
    caught_up = await _tm_state(world)
    newly = {a for a, state in caught_up.items() if state[0] is not None} - fresh
    assert newly == set(before) - fresh  # every artist left over, then the 2 stalest again
    assert next_day["artists_synced"] == len(newly) + 2 == 18
    assert await _errors(world) == 0


async def test_two_workers_on_one_budget_never_spend_it_twice(
    world: SyncWorld, virtual: Sandbox
) -> None:
    sandbox = virtual
    await _imported(world)
    _at(sandbox, datetime(2026, 3, 3, 22, 0, 30, tzinfo=UTC))
    sandbox.stats.reset()

    first, second = await asyncio.gather(
        autonomous_sync(mode="sync", limit=1000), autonomous_sync(mode="sync", limit=1000)
    )

    # One worker was granted the day's 18, the other what was left: nothing.
    assert sorted([first["artists_selected"], second["artists_selected"]]) == [0, 18]
    assert sandbox.stats.total("ticketmaster") == 18
    assert first.get("requests_ticketmaster", 0) + second.get("requests_ticketmaster", 0) == 18
    assert await committed(world.engine, "ticketmaster", PLANNED) == 18
    synced = first.get("artists_synced", 0) + second.get("artists_synced", 0)
    assert synced == 18
    state = await _tm_state(world)
    assert sum(1 for s in state.values() if s[0] is not None) == synced


async def test_spotify_metadata_is_kept_fresh_in_development_mode(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    clock = VirtualClock()
    sandbox = use_sandbox(artists=60, clock=clock, today=DAY, spotify_tier="development")
    with use_time(clock, sandbox.now):
        world.configure(REQUEST_PLAN="fixed")
        await autonomous_sync(mode="discovery", limit=500)
        world.configure(REQUEST_PLAN="planned", SETLIST_WATCH_PER_RUN="0")
        sandbox.stats.reset()
        counts = await autonomous_sync(mode="sync", limit=1000)
        async with world.engine.connect() as conn:
            rows = (
                await conn.execute(select(ARTISTS.c.spotify_id, ARTISTS.c.spotify_synced_at))
            ).all()
        # Every artist read (by id, one request each in development mode) or searched by name.
        assert counts["spotify_rotated"] == len(rows) == 34
        assert all(row.spotify_synced_at is not None for row in rows)
        assert sum(1 for row in rows if row.spotify_id) == 32
        assert sandbox.stats.total("spotify") >= len(rows)
        # Six days later nobody is due yet; a seventh, everybody again.
        sandbox.advance(seconds=timedelta(days=5, hours=23).total_seconds())
        quiet = await autonomous_sync(mode="sync", limit=1000)
        assert "spotify_rotated" not in quiet
        sandbox.advance(seconds=timedelta(hours=2).total_seconds())
        again = await autonomous_sync(mode="sync", limit=1000)
        assert again["spotify_rotated"] == 34


@pytest.mark.parametrize("top", [5, 0])
async def test_the_trending_top_gets_its_spotify_metadata_daily(
    world: SyncWorld, virtual: Sandbox, top: int
) -> None:
    world.configure(REQUEST_PLAN="fixed")
    await autonomous_sync(mode="discovery", limit=500)
    world.configure(
        REQUEST_PLAN="planned", SETLIST_WATCH_PER_RUN="0", SPOTIFY_TRENDING_DAILY=str(top)
    )
    first = await autonomous_sync(mode="sync", limit=1000)
    assert first["spotify_rotated"] == 34  # everybody read once, nobody ranked yet
    assert "spotify_trending_daily" not in first
    await calculate_trending(mode="daily")
    async with world.engine.connect() as conn:
        ranked = [
            row.entity_id
            for row in await conn.execute(
                select(HISTORY.c.entity_id)
                .where(HISTORY.c.entity_type == "artist")
                .order_by(HISTORY.c.score.desc(), HISTORY.c.entity_id)
            )
        ]
        before = dict((await conn.execute(select(ARTISTS.c.id, ARTISTS.c.spotify_synced_at))).all())
    assert len(ranked) >= 6
    # 21 h later the weekly rotation has nobody due; the day's top `top` are read again, by id
    # in one batch.
    _at(virtual, virtual.now() + timedelta(hours=21))
    virtual.stats.reset()
    later = await autonomous_sync(mode="sync", limit=1000)
    async with world.engine.connect() as conn:
        after = dict((await conn.execute(select(ARTISTS.c.id, ARTISTS.c.spotify_synced_at))).all())
    read = sorted(i for i in after if after[i] != before[i])
    assert read == sorted(ranked[:top])
    assert all(after[i] == virtual.now() for i in read)
    assert "spotify_rotated" not in later
    assert later.get("spotify_trending_daily") == (top or None)
    assert virtual.stats.total("spotify") == (1 if top else 0)
    if top:
        assert f"daily for the trending top {top}: {top} of {top}." in await _latest_summary()
    # An hour later they are not due again.
    _at(virtual, virtual.now() + timedelta(hours=1))
    quiet = await autonomous_sync(mode="sync", limit=1000)
    assert "spotify_trending_daily" not in quiet


async def test_an_artist_due_daily_and_weekly_is_read_once(
    world: SyncWorld, virtual: Sandbox
) -> None:
    """Ranked before its first Spotify read, a top artist is due for both the daily reads and
    the rotation: it is claimed and read once."""
    world.configure(REQUEST_PLAN="fixed")
    await autonomous_sync(mode="discovery", limit=500)
    await calculate_trending(mode="daily")
    world.configure(REQUEST_PLAN="planned", SETLIST_WATCH_PER_RUN="0", SPOTIFY_TRENDING_DAILY="5")
    virtual.stats.reset()
    counts = await autonomous_sync(mode="sync", limit=1000)
    assert (counts["spotify_trending_daily"], counts["spotify_rotated"]) == (5, 29)
    assert "Spotify rotation: 29 of 29 artists read" in await _latest_summary()


async def test_a_dropped_event_is_delisted_by_the_next_sweep(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    """The daily plan's discovery looks up by id the stored shows a complete market sweep no
    longer lists: a dropped event is delisted at the next sweep (within 4 h), not at the
    artist's next listing read. Seed 13's 60 artists: an event dated 2026-05-19, in a city with
    two more events listed, is dropped on 2026-03-04 at 12:18."""
    clock = VirtualClock()
    sandbox = use_sandbox(artists=60, seed=13, clock=clock, today=DAY)
    with use_time(clock, sandbox.now):
        world.configure(REQUEST_PLAN="fixed")
        await autonomous_sync(mode="discovery", limit=500)
        [drop] = [
            change
            for change in Truth(sandbox.catalog).changes(
                sandbox.now(), sandbox.now() + timedelta(days=3), kinds=["event_dropped"]
            )
            if change.event is not None and change.event.local_date == date(2026, 5, 19)
        ]
        assert await _status(world, drop.event_id) == "upcoming"

        world.configure(REQUEST_PLAN="planned")
        _at(sandbox, datetime(2026, 3, 4, 16, 0, tzinfo=UTC))  # the next discovery run
        counts = await autonomous_sync(mode="discovery", limit=500)

        assert await _status(world, drop.event_id) == "delisted"
        assert counts["vanished_shows_delisted"] == 1
        assert counts["vanished_shows_checked"] == counts["shows_vanished"]


async def _status(world: SyncWorld, event_id: str | None) -> str:
    async with world.engine.connect() as conn:
        return str(
            (
                await conn.execute(
                    select(SHOWS.c.status).where(SHOWS.c.ticketmaster_id == event_id)
                )
            ).scalar_one()
        )


async def test_setlist_news_finds_a_setlist_no_stored_show_announces(
    world: SyncWorld, virtual: Sandbox
) -> None:
    """The planned watch reads setlist.fm's news (every setlist published or edited in the last
    26 h) and reads our artists among them: a setlist whose show we never stored (played
    before the artist was imported) is stored by the next sync run, not when the history
    backfill reaches its artist."""
    sandbox = virtual
    await _imported(world)
    async with world.engine.begin() as conn:  # shows we never stored: nothing to watch
        await conn.execute(SHOWS.delete())
    world.configure(
        REQUEST_PLAN="planned",
        TICKETMASTER_REQUESTS_PER_DAY="1",  # no listing read today: no show stored again
        SETLIST_WATCH_PER_RUN="25",
        SETLIST_HISTORY_PAGES_PER_RUN="0",  # no backfill: only the watch reads setlist.fm
    )
    at = datetime(2026, 3, 3, 10, 0, 30, tzinfo=UTC)
    _at(sandbox, at)
    truth = Truth(sandbox.catalog)
    async with world.engine.connect() as conn:
        mbids = [m for m in (await conn.execute(select(ARTISTS.c.mbid))).scalars() if m is not None]
    news = {
        s.performance.setlist_id
        for mbid in mbids
        for s in truth.setlists(sandbox.catalog.artist_by_mbid[mbid], at)
        if s.performance.versions[0] >= at - timedelta(hours=26)
    }
    assert len(news) == 1  # published in the last 26 h by an artist of ours (2 March, 14:47)

    counts = await autonomous_sync(mode="sync", limit=1000)

    async with world.engine.connect() as conn:
        stored = set((await conn.execute(select(SETLISTS.c.setlistfm_id))).scalars())
    assert news <= stored
    assert counts["setlist_news_pages"] == 1
    assert counts["setlist_news_artists"] == 1
    assert await _errors(world) == 0
