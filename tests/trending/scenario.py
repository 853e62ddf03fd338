"""The small trending fixture whose scores are computed by hand in the tests.

``NOW`` is 2025-06-01 12:00 UTC; half-lives are 72 hours (activity) and 14 days (shows), so an
event 72 hours old weighs 0.5 and a show 14 days ahead has proximity 0.5.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from models.trending.scores import scores_at_last_run
from settings import Settings

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TODAY = date(2025, 6, 1)
HALF_LIFE = timedelta(hours=72)
# When the fixture's catalogue rows were written (their updated_at / captured_at): before the
# first run, so the change feed of later runs finds only what a test edits.
CATALOGUED = datetime(2025, 5, 1, tzinfo=UTC)

TABLES = SQLModel.metadata.tables
ARTISTS = TABLES["artists"]
SHOWS = TABLES["shows"]
ACTIVITY = TABLES["user_activity"]
SNAPSHOTS = TABLES["artist_snapshots"]
HISTORY = TABLES["trending_history"]
WATERMARKS = TABLES["trending_watermarks"]
ARTIST_TRENDS = TABLES["trending_artists"]
SHOW_TRENDS = TABLES["trending_shows"]


def trending_settings() -> Settings:
    return Settings(
        _env_file=None,
        trending_activity_half_life_hours=72.0,
        trending_show_half_life_days=14.0,
    )


def artist(artist_id: int, *, popularity: int | None, followers: int | None) -> dict[str, Any]:
    return {
        "id": artist_id,
        "name": f"Artist {artist_id}",
        "normalized_name": f"artist {artist_id}",
        "slug": f"artist-{artist_id}",
        "popularity": popularity,
        "followers": followers,
        "created_at": CATALOGUED,
        "updated_at": CATALOGUED,
    }


def show(show_id: int, *, artist_id: int, local_date: date, status: str) -> dict[str, Any]:
    return {
        "id": show_id,
        "artist_id": artist_id,
        "name": f"Show {show_id}",
        "local_date": local_date,
        "status": status,
        "created_at": CATALOGUED,
        "updated_at": CATALOGUED,
    }


def snapshot(artist_id: int, day: date, followers: int | None) -> dict[str, Any]:
    return {
        "artist_id": artist_id,
        "day": day,
        "followers": followers,
        "popularity": None,
        "captured_at": CATALOGUED,
    }


def events(
    kind: str,
    count: int,
    *,
    artist_id: int,
    show_id: int | None = None,
    at: datetime = NOW,
    received_at: datetime | None = None,
) -> list[dict[str, Any]]:
    return [
        {
            "user_id": f"user-{kind}-{i}",
            "kind": kind,
            "artist_id": artist_id,
            "show_id": show_id,
            "occurred_at": at,
            "received_at": received_at or at,
        }
        for i in range(count)
    ]


async def add_events(engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(ACTIVITY), rows)


async def seed(engine: AsyncEngine) -> None:
    """Seven artists and four shows; see the expected scores in ``test_scores.py``."""
    ago_72h = NOW - HALF_LIFE
    async with engine.begin() as conn:
        await conn.execute(
            insert(ARTISTS),
            [
                artist(1, popularity=80, followers=11000),  # every input present
                artist(2, popularity=None, followers=None),  # Spotify dev mode: no fields
                artist(3, popularity=50, followers=None),  # tie with 4
                artist(4, popularity=50, followers=None),
                artist(5, popularity=20, followers=600),  # 10-day growth span, follower floor
                artist(6, popularity=40, followers=5000),  # stale snapshots only
                artist(7, popularity=60, followers=9000),  # shrinking, net unfollows
            ],
        )
        await conn.execute(
            insert(SHOWS),
            [
                show(1, artist_id=1, local_date=TODAY, status="upcoming"),
                show(2, artist_id=1, local_date=date(2025, 6, 15), status="cancelled"),
                show(3, artist_id=2, local_date=date(2025, 6, 29), status="upcoming"),
                show(4, artist_id=5, local_date=date(2025, 5, 20), status="completed"),
            ],
        )
        await conn.execute(
            insert(SNAPSHOTS),
            [
                snapshot(1, date(2025, 6, 1), 11000),
                snapshot(1, date(2025, 5, 25), 10000),
                snapshot(2, date(2025, 6, 1), None),
                snapshot(2, date(2025, 5, 25), None),
                snapshot(5, date(2025, 5, 31), 600),
                snapshot(5, date(2025, 5, 28), 500),  # too close to the latest
                snapshot(5, date(2025, 5, 21), 100),  # 10 days before the latest: used
                snapshot(5, date(2025, 5, 10), 10),  # too far
                snapshot(6, date(2025, 5, 20), 5000),  # 12 days old: too stale
                snapshot(6, date(2025, 5, 10), 4000),
                snapshot(7, date(2025, 6, 1), 9000),
                snapshot(7, date(2025, 5, 25), 10000),
            ],
        )
        await conn.execute(
            insert(ACTIVITY),
            [
                *events("view", 10, artist_id=1),
                *events("view", 20, artist_id=1, at=ago_72h),
                *events("follow", 5, artist_id=1),
                *events("vote_up", 6, artist_id=1, show_id=1),
                *events("vote_down", 4, artist_id=1, show_id=1),
                *events("attendance", 5, artist_id=1),
                *events("view", 20, artist_id=2),
                *events("attendance", 5, artist_id=5, show_id=4, at=ago_72h),
                *events("view", 3, artist_id=6, at=NOW + timedelta(days=5)),  # future: ignored
                *events("follow", 1, artist_id=7),
                *events("unfollow", 2, artist_id=7),
            ],
        )


async def scores(engine: AsyncEngine, trends: Any) -> dict[int, float]:
    """The scores of ``ARTIST_TRENDS`` or ``SHOW_TRENDS`` rows, by artist or show id, at the
    instant of the last run (computed when read: ``models/trending/scores.py``)."""
    kind = "artist" if trends is ARTIST_TRENDS else "show"
    async with engine.connect() as conn:
        return await scores_at_last_run(conn, kind, trending_settings())


async def rows(engine: AsyncEngine, table: Any) -> list[tuple[Any, ...]]:
    """Every row of ``table`` in primary-key order, as plain tuples."""
    async with engine.connect() as conn:
        result = await conn.execute(select(table).order_by(*table.primary_key.columns))
        return [tuple(r) for r in result.all()]
