"""Trending scores computed when read: one SQL expression per kind, evaluated at any ``now``.

No score is stored. The state rows hold the inputs (``models/tables.py``: decayed activity sums
as of ``as_of``, popularity, growth and the upcoming-shows sum with the dates until which they
hold, a show's date while it is ahead); ``artist_scores`` and ``show_scores`` give every row's
score at a reader's ``now`` from them, exactly what the formula gives for those inputs:

- activity sums are aged from ``as_of`` to ``now`` (``2 ** (-(now - as_of) / H)``);
- an artist's upcoming-shows sum, stored as of ``as_of``'s UTC day ``D``, is
  ``upcoming * 2 ** ((today - D) / S)`` while none of its shows has passed (``today <=
  upcoming_until``, the date of its nearest show ahead); after that, the sum over its shows
  ahead is read from ``shows`` (a reader days after the last run);
- growth holds while its latest snapshot is at most 7 days old (``growth_day``);
- a show is ahead while its ``ahead_date`` is today or later.

``ranked`` gives the exact top of a kind without scoring every row: see its docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    Float,
    Select,
    Subquery,
    Table,
    and_,
    bindparam,
    case,
    func,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from models.tables import Artist, Show, TrendingArtist, TrendingShow, TrendingWatermark
from models.trending.formula import (
    GROWTH_LATEST_MAX_AGE_DAYS,
    PROXIMITY_POINTS_MAX,
    Clock,
    artist_score,
    show_score,
    snap,
)
from models.trending.sql import epoch_seconds, fenced, float_, pow2
from settings import Settings

__all__ = [
    "ARTIST_STATE",
    "SHOW_STATE",
    "SUMS",
    "Scored",
    "artist_scores",
    "entity_scores",
    "grown_upcoming",
    "ranked",
    "scores_at_last_run",
    "show_scores",
]

ARTIST_STATE: Table = TrendingArtist.__table__  # type: ignore[attr-defined]
SHOW_STATE: Table = TrendingShow.__table__  # type: ignore[attr-defined]
_ARTISTS: Table = Artist.__table__  # type: ignore[attr-defined]
_SHOWS: Table = Show.__table__  # type: ignore[attr-defined]
_WATERMARKS: Table = TrendingWatermark.__table__  # type: ignore[attr-defined]
SUMS = ("views", "follows", "votes", "attendance")
# Slack of a candidate test: a rounded score exceeds its unrounded value by at most 0.005.
_SLACK = 0.01
# Days of the ranking's per-date test of shows ahead; past it, one test for the rest.
_DATES = 120


class Scored(NamedTuple):
    id: int
    score: float


def _decay(clock: Clock, state: Table) -> ColumnElement[float]:
    # A row marked for a recount (as_of NULL) counts no activity until the next run.
    return func.coalesce(clock.decay_since(state.c.as_of), float_(0.0))


def grown_upcoming(clock: Clock, t: Table) -> ColumnElement[float]:
    """An artist row's upcoming-shows sum (as of ``as_of``'s UTC day) grown to today: what it
    is while none of its shows has passed (``today <= upcoming_until``)."""
    as_of_day = func.floor(epoch_seconds(t.c.as_of) / float_(86400.0), type_=Float)
    grown = t.c.upcoming * pow2(
        (clock.today_day_sql() - as_of_day) / float_(clock.show_half_life_days)
    )
    # NULL for a row marked for a recount; never floor(NULL): SQLAlchemy registers Python's
    # math.floor as SQLite's floor, which raises on NULL.
    return case((t.c.as_of.is_(None), null()), else_=grown)


def artist_scores(clock: Clock, where: ColumnElement[bool] | None = None) -> Subquery:
    """``(id, score)`` of every artist with a state row (or those matching ``where``, a
    condition on ``ARTIST_STATE``) at ``clock.now``."""
    t, shows = ARTIST_STATE, _SHOWS
    grown = grown_upcoming(clock, t)
    recounted = (
        select(func.coalesce(func.sum(clock.proximity(shows.c.local_date), type_=Float), 0.0))
        .where(
            shows.c.artist_id == t.c.artist_id, clock.is_ahead(shows.c.status, shows.c.local_date)
        )
        .scalar_subquery()
    )
    upcoming = case(
        (t.c.upcoming_until.is_(None), float_(0.0)),
        # A row marked for a recount (as_of NULL): its shows ahead are counted from ``shows``.
        (and_(t.c.as_of.is_not(None), t.c.upcoming_until >= clock.day()), grown),
        else_=recounted,
    )
    oldest = clock.day(-GROWTH_LATEST_MAX_AGE_DAYS)
    growth = case((t.c.growth_day >= oldest, t.c.growth), else_=null())
    decay = _decay(clock, t)
    inputs = fenced(
        select(
            t.c.artist_id.label("id"),
            t.c.popularity,
            growth.label("growth"),
            upcoming.label("upcoming"),
            *(snap(t.c[name] * decay).label(name) for name in SUMS),
        ).where(where if where is not None else true()),
        "artist_inputs",
    )
    x = inputs.c
    score = artist_score(
        popularity=x.popularity,
        growth=x.growth,
        follows=x.follows,
        upcoming=x.upcoming,
        views=x.views,
        votes=x.votes,
        attendance=x.attendance,
    )
    return select(x.id, score.label("score")).subquery("artist_scores")


def show_scores(
    clock: Clock, where: ColumnElement[bool] | None = None, *, fence: bool = True
) -> Subquery:
    """``(id, score)`` of every show with a state row (or those matching ``where``, a condition
    on ``SHOW_STATE``) at ``clock.now``. ``fence=False`` for a statement that takes no bound
    parameters (``CREATE TABLE ... AS`` on SQLite): no planner fence around the inputs."""
    t = SHOW_STATE
    decay = _decay(clock, t)
    wrap = fenced if fence else (lambda query, name: query.subquery(name))
    inputs = wrap(
        select(
            t.c.show_id.label("id"),
            t.c.cancelled,
            t.c.ahead_date,
            t.c.popularity,
            *(snap(t.c[name] * decay).label(name) for name in SUMS),
        ).where(where if where is not None else true()),
        "show_inputs",
    )
    x = inputs.c
    score = show_score(
        clock,
        cancelled=x.cancelled,
        ahead_date=x.ahead_date,
        popularity=x.popularity,
        follows=x.follows,
        views=x.views,
        votes=x.votes,
        attendance=x.attendance,
    )
    return select(x.id, score.label("score")).subquery("show_scores")


def entity_scores(clock: Clock, kind: str, where: ColumnElement[bool] | None = None) -> Subquery:
    """``artist_scores`` or ``show_scores`` by kind (``"artist"`` | ``"show"``)."""
    return artist_scores(clock, where) if kind == "artist" else show_scores(clock, where)


#: The ranking statements, built once per process for named clocks (``Clock.named_form``)
#: and run at any instant with ``_params``: building one costs more than running it.
_STATEMENTS: dict[tuple[Any, ...], Select[Any]] = {}
#: Per kind and ``limit``: the lowest score of the last full ranking, where the next one starts.
_LAST_CUT: dict[tuple[str, int], float] = {}
# The ranking's named days: the growth's oldest snapshot day to the last per-date test.
_NAMED_DAYS = range(-GROWTH_LATEST_MAX_AGE_DAYS, _DATES + 1)


def _params(clock: Clock, threshold: float | None = None) -> dict[str, Any]:
    params = clock.params(_NAMED_DAYS)
    if threshold is not None:
        params.update(ranking_need=threshold - _SLACK, ranking_at_least=threshold)
    return params


def _ranking(clock: Clock, kind: str, limit: int, *, candidates: bool) -> Select[Any]:
    """The statement of the ``limit`` best positive scores of ``kind`` (with ``candidates``:
    among the shows that may reach the threshold, scoring at least it), for ``_params``."""
    key = (kind, limit, candidates, clock.activity_half_life_s, clock.show_half_life_days)
    statement = _STATEMENTS.get(key)
    if statement is None:
        named = clock.named_form()
        if kind == "artist":
            scores = artist_scores(named, _artist_candidates() if candidates else None)
        else:
            scores = show_scores(named, _show_candidates(named) if candidates else None)
        query: Select[Any] = select(scores.c.id, scores.c.score).where(scores.c.score > 0)
        if candidates:
            query = query.where(scores.c.score >= bindparam("ranking_at_least", type_=Float))
        statement = query.order_by(scores.c.score.desc(), scores.c.id).limit(limit)
        if len(_STATEMENTS) >= 256:
            _STATEMENTS.clear()
        _STATEMENTS[key] = statement
    return statement


async def _best(
    conn: AsyncConnection, statement: Select[Any], params: dict[str, Any]
) -> list[Scored]:
    return [Scored(int(r[0]), float(r[1])) for r in (await conn.execute(statement, params)).all()]


def _artist_candidates() -> ColumnElement[bool]:
    """Artists whose score may reach the threshold: their ``bound`` (``formula.artist_bound``)
    reaches it less the slack, or they have none yet."""
    t = ARTIST_STATE
    return or_(t.c.bound >= bindparam("ranking_need", type_=Float), t.c.bound.is_(None))


def _show_candidates(clock: Clock) -> ColumnElement[bool]:
    """Shows whose score at ``clock`` may reach the threshold (``ranking_need`` is it less the
    slack): ``bound`` plus the most the proximity of the show's date can add, per date of the
    next ``_DATES`` days (each an index range of ``(ahead_date, bound)``), one test for the
    dates after, one for the rest."""
    t = SHOW_STATE
    need = bindparam("ranking_need", type_=Float)
    tests: list[ColumnElement[bool]] = []
    for days in range(_DATES):
        proximity = 2.0 ** (-days / clock.show_half_life_days)
        tests.append(
            and_(
                t.c.ahead_date == clock.day(days),
                t.c.bound >= need - float_(PROXIMITY_POINTS_MAX * proximity),
            )
        )
    proximity = 2.0 ** (-_DATES / clock.show_half_life_days)
    tests.append(
        and_(
            t.c.ahead_date >= clock.day(_DATES),
            t.c.bound >= need - float_(PROXIMITY_POINTS_MAX * proximity),
        )
    )
    tests.append(and_(t.c.ahead_date < clock.day(), t.c.bound >= need))
    tests.append(and_(t.c.ahead_date.is_(None), t.c.bound >= need))
    return or_(*tests)


def _thresholds(start: float) -> Sequence[float]:
    steps = [start, start - 5.0, start - 15.0, start - 35.0, 0.0]
    return [t for t in steps if t > 0.0] + [0.0]


async def ranked(
    conn: AsyncConnection,
    clock: Clock,
    kind: str,
    limit: int,
    *,
    start: float | None = None,
) -> list[Scored]:
    """The ``limit`` best positive scores of ``kind`` at ``clock.now``, best first, ties by id,
    exact without scoring every row.

    An artist's score is at most its ``bound`` (``formula.artist_bound``: its activity points
    as of ``as_of``, which only fall until the next run rewrites the row, the most its shows
    ahead can add, its popularity and growth); for a threshold ``T``, the candidates are the
    artists whose bound reaches ``T`` (or who have none yet). A show's score is at most its
    ``bound`` (popularity and activity points as of its ``as_of``) plus
    ``PROXIMITY_POINTS_MAX * 2 ** (-days_until / S)``, exact per date; the candidates are the
    shows whose bound for their date reaches ``T``. Every other row scores below ``T``. If at
    least ``limit`` candidates score ``T`` or more, the best ``limit`` of them are the best of
    all rows (ties included: a row left out scores below every one of them); else ``T`` is
    lowered and the test repeated (``T`` = 0 scores every row). The bounds hold from each row's
    ``as_of`` on: for a ``now`` before the last run, every row is scored. The first ``T`` is
    ``start``, by default just under the lowest score of the process's previous ranking of as
    many rows of the kind (scores move little between runs), else 40; any ``T`` gives the
    same, exact answer."""
    if limit <= 0:
        return []
    if start is None:
        start = _LAST_CUT[kind, limit] - 1.0 if (kind, limit) in _LAST_CUT else 40.0
    last_run = await conn.scalar(select(func.max(_WATERMARKS.c.computed_at)))
    for threshold in _thresholds(start):
        if threshold <= 0.0 or last_run is None or clock.now < last_run:
            best = await _best(conn, _ranking(clock, kind, limit, candidates=False), _params(clock))
            break
        best = await _best(
            conn, _ranking(clock, kind, limit, candidates=True), _params(clock, threshold)
        )
        if len(best) >= limit:
            break
    if len(best) >= limit:
        _LAST_CUT[kind, limit] = best[-1].score
    return best


async def scores_at_last_run(
    conn: AsyncConnection, kind: str, settings: Settings | None = None
) -> dict[int, float]:
    """Every score of ``kind`` (id -> score) at the instant of the last run (``{}`` before the
    first): what a reader saw right after it. For checks and comparisons."""
    last_run = await conn.scalar(select(func.max(_WATERMARKS.c.computed_at)))
    if last_run is None:
        return {}
    scores = entity_scores(Clock.at(last_run, settings), kind)
    rows = (await conn.execute(select(scores.c.id, scores.c.score).order_by(scores.c.id))).all()
    return {int(r[0]): float(r[1]) for r in rows}
