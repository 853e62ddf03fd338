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
from models.trending.formula import HALF_SATURATION, SHOW_WEIGHTS

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


def _saturated_input(fraction: float, key: str) -> float:
    """The input ``x`` whose saturating transform ``x / (x + k)`` is ``fraction``."""
    k = HALF_SATURATION[key]
    return k * fraction / (1.0 - fraction)


def artist_trend(artist_id: int, score: float, *, at: datetime) -> dict[str, Any]:
    """A ``trending_artists`` row (stored inputs, as of ``at``) that scores exactly ``score``
    when read at ``at``: no popularity, and every other component (growth measured on
    ``at``'s day, app follows, the upcoming-shows sum, holding past ``at``'s day, and the
    three activity sums) is the same fraction ``score / 100`` of its points, so the weighted
    mean is ``score`` (models/trending/formula.py)."""
    if not 0.0 <= score < 100.0:
        raise ValueError(f"an artist score is in [0, 100), got {score!r}")
    c = score / 100.0
    return {
        "artist_id": artist_id,
        "popularity": None,
        "growth": _saturated_input(c, "spotify_growth"),
        "growth_day": at.date(),
        "follows": _saturated_input(c, "app_followers"),
        "upcoming": _saturated_input(c, "upcoming_shows"),
        "upcoming_until": date(at.year + 1, 1, 1),
        "views": _saturated_input(c, "views"),
        "votes": _saturated_input(c, "votes"),
        "attendance": _saturated_input(c, "attendance"),
        "as_of": at,
    }


# Without the headliner's popularity, a show's points are proximity + the four activity sums.
_SHOW_SUMS = {
    "follows": "app_followers",
    "views": "views",
    "votes": "votes",
    "attendance": "attendance",
}
_SHOW_ACTIVITY_POINTS = sum(SHOW_WEIGHTS[key] for key in _SHOW_SUMS.values())
_SHOW_POINTS = _SHOW_ACTIVITY_POINTS + SHOW_WEIGHTS["proximity"]


def show_trend(
    show_id: int, score: float, *, at: datetime, views: float | None = None
) -> dict[str, Any]:
    """A ``trending_shows`` row (stored inputs, as of ``at``) that scores exactly ``score``
    when read at ``at``. No headliner popularity; a score up to the activity's share of the
    points (68.75) comes from activity alone with the show not ahead (no proximity points);
    above it the show is ahead on ``at``'s day (proximity 1, all its 25 points) and the
    activity makes up the rest. ``views`` fixes that sum; every other activity component is
    the same fraction of its points."""
    activity_max = 100.0 * _SHOW_ACTIVITY_POINTS / _SHOW_POINTS
    if not 0.0 <= score < 100.0:
        raise ValueError(f"a show score is in [0, 100), got {score!r}")
    ahead = score > activity_max
    points = score / 100.0 * _SHOW_POINTS - (SHOW_WEIGHTS["proximity"] if ahead else 0)
    fractions: dict[str, float] = {}
    if views is not None:
        fractions["views"] = views / (views + HALF_SATURATION["views"])
        points -= SHOW_WEIGHTS["views"] * fractions["views"]
    rest = [name for name in _SHOW_SUMS if name not in fractions]
    c = points / sum(SHOW_WEIGHTS[_SHOW_SUMS[name]] for name in rest)
    if not 0.0 <= c < 1.0:
        raise ValueError(f"no activity scores {score!r} with views={views!r}")
    fractions |= dict.fromkeys(rest, c)
    activity = sum(SHOW_WEIGHTS[_SHOW_SUMS[name]] * f for name, f in fractions.items())
    return {
        "show_id": show_id,
        "popularity": None,
        "cancelled": False,
        **{
            name: views
            if name == "views" and views is not None
            else _saturated_input(f, _SHOW_SUMS[name])
            for name, f in fractions.items()
        },
        "as_of": at,
        "ahead_date": at.date() if ahead else None,
        # The score without its proximity points, unrounded (formula.show_bound).
        "bound": 100.0 * activity / _SHOW_POINTS,
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
