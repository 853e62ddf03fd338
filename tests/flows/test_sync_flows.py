"""The sync flows end to end against the in-process sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

import tasks.store
from flows.autonomous_sync import autonomous_sync
from flows.master_sync import master_sync
from models.tables import (
    Artist,
    Setlist,
    SetlistEntry,
    Show,
    Song,
    SyncError,
    SyncRun,
)
from models.types import utcnow
from sandbox.core import Sandbox
from tasks.deps import MissingCredentials
from tasks.mapping import setlist_record
from tests.flows.conftest import SyncWorld, dump, failing_when, ledger, reset_database

pytestmark = pytest.mark.prefect

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
SHOWS = Show.__table__  # type: ignore[attr-defined]
SETLISTS = Setlist.__table__  # type: ignore[attr-defined]
ENTRIES = SetlistEntry.__table__  # type: ignore[attr-defined]
SONGS = Song.__table__  # type: ignore[attr-defined]
RUNS = SyncRun.__table__  # type: ignore[attr-defined]
ERRORS = SyncError.__table__  # type: ignore[attr-defined]

StartSandbox = Callable[..., Sandbox]


async def run_everything() -> list[dict[str, int]]:
    return [
        await autonomous_sync(mode="discovery", limit=500),
        await autonomous_sync(mode="sync", limit=500),
        await master_sync(mode="full", limit=500),
    ]


async def count(engine: AsyncEngine, table: Any, *where: Any) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(table)
        for clause in where:
            query = query.where(clause)
        return int((await conn.execute(query)).scalar_one())


async def test_a_second_identical_run_changes_no_rows(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    use_sandbox()
    first = await run_everything()
    before = await dump(world.engine)
    async with world.engine.connect() as conn:
        stamps = (await conn.execute(select(func.max(SHOWS.c.updated_at)))).scalar_one()
    second = await run_everything()

    assert first[0]["artists_added"] > 0
    assert len(before["shows"]) > 0
    assert len(before["setlist_entries"]) > 0
    assert await dump(world.engine) == before
    async with world.engine.connect() as conn:
        assert (await conn.execute(select(func.max(SHOWS.c.updated_at)))).scalar_one() == stamps
    changed = {
        key: value
        for counts in second
        for key, value in counts.items()
        if key.endswith(("_added", "_updated", "_linked", "_merged", "_removed")) and value
    }
    assert changed == {}


async def test_an_artist_on_all_three_sources_is_one_row_with_all_three_ids(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    sandbox = use_sandbox()
    await run_everything()
    catalog = sandbox.catalog
    async with world.engine.connect() as conn:
        rows = (await conn.execute(select(ARTISTS))).all()
    by_tm = {row.ticketmaster_id: row for row in rows if row.ticketmaster_id}
    checked = 0
    for artist in catalog.artists:
        if not (artist.on_spotify and artist.on_ticketmaster and artist.on_setlistfm):
            continue
        row = by_tm.get(artist.ticketmaster_id)
        if row is None:
            continue  # not discovered: no upcoming event in the window
        assert (row.spotify_id, row.mbid) == (artist.spotify_id, artist.mbid), artist.name
        checked += 1
    unlinked = [a for a in catalog.artists if not (a.link_spotify and a.link_musicbrainz)]
    assert checked >= 10
    assert any(a.ticketmaster_id in by_tm for a in unlinked)  # linking beyond externalLinks
    for column in ("spotify_id", "ticketmaster_id", "mbid"):
        values = [getattr(row, column) for row in rows if getattr(row, column)]
        assert len(values) == len(set(values))


async def test_setlists_keep_sets_encores_covers_and_tapes(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    sandbox = use_sandbox()
    await run_everything()
    catalog = sandbox.catalog
    async with world.engine.connect() as conn:
        stored = (await conn.execute(select(SETLISTS))).all()
        assert stored
        checked = 0
        for setlist in stored:
            performance = catalog.performance_by_setlist_id(setlist.setlistfm_id)
            assert performance is not None
            version = performance.version_at(sandbox.now())
            assert setlist.version_id == catalog.version_id(performance, version)
            expected = [
                (
                    index,
                    content.name,
                    content.encore,
                    song.name,
                    song.tape,
                    song.cover.name if song.cover else None,
                )
                for index, content in enumerate(catalog.sets(performance, version), start=1)
                for song in content.songs
            ]
            got = (
                await conn.execute(
                    select(
                        ENTRIES.c.set_index,
                        ENTRIES.c.set_name,
                        ENTRIES.c.encore,
                        SONGS.c.title,
                        ENTRIES.c.tape,
                        ENTRIES.c.cover_artist_name,
                    )
                    .join(SONGS, SONGS.c.id == ENTRIES.c.song_id)
                    .where(ENTRIES.c.setlist_id == setlist.id)
                    .order_by(ENTRIES.c.position)
                )
            ).all()
            assert [tuple(row) for row in got] == expected
            checked += 1
        encores = (
            await conn.execute(select(func.count()).where(ENTRIES.c.encore > 0))
        ).scalar_one()
        tapes = (
            await conn.execute(select(func.count()).where(ENTRIES.c.tape.is_(True)))
        ).scalar_one()
        covers = (
            await conn.execute(select(func.count()).where(ENTRIES.c.cover_artist_name.is_not(None)))
        ).scalar_one()
    assert checked == len(stored)
    assert encores > 0
    assert tapes > 0
    assert covers > 0


async def test_an_edited_setlist_is_picked_up_and_unchanged_artists_cost_one_request(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    sandbox = use_sandbox()
    await run_everything()
    async with world.engine.connect() as conn:
        versions = dict(
            (await conn.execute(select(SETLISTS.c.setlistfm_id, SETLISTS.c.version_id))).all()
        )
        with_mbid = (
            await conn.execute(select(func.count()).where(ARTISTS.c.mbid.is_not(None)))
        ).scalar_one()

    sandbox.stats.reset()
    unchanged = await master_sync(mode="full", limit=500)
    assert sandbox.stats.total("setlistfm") == with_mbid
    assert unchanged.get("setlists_added", 0) == unchanged.get("setlists_updated", 0) == 0

    sandbox.advance(days=30)
    sandbox.stats.reset()
    edited = await master_sync(mode="full", limit=500)
    async with world.engine.connect() as conn:
        after = dict(
            (await conn.execute(select(SETLISTS.c.setlistfm_id, SETLISTS.c.version_id))).all()
        )
    changed = {k for k in versions if after[k] != versions[k]}
    new = set(after) - set(versions)
    assert changed, "the sandbox edited no stored setlist in 30 days"
    assert edited.get("setlists_updated", 0) == len(changed)
    assert edited.get("setlists_added", 0) == len(new)
    for setlist_id in changed:
        performance = sandbox.catalog.performance_by_setlist_id(setlist_id)
        assert performance is not None
        version = performance.version_at(sandbox.now())
        assert after[setlist_id] == sandbox.catalog.version_id(performance, version)


async def test_cancelled_and_postponed_shows_keep_their_status_and_past_shows_complete(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    # The fixed plan: the daily plan's sync run would also read the artists' setlist histories,
    # whose past shows would join the four laid down by hand below.
    world.configure(REQUEST_PLAN="fixed")
    sandbox = use_sandbox(artists=120)
    await autonomous_sync(mode="discovery", limit=500)
    await autonomous_sync(mode="sync", limit=500)
    expected = {"canceled": "cancelled", "postponed": "postponed"}
    async with world.engine.connect() as conn:
        stored = dict((await conn.execute(select(SHOWS.c.ticketmaster_id, SHOWS.c.status))).all())
    seen: set[str] = set()
    for event in sandbox.catalog.events:
        if event.id in stored and event.status in expected:
            assert stored[event.id] == expected[event.status], event.id
            seen.add(event.status)
    assert seen == {"canceled", "postponed"}

    # A show that was upcoming and whose date has passed becomes completed once Ticketmaster
    # confirms it; one whose event Ticketmaster no longer has is delisted, never completed (the
    # phantom completion); setlist.fm's own show needs no confirmation; cancelled stays.
    today = utcnow().date()
    yesterday = today - timedelta(days=1)
    async with world.engine.connect() as conn:
        known = set((await conn.execute(select(ARTISTS.c.ticketmaster_id))).scalars())
    played = next(
        e
        for e in sandbox.catalog.events
        if e.local_date < today
        and e.status == "onsale"
        and e.headliner.ticketmaster_id in known
        and sandbox.catalog.event_at(e.id, sandbox.now()) is not None
    )
    async with world.engine.begin() as conn:
        artist_id = (
            await conn.execute(
                select(ARTISTS.c.id).where(
                    ARTISTS.c.ticketmaster_id == played.headliner.ticketmaster_id
                )
            )
        ).scalar_one()
        for key, status, day in (
            ("past-dropped", "upcoming", yesterday),
            ("past-cancelled", "cancelled", yesterday),
            (played.id, "upcoming", played.local_date),
            (None, "upcoming", yesterday),
        ):
            await conn.execute(
                insert(SHOWS).values(
                    ticketmaster_id=key,
                    artist_id=artist_id,
                    local_date=day,
                    status=status,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
    result = await master_sync(mode="hourly", limit=1)
    async with world.engine.connect() as conn:
        after = (
            await conn.execute(
                select(SHOWS.c.ticketmaster_id, SHOWS.c.status).where(
                    SHOWS.c.artist_id == artist_id,
                    SHOWS.c.local_date < today,
                )
            )
        ).all()
    assert sorted(after, key=lambda row: str(row[0])) == [
        (None, "completed"),
        ("past-cancelled", "cancelled"),
        ("past-dropped", "delisted"),
        (played.id, "completed"),
    ]
    assert result["shows_completed"] == 1
    assert result["past_shows_checked"] == 2
    assert result["past_shows_delisted"] == 1


async def test_ten_percent_upstream_faults_give_the_same_database_as_none(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    world.configure(HTTP_MAX_RETRIES="8")
    sandbox = use_sandbox(fault_rate=0.10, fault_seed=3)
    await run_everything()
    faults = sum(
        sandbox.stats.as_dict()["faults"].get(api, {}).get(kind, 0) for api in () for kind in ()
    )
    del faults
    faulty = await dump(world.engine)
    injected = sandbox.stats.as_dict()["faults"]
    await reset_database(world.engine)
    use_sandbox(fault_rate=0.0)
    await run_everything()
    assert injected, "no fault was injected"
    assert await dump(world.engine) == faulty


def failing_for(
    attraction_id: str,
) -> Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]:
    return failing_when(lambda request: request.url.params.get("attractionId") == attraction_id)


async def test_a_failed_artist_is_never_marked_fresh_and_is_retried_next_run(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    world.configure(HTTP_MAX_RETRIES="1")
    use_sandbox()
    await autonomous_sync(mode="discovery", limit=500)
    async with world.engine.connect() as conn:
        victim = (
            await conn.execute(
                select(ARTISTS.c.id, ARTISTS.c.ticketmaster_id)
                .where(ARTISTS.c.ticketmaster_id.is_not(None))
                .order_by(ARTISTS.c.id)
                .limit(1)
            )
        ).one()
    use_sandbox(wrap=failing_for(victim.ticketmaster_id))
    failed_run = await autonomous_sync(mode="sync", limit=500)
    async with world.engine.connect() as conn:
        row = (await conn.execute(select(ARTISTS).where(ARTISTS.c.id == victim.id))).one()
        error = (
            await conn.execute(select(ERRORS).where(ERRORS.c.key == f"artist:{victim.id}"))
        ).one()
        others_fresh = (
            await conn.execute(
                select(func.count()).where(
                    ARTISTS.c.id != victim.id, ARTISTS.c.last_synced_at.is_not(None)
                )
            )
        ).scalar_one()
    assert failed_run["artists_failed"] == 1
    assert row.last_synced_at is None
    assert row.ticketmaster_synced_at is None
    assert row.sync_failures == 1
    assert row.next_sync_at is not None
    assert "RetriesExhausted" in error.error
    assert error.attempts == 1
    assert others_fresh == failed_run["artists_synced"] > 0
    runs = await ledger(world.engine)
    assert runs[-1]["status"] == "partial"

    use_sandbox()  # the upstream recovers
    retried = await autonomous_sync(mode="sync", limit=500)
    async with world.engine.connect() as conn:
        row = (await conn.execute(select(ARTISTS).where(ARTISTS.c.id == victim.id))).one()
    assert retried["artists_selected"] == 1
    assert retried["artists_synced"] == 1
    assert row.last_synced_at is not None
    assert row.sync_failures == 0
    assert (await ledger(world.engine))[-1]["status"] == "success"


async def test_a_dry_run_writes_nothing_but_its_ledger_row(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    use_sandbox()
    would = await autonomous_sync(mode="full", limit=20, dry_run=True)
    assert would["artists_added"] == 20
    # each write is rolled back at once: the sync step sees no artist stored, so no show
    assert would.get("shows_added", 0) == 0
    empty = await dump(world.engine)
    assert all(rows == [] for rows in empty.values())
    runs = await ledger(world.engine)
    assert [(r["job"], r["mode"], r["dry_run"], r["status"]) for r in runs] == [
        ("autonomous-sync", "full", True, "success")
    ]
    assert await count(world.engine, ERRORS) == 0

    await autonomous_sync(mode="discovery", limit=500)
    before = await dump(world.engine)
    would_sync = await autonomous_sync(mode="sync", limit=500, dry_run=True)
    assert would_sync["shows_added"] > 0
    would_master = await master_sync(mode="full", limit=500, dry_run=True)
    assert would_master["setlists_added"] > 0
    assert await dump(world.engine) == before


async def test_ledger_rows_carry_the_counts_and_statuses(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    use_sandbox()
    results = await run_everything()
    runs = await ledger(world.engine)
    assert [(r["job"], r["mode"], r["status"]) for r in runs] == [
        ("autonomous-sync", "discovery", "success"),
        ("autonomous-sync", "sync", "success"),
        ("master-sync", "full", "success"),
    ]
    for run, counts in zip(runs, results, strict=True):
        assert run["counts"] == counts
        assert run["finished_at"] >= run["started_at"]
        assert run["error_summary"] is None
    assert runs[0]["counts"]["artists_found"] >= runs[0]["counts"]["artists_added"] > 0
    assert runs[0]["parameters"] == {"mode": "discovery", "limit": 500, "dry_run": False}
    assert await count(world.engine, ARTISTS) >= runs[0]["counts"]["artists_added"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "everything"}, "mode"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"limit": True}, "limit"),  # a boolean is not a number of artists
        ({"limit": "5"}, "limit"),
    ],
)
async def test_invalid_parameters_fail_before_any_work(
    world: SyncWorld, use_sandbox: StartSandbox, kwargs: dict[str, Any], message: str
) -> None:
    sandbox = use_sandbox()
    with pytest.raises(Exception, match=message):
        await autonomous_sync(**kwargs)
    [refused] = await ledger(world.engine)  # recorded by the flow's on_failure hook
    assert (refused["job"], refused["status"]) == ("autonomous-sync", "failed")
    assert refused["error_summary"].startswith("refused: Validation of flow parameters failed")
    assert sandbox.stats.total() == 0


async def test_a_flow_refused_for_missing_credentials_records_why_and_sends_nothing(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    sandbox = use_sandbox()
    world.configure(SETLISTFM_API_KEY="")
    with pytest.raises(MissingCredentials, match="SETLISTFM_API_KEY"):
        await master_sync(mode="daily", limit=5)
    [refused] = await ledger(world.engine)
    assert (refused["job"], refused["status"]) == ("master-sync", "failed")
    assert refused["error_summary"] == (
        "refused: MissingCredentials: missing settings: SETLISTFM_API_KEY (set them in the "
        "environment or .env; `make run` uses the offline sandbox when no API keys are set)"
    )
    assert refused["finished_at"] == refused["started_at"]
    assert sandbox.stats.total() == 0


async def test_spotify_development_mode_degrades_without_failing(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    sandbox = use_sandbox(spotify_tier="development")
    world.configure(DISCOVERY_PLAYLISTS=",".join(sandbox.catalog.playlist_ids[:2]))
    results = await run_everything()
    runs = await ledger(world.engine)
    assert [r["status"] for r in runs] == ["success", "success", "success"]
    assert results[2]["artists_synced"] > 0
    async with world.engine.connect() as conn:
        popularity = (
            await conn.execute(select(func.count()).where(ARTISTS.c.popularity.is_not(None)))
        ).scalar_one()
    assert popularity == 0


async def test_an_artist_whose_data_the_database_refuses_fails_alone_in_its_batch(
    world: SyncWorld, use_sandbox: StartSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is stored in one transaction; when one artist's data is refused (here a negative
    encore, against a CHECK), the batch is stored artist by artist: that artist fails (error
    row, retry time, never marked fresh), every other one is stored and marked fresh."""
    use_sandbox()
    await autonomous_sync(mode="discovery", limit=500)
    # The victim: an artist whose MusicBrainz id is stored before the run (one found by the run
    # is stored with its data, so a refused artist would keep none to find it by).
    async with world.engine.connect() as conn:
        known = set((await conn.execute(select(ARTISTS.c.mbid))).scalars().all()) - {None}
    poisoned: list[str] = []

    def poisoning(setlist: Any) -> Any:
        record = setlist_record(setlist)
        if not poisoned and setlist.artist.mbid in known:
            poisoned.append(setlist.artist.mbid)
        if not poisoned or setlist.artist.mbid != poisoned[0] or not record.sets:
            return record
        return dataclasses.replace(
            record, sets=(dataclasses.replace(record.sets[0], encore=-1), *record.sets[1:])
        )

    monkeypatch.setattr(tasks.store, "setlist_record", poisoning)
    run = await master_sync(mode="full", limit=500)

    async with world.engine.connect() as conn:
        victim = (await conn.execute(select(ARTISTS).where(ARTISTS.c.mbid == poisoned[0]))).one()
        errors = (
            (await conn.execute(select(ERRORS.c.key).where(ERRORS.c.source == "sync")))
            .scalars()
            .all()
        )
        fresh = (
            await conn.execute(select(func.count()).where(ARTISTS.c.last_synced_at.is_not(None)))
        ).scalar_one()
        stored_for = set(
            (await conn.execute(select(SETLISTS.c.artist_id).distinct())).scalars().all()
        )
    assert run["artists_failed"] == 1
    assert errors == [f"artist:{victim.id}"]
    assert (victim.last_synced_at, victim.setlistfm_synced_at) == (None, None)
    assert victim.sync_failures == 1
    assert victim.next_sync_at is not None
    assert fresh == run["artists_synced"] == run["artists_selected"] - 1
    assert victim.id not in stored_for
    assert len(stored_for) > 1
    assert run["setlists_added"] == await count(world.engine, SETLISTS)
