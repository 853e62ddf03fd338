"""Which artists to sync next, and recording how an artist's sync went.

Fairness: artists are taken never-synced first, then those due again after a failure, then the
stalest; a synced artist goes to the back of the queue, so the long tail is reached instead of
the same top artists every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from models.tables import Artist, Show, ShowStatus, UserActivity

__all__ = [
    "ArtistToSync",
    "mark_artist_failed",
    "mark_artist_synced",
    "needs_sync_clause",
    "retry_delay",
    "select_artists_for_sync",
    "select_hourly_artists",
]

artists: Table = Artist.__table__  # type: ignore[attr-defined]
shows: Table = Show.__table__  # type: ignore[attr-defined]
activity: Table = UserActivity.__table__  # type: ignore[attr-defined]

SOURCE_COLUMNS = {
    "spotify": "spotify_synced_at",
    "ticketmaster": "ticketmaster_synced_at",
    "setlistfm": "setlistfm_synced_at",
}
_MAX_RETRY_DELAY = timedelta(days=2)


@dataclass(frozen=True)
class ArtistToSync:
    id: int
    name: str
    spotify_id: str | None
    ticketmaster_id: str | None
    mbid: str | None
    setlistfm_synced_at: datetime | None
    sync_failures: int


def needs_sync_clause(now: datetime, stale_after_hours: float) -> ColumnElement[bool]:
    """SQL condition on ``artists``: the artist is due for a sync at ``now``.

    When ``next_sync_at`` is set it decides (a retry back-off or a planned sync): due once it is
    ``<= now``. Otherwise the artist is due when it was never synced or its ``last_synced_at`` is
    older than ``stale_after_hours``. Never NULL, so it may be negated safely.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if stale_after_hours <= 0:
        raise ValueError("stale_after_hours must be positive")
    stale_before = now - timedelta(hours=stale_after_hours)
    next_sync = artists.c.next_sync_at
    last_synced = artists.c.last_synced_at
    return or_(
        and_(next_sync.is_not(None), next_sync <= now),
        and_(
            next_sync.is_(None),
            or_(last_synced.is_(None), and_(last_synced.is_not(None), last_synced < stale_before)),
        ),
    )


def _due_clause(now: datetime) -> ColumnElement[bool]:
    """Not waiting out a retry back-off after a failure."""
    return or_(
        artists.c.sync_failures == 0,
        artists.c.next_sync_at.is_(None),
        artists.c.next_sync_at <= now,
    )


def _to_sync(row: Any) -> ArtistToSync:
    return ArtistToSync(
        id=row.id,
        name=row.name,
        spotify_id=row.spotify_id,
        ticketmaster_id=row.ticketmaster_id,
        mbid=row.mbid,
        setlistfm_synced_at=row.setlistfm_synced_at,
        sync_failures=row.sync_failures,
    )


def _columns() -> list[Any]:
    return [
        artists.c.id,
        artists.c.name,
        artists.c.spotify_id,
        artists.c.ticketmaster_id,
        artists.c.mbid,
        artists.c.setlistfm_synced_at,
        artists.c.sync_failures,
    ]


async def select_artists_for_sync(
    conn: AsyncConnection,
    *,
    now: datetime,
    limit: int | None,
    stale_after_hours: float | None,
    source_column: str = "last_synced_at",
    require: Sequence[str] = (),
) -> list[ArtistToSync]:
    """The artists most in need of a sync, fairest first: never synced (by ``source_column``)
    first, then the stalest.

    With ``stale_after_hours`` only the artists ``needs_sync_clause`` calls due; with ``None``
    every artist that is not waiting out a retry back-off after a failure (master sync takes the
    stalest of them). ``require`` names columns that must be set (e.g. ``ticketmaster_id``).
    """
    synced_at = artists.c[source_column]
    query = select(*_columns())
    for column in require:
        query = query.where(artists.c[column].is_not(None))
    if stale_after_hours is not None:
        query = query.where(needs_sync_clause(now, stale_after_hours))
    else:
        query = query.where(_due_clause(now))
    query = query.order_by(
        case((synced_at.is_(None), 0), else_=1),
        synced_at,
        artists.c.id,
    )
    if limit is not None:
        query = query.limit(limit)
    return [_to_sync(row) for row in (await conn.execute(query)).all()]


async def select_hourly_artists(
    conn: AsyncConnection, *, now: datetime, limit: int, activity_hours: float = 24.0
) -> list[ArtistToSync]:
    """The few artists whose next show is soonest or who drew the most recent activity."""
    today = now.date()
    soonest = (
        select(shows.c.artist_id, func.min(shows.c.local_date).label("next_show"))
        .where(shows.c.status.in_([ShowStatus.UPCOMING.value, ShowStatus.ONGOING.value]))
        .where(shows.c.local_date >= today)
        .group_by(shows.c.artist_id)
        .subquery()
    )
    recent = (
        select(activity.c.artist_id, func.count().label("events"))
        .where(activity.c.occurred_at >= now - timedelta(hours=activity_hours))
        .where(activity.c.artist_id.is_not(None))
        .group_by(activity.c.artist_id)
        .subquery()
    )
    half = max(1, (limit + 1) // 2)
    by_show = (
        await conn.execute(
            select(*_columns())
            .join(soonest, soonest.c.artist_id == artists.c.id)
            .where(_due_clause(now))
            .order_by(soonest.c.next_show, artists.c.last_synced_at, artists.c.id)
            .limit(half)
        )
    ).all()
    by_activity = (
        await conn.execute(
            select(*_columns())
            .join(recent, recent.c.artist_id == artists.c.id)
            .where(_due_clause(now))
            .order_by(recent.c.events.desc(), artists.c.id)
            .limit(limit)
        )
    ).all()
    chosen: dict[int, ArtistToSync] = {}
    for row in [*by_show, *by_activity]:
        if len(chosen) >= limit:
            break
        chosen.setdefault(row.id, _to_sync(row))
    return list(chosen.values())


def retry_delay(failures: int, *, base_minutes: float) -> timedelta:
    """Exponential back-off for a failing artist: base, 2×base, 4×base, ... capped at two days."""
    delay = timedelta(minutes=base_minutes * (2 ** max(0, failures - 1)))
    return min(delay, _MAX_RETRY_DELAY)


async def mark_artist_synced(
    conn: AsyncConnection,
    artist_id: int,
    *,
    sources: Iterable[str],
    now: datetime,
    next_sync_at: datetime | None = None,
) -> None:
    """Record a successful sync, in the same transaction as the data it wrote."""
    values: dict[str, Any] = {SOURCE_COLUMNS[source]: now for source in sources}
    values.update(
        last_synced_at=now, next_sync_at=next_sync_at, sync_failures=0, last_sync_error=None
    )
    await conn.execute(update(artists).where(artists.c.id == artist_id).values(**values))


async def mark_artist_failed(
    conn: AsyncConnection, artist_id: int, *, error: str, now: datetime, base_minutes: float
) -> datetime:
    """Record a failed sync: ``last_synced_at`` stays as it was; a retry time is set. Returns it."""
    failures = (
        await conn.execute(select(artists.c.sync_failures).where(artists.c.id == artist_id))
    ).scalar_one() + 1
    retry_at = now + retry_delay(failures, base_minutes=base_minutes)
    await conn.execute(
        update(artists)
        .where(artists.c.id == artist_id)
        .values(sync_failures=failures, next_sync_at=retry_at, last_sync_error=error[:1000])
    )
    return retry_at
