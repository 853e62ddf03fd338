"""Benchmark: one daily trending recalculation against one plain aggregate scan of the events.

Builds artists, shows, daily snapshots and activity events in a throwaway PostgreSQL database
with server-side ``generate_series`` (defaults: 100,000 / 1,000,000 / 10,000,000), then times,
in the same run, ``SELECT artist_id, count(*) FROM user_activity GROUP BY artist_id`` and
``recalculate_trending(mode="daily")``, and prints both and their ratio. A quiet hourly run, an
hourly run after 1,000 new events and the next day's daily run are timed too. The database is
dropped at the end.

    .venv/bin/python -m benchmarks.trending_daily [--artists N] [--shows N] [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import create_all, make_engine
from models.trending import TrendingResult, recalculate_trending
from settings import Settings

T = TypeVar("T")

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/"
NOW = datetime(2025, 6, 1, 7, 0, tzinfo=UTC)
SNAPSHOT_DAYS = 15
EVENT_DAYS = 90
NEW_EVENTS = 1_000

# Skewed popularity of artists: u ** 3 for u uniform in [0, 1) puts most events on few artists.
_ARTIST_PICK = "1 + floor({artists} * power(((g * 7919) % 1000003) / 1000003.0, 3))::bigint"

_LOAD = [
    (
        "artists",
        """
        INSERT INTO artists (id, name, normalized_name, slug, popularity, followers,
                             sync_failures, created_at, updated_at)
        SELECT g, 'Artist ' || g, 'artist ' || g, 'artist-' || g,
               CASE WHEN g % 10 = 0 THEN NULL ELSE (g * 37) % 101 END,
               CASE WHEN g % 10 = 0 THEN NULL ELSE (g * 7919) % 2000000 END,
               0, :now, :now
        FROM generate_series(1, {artists}) AS g
        """,
    ),
    (
        "artist_snapshots",
        """
        INSERT INTO artist_snapshots (artist_id, day, popularity, followers, app_followers,
                                      upcoming_shows, total_shows, captured_at)
        SELECT a, CAST(:today AS date) - d, (a * 37) % 101,
               CASE WHEN a % 10 = 0 THEN NULL
                    ELSE ((a * 7919) % 2000000) * (1000 - d * ((a % 7) - 2)) / 1000 END,
               0, 0, 0, :now
        FROM generate_series(1, {artists}) AS a, generate_series(0, {last_snapshot_day}) AS d
        """,
    ),
    (
        "shows",
        """
        INSERT INTO shows (id, artist_id, name, local_date, status, created_at, updated_at)
        SELECT g, 1 + (g - 1) % {artists}, 'Show ' || g,
               CAST(:today AS date) + ((g * 13) % 240 - 60),
               CASE WHEN g % 50 = 0 THEN 'cancelled'
                    WHEN (g * 13) % 240 - 60 < 0 THEN 'completed'
                    ELSE 'upcoming' END,
               :now, :now
        FROM generate_series(1, {shows}) AS g
        """,
    ),
    (
        "user_activity",
        """
        INSERT INTO user_activity (user_id, kind, artist_id, show_id, occurred_at, received_at)
        SELECT 'user-' || (g % 500000), k.kind, e.artist_id, e.show_id, e.at, e.at
        FROM generate_series(CAST(1 AS bigint), {events}) AS g
        CROSS JOIN LATERAL (
            SELECT CASE WHEN g % 2 = 0 THEN 1 + (g * 7) % {shows} END AS show_id,
                   CAST(:now AS timestamptz)
                       - make_interval(secs => (g * 104729) % {event_seconds}) AS at
        ) AS s
        CROSS JOIN LATERAL (
            SELECT s.show_id, s.at,
                   CASE WHEN s.show_id IS NULL THEN {artist_pick}
                        ELSE 1 + (s.show_id - 1) % {artists} END AS artist_id
        ) AS e
        CROSS JOIN LATERAL (
            SELECT CASE WHEN g % 100 < 60 THEN 'view'
                        WHEN g % 100 < 75 THEN 'follow'
                        WHEN g % 100 < 78 THEN 'unfollow'
                        WHEN g % 100 < 86 THEN 'vote_up'
                        WHEN g % 100 < 93 THEN 'vote_down'
                        ELSE 'attendance' END AS kind
        ) AS k
        """,
    ),
]
_ACTIVITY_INDEXES = (
    "ix_user_activity_occurred",
    "ix_user_activity_artist",
    "ix_user_activity_show",
)
_SCAN = "SELECT artist_id, count(*) FROM user_activity GROUP BY artist_id"


async def _timed(label: str, work: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    started = time.perf_counter()
    value = await work()
    elapsed = time.perf_counter() - started
    print(f"  {label}: {elapsed:.2f} s", flush=True)
    return value, elapsed


async def _admin(server: str, sql: str) -> None:
    admin = make_engine(
        make_url(server).set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await admin.dispose()


async def _load(engine: AsyncEngine, *, artists: int, shows: int, events: int) -> None:
    params = {"now": NOW, "today": NOW.date()}
    sizes: dict[str, object] = {
        "artists": artists,
        "shows": shows,
        "events": events,
        "last_snapshot_day": SNAPSHOT_DAYS - 1,
        "event_seconds": EVENT_DAYS * 86400,
    }
    sizes["artist_pick"] = _ARTIST_PICK.format(**sizes)
    async with engine.begin() as conn:
        # Bulk load: indexes on the events are built afterwards, foreign-key triggers are off.
        for name in _ACTIVITY_INDEXES:
            await conn.execute(text(f"DROP INDEX {name}"))
    for table, template in _LOAD:

        async def insert(sql: str = template.format(**sizes)) -> None:
            async with engine.begin() as conn:
                await conn.execute(text("SET LOCAL session_replication_role = replica"))
                await conn.execute(text("SET LOCAL synchronous_commit = off"))
                await conn.execute(text(sql), params)

        await _timed(f"load {table}", insert)

    async def index_and_analyze() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            await conn.execute(
                text("CREATE INDEX ix_user_activity_occurred ON user_activity (occurred_at)")
            )
            await conn.execute(
                text(
                    "CREATE INDEX ix_user_activity_artist ON user_activity (artist_id, occurred_at)"
                )
            )
            await conn.execute(
                text("CREATE INDEX ix_user_activity_show ON user_activity (show_id, occurred_at)")
            )
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        async with autocommit.connect() as conn:
            await conn.execute(text("VACUUM ANALYZE"))

    await _timed("index + vacuum analyze", index_and_analyze)


async def _scan(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return len((await conn.execute(text(_SCAN))).all())


async def _add_events(engine: AsyncEngine, *, artists: int, shows: int, at: datetime) -> None:
    """New views on shows (and so on their headliners), between two hourly runs."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO user_activity (user_id, kind, artist_id, show_id, occurred_at,"
                " received_at) SELECT 'new', 'view', 1 + (s - 1) % :artists, s, :at, :at"
                " FROM (SELECT 1 + (g * 7919) % :shows AS s FROM generate_series(1, :n) AS g) AS x"
            ),
            {"artists": artists, "shows": shows, "at": at, "n": NEW_EVENTS},
        )


def _report(result: TrendingResult) -> str:
    counts = ", ".join(f"{key}={value}" for key, value in result.counts().items())
    return counts


async def run(*, server: str, artists: int, shows: int, events: int, keep: bool) -> None:
    name = f"mysetlist_bench_{uuid.uuid4().hex[:10]}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    settings = Settings(_env_file=None, database_url=url)
    print(f"database {name}: {artists:,} artists, {shows:,} shows, {events:,} events", flush=True)
    await _admin(server, f'CREATE DATABASE "{name}"')
    engine = make_engine(url)
    total_started = time.perf_counter()
    try:
        await create_all(engine)
        await _load(engine, artists=artists, shows=shows, events=events)
        print("measure", flush=True)
        await _timed("warm-up scan (not counted)", lambda: _scan(engine))
        groups, scan_s = await _timed(f"plain aggregate scan ({_SCAN})", lambda: _scan(engine))
        print(f"    {groups:,} artist groups")
        daily, daily_s = await _timed(
            "daily recalculation (first: every row gets its first score)",
            lambda: recalculate_trending(engine, mode="daily", now=NOW, settings=settings),
        )
        print(f"    {_report(daily)}")
        quiet, _ = await _timed(
            "hourly, quiet hour",
            lambda: recalculate_trending(
                engine, mode="hourly", now=NOW + timedelta(hours=1), settings=settings
            ),
        )
        print(f"    {_report(quiet)}")
        await _add_events(engine, artists=artists, shows=shows, at=NOW + timedelta(minutes=90))
        busy, _ = await _timed(
            f"hourly, after {NEW_EVENTS:,} new events",
            lambda: recalculate_trending(
                engine, mode="hourly", now=NOW + timedelta(hours=2), settings=settings
            ),
        )
        print(f"    {_report(busy)}")
        next_day, next_day_s = await _timed(
            "daily recalculation (next day)",
            lambda: recalculate_trending(
                engine, mode="daily", now=NOW + timedelta(days=1), settings=settings
            ),
        )
        print(f"    {_report(next_day)}")
        print(
            f"RESULT scan {scan_s:.2f} s; daily {daily_s:.2f} s (ratio {daily_s / scan_s:.1f}x);"
            f" next-day daily {next_day_s:.2f} s (ratio {next_day_s / scan_s:.1f}x);"
            f" total run {time.perf_counter() - total_started:.0f} s",
            flush=True,
        )
    finally:
        await engine.dispose()
        if keep:
            print(f"kept database {name}")
        else:
            await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    parser.add_argument("--artists", type=int, default=100_000)
    parser.add_argument("--shows", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if min(args.artists, args.shows, args.events) < 1:
        parser.error("sizes must be positive")
    asyncio.run(
        run(
            server=args.server,
            artists=args.artists,
            shows=args.shows,
            events=args.events,
            keep=args.keep,
        )
    )


if __name__ == "__main__":
    main()
