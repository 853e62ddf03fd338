"""Benchmark: geographic trending (and similar artists) against the global daily run.

Loads the world of ``benchmarks.trending_daily`` (defaults 100,000 artists, 1,000,000 shows,
10,000,000 events, in a throwaway PostgreSQL database), then gives it geography: 5,000 venues
spread over the 21 major markets and 1,000 cities, every show at one of them, and a supporting
act on every tenth show. Then, in the same run:

- the first daily run (every row gets its first score), a day in which 1 % of the artists and
  shows get events, and the **daily run** (incremental) — the baseline;
- **geographic trending** of that day (``models.geo_trending``: every market and city, artists
  and shows; the issue's target: at most 2x the daily run);
- similar artists (``models.similarity``), reported apart (no target).

    .venv/bin/python -m benchmarks.geo_trending [--artists N] [--shows N] [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import timedelta

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.trending_daily import DEFAULT_SERVER, NOW, _active_day, _admin, _load, _timed
from models.db import create_all, make_engine
from models.geo_trending import recalculate_geo_trending
from models.markets import MARKET_NAMES
from models.similarity import recalculate_similarity
from models.trending import recalculate_trending
from models.trending.formula import Clock
from settings import Settings

VENUES = 5_000
CITIES = 1_000


async def _geography(engine: AsyncEngine, *, shows: int) -> None:
    markets = "ARRAY[" + ", ".join(str(m) for m in MARKET_NAMES) + "]"
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(
            text(
                "INSERT INTO venues (id, name, normalized_name, city, state_code, country_code,"
                " market_id, created_at, updated_at)"
                f" SELECT g, 'Venue ' || g, 'venue ' || g, 'City ' || (g % {CITIES}),"
                f" 'S' || (g % {CITIES}) % 50, 'US',"
                f" ({markets})[1 + (g % {CITIES}) % {len(MARKET_NAMES)}], :now, :now"
                f" FROM generate_series(1, {VENUES}) AS g"
            ),
            {"now": NOW},
        )
        await conn.execute(text(f"UPDATE shows SET venue_id = 1 + (id * 7) % {VENUES}"))
        await conn.execute(
            text(
                "INSERT INTO show_support_acts (show_id, artist_id, position)"
                " SELECT s.id, 1 + (s.artist_id * 31) % (SELECT count(*) FROM artists), 1"
                " FROM shows s WHERE s.id % 10 = 0"
                " AND 1 + (s.artist_id * 31) % (SELECT count(*) FROM artists) <> s.artist_id"
            )
        )
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as conn:
        await conn.execute(text("VACUUM ANALYZE venues, shows, show_support_acts"))
    del shows


async def _geo(engine: AsyncEngine, clock: Clock) -> int:
    """The geographic run, each statement's time printed."""
    started: list[float] = []

    def before(*args: object) -> None:
        started.append(time.perf_counter())

    def after(_conn: object, _cursor: object, statement: str, *args: object) -> None:
        took = time.perf_counter() - started.pop()
        if took > 0.05:
            print(f"    {took:6.2f} s  {' '.join(statement.split())[:90]}")

    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", before)
    event.listen(sync, "after_cursor_execute", after)
    try:
        async with engine.begin() as conn:
            return (await recalculate_geo_trending(conn, clock)).total
    finally:
        event.remove(sync, "before_cursor_execute", before)
        event.remove(sync, "after_cursor_execute", after)


async def _similar(engine: AsyncEngine, clock: Clock) -> int:
    async with engine.begin() as conn:
        return await recalculate_similarity(conn, day=clock.today)


async def run(*, server: str, artists: int, shows: int, events: int) -> None:
    name = f"mysetlist_geo_{uuid.uuid4().hex[:10]}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    settings = Settings(_env_file=None, database_url=url)
    print(f"database {name}: {artists:,} artists, {shows:,} shows, {events:,} events")
    await _admin(server, f'CREATE DATABASE "{name}"')
    engine = make_engine(url)
    try:
        await create_all(engine)
        await _load(engine, artists=artists, shows=shows, events=events)
        await _timed(
            "geography: venues, markets, cities, support acts",
            lambda: _geography(engine, shows=shows),
        )
        await _timed(
            "first run (full)",
            lambda: recalculate_trending(engine, mode="daily", now=NOW, settings=settings),
        )
        day = NOW + timedelta(days=1)
        await _active_day(
            engine, artists=artists, shows=shows, start=NOW + timedelta(hours=2), end=day
        )
        _, daily_s = await _timed(
            "daily run (incremental)",
            lambda: recalculate_trending(engine, mode="daily", now=day, settings=settings),
        )
        clock = Clock.at(day, settings)
        geo_rows, geo_s = await _timed("geographic trending", lambda: _geo(engine, clock))
        similar_rows, similar_s = await _timed("similar artists", lambda: _similar(engine, clock))
        print(
            f"RESULT geographic trending {geo_s:.2f} s = {geo_s / daily_s:.2f}x the daily run "
            f"({daily_s:.2f} s; target <= 2x), {geo_rows:,} rows; similar artists "
            f"{similar_s:.2f} s = {similar_s / daily_s:.2f}x, {similar_rows:,} rows",
            flush=True,
        )
    finally:
        await engine.dispose()
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL")
    parser.add_argument("--artists", type=int, default=100_000)
    parser.add_argument("--shows", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    asyncio.run(run(server=args.server, artists=args.artists, shows=args.shows, events=args.events))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
