"""Row builders for the monitor tests: plain Core inserts with explicit ids."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from models.tables import (
    Artist,
    Setlist,
    SetlistEntry,
    Show,
    ShowSupportAct,
    Song,
    SyncError,
    SyncRun,
    TrendingArtist,
    TrendingShow,
    Venue,
)

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
VENUES = Venue.__table__  # type: ignore[attr-defined]
SHOWS = Show.__table__  # type: ignore[attr-defined]
SUPPORT_ACTS = ShowSupportAct.__table__  # type: ignore[attr-defined]
SONGS = Song.__table__  # type: ignore[attr-defined]
SETLISTS = Setlist.__table__  # type: ignore[attr-defined]
ENTRIES = SetlistEntry.__table__  # type: ignore[attr-defined]
RUNS = SyncRun.__table__  # type: ignore[attr-defined]
ERRORS = SyncError.__table__  # type: ignore[attr-defined]
ARTIST_TRENDS = TrendingArtist.__table__  # type: ignore[attr-defined]
SHOW_TRENDS = TrendingShow.__table__  # type: ignore[attr-defined]


def artist(artist_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": artist_id,
        "name": f"Artist {artist_id}",
        "normalized_name": f"artist {artist_id}",
        "slug": f"artist-{artist_id}",
        **fields,
    }


def venue(venue_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": venue_id,
        "name": f"Venue {venue_id}",
        "normalized_name": f"venue {venue_id}",
        **fields,
    }


def show(show_id: int, *, artist_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": show_id,
        "artist_id": artist_id,
        "local_date": date(2026, 3, 1),
        **fields,
    }


def song(song_id: int, *, artist_id: int) -> dict[str, Any]:
    return {
        "id": song_id,
        "artist_id": artist_id,
        "title": f"Song {song_id}",
        "normalized_title": f"song {song_id}",
    }


def setlist(setlist_id: int, *, artist_id: int, show_id: int | None) -> dict[str, Any]:
    return {
        "id": setlist_id,
        "setlistfm_id": f"sl{setlist_id}",
        "version_id": f"v{setlist_id}",
        "artist_id": artist_id,
        "show_id": show_id,
        "event_date": date(2026, 3, 1),
    }


def entry(entry_id: int, *, setlist_id: int, position: int, song_id: int) -> dict[str, Any]:
    return {
        "id": entry_id,
        "setlist_id": setlist_id,
        "position": position,
        "set_index": 1,
        "song_id": song_id,
    }


def run(
    run_id: int,
    *,
    job: str,
    started_at: datetime,
    status: str,
    finished_at: datetime | None = None,
    mode: str | None = None,
    dry_run: bool = False,
    counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    return {
        "id": run_id,
        "job": job,
        "mode": mode,
        "parameters": {},
        "dry_run": dry_run,
        "started_at": started_at,
        "finished_at": finished_at,
        "status": status,
        "counts": counts or {},
    }


def sync_error(
    error_id: int,
    *,
    last_seen_at: datetime,
    resolved_at: datetime | None = None,
    attempts: int = 1,
    run_id: int | None = None,
) -> dict[str, Any]:
    return {
        "id": error_id,
        "source": "ticketmaster",
        "key": f"K{error_id}",
        "entity": "artist",
        "error": f"HTTP 500 for K{error_id}",
        "run_id": run_id,
        "first_seen_at": last_seen_at,
        "last_seen_at": last_seen_at,
        "attempts": attempts,
        "resolved_at": resolved_at,
    }


async def insert_rows(engine: AsyncEngine, *tables: tuple[Any, list[dict[str, Any]]]) -> None:
    """Insert ``(table, rows)`` pairs in order, in one transaction."""
    async with engine.begin() as conn:
        for table, rows in tables:
            for row in rows:
                await conn.execute(insert(table).values(**row))
