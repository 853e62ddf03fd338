"""The trending formula: one score per artist and per show, 0-100, as SQL expressions.

Every score is ``100 * sum(w_i * c_i) / sum(w_i)`` over the components *present*, each component
``c_i`` in ``[0, 1]``. Activity counts are sums of events weighted by ``2 ** (-age / half_life)``;
unbounded inputs pass a saturating transform ``x / (x + k)``, so a score depends on its own row
only (an incremental run agrees with a full one, and an outlier rescales nobody). Components the
data cannot provide (Spotify popularity or follower history missing) drop out of both sums: the
weights renormalise. See ``docs/trending.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Float, Integer, and_, bindparam, case, func, literal
from sqlalchemy.sql.elements import ColumnElement

from models.tables import ShowStatus
from models.trending.sql import epoch_day, epoch_seconds, float_, pow2
from settings import Settings

__all__ = [
    "AHEAD_STATUSES",
    "ARTIST_WEIGHTS",
    "GROWTH_FOLLOWER_FLOOR",
    "GROWTH_LATEST_MAX_AGE_DAYS",
    "GROWTH_SPAN_DAYS",
    "HALF_SATURATION",
    "NEGLIGIBLE",
    "PROXIMITY_POINTS_MAX",
    "SCORE_DECIMALS",
    "SHOW_WEIGHTS",
    "Clock",
    "artist_bound",
    "artist_score",
    "show_bound",
    "show_score",
    "snap",
]

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
# Stored scores are rounded to this many decimals; a row is rewritten only when its rounded
# score (or its stored inputs) change.
SCORE_DECIMALS = 2
# Decayed sums smaller than this are stored as 0.
NEGLIGIBLE = 1e-6
# Shows in these statuses, dated today or later, are "ahead".
AHEAD_STATUSES = (ShowStatus.UPCOMING.value, ShowStatus.ONGOING.value, ShowStatus.POSTPONED.value)
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Clock:
    """The instant a recalculation scores at, and the half-lives, as SQL-ready values.

    ``named``: the instant enters SQL as named parameters (``clock_*``, values from ``params``)
    instead of literals, so a statement built once runs at any instant (``named_form``)."""

    now: datetime
    now_epoch: int
    today: date
    today_day: int
    activity_half_life_s: float
    show_half_life_days: float
    named: bool = False

    @classmethod
    def at(cls, now: datetime, settings: Settings | None) -> Clock:
        """The clock at ``now`` with the half-lives of ``settings`` (``None``: their defaults)."""
        fields = Settings.model_fields
        activity_hours = (
            settings.trending_activity_half_life_hours
            if settings is not None
            else fields["trending_activity_half_life_hours"].default
        )
        show_days = (
            settings.trending_show_half_life_days
            if settings is not None
            else fields["trending_show_half_life_days"].default
        )
        today = now.astimezone(UTC).date()
        return cls(
            now=now,
            now_epoch=math.floor(now.timestamp()),
            today=today,
            today_day=(today - _EPOCH).days,
            activity_half_life_s=float(activity_hours) * 3600.0,
            show_half_life_days=float(show_days),
        )

    def named_form(self) -> Clock:
        """This clock with its instant as named parameters (the half-lives stay literals)."""
        return replace(self, named=True)

    def params(self, days: range) -> dict[str, Any]:
        """The values of a named clock's parameters at this instant, for the days ``days``
        (offsets from today) that ``day`` named."""
        return {
            "clock_now_epoch": self.now_epoch,
            "clock_today_day": self.today_day,
            **{_day_name(offset): self.today + timedelta(days=offset) for offset in days},
        }

    def now_epoch_sql(self) -> ColumnElement[int]:
        if self.named:
            return bindparam("clock_now_epoch", self.now_epoch, type_=Integer)
        return literal(self.now_epoch, Integer)

    def today_day_sql(self) -> ColumnElement[int]:
        """Whole days from 1970-01-01 to today."""
        if self.named:
            return bindparam("clock_today_day", self.today_day, type_=Integer)
        return literal(self.today_day, Integer)

    def day(self, offset: int = 0) -> Any:
        """The date ``offset`` days from today: a ``date`` (bound where it is compared), or
        a named ``Date`` parameter for a named clock."""
        value = self.today + timedelta(days=offset)
        return bindparam(_day_name(offset), value, type_=Date) if self.named else value

    def decay_since(self, instant: ColumnElement[Any]) -> ColumnElement[float]:
        """``2 ** (-(now - instant) / half_life)`` in whole seconds; 0 past ``MIN_EXPONENT``."""
        age = epoch_seconds(instant) - self.now_epoch_sql()
        return pow2(age / float_(self.activity_half_life_s))

    def days_until(self, day: ColumnElement[Any]) -> ColumnElement[int]:
        return epoch_day(day) - self.today_day_sql()

    def is_ahead(
        self, status: ColumnElement[Any], local_date: ColumnElement[Any]
    ) -> ColumnElement[bool]:
        return and_(status.in_(AHEAD_STATUSES), local_date >= self.day())

    def proximity(self, local_date: ColumnElement[Any]) -> ColumnElement[float]:
        """``2 ** (-days_until / show half-life)`` (1.0 today; 0 centuries ahead)."""
        return pow2(-self.days_until(local_date) / float_(self.show_half_life_days))


def _day_name(offset: int) -> str:
    return f"clock_day_{offset}" if offset >= 0 else f"clock_day_m{-offset}"


def snap(value: ColumnElement[Any]) -> ColumnElement[float]:
    """``value``, or 0 when it is negligible (``|value| < NEGLIGIBLE``)."""
    return case((func.abs(value) < float_(NEGLIGIBLE), float_(0.0)), else_=value)


def _saturate(value: ColumnElement[Any], key: str) -> ColumnElement[float]:
    """``x / (x + k)`` for positive ``x``, else 0."""
    return case(
        (value > float_(0.0), value / (value + float_(HALF_SATURATION[key]))), else_=float_(0.0)
    )


def _round_score(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """Half-up to ``SCORE_DECIMALS`` with the same float operations on both dialects."""
    scale = float_(10.0**SCORE_DECIMALS)
    return func.floor(value * scale + float_(0.5), type_=Float) / scale


Term = tuple[int, ColumnElement[Any], ColumnElement[bool] | None]


def _combine(terms: Sequence[Term], *, rounded: bool = True) -> ColumnElement[float]:
    """``100 * sum(w c) / sum(w)`` over present terms (``None`` = always present), rounded."""
    numerator: ColumnElement[Any] = float_(0.0)
    denominator: ColumnElement[Any] = float_(0.0)
    for weight, value, present in terms:
        if present is None:
            numerator = numerator + float_(weight) * value
            denominator = denominator + float_(weight)
        else:
            numerator = numerator + case((present, float_(weight) * value), else_=float_(0.0))
            denominator = denominator + case((present, float_(weight)), else_=float_(0.0))
    unrounded = float_(100.0) * numerator / denominator
    return _round_score(unrounded) if rounded else unrounded


def artist_score(
    *,
    popularity: ColumnElement[Any],
    growth: ColumnElement[Any],
    follows: ColumnElement[Any],
    upcoming: ColumnElement[Any],
    views: ColumnElement[Any],
    votes: ColumnElement[Any],
    attendance: ColumnElement[Any],
) -> ColumnElement[float]:
    """An artist's rounded score from its inputs (activity sums already decayed to now)."""
    w = ARTIST_WEIGHTS
    return _combine(
        [
            (w["popularity"], popularity / float_(100.0), popularity.is_not(None)),
            (w["spotify_growth"], _saturate(growth, "spotify_growth"), growth.is_not(None)),
            (w["app_followers"], _saturate(follows, "app_followers"), None),
            (w["upcoming_shows"], _saturate(upcoming, "upcoming_shows"), None),
            (w["views"], _saturate(views, "views"), None),
            (w["votes"], _saturate(votes, "votes"), None),
            (w["attendance"], _saturate(attendance, "attendance"), None),
        ]
    )


def _show_terms(
    *,
    ahead: ColumnElement[bool],
    proximity: ColumnElement[Any],
    popularity: ColumnElement[Any],
    follows: ColumnElement[Any],
    views: ColumnElement[Any],
    votes: ColumnElement[Any],
    attendance: ColumnElement[Any],
) -> list[Term]:
    w = SHOW_WEIGHTS
    return [
        (
            w["popularity"],
            case((ahead, popularity / float_(100.0)), else_=float_(0.0)),
            popularity.is_not(None),
        ),
        (w["proximity"], proximity, None),
        (w["app_followers"], _saturate(follows, "app_followers"), None),
        (w["views"], _saturate(views, "views"), None),
        (w["votes"], _saturate(votes, "votes"), None),
        (w["attendance"], _saturate(attendance, "attendance"), None),
    ]


def show_score(
    clock: Clock,
    *,
    cancelled: ColumnElement[bool],
    ahead_date: ColumnElement[Any],
    popularity: ColumnElement[Any],
    follows: ColumnElement[Any],
    views: ColumnElement[Any],
    votes: ColumnElement[Any],
    attendance: ColumnElement[Any],
) -> ColumnElement[float]:
    """A show's rounded score: headliner popularity and proximity while ahead, plus activity.

    ``ahead_date``: the show's date when its status is ahead (else NULL); it is ahead while that
    date is today or later."""
    ahead = and_(ahead_date.is_not(None), ahead_date >= clock.day())
    proximity = case((ahead, clock.proximity(ahead_date)), else_=float_(0.0))
    terms = _show_terms(
        ahead=ahead,
        proximity=proximity,
        popularity=popularity,
        follows=follows,
        views=views,
        votes=votes,
        attendance=attendance,
    )
    return case((cancelled, float_(0.0)), else_=_combine(terms))


def show_bound(
    *,
    cancelled: ColumnElement[bool],
    ahead_date: ColumnElement[Any],
    popularity: ColumnElement[Any],
    follows: ColumnElement[Any],
    views: ColumnElement[Any],
    votes: ColumnElement[Any],
    attendance: ColumnElement[Any],
) -> ColumnElement[float]:
    """An upper bound of a show's unrounded score *without its proximity points*, at any
    instant from the one its activity sums are as of: the popularity points (while ahead; a
    show that stops being ahead loses them) plus the activity points, which only fall between
    events (every sum decays towards 0, and a negative net follow count scores 0). The
    proximity adds at most ``PROXIMITY_POINTS_MAX * 2 ** (-days_until / S)``."""
    terms = _show_terms(
        ahead=ahead_date.is_not(None),
        proximity=float_(0.0),
        popularity=popularity,
        follows=follows,
        views=views,
        votes=votes,
        attendance=attendance,
    )
    return case((cancelled, float_(0.0)), else_=_combine(terms, rounded=False))


def artist_bound(
    *,
    popularity: ColumnElement[Any],
    growth: ColumnElement[Any],
    follows: ColumnElement[Any],
    upcoming_until: ColumnElement[Any],
    views: ColumnElement[Any],
    votes: ColumnElement[Any],
    attendance: ColumnElement[Any],
) -> ColumnElement[float]:
    """An upper bound of an artist's unrounded score at any instant from the one its activity
    sums are as of, until its row is rewritten: the activity points only fall between events;
    the upcoming-shows points are at most the component's weight while the artist has a show
    ahead (``upcoming_until`` set; a new show rewrites the row), else 0; popularity and growth
    hold as stored, except that growth drops out of the score once its latest snapshot is 7
    days old (the larger of the two sums is taken)."""
    w = ARTIST_WEIGHTS
    rest: list[Term] = [
        (w["popularity"], popularity / float_(100.0), popularity.is_not(None)),
        (w["app_followers"], _saturate(follows, "app_followers"), None),
        (
            w["upcoming_shows"],
            case((upcoming_until.is_not(None), float_(1.0)), else_=float_(0.0)),
            None,
        ),
        (w["views"], _saturate(views, "views"), None),
        (w["votes"], _saturate(votes, "votes"), None),
        (w["attendance"], _saturate(attendance, "attendance"), None),
    ]
    grown = (w["spotify_growth"], _saturate(growth, "spotify_growth"), growth.is_not(None))
    with_growth = _combine([*rest, grown], rounded=False)
    without = _combine(rest, rounded=False)
    return case((with_growth >= without, with_growth), else_=without)


# The most points a show's proximity can add: its weight over the smallest denominator (the
# headliner's popularity absent), times a proximity of at most 1.
PROXIMITY_POINTS_MAX = (
    100.0 * SHOW_WEIGHTS["proximity"] / (sum(SHOW_WEIGHTS.values()) - SHOW_WEIGHTS["popularity"])
)
