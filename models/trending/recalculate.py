"""One trending recalculation: every score as of ``now``, in one transaction.

``hourly`` and ``daily`` are incremental: the stored activity sums are aged to ``now`` and the
events since the previous run are added, so no run rescans all the activity. ``daily`` also
replaces the day's ``trending_history`` rows (the artists' forecast is a step of its
own: ``models.trending.forecast.recalculate_forecast``). ``full`` recomputes every sum
from the raw events (for repairs and for checking); so does the first run, and a run after
one that left no event watermark. All three give the same scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.trending.formula import Clock
from models.trending.queries import (
    EventWindow,
    RankedEntity,
    Watermark,
    last_event_id,
    read_watermark,
    top,
)
from models.trending.scores import Scored
from models.trending.writes import (
    FEED_OVERLAP,
    HISTORY_TOP,
    add_missing_rows,
    catalogue_size,
    rebuild,
    state_is_empty,
    update_changed,
    write_history,
    write_watermark,
)
from settings import Settings

__all__ = ["TRENDING_MODES", "TrendingMode", "TrendingResult", "recalculate_trending"]

TrendingMode = Literal["hourly", "daily", "full"]
TRENDING_MODES: tuple[TrendingMode, ...] = get_args(TrendingMode)
PG_WORK_MEM = "128MB"  # per sort/hash node, for this transaction only
PG_RANDOM_PAGE_COST = 1.1  # incremental runs: probes of cached rows (see below)
LOCK_TIMEOUT = "60s"  # waiting for the transactions inserting events: fail rather than hang
_LOCK_KEY = 0x7E4D1A6  # pg_advisory_xact_lock key: one recalculation at a time


@dataclass(frozen=True)
class TrendingResult:
    """What one recalculation did. ``full`` is true when the sums came from the raw events;
    ``since`` is the previous run's instant."""

    mode: TrendingMode
    now: datetime
    dry_run: bool
    full: bool
    since: datetime | None
    artists_added: int
    shows_added: int
    artists_scored: int
    shows_scored: int
    history_rows: int
    top_artists: tuple[RankedEntity, ...]
    top_shows: tuple[RankedEntity, ...]

    def counts(self) -> dict[str, int]:
        """``*_added``: rows created (scored for the first time); ``*_scored``: state rows
        written (new inputs); ``history_rows``: rows of the day's history written."""
        return {
            "artists_added": self.artists_added,
            "shows_added": self.shows_added,
            "artists_scored": self.artists_scored,
            "shows_scored": self.shows_scored,
            "history_rows": self.history_rows,
        }


def _validate(mode: str, now: datetime, top_n: int) -> None:
    if mode not in TRENDING_MODES:
        expected = ", ".join(repr(m) for m in TRENDING_MODES)
        raise ValueError(f"unknown trending mode {mode!r}: expected one of {expected}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if top_n < 0:
        raise ValueError("top must be >= 0")


async def _settled_event_id(conn: AsyncConnection) -> int:
    """The newest event id such that every smaller one is committed (PostgreSQL).

    A SHARE lock waits for the transactions inserting events and is released at once: every id
    handed out before it belongs to a finished transaction, every later one is larger. Reading
    ``max(id)`` alone could skip an event whose transaction commits after a larger id's."""
    async with conn.begin():
        await conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        await conn.execute(text("LOCK TABLE user_activity IN SHARE MODE"))
        return await last_event_id(conn)


async def recalculate_trending(
    engine: AsyncEngine,
    *,
    mode: TrendingMode,
    now: datetime,
    settings: Settings,
    dry_run: bool = False,
    top: int = 10,
) -> TrendingResult:
    """Recalculate every trending score as of ``now``, in one transaction.

    ``hourly``/``daily`` fold in the events since the previous run (an earlier ``now`` is
    refused); ``daily`` and ``full`` replace today's history rows; ``full`` recomputes from the
    raw events at any ``now``. ``dry_run`` computes and ranks, then rolls back."""
    _validate(mode, now, top)
    clock = Clock.at(now, settings)
    async with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        settled = await _settled_event_id(conn) if postgres else None
        transaction = await conn.begin()
        try:
            if postgres:
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
                # DML never runs in parallel: without room for hash aggregates the planner
                # walks the events' index in order instead of scanning them once.
                await conn.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
                # Compiling these long expressions took longer than evaluating them: 2-3.5 s
                # per statement at the benchmark's size (EXPLAIN ANALYZE, "JIT: Timing").
                await conn.execute(text("SET LOCAL jit = off"))
            newest = settled if settled is not None else await last_event_id(conn)
            previous = await read_watermark(conn)
            full = mode == "full" or previous is None or previous.event_id is None
            if not full and previous is not None and now < previous.computed_at:
                raise ValueError(
                    f"now {now.isoformat()} is before the last trending run "
                    f"({previous.computed_at.isoformat()}); mode 'full' recomputes at any instant"
                )
            window = _window(newest, previous, full=full)
            empty = full and await state_is_empty(conn)
            if empty:  # every row is inserted by the rebuild: no empty row added first
                added = {kind: await catalogue_size(conn, kind) for kind in ("artist", "show")}
            else:
                since = None if full or previous is None else previous.computed_at - FEED_OVERLAP
                added = {
                    kind: await add_missing_rows(conn, kind, since=since)
                    for kind in ("artist", "show")
                }
            if postgres and not full:
                # An incremental run reads about 1 % of the rows, by key, from tables that are
                # cached: with the default cost of a random page (4) the planner scanned all of
                # ``shows`` and the state tables instead of probing them (0.2-0.3 s each).
                await conn.execute(text(f"SET LOCAL random_page_cost = {PG_RANDOM_PAGE_COST}"))
            if full:
                scored = await rebuild(conn, clock, window, empty=empty)
                if postgres and empty and not dry_run:
                    # Every row is new: fresh statistics for the next statements and runs.
                    await conn.execute(text("ANALYZE trending_artists, trending_shows"))
            else:
                assert previous is not None
                scored = await update_changed(conn, clock, window, previous)
            history = await write_history(conn, clock) if mode != "hourly" else None
            history_rows = sum(len(best) for best in history.values()) if history else 0
            await write_watermark(conn, clock, mode=mode, event_id=window.last_id)
            # The day's history holds the exact top HISTORY_TOP of each kind at this instant.
            rankings = history if history is not None and top <= HISTORY_TOP else {}
            top_artists = await _top(conn, clock, "artist", top, rankings.get("artist"))
            top_shows = await _top(conn, clock, "show", top, rankings.get("show"))
        except BaseException:
            await transaction.rollback()
            raise
        if dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
    return TrendingResult(
        mode=mode,
        now=now,
        dry_run=dry_run,
        full=full,
        since=previous.computed_at if previous is not None else None,
        artists_added=added["artist"],
        shows_added=added["show"],
        artists_scored=scored["artist"],
        shows_scored=scored["show"],
        history_rows=history_rows,
        top_artists=top_artists,
        top_shows=top_shows,
    )


def _window(newest: int, previous: Watermark | None, *, full: bool) -> EventWindow:
    """The events to fold in: all up to ``newest`` (full), or those the previous run missed."""
    if full or previous is None:
        return EventWindow(newest, None)
    # Two runs racing for the lock may read the ids in the opposite order: never go back.
    return EventWindow(max(newest, previous.event_id or 0), previous)


async def _top(
    conn: AsyncConnection, clock: Clock, kind: str, limit: int, ranking: list[Scored] | None
) -> tuple[RankedEntity, ...]:
    return await top(conn, clock, kind, limit, ranking=ranking) if limit else ()
