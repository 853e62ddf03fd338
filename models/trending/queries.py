"""The inputs of the trending formula, as set-based queries (no Python loop over rows).

Activity: decayed sums of events per artist or show, over a chosen set of events (all of them
for a full recomputation, the ones since the last run for an incremental one). Spotify follower
growth from ``artist_snapshots``; the upcoming-shows proximity sum from ``shows``. Also the
watermark of the last run and the ranking read back after a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Float,
    Select,
    Subquery,
    Table,
    and_,
    case,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from models.tables import (
    ActivityKind,
    Artist,
    ArtistSnapshot,
    Show,
    TrendingArtist,
    TrendingShow,
    TrendingWatermark,
    UserActivity,
)
from models.trending.formula import (
    GROWTH_FOLLOWER_FLOOR,
    GROWTH_LATEST_MAX_AGE_DAYS,
    GROWTH_SPAN_DAYS,
    Clock,
)
from models.trending.scores import Scored, ranked
from models.trending.sql import epoch_day, epoch_seconds, fenced, float_

__all__ = [
    "ACTIVITY",
    "ARTISTS",
    "SHOWS",
    "SNAPSHOTS",
    "STATE",
    "SUMS",
    "WATERMARKS",
    "WATERMARK_NAME",
    "EventWindow",
    "RankedEntity",
    "Watermark",
    "activity_sums",
    "follower_growth",
    "last_event_id",
    "pair_sums",
    "read_watermark",
    "regrouped",
    "top",
    "upcoming_sums",
]

ARTISTS: Table = Artist.__table__  # type: ignore[attr-defined]
SHOWS: Table = Show.__table__  # type: ignore[attr-defined]
ACTIVITY: Table = UserActivity.__table__  # type: ignore[attr-defined]
SNAPSHOTS: Table = ArtistSnapshot.__table__  # type: ignore[attr-defined]
WATERMARKS: Table = TrendingWatermark.__table__  # type: ignore[attr-defined]
# The trending state per kind: (state table, its key column, the catalogue table).
STATE: dict[str, tuple[Table, str, Table]] = {
    "artist": (TrendingArtist.__table__, "artist_id", ARTISTS),  # type: ignore[attr-defined]
    "show": (TrendingShow.__table__, "show_id", SHOWS),  # type: ignore[attr-defined]
}
WATERMARK_NAME = "activity"


class RankedEntity(NamedTuple):
    id: int
    name: str
    score: float


@dataclass(frozen=True)
class Watermark:
    """The previous run: the instant it scored at and the last event id it folded in."""

    computed_at: datetime
    event_id: int | None


@dataclass(frozen=True)
class EventWindow:
    """Which events a run folds in: ids up to ``last_id`` that occurred by ``clock.now``; with a
    previous run, only those not counted by it (newer ids, or dated after its instant)."""

    last_id: int
    previous: Watermark | None

    def condition(self, clock: Clock) -> ColumnElement[bool]:
        ua = ACTIVITY
        counted = and_(ua.c.id <= self.last_id, ua.c.occurred_at <= clock.now)
        if self.previous is None or self.previous.event_id is None:
            return counted
        # An event the previous run saw but that lay in its future is counted once it happens.
        return and_(
            counted,
            or_(
                ua.c.id > self.previous.event_id,
                ua.c.occurred_at > self.previous.computed_at,
            ),
        )


def activity_sums(
    clock: Clock,
    kind: str,
    events: ColumnElement[bool],
    *,
    name: str = "activity",
) -> Subquery:
    """Per artist (or show): decayed views, net follows, votes, attendance of ``events`` (the
    incremental runs' few events; a full recomputation reads them all once, ``pair_sums``)."""
    ua = ACTIVITY
    key = ua.c.artist_id if kind == "artist" else ua.c.show_id
    events_query = select(
        key.label("id"),
        ua.c.kind,
        clock.decay_since(ua.c.occurred_at).label("weight"),
    ).where(key.is_not(None), events)
    events_name = f"{kind}_{name}_events"
    weighted = fenced(events_query, events_name)
    e = weighted.c

    def total(*kinds: ActivityKind) -> ColumnElement[float]:
        values = [k.value for k in kinds]
        return func.sum(case((e.kind.in_(values), e.weight), else_=float_(0.0)), type_=Float)

    follows = func.sum(
        case(
            (e.kind == ActivityKind.FOLLOW.value, e.weight),
            (e.kind == ActivityKind.UNFOLLOW.value, -e.weight),
            else_=float_(0.0),
        ),
        type_=Float,
    )
    return (
        select(
            e.id,
            total(ActivityKind.VIEW).label("views"),
            follows.label("follows"),
            total(ActivityKind.VOTE_UP, ActivityKind.VOTE_DOWN).label("votes"),
            total(ActivityKind.ATTENDANCE).label("attendance"),
        )
        .group_by(e.id)
        .subquery(f"{kind}_{name}")
    )


def pair_sums(clock: Clock, events: ColumnElement[bool]) -> Select[Any]:
    """Decayed views, net follows, votes and attendance of ``events`` per ``(artist_id,
    show_id)``: one pass over the events gives both kinds' sums (``regrouped``), where a pass
    per kind read them twice. No planner fence (PostgreSQL may split the scan between its
    workers). Each sum adds only the events of its kinds (``FILTER``): an event costs one
    weight and one addition, not four; a sum without events is NULL."""
    ua = ACTIVITY
    weight = clock.decay_since(ua.c.occurred_at)

    def total(*kinds: ActivityKind) -> ColumnElement[float]:
        values = [k.value for k in kinds]
        return func.sum(weight, type_=Float).filter(ua.c.kind.in_(values))

    signed = case((ua.c.kind == ActivityKind.UNFOLLOW.value, -weight), else_=weight)
    follows = func.sum(signed, type_=Float).filter(
        ua.c.kind.in_([ActivityKind.FOLLOW.value, ActivityKind.UNFOLLOW.value])
    )
    return (
        select(
            ua.c.artist_id,
            ua.c.show_id,
            total(ActivityKind.VIEW).label("views"),
            follows.label("follows"),
            total(ActivityKind.VOTE_UP, ActivityKind.VOTE_DOWN).label("votes"),
            total(ActivityKind.ATTENDANCE).label("attendance"),
        )
        .where(or_(ua.c.artist_id.is_not(None), ua.c.show_id.is_not(None)), events)
        .group_by(ua.c.artist_id, ua.c.show_id)
    )


def regrouped(pairs: Table, kind: str) -> Subquery:
    """``pair_sums`` (staged in ``pairs``) summed per artist or per show: ``id`` and the four
    sums (NULL when the entity has none of a sum's events)."""
    key = pairs.c.artist_id if kind == "artist" else pairs.c.show_id
    return (
        select(
            key.label("id"),
            *(func.sum(pairs.c[name], type_=Float).label(name) for name in SUMS),
        )
        .where(key.is_not(None))
        .group_by(key)
        .subquery(f"{kind}_activity")
    )


def follower_growth(clock: Clock, ids: Any = None) -> Subquery:
    """Weekly Spotify follower growth per artist: its latest snapshot with followers (at most 7
    days old) against its latest one 7 to 14 days before that; no row when either is missing.
    Snapshots carry followers only when they were read, with the instant of the read: the growth
    is over the real interval between the two reads, scaled to 7 days.

    Per artist, a few probes of the snapshots' primary key (artist, day) within the last 21 days,
    so the cost follows the number of artists, not the length of the snapshot history. ``ids``:
    only these artists (a selectable of ids). Columns ``id``, ``growth`` and ``day`` (the
    latest snapshot's: the growth holds while it is at most 7 days old)."""
    snap, artists = SNAPSHOTS, ARTISTS
    oldest = clock.today - timedelta(days=GROWTH_LATEST_MAX_AGE_DAYS + GROWTH_SPAN_DAYS[1])

    s1 = snap.alias("latest_snap")
    latest_day = (
        select(func.max(s1.c.day))
        .where(
            s1.c.artist_id == artists.c.id,
            s1.c.followers.is_not(None),
            s1.c.day <= clock.today,
            s1.c.day >= clock.today - timedelta(days=GROWTH_LATEST_MAX_AGE_DAYS),
        )
        .scalar_subquery()
    )
    latest_query = select(artists.c.id, latest_day.label("day"))
    if ids is not None:
        latest_query = latest_query.where(artists.c.id.in_(ids))
    latest = fenced(latest_query, "growth_latest")
    s2 = snap.alias("earlier_snap")
    span = epoch_day(latest.c.day) - epoch_day(s2.c.day)
    earlier_day = (
        select(func.max(s2.c.day))
        .where(
            s2.c.artist_id == latest.c.id,
            s2.c.followers.is_not(None),
            s2.c.day >= oldest,
            s2.c.day < latest.c.day,
            span.between(*GROWTH_SPAN_DAYS),
        )
        .scalar_subquery()
    )
    pair = fenced(
        select(latest.c.id, latest.c.day, earlier_day.label("earlier_day")).where(
            latest.c.day.is_not(None)
        ),
        "growth_pair",
    )
    # Both snapshots by their primary key (artist, day): a probe each, never a scan.
    now_snap = snap.alias("now_snap")
    then_snap = snap.alias("then_snap")
    now_followers = (
        select(now_snap.c.followers)
        .where(now_snap.c.artist_id == pair.c.id, now_snap.c.day == pair.c.day)
        .scalar_subquery()
    )
    then_followers = (
        select(then_snap.c.followers)
        .where(then_snap.c.artist_id == pair.c.id, then_snap.c.day == pair.c.earlier_day)
        .scalar_subquery()
    )
    now_read = (
        select(now_snap.c.followers_read_at)
        .where(now_snap.c.artist_id == pair.c.id, now_snap.c.day == pair.c.day)
        .scalar_subquery()
    )
    then_read = (
        select(then_snap.c.followers_read_at)
        .where(then_snap.c.artist_id == pair.c.id, then_snap.c.day == pair.c.earlier_day)
        .scalar_subquery()
    )
    followers = fenced(
        select(
            pair.c.id,
            pair.c.day,
            pair.c.earlier_day,
            now_followers.label("now_followers"),
            then_followers.label("then_followers"),
            now_read.label("now_read"),
            then_read.label("then_read"),
        ).where(pair.c.earlier_day.is_not(None)),
        "growth_followers",
    )
    f = followers.c
    floor = case(
        (f.then_followers > GROWTH_FOLLOWER_FLOOR, f.then_followers),
        else_=GROWTH_FOLLOWER_FLOOR,
    )
    # The real interval between the two reads, in days (snapshots taken before reads carried
    # their instant: the days between the snapshots).
    read_days = (epoch_seconds(f.now_read) - epoch_seconds(f.then_read)) / float_(86400.0)
    days = func.coalesce(
        func.nullif(read_days, float_(0.0)),
        cast(epoch_day(f.day) - epoch_day(f.earlier_day), Float),
    )
    # In floating point: followers * days overflows a 32-bit integer past 153 million followers.
    growth = (f.now_followers - f.then_followers) * float_(7.0) / (cast(floor, Float) * days)
    return select(f.id, growth.label("growth"), f.day).subquery("growth")


def upcoming_sums(clock: Clock, ids: Any = None) -> Subquery:
    """Per artist: the sum of the proximities of its shows ahead (``upcoming``) and the date of
    the nearest one (``until``: the sum holds, grown by the proximity's rate, until then).
    ``ids``: only these artists (a selectable of ids)."""
    shows = SHOWS
    query = (
        select(
            shows.c.artist_id.label("id"),
            func.sum(clock.proximity(shows.c.local_date), type_=Float).label("upcoming"),
            func.min(shows.c.local_date).label("until"),
        )
        .where(clock.is_ahead(shows.c.status, shows.c.local_date))
        .group_by(shows.c.artist_id)
    )
    if ids is not None:
        query = query.where(shows.c.artist_id.in_(ids))
    return query.subquery("upcoming")


SUMS = ("views", "follows", "votes", "attendance")


async def read_watermark(conn: AsyncConnection) -> Watermark | None:
    w = WATERMARKS
    row = (
        await conn.execute(select(w.c.computed_at, w.c.event_id).where(w.c.name == WATERMARK_NAME))
    ).one_or_none()
    if row is None:
        return None
    return Watermark(computed_at=row.computed_at, event_id=row.event_id)


async def last_event_id(conn: AsyncConnection) -> int:
    """The newest ``user_activity.id`` visible (0 when there is none)."""
    value = await conn.scalar(select(func.coalesce(func.max(ACTIVITY.c.id), 0)))
    return int(value or 0)


async def top(
    conn: AsyncConnection,
    clock: Clock,
    kind: str,
    limit: int,
    *,
    ranking: Sequence[Scored] | None = None,
) -> tuple[RankedEntity, ...]:
    """The ``limit`` best scores of a kind at ``clock.now`` (ties by id), named. ``ranking``:
    the exact top of at least ``limit`` entries (or all positive scores) at the same instant,
    already read."""
    best = list(ranking[:limit]) if ranking is not None else await ranked(conn, clock, kind, limit)
    if not best:
        return ()
    ids = [b.id for b in best]
    name: ColumnElement[Any]
    if kind == "artist":
        query = select(ARTISTS.c.id, ARTISTS.c.name).where(ARTISTS.c.id.in_(ids))
    else:
        name = func.coalesce(SHOWS.c.name, ARTISTS.c.name)
        query = (
            select(SHOWS.c.id, name)
            .select_from(SHOWS.join(ARTISTS, ARTISTS.c.id == SHOWS.c.artist_id))
            .where(SHOWS.c.id.in_(ids))
        )
    names = {int(r[0]): str(r[1]) for r in (await conn.execute(query)).all()}
    return tuple(RankedEntity(b.id, names[b.id], b.score) for b in best)
