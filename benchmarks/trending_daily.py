"""Benchmark: the daily trending run against a full recomputation and the floor of both.

Builds artists, shows, daily snapshots and activity events in a throwaway PostgreSQL database
with server-side ``generate_series`` (defaults: 100,000 / 1,000,000 / 10,000,000), then times, in
the same run:

- one plain aggregate scan of the events (``SELECT artist_id, count(*) ... GROUP BY artist_id``);
- the first run (a full recomputation that creates every state row), a quiet hourly run and an
  hourly run after 1,000 new events;
- a day in which 1 % of the artists and 1 % of the shows get new events, then the daily run
  (incremental: target <= 0.1x the full recomputation);
- the rest of the daily run, as ``calculate-trending`` runs it after the scores (the insights,
  ``models/insights.py``), each step timed apart: **geographic trending** of that day (every
  market and city, artists and shows; target: at most 2x the daily run, PASS/FAIL printed) and
  **similar artists** (no target);
- a full recomputation at the same instant over the daily run's state (it rewrites only the rows
  whose inputs differ from the recomputed ones) and a bare insert of as many rows as it wrote
  (target: full <= 3x scan + bare insert); then a full recomputation from scratch (the state
  deleted first: every row inserted, as in the first run), whose scores must equal the daily
  run's row for row.

The world has geography for the insights: 20,000 venues spread over the 21 major markets and
1,000 cities, each artist's shows at 4 of them (each venue sees about 20 artists at full scale),
and a supporting act on every tenth show.

The database is dropped at the end (``--keep`` keeps it; ``--database NAME`` reuses a kept one,
resetting only the trending state).

    .venv/bin/python -m benchmarks.trending_daily [--artists N] [--shows N] [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import CreateTableAs, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import create_all, make_engine
from models.geo_trending import recalculate_geo_trending
from models.markets import MARKET_NAMES
from models.similarity import recalculate_similarity
from models.trending import TrendingMode, TrendingResult, recalculate_trending
from models.trending.forecast import recalculate_forecast
from models.trending.formula import Clock
from models.trending.scores import entity_scores
from models.trending.writes import FEED_OVERLAP
from settings import Settings

T = TypeVar("T")

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/"
NOW = datetime(2025, 6, 1, 7, 0, tzinfo=UTC)
# The instant the catalogue was loaded (created_at, updated_at, captured_at): before the change
# feed's overlap of the first run (NOW), so the quiet hour after it sees no edit. Stamped at NOW,
# every row was "edited" within FEED_OVERLAP and the quiet hour rewrote every state row.
LOADED = NOW - FEED_OVERLAP - timedelta(hours=1)
SNAPSHOT_DAYS = 15
EVENT_DAYS = 90
NEW_EVENTS = 1_000
VENUES = 20_000
CITIES = 1_000
VENUE_GROUP = 3  # an artist's shows 1-3 play one venue, 4-6 another, ...
GEO_TARGET = 2.0  # geographic trending <= 2x the global daily run (issue 17)

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
               0, :loaded, :loaded
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
               0, 0, 0, :loaded
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
               :loaded, :loaded
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
# The least a recomputation from the raw events does: group them per (artist, show), the keys
# both kinds' sums need (1.1 M groups at full scale), counting them, then with one decayed sum
# (the run's weight, without the four sums per kind). Not targets: a floor under the full run.
_PAIR_COUNT = "SELECT artist_id, show_id, count(*) FROM user_activity GROUP BY artist_id, show_id"
_PAIR_WEIGHT = (
    "SELECT artist_id, show_id, sum(power(2.0, (floor(date_part('epoch', occurred_at))"
    " - floor(date_part('epoch', CAST(:now AS timestamptz)))) / 259200.0))"
    " FROM user_activity GROUP BY artist_id, show_id"
)


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
    params = {"now": NOW, "loaded": LOADED, "today": NOW.date()}
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
    await _timed(
        "load venues, markets, cities, supporting acts",
        lambda: _geography(engine, artists=artists),
    )

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


async def _geography(engine: AsyncEngine, *, artists: int) -> None:
    """``VENUES`` venues in the 21 markets and ``CITIES`` cities; every show at one: the k-th
    show of an artist (``k = (id - 1) / artists``) at venue ``(7 * artist + 613 * (k / 3))``, so
    an artist plays 4 venues (its shows at one venue fall on different dates) and a venue sees
    about 20 artists at full scale (under similar artists' cap of 50); a supporting act on every
    tenth show (none is its own headliner)."""
    markets = "ARRAY[" + ", ".join(str(m) for m in MARKET_NAMES) + "]"
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(
            text(
                "INSERT INTO venues (id, name, normalized_name, city, state_code, country_code,"
                " market_id, created_at, updated_at)"
                f" SELECT g, 'Venue ' || g, 'venue ' || g, 'City ' || (g % {CITIES}),"
                f" 'S' || (g % {CITIES}) % 50, 'US',"
                f" ({markets})[1 + (g % {CITIES}) % {len(MARKET_NAMES)}], :loaded, :loaded"
                f" FROM generate_series(1, {VENUES}) AS g"
            ),
            {"loaded": LOADED},
        )
        await conn.execute(
            text(
                f"UPDATE shows SET venue_id = 1 + (artist_id * 7"
                f" + 613 * ((id - 1) / {artists} / {VENUE_GROUP})) % {VENUES}"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO show_support_acts (show_id, artist_id, position)"
                " SELECT s.id, 1 + (s.artist_id * 31) % (SELECT count(*) FROM artists), 1"
                " FROM shows s WHERE s.id % 10 = 0"
                " AND 1 + (s.artist_id * 31) % (SELECT count(*) FROM artists) <> s.artist_id"
            )
        )


async def _has_geography(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return bool((await conn.execute(text("SELECT EXISTS (SELECT 1 FROM venues)"))).scalar())


async def _geo(engine: AsyncEngine, clock: Clock) -> int:
    async with engine.begin() as conn:
        return (await recalculate_geo_trending(conn, clock)).total


async def _similar(engine: AsyncEngine, clock: Clock) -> int:
    async with engine.begin() as conn:
        return await recalculate_similarity(conn, day=clock.today)


async def _scan(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return len((await conn.execute(text(_SCAN))).all())


async def _pair_pass(engine: AsyncEngine, sql: str) -> int:
    """One of the floors under a full recomputation (``_PAIR_COUNT``, ``_PAIR_WEIGHT``), with
    the run's settings for itself (its work_mem, no JIT)."""
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL work_mem = '128MB'"))
        await conn.execute(text("SET LOCAL jit = off"))
        return len((await conn.execute(text(sql), {"now": NOW})).all())


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


async def _active_day(
    engine: AsyncEngine, *, artists: int, shows: int, start: datetime, end: datetime
) -> tuple[int, int, int]:
    """A day in which 1 % of the artists and 1 % of the shows get events: every 100th artist,
    its own events and those of its shows (a show's headliner is ``1 + (id - 1) % artists``).
    Returns (artists, shows, events) touched."""
    active = max(1, artists // 100)
    params = {
        "artists": artists,
        "shows": shows,
        "active": active,
        "start": start,
        "seconds": (end - start).total_seconds(),
    }
    async with engine.begin() as conn:
        # Artist events: 20 per active artist.
        await conn.execute(
            text(
                "INSERT INTO user_activity (user_id, kind, artist_id, occurred_at, received_at)"
                " SELECT 'day-' || g, CASE WHEN g % 5 = 0 THEN 'follow' ELSE 'view' END,"
                " 100 * (1 + g % :active), at, at"
                " FROM generate_series(0, 20 * :active - 1) AS g,"
                " LATERAL (SELECT CAST(:start AS timestamptz)"
                "   + make_interval(secs => (g * 7919) % CAST(:seconds AS bigint)) AS at) AS t"
            ),
            params,
        )
        # Show events: 8 per show of an active artist.
        await conn.execute(
            text(
                "INSERT INTO user_activity (user_id, kind, artist_id, show_id, occurred_at,"
                " received_at)"
                " SELECT 'day-' || g, CASE WHEN g % 4 = 0 THEN 'attendance' ELSE 'view' END,"
                " 1 + (s - 1) % :artists, s, at, at"
                " FROM generate_series(0, 8 * (:shows / 100) - 1) AS g,"
                " LATERAL (SELECT 100 + :artists * ((g / 8) % (:shows / :artists))"
                "   + 100 * ((g / 8) / (:shows / :artists)) AS s) AS x,"
                " LATERAL (SELECT CAST(:start AS timestamptz)"
                "   + make_interval(secs => (g * 7919) % CAST(:seconds AS bigint)) AS at) AS t"
                " WHERE s <= :shows"
            ),
            params,
        )
        touched = (
            await conn.execute(
                text(
                    "SELECT count(DISTINCT artist_id), count(DISTINCT show_id), count(*)"
                    " FROM user_activity WHERE occurred_at > :start AND user_id LIKE 'day-%'"
                ),
                params,
            )
        ).one()
    return int(touched[0]), int(touched[1]), int(touched[2])


async def _snapshot_scores(engine: AsyncEngine, clock: Clock) -> None:
    """Every score at ``clock`` (computed when read), kept aside for the comparison."""
    async with engine.begin() as conn:
        for kind in ("artist", "show"):
            await conn.execute(text(f"DROP TABLE IF EXISTS bench_daily_{kind}s"))
            scores = entity_scores(clock, kind)
            await conn.execute(
                CreateTableAs(select(scores.c.id, scores.c.score), f"bench_daily_{kind}s")
            )


async def _differences(engine: AsyncEngine, clock: Clock) -> tuple[int, int]:
    """Rows whose score at ``clock`` differs between the daily run's state (snapshot) and the
    current one, and the rows compared."""
    differ = compared = 0
    async with engine.begin() as conn:
        for kind in ("artist", "show"):
            await conn.execute(text(f"DROP TABLE IF EXISTS bench_full_{kind}s"))
            scores = entity_scores(clock, kind)
            await conn.execute(
                CreateTableAs(select(scores.c.id, scores.c.score), f"bench_full_{kind}s")
            )
            row = (
                await conn.execute(
                    text(
                        f"SELECT count(*) FILTER (WHERE d.score IS DISTINCT FROM t.score),"
                        f" count(*) FROM bench_daily_{kind}s AS d"
                        f" FULL JOIN bench_full_{kind}s AS t USING (id)"
                    )
                )
            ).one()
            differ += int(row[0])
            compared += int(row[1])
    return differ, compared


async def _forecast(engine: AsyncEngine, at: datetime, settings: Settings) -> int:
    return await recalculate_forecast(engine, now=at, settings=settings)


async def _bare_insert(engine: AsyncEngine, rows: int) -> None:
    """``rows`` rows as wide as the state rows, into a table without index or constraint."""
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS bench_bare"))
        await conn.execute(
            text(
                "CREATE TABLE bench_bare (id integer, score float8, views float8, follows float8,"
                " votes float8, attendance float8, as_of timestamptz)"
            )
        )
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bench_bare SELECT g, 1.5, 1.0, 1.0, 1.0, 1.0, :at"
                " FROM generate_series(1, :n) AS g"
            ),
            {"n": rows, "at": NOW},
        )


async def _reset_trending(engine: AsyncEngine) -> None:
    """A kept database as loaded: no trending state, no events added by a previous run."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM user_activity WHERE occurred_at > :now"), {"now": NOW})
        # A database kept before the catalogue was stamped at LOADED: stamp it so.
        for table, column in (("artists", "updated_at"), ("shows", "updated_at")):
            await conn.execute(
                text(f"UPDATE {table} SET {column} = :loaded WHERE {column} > :loaded"),
                {"loaded": LOADED},
            )
        await conn.execute(
            text("UPDATE artist_snapshots SET captured_at = :loaded WHERE captured_at > :loaded"),
            {"loaded": LOADED},
        )
        for table in ("trending_artists", "trending_shows", "trending_watermarks"):
            await conn.execute(text(f"TRUNCATE {table}"))
        await conn.execute(
            text("TRUNCATE trending_history, trending_geo, artist_similarity, artist_forecasts")
        )
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as conn:
        await conn.execute(text("VACUUM ANALYZE"))


async def _clear_state(engine: AsyncEngine) -> None:
    """No trending state row: the next full run inserts every row (as the first run does)."""
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE trending_artists, trending_shows"))


def _load_average() -> str:
    """The machine's 1/5/15-minute load averages: the runs share it with other work."""
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def _report(result: TrendingResult) -> str:
    return ", ".join(f"{key}={value:,}" for key, value in result.counts().items())


def _written(result: TrendingResult) -> int:
    return result.artists_scored + result.shows_scored + result.history_rows


async def _measure(engine: AsyncEngine, *, artists: int, shows: int, settings: Settings) -> None:
    def run(mode: TrendingMode, at: datetime) -> Callable[[], Awaitable[TrendingResult]]:
        return lambda: recalculate_trending(engine, mode=mode, now=at, settings=settings)

    print(f"measure (load average {_load_average()})", flush=True)
    await _timed("warm-up scan (not counted)", lambda: _scan(engine))
    groups, scan_s = await _timed(f"plain aggregate scan ({_SCAN})", lambda: _scan(engine))
    print(f"    {groups:,} artist groups")
    pairs, pair_count_s = await _timed(
        "floor: the events grouped per (artist, show), counted (not a target)",
        lambda: _pair_pass(engine, _PAIR_COUNT),
    )
    _, pair_weight_s = await _timed(
        "floor: the same with one decayed sum (not a target)",
        lambda: _pair_pass(engine, _PAIR_WEIGHT),
    )
    print(
        f"    {pairs:,} groups; {pair_count_s / scan_s:.2f}x and {pair_weight_s / scan_s:.2f}x"
        " the plain scan"
    )
    first, first_s = await _timed(
        "first run (full: every row gets its first score)", run("daily", NOW)
    )
    print(f"    {_report(first)}")
    quiet, _ = await _timed("hourly, quiet hour", run("hourly", NOW + timedelta(hours=1)))
    print(f"    {_report(quiet)}")
    await _add_events(engine, artists=artists, shows=shows, at=NOW + timedelta(minutes=90))
    busy, _ = await _timed(
        f"hourly, after {NEW_EVENTS:,} new events", run("hourly", NOW + timedelta(hours=2))
    )
    print(f"    {_report(busy)}")
    day = NOW + timedelta(days=1)
    touched = await _active_day(
        engine, artists=artists, shows=shows, start=NOW + timedelta(hours=2), end=day
    )
    events, on_artists, on_shows = touched[2], touched[0], touched[1]
    print(f"  a day of activity: {events:,} events on {on_artists:,} artists, {on_shows:,} shows")
    daily, daily_s = await _timed("daily run (incremental)", run("daily", day))
    print(f"    {_report(daily)}")
    clock = Clock.at(day, settings)
    _, snapshot_s = await _timed(
        "every score at the daily run's instant, read (not counted)",
        lambda: _snapshot_scores(engine, clock),
    )
    # The rest of calculate-trending's daily run, each step apart: the forecast (a step of its
    # own since issue 15), then the insights (models/insights.py).
    forecast_rows, forecast_s = await _timed(
        "forecast of the day (its own step)", lambda: _forecast(engine, day, settings)
    )
    print(f"    {forecast_rows:,} rows (each artist's next 7 days)")
    geo_rows, geo_s = await _timed("geographic trending of the day", lambda: _geo(engine, clock))
    print(f"    {geo_rows:,} rows (top 100 of each market and city, artists and shows)")
    similar_rows, similar_s = await _timed("similar artists", lambda: _similar(engine, clock))
    print(f"    {similar_rows:,} rows")
    geo_ratio = geo_s / daily_s
    full, full_s = await _timed(
        "full recomputation, same instant (rewrites the rows whose inputs differ)",
        run("full", day),
    )
    print(f"    {_report(full)}")
    kept_differ, _ = await _differences(engine, clock)
    print(f"    scores differing from the daily run's after it: {kept_differ:,}")
    await _clear_state(engine)
    scratch, scratch_s = await _timed(
        "full recomputation from scratch, same instant (state deleted first, not counted)",
        run("full", day),
    )
    print(f"    {_report(scratch)}")
    differ, compared = await _differences(engine, clock)
    print(f"    scores differing from the daily run's: {differ:,} of {compared:,} rows")
    written = _written(full)
    _, bare_s = await _timed(
        f"bare insert of {written:,} rows (as many as the full recomputation wrote)",
        lambda: _bare_insert(engine, written),
    )
    scratch_written = _written(scratch)
    _, scratch_bare_s = await _timed(
        f"bare insert of {scratch_written:,} rows (as many as the one from scratch wrote)",
        lambda: _bare_insert(engine, scratch_written),
    )
    floor_s = scan_s + bare_s
    equal = "yes" if differ == 0 and kept_differ == 0 else f"NO ({differ:,}, {kept_differ:,})"
    scratch_floor_s = scan_s + scratch_bare_s
    print(
        f"RESULT daily {daily_s:.2f} s = {daily_s / full_s:.3f}x the full recomputation"
        f" ({full_s:.2f} s; target <= 0.1x);"
        f" full = {full_s / floor_s:.2f}x scan + bare insert of the rows it wrote"
        f" ({scan_s:.2f} + {bare_s:.2f} s; target <= 3x);"
        f" from scratch {scratch_s:.2f} s = {scratch_s / scratch_floor_s:.2f}x scan + bare insert"
        f" of its rows ({scan_s:.2f} + {scratch_bare_s:.2f} s);"
        f" scores equal to the one from scratch: {equal};"
        f" floor of a pass over the events: grouped per (artist, show) {pair_count_s:.2f} s ="
        f" {pair_count_s / scan_s:.2f}x the scan, with one decayed sum {pair_weight_s:.2f} s ="
        f" {pair_weight_s / scan_s:.2f}x;"
        f" first run {first_s:.2f} s; forecast (own step) {forecast_s:.2f} s ="
        f" {forecast_s / daily_s:.2f}x the daily run; reading every score {snapshot_s:.2f} s;"
        f" load average {_load_average()}",
        flush=True,
    )
    verdict = "PASS" if geo_ratio <= GEO_TARGET else "FAIL"
    print(
        f"RESULT geographic trending {geo_s:.2f} s = {geo_ratio:.2f}x the daily run"
        f" ({daily_s:.2f} s; target <= {GEO_TARGET:g}x): {verdict}; {geo_rows:,} rows;"
        f" similar artists {similar_s:.2f} s = {similar_s / daily_s:.2f}x, {similar_rows:,} rows;"
        f" load average {_load_average()}",
        flush=True,
    )


async def run(
    *, server: str, artists: int, shows: int, events: int, keep: bool, database: str | None
) -> None:
    name = database or f"mysetlist_bench_{uuid.uuid4().hex[:10]}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    settings = Settings(_env_file=None, database_url=url)
    total_started = time.perf_counter()
    if database is None:
        print(f"database {name}: {artists:,} artists, {shows:,} shows, {events:,} events")
        await _admin(server, f'CREATE DATABASE "{name}"')
    else:
        print(f"database {name} (reused): {artists:,} artists, {shows:,} shows")
    engine = make_engine(url)
    try:
        await create_all(engine)  # on a reused database: the tables it lacks
        if database is None:
            await _load(engine, artists=artists, shows=shows, events=events)
        else:
            if not await _has_geography(engine):  # kept before the world had venues
                await _timed(
                    "venues, markets, cities, supporting acts",
                    lambda: _geography(engine, artists=artists),
                )
            await _timed("reset the trending state", lambda: _reset_trending(engine))
        await _measure(engine, artists=artists, shows=shows, settings=settings)
        print(f"total run {time.perf_counter() - total_started:.0f} s", flush=True)
    finally:
        await engine.dispose()
        if keep or database is not None:
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
    parser.add_argument(
        "--database", help="reuse this kept database (same sizes), resetting the trending state"
    )
    args = parser.parse_args()
    if min(args.artists, args.shows, args.events) < 1:
        parser.error("sizes must be positive")
    if args.shows % args.artists:
        parser.error("--shows must be a multiple of --artists (each artist has as many shows)")
    asyncio.run(
        run(
            server=args.server,
            artists=args.artists,
            shows=args.shows,
            events=args.events,
            keep=args.keep,
            database=args.database,
        )
    )


if __name__ == "__main__":
    main()
