"""Trending scores of artists and shows: one formula each, 0-100, computed by set-based SQL.

Every score is ``100 * sum(w_i * c_i) / sum(w_i)`` over the components *present*, each
component ``c_i`` in ``[0, 1]``. Activity counts are sums of events weighted by
``2 ** (-age / half_life)``; unbounded inputs pass a saturating transform ``x / (x + k)``, so a
score never depends on other rows (an hourly partial update agrees with a daily full one, and an
outlier rescales nobody). Components that the data cannot provide (Spotify popularity or follower
history missing) drop out of both sums: the weights renormalise. See ``docs/trending.md``.

The same statements run on SQLite and PostgreSQL: ages are whole seconds, days are whole days,
``power``/``floor`` are the C library's on both, and scores are rounded to 2 decimals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    Date,
    Float,
    Integer,
    Select,
    Subquery,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers the tables on the metadata)
from models.tables import ActivityKind, ShowStatus
from settings import Settings

__all__ = [
    "ARTIST_WEIGHTS",
    "HALF_SATURATION",
    "SHOW_WEIGHTS",
    "RankedEntity",
    "TrendingMode",
    "TrendingResult",
    "recalculate_trending",
]

TrendingMode = Literal["hourly", "daily"]

# Points out of 100 per component; a missing component's points leave the denominator.
ARTIST_WEIGHTS: dict[str, int] = {
    "popularity": 30,  # Spotify popularity / 100 (absent when Spotify gives none)
    "spotify_growth": 15,  # weekly follower growth from artist_snapshots (absent without history)
    "app_followers": 15,  # decayed net app follows (follow - unfollow)
    "upcoming_shows": 10,  # sum over upcoming shows of 2 ** (-days_until / show half-life)
    "views": 10,
    "votes": 10,
    "attendance": 10,
}
SHOW_WEIGHTS: dict[str, int] = {
    "popularity": 20,  # headliner popularity / 100 while the show is ahead (absent if none)
    "proximity": 25,  # 2 ** (-days_until / show half-life) while the show is ahead, else 0
    "app_followers": 10,
    "views": 15,
    "votes": 15,
    "attendance": 15,
}
# k of the saturating transform x / (x + k): the value of x that scores half the component.
HALF_SATURATION: dict[str, float] = {
    "spotify_growth": 0.02,  # +2 % followers a week
    "app_followers": 5.0,
    "upcoming_shows": 1.0,
    "views": 20.0,
    "votes": 10.0,
    "attendance": 5.0,
}
# Follower growth is measured against at least this many followers (10 -> 20 is not +100 %).
GROWTH_FOLLOWER_FLOOR = 1000
# The latest snapshot must be at most this old; the earlier one 7 to 14 days before it.
GROWTH_LATEST_MAX_AGE_DAYS = 7
GROWTH_SPAN_DAYS = (7, 14)
# Stored scores are rounded to this many decimals. Hourly decay rewrites only rows whose rounded
# score moves, so the resolution sets its cost: at 0.01 a row with little activity is rewritten
# every few hours instead of every hour, and the stored score is still exact to 0.01.
SCORE_DECIMALS = 2
# Decayed sums smaller than this are stored as 0, so long-quiet rows stop being touched hourly.
NEGLIGIBLE = 1e-6
# Shows in these statuses, dated today or later, are "ahead".
AHEAD_STATUSES = (ShowStatus.UPCOMING.value, ShowStatus.ONGOING.value, ShowStatus.POSTPONED.value)
WATERMARK_NAME = "activity"
PG_WORK_MEM = "128MB"  # per sort/hash node, for this transaction only
_LOCK_KEY = 0x7E4D1A6  # pg_advisory_xact_lock key: one recalculation at a time
_EPOCH = date(1970, 1, 1)

_tables = SQLModel.metadata.tables
_artists: Table = _tables["artists"]
_shows: Table = _tables["shows"]
_activity: Table = _tables["user_activity"]
_snapshots: Table = _tables["artist_snapshots"]
_history: Table = _tables["trending_history"]
_watermarks: Table = _tables["trending_watermarks"]


class RankedEntity(NamedTuple):
    id: int
    name: str
    score: float


@dataclass(frozen=True)
class TrendingResult:
    """What one recalculation did. ``full`` is true when every row was recomputed."""

    mode: TrendingMode
    now: datetime
    dry_run: bool
    full: bool
    since: datetime | None
    artists_scored: int
    shows_scored: int
    artists_decayed: int
    shows_decayed: int
    history_rows: int
    top_artists: tuple[RankedEntity, ...]
    top_shows: tuple[RankedEntity, ...]

    def counts(self) -> dict[str, int]:
        return {
            "artists_scored": self.artists_scored,
            "shows_scored": self.shows_scored,
            "artists_decayed": self.artists_decayed,
            "shows_decayed": self.shows_decayed,
            "history_rows": self.history_rows,
        }


# --- dialect helpers ---------------------------------------------------------------------------


class epoch_seconds(FunctionElement[float]):
    """Whole seconds since 1970-01-01 UTC of a ``UTCDateTime`` column (floored)."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


class epoch_day(FunctionElement[int]):
    """Whole days since 1970-01-01 of a ``DATE`` value."""

    type = Integer()
    inherit_cache = True
    name = "epoch_day"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_seconds_pg(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"floor(date_part('epoch', {compiler.process(element.clauses, **kw)}))"


@compiles(epoch_day, "sqlite")
def _epoch_day_sqlite(element: epoch_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5 AS INTEGER)"


@compiles(epoch_day, "postgresql")
def _epoch_day_pg(element: epoch_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST({compiler.process(element.clauses, **kw)} AS DATE) - DATE '1970-01-01')"


def _f(value: float) -> ColumnElement[float]:
    """A double-precision literal (never NUMERIC on PostgreSQL)."""
    return literal(float(value), Float)


def _pow2(exponent: ColumnElement[Any]) -> ColumnElement[float]:
    return func.power(_f(2.0), exponent, type_=Float)


def _snap(value: ColumnElement[Any]) -> ColumnElement[float]:
    return case((func.abs(value) < _f(NEGLIGIBLE), _f(0.0)), else_=value)


def _saturate(value: ColumnElement[Any], key: str) -> ColumnElement[float]:
    """``x / (x + k)`` for positive ``x``, else 0."""
    return case((value > _f(0.0), value / (value + _f(HALF_SATURATION[key]))), else_=_f(0.0))


def _round_score(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """Half-up to ``SCORE_DECIMALS`` with the same float operations on both dialects."""
    scale = _f(10.0**SCORE_DECIMALS)
    return func.floor(value * scale + _f(0.5), type_=Float) / scale


Term = tuple[int, ColumnElement[Any], ColumnElement[bool] | None]


def _combine(terms: Sequence[Term]) -> ColumnElement[float]:
    """``100 * sum(w c) / sum(w)`` over present terms (``None`` = always present), rounded."""
    numerator: ColumnElement[Any] = _f(0.0)
    denominator: ColumnElement[Any] = _f(0.0)
    for weight, value, present in terms:
        if present is None:
            numerator = numerator + _f(weight) * value
            denominator = denominator + _f(weight)
        else:
            numerator = numerator + case((present, _f(weight) * value), else_=_f(0.0))
            denominator = denominator + case((present, _f(weight)), else_=_f(0.0))
    return _round_score(_f(100.0) * numerator / denominator)


# --- the formula -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    now: datetime
    now_epoch: int
    today: date
    today_day: int
    activity_half_life_s: float
    show_half_life_days: float

    @classmethod
    def at(cls, now: datetime, settings: Settings) -> _Clock:
        today = now.astimezone(UTC).date()
        return cls(
            now=now,
            now_epoch=math.floor(now.timestamp()),
            today=today,
            today_day=(today - _EPOCH).days,
            activity_half_life_s=settings.trending_activity_half_life_hours * 3600.0,
            show_half_life_days=settings.trending_show_half_life_days,
        )

    def decay_since(self, instant: ColumnElement[Any]) -> ColumnElement[float]:
        """``2 ** (-(now - instant) / half_life)`` in whole seconds."""
        age = epoch_seconds(instant) - literal(self.now_epoch, Integer)
        return _pow2(age / _f(self.activity_half_life_s))

    def days_until(self, day: ColumnElement[Any]) -> ColumnElement[int]:
        return epoch_day(day) - literal(self.today_day, Integer)

    def show_is_ahead(self, shows: Any) -> ColumnElement[bool]:
        return and_(shows.c.status.in_(AHEAD_STATUSES), shows.c.local_date >= self.today)

    def proximity(self, shows: Any) -> ColumnElement[float]:
        """``2 ** (-days_until / show half-life)`` (1.0 today)."""
        return _pow2(-self.days_until(shows.c.local_date) / _f(self.show_half_life_days))


def _artist_score(
    popularity: ColumnElement[Any],
    *,
    growth: ColumnElement[Any],
    follows: ColumnElement[Any],
    upcoming: ColumnElement[Any],
    views: ColumnElement[Any],
    votes: ColumnElement[Any],
    attendance: ColumnElement[Any],
) -> ColumnElement[float]:
    w = ARTIST_WEIGHTS
    return _combine(
        [
            (w["popularity"], popularity / _f(100.0), popularity.is_not(None)),
            (w["spotify_growth"], _saturate(growth, "spotify_growth"), growth.is_not(None)),
            (w["app_followers"], _saturate(follows, "app_followers"), None),
            (w["upcoming_shows"], _saturate(upcoming, "upcoming_shows"), None),
            (w["views"], _saturate(views, "views"), None),
            (w["votes"], _saturate(votes, "votes"), None),
            (w["attendance"], _saturate(attendance, "attendance"), None),
        ]
    )


def _show_score(
    clock: _Clock,
    shows: Any,
    popularity: ColumnElement[Any],
    *,
    follows: ColumnElement[Any],
    views: ColumnElement[Any],
    votes: ColumnElement[Any],
    attendance: ColumnElement[Any],
) -> ColumnElement[float]:
    w = SHOW_WEIGHTS
    ahead = clock.show_is_ahead(shows)
    score = _combine(
        [
            (
                w["popularity"],
                case((ahead, popularity / _f(100.0)), else_=_f(0.0)),
                popularity.is_not(None),
            ),
            (w["proximity"], case((ahead, clock.proximity(shows)), else_=_f(0.0)), None),
            (w["app_followers"], _saturate(follows, "app_followers"), None),
            (w["views"], _saturate(views, "views"), None),
            (w["votes"], _saturate(votes, "votes"), None),
            (w["attendance"], _saturate(attendance, "attendance"), None),
        ]
    )
    return case((shows.c.status == ShowStatus.CANCELLED.value, _f(0.0)), else_=score)


# --- inputs, set-based -------------------------------------------------------------------------


def _activity_sums(clock: _Clock, key: Any, scope: Select[Any] | None) -> Subquery:
    """Per ``key`` (artist_id or show_id): decayed views, net follows, votes, attendance."""
    ua = _activity
    weight = clock.decay_since(ua.c.occurred_at)

    def total(*kinds: ActivityKind) -> ColumnElement[float]:
        values = [kind.value for kind in kinds]
        return func.sum(case((ua.c.kind.in_(values), weight), else_=_f(0.0)), type_=Float)

    follows = func.sum(
        case(
            (ua.c.kind == ActivityKind.FOLLOW.value, weight),
            (ua.c.kind == ActivityKind.UNFOLLOW.value, -weight),
            else_=_f(0.0),
        ),
        type_=Float,
    )
    query = (
        select(
            key.label("id"),
            total(ActivityKind.VIEW).label("views"),
            follows.label("follows"),
            total(ActivityKind.VOTE_UP, ActivityKind.VOTE_DOWN).label("votes"),
            total(ActivityKind.ATTENDANCE).label("attendance"),
        )
        .where(key.is_not(None), ua.c.occurred_at <= clock.now)
        .group_by(key)
    )
    if scope is not None:
        query = query.where(key.in_(scope))
    return query.subquery()


def _follower_growth(clock: _Clock, scope: Select[Any] | None) -> Subquery:
    """Weekly Spotify follower growth: latest snapshot (<= 7 days old) vs one 7-14 days earlier."""
    snap = _snapshots
    latest_q = (
        select(snap.c.artist_id, func.max(snap.c.day).label("day"))
        .where(
            snap.c.followers.is_not(None),
            snap.c.day <= clock.today,
            snap.c.day >= clock.today - timedelta(days=GROWTH_LATEST_MAX_AGE_DAYS),
        )
        .group_by(snap.c.artist_id)
    )
    if scope is not None:
        latest_q = latest_q.where(snap.c.artist_id.in_(scope))
    latest = latest_q.subquery()
    span = epoch_day(latest.c.day) - epoch_day(snap.c.day)
    earlier = (
        select(latest.c.artist_id, latest.c.day, func.max(snap.c.day).label("earlier_day"))
        .join(snap, snap.c.artist_id == latest.c.artist_id)
        .where(snap.c.followers.is_not(None), span.between(*GROWTH_SPAN_DAYS))
        .group_by(latest.c.artist_id, latest.c.day)
        .subquery()
    )
    now_snap = snap.alias("now_snap")
    then_snap = snap.alias("then_snap")
    floor = case(
        (then_snap.c.followers > GROWTH_FOLLOWER_FLOOR, then_snap.c.followers),
        else_=GROWTH_FOLLOWER_FLOOR,
    )
    days = epoch_day(earlier.c.day) - epoch_day(earlier.c.earlier_day)
    growth = (now_snap.c.followers - then_snap.c.followers) * _f(7.0) / (floor * days)
    return (
        select(earlier.c.artist_id.label("id"), growth.label("growth"))
        .join(
            now_snap,
            and_(now_snap.c.artist_id == earlier.c.artist_id, now_snap.c.day == earlier.c.day),
        )
        .join(
            then_snap,
            and_(
                then_snap.c.artist_id == earlier.c.artist_id,
                then_snap.c.day == earlier.c.earlier_day,
            ),
        )
        .subquery()
    )


def _upcoming_sums(clock: _Clock, scope: Select[Any] | None) -> Subquery:
    shows = _shows
    query = (
        select(
            shows.c.artist_id.label("id"),
            func.sum(clock.proximity(shows), type_=Float).label("upcoming"),
        )
        .where(clock.show_is_ahead(shows))
        .group_by(shows.c.artist_id)
    )
    if scope is not None:
        query = query.where(shows.c.artist_id.in_(scope))
    return query.subquery()


def _zero(value: ColumnElement[Any]) -> ColumnElement[float]:
    return func.coalesce(value, _f(0.0), type_=Float)


async def _score_artists(conn: AsyncConnection, clock: _Clock, scope: Select[Any] | None) -> int:
    """Recompute every input and the score of the artists in ``scope`` (all when None)."""
    ar = _artists
    act = _activity_sums(clock, _activity.c.artist_id, scope)
    growth = _follower_growth(clock, scope)
    upcoming = _upcoming_sums(clock, scope)
    inputs_q = select(
        ar.c.id,
        _snap(_zero(act.c.views)).label("views"),
        _snap(_zero(act.c.follows)).label("follows"),
        _snap(_zero(act.c.votes)).label("votes"),
        _snap(_zero(act.c.attendance)).label("attendance"),
        growth.c.growth,
        _zero(upcoming.c.upcoming).label("upcoming"),
    ).select_from(
        ar.outerjoin(act, act.c.id == ar.c.id)
        .outerjoin(growth, growth.c.id == ar.c.id)
        .outerjoin(upcoming, upcoming.c.id == ar.c.id)
    )
    if scope is not None:
        inputs_q = inputs_q.where(ar.c.id.in_(scope))
    x = inputs_q.subquery("inputs")
    values: dict[str, ColumnElement[Any]] = {
        "trending_views": x.c.views,
        "trending_follows": x.c.follows,
        "trending_votes": x.c.votes,
        "trending_attendance": x.c.attendance,
        "trending_growth": x.c.growth,
        "trending_upcoming": x.c.upcoming,
        "trending_score": _artist_score(
            ar.c.popularity,
            growth=x.c.growth,
            follows=x.c.follows,
            upcoming=x.c.upcoming,
            views=x.c.views,
            votes=x.c.votes,
            attendance=x.c.attendance,
        ),
    }
    return await _write_changed(conn, ar, values, clock, ar.c.id == x.c.id)


async def _score_shows(conn: AsyncConnection, clock: _Clock, scope: Select[Any] | None) -> int:
    """Recompute the activity sums and the score of the shows in ``scope`` (all when None)."""
    sh, ar = _shows, _artists
    act = _activity_sums(clock, _activity.c.show_id, scope)
    inputs_q = select(
        sh.c.id,
        ar.c.popularity,
        _snap(_zero(act.c.views)).label("views"),
        _snap(_zero(act.c.follows)).label("follows"),
        _snap(_zero(act.c.votes)).label("votes"),
        _snap(_zero(act.c.attendance)).label("attendance"),
    ).select_from(sh.join(ar, ar.c.id == sh.c.artist_id).outerjoin(act, act.c.id == sh.c.id))
    if scope is not None:
        inputs_q = inputs_q.where(sh.c.id.in_(scope))
    x = inputs_q.subquery("inputs")
    values: dict[str, ColumnElement[Any]] = {
        "trending_views": x.c.views,
        "trending_follows": x.c.follows,
        "trending_votes": x.c.votes,
        "trending_attendance": x.c.attendance,
        "trending_score": _show_score(
            clock,
            sh,
            x.c.popularity,
            follows=x.c.follows,
            views=x.c.views,
            votes=x.c.votes,
            attendance=x.c.attendance,
        ),
    }
    return await _write_changed(conn, sh, values, clock, sh.c.id == x.c.id)


async def _write_changed(
    conn: AsyncConnection,
    table: Table,
    values: dict[str, ColumnElement[Any]],
    clock: _Clock,
    *where: ColumnElement[bool],
) -> int:
    """UPDATE only the rows whose stored values would change; returns how many were written.

    A row keeping non-zero activity sums must also move its timestamp to ``now``: the sums are
    stored *as of* ``trending_updated_at``, and hourly decay starts from it.
    """
    changed = or_(
        *(table.c[name].is_distinct_from(value) for name, value in values.items()),
        and_(_has_activity(table), table.c.trending_updated_at.is_distinct_from(clock.now)),
    )
    result = await conn.execute(
        update(table).where(*where, changed).values(**values, trending_updated_at=clock.now)
    )
    return int(result.rowcount)


def _has_activity(table: Table) -> ColumnElement[bool]:
    return or_(
        table.c.trending_views != 0,
        table.c.trending_follows != 0,
        table.c.trending_votes != 0,
        table.c.trending_attendance != 0,
    )


def _decayed(table: Table, column: str, clock: _Clock) -> ColumnElement[float]:
    return _snap(table.c[column] * clock.decay_since(table.c.trending_updated_at))


async def _decay_artists(conn: AsyncConnection, clock: _Clock) -> int:
    """Age the activity sums of the artists not rescored at ``now``, where the score moves."""
    ar = _artists
    sums = {c: _decayed(ar, c, clock) for c in _SUM_COLUMNS}
    score = _artist_score(
        ar.c.popularity,
        growth=ar.c.trending_growth,
        follows=sums["trending_follows"],
        upcoming=ar.c.trending_upcoming,
        views=sums["trending_views"],
        votes=sums["trending_votes"],
        attendance=sums["trending_attendance"],
    )
    return await _write_decayed(conn, ar, sums, score, clock)


async def _decay_shows(conn: AsyncConnection, clock: _Clock) -> int:
    """Age the activity sums of the shows not rescored at ``now``, where the score moves."""
    sh, ar = _shows, _artists
    sums = {c: _decayed(sh, c, clock) for c in _SUM_COLUMNS}
    score = _show_score(
        clock,
        sh,
        ar.c.popularity,
        follows=sums["trending_follows"],
        views=sums["trending_views"],
        votes=sums["trending_votes"],
        attendance=sums["trending_attendance"],
    )
    return await _write_decayed(conn, sh, sums, score, clock, sh.c.artist_id == ar.c.id)


async def _write_decayed(
    conn: AsyncConnection,
    table: Table,
    sums: dict[str, ColumnElement[Any]],
    score: ColumnElement[Any],
    clock: _Clock,
    *where: ColumnElement[bool],
) -> int:
    """Write decayed rows whose rounded score changes. A row left alone stays exact: its sums
    are still those of its own ``trending_updated_at``, and the next decay starts from there."""
    result = await conn.execute(
        update(table)
        .where(
            *where,
            _has_activity(table),
            table.c.trending_updated_at < clock.now,
            table.c.trending_score.is_distinct_from(score),
        )
        .values(**sums, trending_score=score, trending_updated_at=clock.now)
    )
    return int(result.rowcount)


_SUM_COLUMNS = ("trending_views", "trending_follows", "trending_votes", "trending_attendance")


async def _write_history(conn: AsyncConnection, clock: _Clock) -> int:
    """Replace today's history rows with every positive score (idempotent for the day)."""
    h = _history
    await conn.execute(delete(h).where(h.c.day == clock.today))
    written = 0
    for entity_type, table in (("artist", _artists), ("show", _shows)):
        rows = select(
            literal(entity_type).label("entity_type"),
            table.c.id,
            literal(clock.today, Date).label("day"),
            table.c.trending_score,
        ).where(table.c.trending_score > 0)
        result = await conn.execute(
            insert(h).from_select(["entity_type", "entity_id", "day", "score"], rows)
        )
        written += int(result.rowcount)
    return written


async def _read_watermark(conn: AsyncConnection) -> datetime | None:
    w = _watermarks
    value = await conn.scalar(select(w.c.computed_at).where(w.c.name == WATERMARK_NAME))
    return value if isinstance(value, datetime) else None


async def _write_watermark(conn: AsyncConnection, clock: _Clock, mode: TrendingMode) -> None:
    w = _watermarks
    await conn.execute(delete(w).where(w.c.name == WATERMARK_NAME))
    await conn.execute(insert(w).values(name=WATERMARK_NAME, computed_at=clock.now, mode=mode))


async def _top(conn: AsyncConnection, table: Table, limit: int) -> tuple[RankedEntity, ...]:
    """The ``limit`` best scores (ties by id); ranked on the table alone, then named."""
    ranked = (
        select(table.c.id, table.c.trending_score)
        .where(table.c.trending_score.is_not(None))
        .order_by(table.c.trending_score.desc(), table.c.id)
        .limit(limit)
        .subquery()
    )
    if table is _artists:
        name: ColumnElement[Any] = _artists.c.name
        source = ranked.join(_artists, _artists.c.id == ranked.c.id)
    else:
        name = func.coalesce(_shows.c.name, _artists.c.name)
        source = ranked.join(_shows, _shows.c.id == ranked.c.id).join(
            _artists, _artists.c.id == _shows.c.artist_id
        )
    query = (
        select(ranked.c.id, name, ranked.c.trending_score)
        .select_from(source)
        .order_by(ranked.c.trending_score.desc(), ranked.c.id)
    )
    rows = (await conn.execute(query)).all()
    return tuple(RankedEntity(int(r[0]), str(r[1]), float(r[2])) for r in rows)


async def recalculate_trending(
    engine: AsyncEngine,
    *,
    mode: TrendingMode,
    now: datetime,
    settings: Settings,
    dry_run: bool = False,
    top: int = 10,
) -> TrendingResult:
    """Recalculate trending scores as of ``now``, in one transaction.

    ``daily`` rescores every artist and show and replaces today's ``trending_history`` rows.
    ``hourly`` rescores only entities with activity since the previous run's ``now`` (the
    watermark) and decays the stored activity sums of the rest; with no previous run it rescores
    everything (without history). ``dry_run`` computes and ranks, then rolls back.
    """
    if mode not in ("hourly", "daily"):
        raise ValueError(f"unknown trending mode {mode!r}: expected 'hourly' or 'daily'")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if top < 0:
        raise ValueError("top must be >= 0")
    clock = _Clock.at(now, settings)
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
                # DML never runs in parallel: without room for hash aggregates the planner
                # walks the events' index in order instead of scanning them once.
                await conn.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
            since = await _read_watermark(conn)
            full = mode == "daily" or since is None
            if mode == "hourly" and since is not None and now < since:
                raise ValueError(
                    f"now {now.isoformat()} is before the last trending run ({since.isoformat()})"
                )
            artists_decayed = shows_decayed = history_rows = 0
            if full:
                artists_scored = await _score_artists(conn, clock, None)
                shows_scored = await _score_shows(conn, clock, None)
            else:
                assert since is not None
                ua = _activity
                window = and_(ua.c.occurred_at > since, ua.c.occurred_at <= clock.now)
                active_artists = select(ua.c.artist_id).where(window, ua.c.artist_id.is_not(None))
                active_shows = select(ua.c.show_id).where(window, ua.c.show_id.is_not(None))
                artists_scored = await _score_artists(conn, clock, active_artists)
                shows_scored = await _score_shows(conn, clock, active_shows)
                artists_decayed = await _decay_artists(conn, clock)
                shows_decayed = await _decay_shows(conn, clock)
            if full and postgres:
                # Every score just changed: fresh statistics for the history and top queries.
                await conn.execute(text("ANALYZE artists, shows"))
            if mode == "daily":
                history_rows = await _write_history(conn, clock)
            await _write_watermark(conn, clock, mode)
            top_artists = await _top(conn, _artists, top)
            top_shows = await _top(conn, _shows, top)
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
        since=since,
        artists_scored=artists_scored,
        shows_scored=shows_scored,
        artists_decayed=artists_decayed,
        shows_decayed=shows_decayed,
        history_rows=history_rows,
        top_artists=top_artists,
        top_shows=top_shows,
    )
