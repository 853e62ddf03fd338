"""The demo: deterministic simulated activity posted through the real monitor API, and the whole
run end to end against the loopback sandbox and the session's Prefect server."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.demo import ActivityTargets, demo_activity, load_activity_targets, post_activity, run_demo
from models.tables import SyncRun, UserActivity
from settings import Settings
from tests.monitor.factories import (
    ARTISTS,
    ENTRIES,
    SETLISTS,
    SHOWS,
    SONGS,
    artist,
    entry,
    insert_rows,
    setlist,
    show,
    song,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TARGETS = ActivityTargets(artists=[1, 2, 3], shows=[(10, 1), (11, 2)], votes=[(100, 20)])


def test_demo_activity_is_deterministic_and_favours_a_few_artists() -> None:
    events = demo_activity(TARGETS, now=NOW, day_key="20261120")

    assert events == demo_activity(TARGETS, now=NOW, day_key="20261120")
    assert events != demo_activity(TARGETS, now=NOW, day_key="20261121")
    assert [event["event_id"] for event in events] == [
        f"demo-20261120-{n}" for n in range(1, len(events) + 1)
    ]
    kinds = [event["kind"] for event in events]
    # Artists get 24, 12 and 8 views and a third as many follows; shows 12 and 6 views and half
    # as many attendances; the one setlist song one vote.
    assert kinds.count("view") == 24 + 12 + 8 + 12 + 6
    assert kinds.count("follow") == 8 + 4 + 2
    assert kinds.count("attendance") == 6 + 3
    assert kinds.count("vote_up") + kinds.count("vote_down") == 1
    artist_views = [e["artist_id"] for e in events if e["kind"] == "view" and "show_id" not in e]
    views_per_artist = sorted(artist_views.count(a) for a in (1, 2, 3))
    assert views_per_artist == [8, 12, 24]
    for event in events:
        occurred = datetime.fromisoformat(event["occurred_at"])
        assert NOW - timedelta(hours=48) < occurred < NOW


def test_no_targets_no_activity() -> None:
    assert demo_activity(ActivityTargets([], [], []), now=NOW, day_key="20261120") == []


async def _catalogue(engine: AsyncEngine) -> None:
    await insert_rows(
        engine,
        (ARTISTS, [artist(1, last_synced_at=NOW), artist(2, last_synced_at=NOW), artist(3)]),
        (
            SHOWS,
            [
                show(10, artist_id=1, local_date=(NOW + timedelta(days=5)).date()),
                show(11, artist_id=2, local_date=(NOW + timedelta(days=9)).date()),
                show(
                    12,
                    artist_id=1,
                    local_date=(NOW - timedelta(days=30)).date(),
                    status="completed",
                ),
            ],
        ),
        (SONGS, [song(100, artist_id=1), song(101, artist_id=1)]),
        (SETLISTS, [setlist(20, artist_id=1, show_id=12)]),
        (
            ENTRIES,
            [
                entry(1, setlist_id=20, position=1, song_id=100),
                entry(2, setlist_id=20, position=2, song_id=101),
            ],
        ),
    )


async def test_activity_targets_are_synced_artists_upcoming_shows_and_setlist_songs(
    engine: AsyncEngine,
) -> None:
    await _catalogue(engine)

    targets = await load_activity_targets(engine, now=NOW)

    assert targets == ActivityTargets(
        artists=[1, 2], shows=[(10, 1), (11, 2)], votes=[(100, 12), (101, 12)]
    )


async def test_activity_is_posted_through_the_monitor_api_once_per_day(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.api

    # The monitor refuses events older than 30 days: its clock is the events' clock.
    monkeypatch.setattr(monitor.api, "utcnow", lambda: NOW)
    await _catalogue(engine)
    settings = Settings(cron_secret=SecretStr("demo-test-secret-0123456789abcdef"))
    events = demo_activity(await load_activity_targets(engine, now=NOW), now=NOW, day_key="d1")

    first = await post_activity(settings, engine, events)
    again = await post_activity(settings, engine, events)

    assert first == (len(events), len(events))
    assert again == (0, len(events))
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(UserActivity))).scalar_one()
    assert stored == len(events)


async def test_posting_activity_without_a_cron_secret_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError, match="CRON_SECRET is not set"):
        await post_activity(Settings(), engine, [{"kind": "view", "artist_id": 1}])


@pytest.mark.prefect
def test_demo_runs_end_to_end_on_the_sandbox_and_restores_the_environment(
    fresh_prefect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "demo.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("WORK_POOL", fresh_prefect)
    monkeypatch.setenv("DISCOVERY_MARKETS", "35")  # one market: fewer Ticketmaster pages
    before = dict(os.environ)
    output = io.StringIO()

    code = run_demo(Console(file=output, width=200), artists=30, limit=2)

    text = output.getvalue()
    assert code == 0, text
    assert "using the offline sandbox at http://127.0.0.1:" in text
    assert "(no API keys set)" in text
    for step in (
        "1. Migrating the database",
        "2. Setting up Prefect",
        "3. Seeding",
        "4. Posting simulated user activity through the monitor API",
        "5. Calculating trending scores (daily)",
        "Sync health, last 24 h",
        "Geographic trending and similar artists",
        "Top artists of market 35 (New York/Tri-State Area) on ",
        "Artists similar to ",
        "demo finished in",
    ):
        assert step in text, step
    assert dict(os.environ) == before

    import asyncio

    from models.db import make_engine

    async def ledger() -> list[tuple[str, str]]:
        engine = make_engine(f"sqlite+aiosqlite:///{database}")
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(SyncRun.job, SyncRun.status).order_by(SyncRun.id)  # type: ignore[call-overload]
                )
                return [(str(job), str(status)) for job, status in rows]
        finally:
            await engine.dispose()

    runs = asyncio.run(ledger())
    assert ("seed-comprehensive", "success") in runs
    assert runs[-1] == ("calculate-trending", "success")
