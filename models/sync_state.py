"""Which artists to sync next, and recording how an artist's sync went.

Fairness: artists are taken never-synced first, then those due again after a failure, then the
stalest; a synced artist goes to the back of the queue, so the long tail is reached instead of
the same top artists every run.

Work split across workers: ``claim_artists_for_sync`` and ``claim_hourly_artists`` select the
same artists, in the same order, as ``select_artists_for_sync`` and ``select_hourly_artists``,
skipping those another run holds, and claim them (``claimed_by_run``, ``claimed_until``) in the
caller's transaction. PostgreSQL locks the candidates ``FOR UPDATE SKIP LOCKED``, so a second
worker passes over them instead of waiting; SQLite has one writer at a time. On both, the claim
is one ``UPDATE`` that re-checks the rows are still free, so two runs never hold one artist. A
claim is a lease: an expired one is anyone's, so a crashed worker's artists come back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    case,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from models.tables import (
    Artist,
    Setlist,
    SetlistHistory,
    Show,
    ShowStatus,
    TrendingHistory,
    UserActivity,
)

__all__ = [
    "ArtistKey",
    "ArtistToSync",
    "HistoryDue",
    "HistoryMark",
    "claim_artist",
    "claim_artists_for_sync",
    "claim_awaiting_setlists",
    "claim_by_mbid",
    "claim_hourly_artists",
    "claim_setlists_after_shows",
    "claim_spotify_rotation",
    "claim_spotify_trending",
    "claimable_clause",
    "find_artists",
    "history_due",
    "mark_artist_failed",
    "mark_artist_synced",
    "mark_artists_synced",
    "mark_followers_read",
    "mark_setlists_read",
    "mark_spotify_read",
    "needs_sync_clause",
    "release_claims",
    "renew_claims",
    "retry_delay",
    "save_history_mark",
    "save_history_marks",
    "select_artists_for_sync",
    "select_hourly_artists",
]

artists: Table = Artist.__table__  # type: ignore[attr-defined]
shows: Table = Show.__table__  # type: ignore[attr-defined]
activity: Table = UserActivity.__table__  # type: ignore[attr-defined]
history: Table = SetlistHistory.__table__  # type: ignore[attr-defined]
setlists: Table = Setlist.__table__  # type: ignore[attr-defined]
TRENDING_HISTORY: Table = TrendingHistory.__table__  # type: ignore[attr-defined]

SOURCE_COLUMNS = {
    "spotify": "spotify_synced_at",
    "ticketmaster": "ticketmaster_synced_at",
    "setlistfm": "setlistfm_synced_at",
}
_MAX_RETRY_DELAY = timedelta(days=2)
# Claim rounds when concurrent runs take some candidates first (each round asks for the rest).
_CLAIM_ROUNDS = 8


@dataclass(frozen=True)
class ArtistToSync:
    id: int
    name: str
    spotify_id: str | None
    ticketmaster_id: str | None
    mbid: str | None
    setlistfm_synced_at: datetime | None
    sync_failures: int
    spotify_synced_at: datetime | None = None
    ticketmaster_synced_at: datetime | None = None
    sort_name: str | None = None  # setlist.fm's, with the MusicBrainz id ("Young Owls, The")
    genres: tuple[str, ...] = ()  # Spotify's
    ticketmaster_genres: tuple[str, ...] = ()  # the attraction's genre and sub-genre names


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
        spotify_synced_at=row.spotify_synced_at,
        ticketmaster_synced_at=row.ticketmaster_synced_at,
        sort_name=row.sort_name,
        genres=tuple(row.genres or ()),
        ticketmaster_genres=tuple(row.ticketmaster_genres or ()),
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
        artists.c.spotify_synced_at,
        artists.c.ticketmaster_synced_at,
        artists.c.sort_name,
        artists.c.genres,
        artists.c.ticketmaster_genres,
    ]


def _sync_query(
    *,
    now: datetime,
    limit: int | None,
    stale_after_hours: float | None,
    source_column: str,
    require: Sequence[str],
    just_played_days: int | None = None,
    unidentified_first: bool = False,
) -> Select[Any]:
    synced_at = artists.c[source_column]
    query = select(*_columns())
    for column in require:
        query = query.where(artists.c[column].is_not(None))
    if stale_after_hours is not None:
        query = query.where(needs_sync_clause(now, stale_after_hours))
    else:
        query = query.where(_due_clause(now))
    never = synced_at.is_(None)
    # Among the artists never synced: those without a MusicBrainz id first when
    # ``unidentified_first`` (this sync is their only way to one, and to any setlist: the
    # backfill and the watch read only artists with one), then those awaiting the setlist of a
    # show they just played (``just_played_days``): their news is being published now.
    unidentified = artists.c.mbid.is_(None) if unidentified_first else false()
    just_played = (
        _awaiting_setlist_clause(now.date(), just_played_days)
        if just_played_days is not None
        else false()
    )
    first = case(
        (and_(never, unidentified, just_played), 0),
        (and_(never, unidentified), 1),
        (and_(never, just_played), 2),
        (never, 3),
        else_=4,
    )
    query = query.order_by(first, synced_at, artists.c.id)
    if limit is not None:
        query = query.limit(limit)
    return query


async def select_artists_for_sync(
    conn: AsyncConnection,
    *,
    now: datetime,
    limit: int | None,
    stale_after_hours: float | None,
    source_column: str = "last_synced_at",
    require: Sequence[str] = (),
    just_played_days: int | None = None,
    unidentified_first: bool = False,
) -> list[ArtistToSync]:
    """The artists most in need of a sync, fairest first: never synced (by ``source_column``)
    first, then the stalest. Among those never synced, ``claim_artists_for_sync``'s
    ``unidentified_first`` and ``just_played_days`` rules.

    With ``stale_after_hours`` only the artists ``needs_sync_clause`` calls due; with ``None``
    every artist that is not waiting out a retry back-off after a failure (master sync takes the
    stalest of them). ``require`` names columns that must be set (e.g. ``ticketmaster_id``).
    """
    query = _sync_query(
        now=now,
        limit=limit,
        stale_after_hours=stale_after_hours,
        source_column=source_column,
        require=require,
        just_played_days=just_played_days,
        unidentified_first=unidentified_first,
    )
    return [_to_sync(row) for row in (await conn.execute(query)).all()]


async def _hourly_rows(
    conn: AsyncConnection,
    *,
    now: datetime,
    limit: int,
    activity_hours: float,
    where: ColumnElement[bool] | None = None,
    lock: bool = False,
) -> list[ArtistToSync]:
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
    extra = [where] if where is not None else []
    half = max(1, (limit + 1) // 2)
    by_show_query = (
        select(*_columns())
        .join(soonest, soonest.c.artist_id == artists.c.id)
        .where(_due_clause(now), *extra)
        .order_by(soonest.c.next_show, artists.c.last_synced_at, artists.c.id)
        .limit(half)
    )
    by_activity_query = (
        select(*_columns())
        .join(recent, recent.c.artist_id == artists.c.id)
        .where(_due_clause(now), *extra)
        .order_by(recent.c.events.desc(), artists.c.id)
        .limit(limit)
    )
    if lock:
        by_show_query = _locked(conn, by_show_query)
        by_activity_query = _locked(conn, by_activity_query)
    by_show = (await conn.execute(by_show_query)).all()
    by_activity = (await conn.execute(by_activity_query)).all()
    chosen: dict[int, ArtistToSync] = {}
    for row in [*by_show, *by_activity]:
        if len(chosen) >= limit:
            break
        chosen.setdefault(row.id, _to_sync(row))
    return list(chosen.values())


async def select_hourly_artists(
    conn: AsyncConnection, *, now: datetime, limit: int, activity_hours: float = 24.0
) -> list[ArtistToSync]:
    """The few artists whose next show is soonest or who drew the most recent activity."""
    return await _hourly_rows(conn, now=now, limit=limit, activity_hours=activity_hours)


# --- Claims: work split across workers -------------------------------------------------------


def claimable_clause(now: datetime, run_id: int) -> ColumnElement[bool]:
    """SQL condition on ``artists``: run ``run_id`` may claim the artist at ``now`` (no claim,
    an expired one, or its own)."""
    return or_(
        artists.c.claimed_by_run.is_(None),
        artists.c.claimed_until.is_(None),
        artists.c.claimed_until <= now,
        artists.c.claimed_by_run == run_id,
    )


def _locked(conn: AsyncConnection, query: Select[Any]) -> Select[Any]:
    """PostgreSQL: lock the chosen artist rows, passing over rows another claimer has locked."""
    if conn.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=artists)
    return query


def _check_lease(now: datetime, lease: timedelta) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if lease <= timedelta(0):
        raise ValueError("lease must be positive")


async def _take(
    conn: AsyncConnection, ids: list[int], *, run_id: int, now: datetime, until: datetime
) -> set[int]:
    """Claim those of ``ids`` still claimable, in one statement; returns the ids claimed."""
    result = await conn.execute(
        update(artists)
        .where(artists.c.id.in_(ids), claimable_clause(now, run_id))
        .values(claimed_by_run=run_id, claimed_until=until)
        .returning(artists.c.id)
    )
    return set(result.scalars())


async def _claim_rounds(
    conn: AsyncConnection,
    *,
    run_id: int,
    now: datetime,
    lease: timedelta,
    limit: int | None,
    candidates: Callable[[int | None, set[int]], Awaitable[list[ArtistToSync]]],
) -> list[ArtistToSync]:
    """Claim what ``candidates(want, exclude)`` offers until ``limit`` or nothing is left; a
    round that loses some artists to a concurrent run asks again for the rest."""
    until = now + lease
    chosen: list[ArtistToSync] = []
    for _ in range(_CLAIM_ROUNDS):
        want = None if limit is None else limit - len(chosen)
        if want == 0:
            break
        offered = await candidates(want, {a.id for a in chosen})
        if not offered:
            break
        taken = await _take(conn, [a.id for a in offered], run_id=run_id, now=now, until=until)
        chosen.extend(a for a in offered if a.id in taken)
        if len(taken) == len(offered):
            break
    return chosen


async def _claim_least_recently(
    conn: AsyncConnection,
    *,
    run_id: int,
    now: datetime,
    lease: timedelta,
    limit: int,
    read_at: Any,
    where: Sequence[ColumnElement[bool]],
) -> list[ArtistToSync]:
    """Claim for ``run_id`` (until ``now + lease``) at most ``limit`` artists matching ``where``
    and claimable, those never read (``read_at`` NULL) first, then the least recently read, then
    by id."""

    async def candidates(want: int | None, exclude: set[int]) -> list[ArtistToSync]:
        query = (
            select(*_columns())
            .where(*where, claimable_clause(now, run_id))
            .order_by(case((read_at.is_(None), 0), else_=1), read_at, artists.c.id)
            .limit(limit if want is None else want)
        )
        if exclude:
            query = query.where(artists.c.id.not_in(exclude))
        return [_to_sync(row) for row in (await conn.execute(_locked(conn, query))).all()]

    return await _claim_rounds(
        conn, run_id=run_id, now=now, lease=lease, limit=limit, candidates=candidates
    )


async def claim_artists_for_sync(
    conn: AsyncConnection,
    *,
    run_id: int,
    now: datetime,
    lease: timedelta,
    limit: int | None,
    stale_after_hours: float | None,
    source_column: str = "last_synced_at",
    require: Sequence[str] = (),
    just_played_days: int | None = None,
    unidentified_first: bool = False,
) -> list[ArtistToSync]:
    """``select_artists_for_sync``, skipping artists another run holds, and claimed for run
    ``run_id`` until ``now + lease``: two runs never get the same artist. Among the artists
    never synced, with ``unidentified_first`` those without a MusicBrainz id first, and with
    ``just_played_days`` those with a show of the last ``just_played_days`` days (or today)
    awaiting its setlist first (after the first rule).

    The claim commits with the caller's transaction (``async with engine.begin() as conn``);
    commit it before the long work, so other workers see it.
    """
    _check_lease(now, lease)

    async def candidates(want: int | None, exclude: set[int]) -> list[ArtistToSync]:
        query = _sync_query(
            now=now,
            limit=want,
            stale_after_hours=stale_after_hours,
            source_column=source_column,
            require=require,
            just_played_days=just_played_days,
            unidentified_first=unidentified_first,
        ).where(claimable_clause(now, run_id))
        if exclude:
            query = query.where(artists.c.id.not_in(exclude))
        return [_to_sync(row) for row in (await conn.execute(_locked(conn, query))).all()]

    return await _claim_rounds(
        conn, run_id=run_id, now=now, lease=lease, limit=limit, candidates=candidates
    )


async def claim_hourly_artists(
    conn: AsyncConnection,
    *,
    run_id: int,
    now: datetime,
    lease: timedelta,
    limit: int,
    activity_hours: float = 24.0,
) -> list[ArtistToSync]:
    """``select_hourly_artists``, skipping artists another run holds, claimed for ``run_id``
    until ``now + lease`` (see ``claim_artists_for_sync``)."""
    _check_lease(now, lease)

    async def candidates(want: int | None, exclude: set[int]) -> list[ArtistToSync]:
        where = claimable_clause(now, run_id)
        if exclude:
            where = and_(where, artists.c.id.not_in(exclude))
        return await _hourly_rows(
            conn,
            now=now,
            limit=limit if want is None else want,
            activity_hours=activity_hours,
            where=where,
            lock=True,
        )

    return await _claim_rounds(
        conn, run_id=run_id, now=now, lease=lease, limit=limit, candidates=candidates
    )


def _awaiting_setlist_clause(today: date, days: int) -> ColumnElement[bool]:
    """SQL condition on ``artists``: a show of the artist dated from ``days`` days before
    ``today`` to ``today`` (not cancelled, postponed or delisted) has no setlist yet."""
    show_setlist = select(setlists.c.id).where(setlists.c.show_id == shows.c.id).exists()
    awaited = (
        select(shows.c.id)
        .where(
            shows.c.artist_id == artists.c.id,
            shows.c.local_date >= today - timedelta(days=days),
            shows.c.local_date <= today,
            shows.c.status.in_(
                [ShowStatus.UPCOMING.value, ShowStatus.ONGOING.value, ShowStatus.COMPLETED.value]
            ),
            ~show_setlist,
        )
        .exists()
    )
    return awaited


async def claim_awaiting_setlists(
    conn: AsyncConnection,
    *,
    run_id: int,
    now: datetime,
    lease: timedelta,
    days: int,
    recheck_after: timedelta,
    limit: int,
) -> list[ArtistToSync]:
    """The artists with a MusicBrainz id who played a show in the last ``days`` days (or play
    one today) that has no setlist yet, and whose setlist.fm read is older than
    ``recheck_after``: least recently read first (then by id), at most ``limit``, not waiting
    out a back-off, claimed for ``run_id`` until ``now + lease`` (``claim_artists_for_sync``)."""
    _check_lease(now, lease)
    read_at = artists.c.setlistfm_synced_at
    return await _claim_least_recently(
        conn,
        run_id=run_id,
        now=now,
        lease=lease,
        limit=limit,
        read_at=read_at,
        where=[
            artists.c.mbid.is_not(None),
            or_(read_at.is_(None), read_at <= now - recheck_after),
            _awaiting_setlist_clause(now.date(), days),
            _due_clause(now),
        ],
    )


def _after_show_clause(
    now: datetime, *, first_after: timedelta, recheck_after: timedelta, days: int
) -> ColumnElement[bool]:
    """SQL condition on ``artists``: a show of the artist (not cancelled, postponed or delisted)
    without a setlist started ``first_after`` to ``days`` days ago, and the artist's setlists
    were not read since it started, or not for ``recheck_after``. A show without a start time
    counts from the day after its date (up to ``days`` days after it)."""
    read_at = artists.c.setlistfm_synced_at
    stale = or_(read_at.is_(None), read_at <= now - recheck_after)
    show_setlist = select(setlists.c.id).where(setlists.c.show_id == shows.c.id).exists()
    today = now.date()
    return (
        select(shows.c.id)
        .where(
            shows.c.artist_id == artists.c.id,
            shows.c.status.in_(
                [ShowStatus.UPCOMING.value, ShowStatus.ONGOING.value, ShowStatus.COMPLETED.value]
            ),
            ~show_setlist,
            or_(
                and_(
                    shows.c.starts_at.is_not(None),
                    shows.c.starts_at <= now - first_after,
                    shows.c.starts_at >= now - timedelta(days=days),
                    or_(stale, read_at < shows.c.starts_at),
                ),
                and_(
                    shows.c.starts_at.is_(None),
                    shows.c.local_date >= today - timedelta(days=days),
                    shows.c.local_date < today,
                    stale,
                ),
            ),
        )
        .exists()
    )


async def claim_setlists_after_shows(
    conn: AsyncConnection,
    *,
    run_id: int,
    now: datetime,
    lease: timedelta,
    first_after: timedelta,
    recheck_after: timedelta,
    days: int,
    limit: int,
) -> list[ArtistToSync]:
    """The daily plan's setlist watch: the artists with a MusicBrainz id and a show awaiting its
    setlist (``_after_show_clause``: first read ``first_after`` after the show started, then
    every ``recheck_after`` until ``days`` days after it), least recently read first, at most
    ``limit``, not waiting out a back-off, claimed for ``run_id`` until ``now + lease``."""
    _check_lease(now, lease)
    clause = _after_show_clause(
        now, first_after=first_after, recheck_after=recheck_after, days=days
    )
    return await _claim_least_recently(
        conn,
        run_id=run_id,
        now=now,
        lease=lease,
        limit=limit,
        read_at=artists.c.setlistfm_synced_at,
        where=[artists.c.mbid.is_not(None), clause, _due_clause(now)],
    )


async def claim_by_mbid(
    conn: AsyncConnection,
    *,
    mbids: Sequence[str],
    run_id: int,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[ArtistToSync]:
    """The artists holding these MusicBrainz ids (the setlist news: setlist.fm published or
    edited one of their setlists), least recently read first, at most ``limit``, not waiting
    out a back-off, claimed for ``run_id`` until ``now + lease``."""
    _check_lease(now, lease)
    if not mbids or limit <= 0:
        return []
    return await _claim_least_recently(
        conn,
        run_id=run_id,
        now=now,
        lease=lease,
        limit=limit,
        read_at=artists.c.setlistfm_synced_at,
        where=[artists.c.mbid.in_(sorted(set(mbids))), _due_clause(now)],
    )


async def claim_spotify_rotation(
    conn: AsyncConnection,
    *,
    run_id: int,
    now: datetime,
    lease: timedelta,
    older_than: timedelta,
    limit: int,
    exclude: Iterable[int] = (),
) -> list[ArtistToSync]:
    """The artists whose Spotify data was never read or read ``older_than`` ago (never first,
    then the oldest), at most ``limit``, claimed for ``run_id`` until ``now + lease``; not those
    of ``exclude`` (already claimed by this run for another read)."""
    _check_lease(now, lease)
    read_at = artists.c.spotify_synced_at
    where = [or_(read_at.is_(None), read_at <= now - older_than)]
    if excluded := sorted(set(exclude)):
        where.append(artists.c.id.not_in(excluded))
    return await _claim_least_recently(
        conn,
        run_id=run_id,
        now=now,
        lease=lease,
        limit=limit,
        read_at=read_at,
        where=where,
    )


async def claim_spotify_trending(
    conn: AsyncConnection,
    *,
    run_id: int,
    now: datetime,
    lease: timedelta,
    top: int,
    older_than: timedelta,
    limit: int,
) -> list[ArtistToSync]:
    """The artists with a Spotify id among the ``top`` best of the latest daily trending ranking
    (``trending_history``'s latest day) whose Spotify data was read ``older_than`` ago or never,
    at most ``limit`` (never read first, then the oldest), claimed for ``run_id`` until
    ``now + lease``. Their popularity and followers count in their scores (and the follower
    growth is measured between reads): the artists on the trending lists get them daily."""
    _check_lease(now, lease)
    if top <= 0 or limit <= 0:
        return []
    h = TRENDING_HISTORY
    latest = select(func.max(h.c.day)).where(h.c.entity_type == "artist").scalar_subquery()
    best = (
        select(h.c.entity_id)
        .where(h.c.entity_type == "artist", h.c.day == latest)
        .order_by(h.c.score.desc(), h.c.entity_id)
        .limit(top)
    )
    ids = [int(row[0]) for row in (await conn.execute(best)).all()]
    if not ids:
        return []
    read_at = artists.c.spotify_synced_at
    return await _claim_least_recently(
        conn,
        run_id=run_id,
        now=now,
        lease=lease,
        limit=limit,
        read_at=read_at,
        where=[
            artists.c.id.in_(ids),
            artists.c.spotify_id.is_not(None),
            or_(read_at.is_(None), read_at <= now - older_than),
        ],
    )


async def mark_spotify_read(
    conn: AsyncConnection, artist_ids: Iterable[int], *, now: datetime
) -> None:
    """Record that the artists' Spotify data was read (or searched for) at ``now``, and nothing
    else."""
    ids = sorted(set(artist_ids))
    for start in range(0, len(ids), 2000):
        await conn.execute(
            update(artists)
            .where(artists.c.id.in_(ids[start : start + 2000]))
            .values(spotify_synced_at=now)
        )


async def claim_artist(
    conn: AsyncConnection, *, artist_id: int, run_id: int, now: datetime, lease: timedelta
) -> ArtistToSync | None:
    """Claim one artist for run ``run_id`` until ``now + lease``, whatever its sync state (an
    on-demand sync: no staleness, no back-off); None when another run holds it or it is gone."""
    _check_lease(now, lease)
    if not await _take(conn, [artist_id], run_id=run_id, now=now, until=now + lease):
        return None
    row = (await conn.execute(select(*_columns()).where(artists.c.id == artist_id))).one()
    return _to_sync(row)


ArtistKey = Literal["id", "spotify_id", "ticketmaster_id", "normalized_name"]


async def find_artists(
    conn: AsyncConnection, *, key: ArtistKey, value: int | str, limit: int = 10
) -> list[ArtistToSync]:
    """The artists whose ``key`` column equals ``value`` (at most ``limit``, by id): one for an
    id, possibly several for a normalised name."""
    query = select(*_columns()).where(artists.c[key] == value).order_by(artists.c.id)
    return [_to_sync(row) for row in (await conn.execute(query.limit(limit))).all()]


async def renew_claims(conn: AsyncConnection, *, run_id: int, until: datetime) -> int:
    """Extend every claim run ``run_id`` holds to ``until`` (its heartbeat does); returns how
    many."""
    result = await conn.execute(
        update(artists).where(artists.c.claimed_by_run == run_id).values(claimed_until=until)
    )
    return int(result.rowcount)


async def release_claims(
    conn: AsyncConnection, *, run_id: int, artist_ids: Iterable[int] | None = None
) -> int:
    """Free the claims of run ``run_id`` (all, or those of ``artist_ids``); returns how many."""
    query = update(artists).where(artists.c.claimed_by_run == run_id)
    if artist_ids is not None:
        query = query.where(artists.c.id.in_(list(artist_ids)))
    result = await conn.execute(query.values(claimed_by_run=None, claimed_until=None))
    return int(result.rowcount)


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


async def mark_setlists_read(conn: AsyncConnection, artist_id: int, *, now: datetime) -> None:
    """Record that the artist's setlists were read up to ``now`` (its incremental cursor), and
    nothing else: its other sources' marks, ``last_synced_at`` and ``next_sync_at`` stay."""
    await conn.execute(
        update(artists).where(artists.c.id == artist_id).values(setlistfm_synced_at=now)
    )


async def mark_artists_synced(
    conn: AsyncConnection,
    synced: Sequence[tuple[int, Iterable[str], datetime | None]],
    *,
    now: datetime,
) -> None:
    """``mark_artist_synced`` for many artists (id, sources, next sync time): one statement per
    set of sources and next sync time."""
    groups: dict[tuple[frozenset[str], datetime | None], list[int]] = {}
    for artist_id, sources, next_sync_at in synced:
        groups.setdefault((frozenset(sources), next_sync_at), []).append(artist_id)
    for (sources, next_sync_at), ids in groups.items():
        values: dict[str, Any] = {SOURCE_COLUMNS[source]: now for source in sorted(sources)}
        values.update(
            last_synced_at=now, next_sync_at=next_sync_at, sync_failures=0, last_sync_error=None
        )
        for start in range(0, len(ids), 2000):
            chunk = sorted(ids)[start : start + 2000]
            await conn.execute(update(artists).where(artists.c.id.in_(chunk)).values(**values))


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


async def mark_followers_read(
    conn: AsyncConnection, artist_ids: Sequence[int], *, now: datetime
) -> None:
    """These artists' Spotify followers were read at ``now`` (changed or not): the next daily
    snapshot records them with that instant (``snapshot_artists``)."""
    ids = sorted(set(artist_ids))
    for start in range(0, len(ids), 500):
        await conn.execute(
            update(artists)
            .where(artists.c.id.in_(ids[start : start + 500]))
            .values(followers_read_at=now)
        )


@dataclass(frozen=True)
class HistoryMark:
    """How far a read of an artist's history went: ``pages`` pages from the newest, for
    ``mbid``; ``complete`` when the last page was among them."""

    mbid: str
    pages: int
    complete: bool


@dataclass(frozen=True)
class HistoryDue:
    """An artist whose setlist history is not complete: the page the backfill reads next."""

    artist_id: int
    mbid: str
    next_page: int


async def save_history_mark(
    conn: AsyncConnection, artist_id: int, mark: HistoryMark, *, now: datetime
) -> None:
    """Record how far the artist's history was read. The cursor never goes back for the same
    MusicBrainz id (a first sync's short read after a longer backfill); a new id starts it over."""
    row = (
        await conn.execute(
            select(history.c.mbid, history.c.pages_read, history.c.complete).where(
                history.c.artist_id == artist_id
            )
        )
    ).first()
    pages, complete = max(mark.pages, 0), mark.complete
    if row is not None and row.mbid == mark.mbid:
        pages, complete = max(pages, row.pages_read), complete or row.complete
    values = {"mbid": mark.mbid, "pages_read": pages, "complete": complete, "updated_at": now}
    if row is None:
        await conn.execute(history.insert().values(artist_id=artist_id, **values))
    else:
        await conn.execute(update(history).where(history.c.artist_id == artist_id).values(**values))


async def save_history_marks(
    conn: AsyncConnection, marks: Sequence[tuple[int, HistoryMark]], *, now: datetime
) -> None:
    """``save_history_mark`` for many artists (distinct ids): their cursors read in one
    statement, then one executemany for the new ones and one for the others."""
    by_artist = dict(marks)
    if len(by_artist) != len(marks):
        raise ValueError("save_history_marks takes one mark per artist")
    ids = sorted(by_artist)
    stored: dict[int, Any] = {}
    for start in range(0, len(ids), 500):
        rows = await conn.execute(
            select(
                history.c.artist_id, history.c.mbid, history.c.pages_read, history.c.complete
            ).where(history.c.artist_id.in_(ids[start : start + 500]))
        )
        stored.update((row.artist_id, row) for row in rows)
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for artist_id in ids:
        mark, row = by_artist[artist_id], stored.get(artist_id)
        pages, complete = max(mark.pages, 0), mark.complete
        if row is not None and row.mbid == mark.mbid:
            pages, complete = max(pages, row.pages_read), complete or row.complete
        values = {"mbid": mark.mbid, "pages_read": pages, "complete": complete, "updated_at": now}
        if row is None:
            new.append({"artist_id": artist_id, **values})
        else:
            changed.append({"_artist_id": artist_id, **values})
    if new:
        await conn.execute(history.insert(), new)
    if changed:
        await conn.execute(
            update(history)
            .where(history.c.artist_id == bindparam("_artist_id"))
            .values({name: bindparam(name) for name in ("mbid", "pages_read", "complete")})
            .values(updated_at=bindparam("updated_at")),
            changed,
        )


async def history_due(
    conn: AsyncConnection,
    *,
    limit: int,
    first_reads: bool = False,
    just_played: tuple[date, int] | None = None,
) -> list[HistoryDue]:
    """Up to ``limit`` artists with a MusicBrainz id whose history is not complete (or was read
    for another id): those a first sync read from page 1 (it left a cursor), and those with
    setlists stored before cursors existed (from page 1). An artist with neither is left to its
    first sync, unless ``first_reads`` (the daily plan: its history read from page 1 by the
    backfill, without waiting for its turn in the daily master sync). The least recently
    advanced first (never first of all; with ``just_played`` = (today, days), among those never
    advanced the artists awaiting the setlist of a show of the last ``days`` days first), then by
    id."""
    h = history
    same_id = and_(h.c.artist_id.is_not(None), h.c.mbid == artists.c.mbid)
    has_setlists: ColumnElement[bool] = (
        select(setlists.c.id).where(setlists.c.artist_id == artists.c.id).limit(1).exists()
    )
    if first_reads:
        has_setlists = true()
    never = h.c.updated_at.is_(None)
    first: ColumnElement[int] = case((never, 0), else_=1)
    if just_played is not None:
        awaited = _awaiting_setlist_clause(*just_played)
        first = case((and_(never, awaited), 0), (never, 1), else_=2)
    rows = await conn.execute(
        select(artists.c.id, artists.c.mbid, case((same_id, h.c.pages_read), else_=0))
        .select_from(artists.outerjoin(h, h.c.artist_id == artists.c.id))
        .where(
            artists.c.mbid.is_not(None),
            or_(
                and_(
                    h.c.artist_id.is_not(None),
                    or_(h.c.complete.is_(False), h.c.mbid != artists.c.mbid),
                ),
                and_(h.c.artist_id.is_(None), has_setlists),
            ),
        )
        .order_by(first, h.c.updated_at, artists.c.id)
        .limit(limit)
    )
    return [HistoryDue(artist_id, mbid, int(pages) + 1) for artist_id, mbid, pages in rows.all()]
