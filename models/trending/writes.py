"""The writes of a trending run: state rows, scores, the day's history and the watermark.

Every artist and show has one state row (``trending_artists``, ``trending_shows``): its rounded
score and the inputs it came from. A run computes every score as of ``now`` in one statement per
kind and rewrites only the rows whose rounded score or stored inputs change.

Activity sums are stored *as of* ``as_of``. A full run computes them from every event; an
incremental one ages the stored sums to ``now`` (``sum * 2 ** (-(now - as_of) / H)``, exact for
an exponential decay) and adds the events since the previous run. A row without new events keeps
its sums and ``as_of``: it stays exact, and the next run decays it from there. A row whose
``as_of`` is NULL (new, or its events were moved by an artist merge) is recomputed from all of
its events.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    CreateTableAs,
    Date,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy import update as update_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from models.tables import TrendingHistory
from models.trending.formula import Clock, artist_score, show_score, snap
from models.trending.queries import (
    STATE,
    SUMS,
    WATERMARK_NAME,
    WATERMARKS,
    EventWindow,
    activity_sums,
    has_stale_rows,
    score_inputs,
)
from models.trending.sql import fenced, float_

__all__ = [
    "HISTORY",
    "HISTORY_DAYS",
    "HISTORY_TOP",
    "add_missing_rows",
    "forget_artist_activity",
    "score_and_write",
    "write_history",
    "write_watermark",
]

HISTORY: Table = TrendingHistory.__table__  # type: ignore[attr-defined]
# trending_history keeps, per day, the scores of the day's top HISTORY_TOP artists and shows
# (scores above 0), for HISTORY_DAYS days: at most 2,000 rows a day whatever the catalogue's size.
HISTORY_TOP = 1000
HISTORY_DAYS = 400
# Columns carried from the inputs to the score, per kind.
_CARRIED = {
    "artist": ("popularity", "old_growth", "old_upcoming", "growth", "upcoming"),
    "show": ("popularity", "status", "local_date"),
}


async def add_missing_rows(conn: AsyncConnection, kind: str) -> int:
    """A state row for each artist (or show) without one, to be scored from all its events.

    Every state row belongs to a catalogue row (a cascading foreign key), so equal counts mean
    nothing is missing, and the anti-join is skipped."""
    state, key, catalogue = STATE[kind]
    counted = select(
        select(func.count()).select_from(catalogue).scalar_subquery(),
        select(func.count()).select_from(state).scalar_subquery(),
    )
    in_catalogue, in_state = (await conn.execute(counted)).one()
    if in_catalogue == in_state:
        return 0
    missing = select(catalogue.c.id, float_(0.0)).where(
        ~exists().where(state.c[key] == catalogue.c.id)
    )
    result = await conn.execute(insert(state).from_select([key, "score"], missing))
    return int(result.rowcount)


async def forget_artist_activity(conn: AsyncConnection, *, artist_ids: list[int]) -> None:
    """Have the next run recompute these artists' activity from their raw events. Call it when
    events change owner: an artist merge re-points the loser's events to the survivor."""
    state, key, _ = STATE["artist"]
    if artist_ids:
        await conn.execute(update_(state).where(state.c[key].in_(artist_ids)).values(as_of=None))


def _if(
    condition: ColumnElement[bool], then: ColumnElement[Any], otherwise: ColumnElement[Any]
) -> ColumnElement[Any]:
    return case((condition, then), else_=otherwise)


def _sums_now(inputs: Any, *, full: bool) -> dict[str, ColumnElement[Any]]:
    """Each activity sum as of now: recomputed (``full``), or stored * decay + new events."""
    x = inputs.c
    zero = float_(0.0)
    sums: dict[str, ColumnElement[Any]] = {}
    for name in SUMS:
        new = func.coalesce(x[f"new_{name}"], zero)
        if full:
            sums[name] = snap(new)
        else:
            redo = func.coalesce(x[f"redo_{name}"], zero)
            sums[name] = snap(_if(x.as_of.is_(None), redo, x[f"old_{name}"] * x.decay + new))
    return sums


def _rebased(clock: Clock, decayed: Any, *, full: bool) -> ColumnElement[bool]:
    """Whether a row stores new sums as of now (else it keeps its sums and ``as_of``)."""
    y = decayed.c
    if not full:
        return or_(y.as_of.is_(None), y.fresh_id.is_not(None))
    zero = float_(0.0)
    return or_(
        y.as_of.is_(None),
        *(y[f"old_{name}"].is_distinct_from(y[name]) for name in SUMS),
        and_(or_(*(y[name] != zero for name in SUMS)), y.as_of.is_distinct_from(clock.now)),
    )


def _score(clock: Clock, kind: str, decayed: Any) -> ColumnElement[float]:
    y = decayed.c
    if kind == "artist":
        return artist_score(
            popularity=y.popularity,
            growth=y.growth,
            follows=y.follows,
            upcoming=y.upcoming,
            views=y.views,
            votes=y.votes,
            attendance=y.attendance,
        )
    return show_score(
        clock,
        status=y.status,
        local_date=y.local_date,
        popularity=y.popularity,
        follows=y.follows,
        views=y.views,
        votes=y.votes,
        attendance=y.attendance,
    )


async def score_and_write(
    conn: AsyncConnection, clock: Clock, kind: str, window: EventWindow, *, full: bool
) -> int:
    """Score every artist (or show) as of ``now``; write the rows that change. Returns how many.

    Three fenced steps, so that each value is computed once per row: the inputs, the decayed
    sums, the score. ``full`` recomputes the sums from every event of ``window``."""
    state, key, _ = STATE[kind]
    carried = _CARRIED[kind]
    recount = not full and await has_stale_rows(conn, kind)
    fresh = await _staged_sums(conn, clock, kind, window) if full else None
    inputs = score_inputs(clock, kind, window, full=full, recount=recount, fresh=fresh)
    x = inputs.c
    decayed = fenced(
        select(
            x.id,
            x.old_score,
            x.as_of,
            x.fresh_id,
            *(x[f"old_{name}"] for name in SUMS),
            *(value.label(name) for name, value in _sums_now(inputs, full=full).items()),
            *(x[name] for name in carried),
        ),
        "decayed",
    )
    y = decayed.c
    scored = fenced(
        select(
            y.id,
            y.old_score,
            _score(clock, kind, decayed).label("score"),
            _rebased(clock, decayed, full=full).label("rebased"),
            *(y[name] for name in SUMS),
            *(y[name] for name in carried if name != "popularity"),
        ),
        "scored",
    )
    z = scored.c
    changed = [z.rebased, z.old_score.is_distinct_from(z.score)]
    values: dict[str, Any] = {
        "score": z.score,
        "as_of": _if(z.rebased, literal(clock.now, state.c.as_of.type), state.c.as_of),
        **{name: _if(z.rebased, z[name], state.c[name]) for name in SUMS},
    }
    if kind == "artist":
        changed += [
            z.old_growth.is_distinct_from(z.growth),
            z.old_upcoming.is_distinct_from(z.upcoming),
        ]
        values.update(growth=z.growth, upcoming=z.upcoming)
    statement = update_(state).where(state.c[key] == z.id, or_(*changed)).values(**values)
    result = await conn.execute(statement)
    if fresh is not None:
        await conn.execute(text(f"DROP TABLE {fresh.name}"))
    return int(result.rowcount)


async def _staged_sums(
    conn: AsyncConnection, clock: Clock, kind: str, window: EventWindow
) -> Table | None:
    """PostgreSQL: the activity sums over every event, staged in a temporary table first.

    A data-modifying statement never runs in parallel; ``CREATE TABLE ... AS`` may, so the one
    pass over all the events that a full recomputation needs uses the parallel workers (and
    the ``UPDATE`` then joins a table of one row per artist or show). ``None`` elsewhere."""
    if conn.dialect.name != "postgresql":
        return None
    query = select(activity_sums(clock, kind, window.condition(clock), parallel=True))
    staged = CreateTableAs(query, f"trending_staged_{kind}", temporary=True)
    await conn.execute(staged)
    await conn.execute(text(f"ANALYZE {staged.table.name}"))
    return staged.table


def oldest_history_day(today: date) -> date:
    """The first day ``trending_history`` still keeps on ``today``."""
    return today - timedelta(days=HISTORY_DAYS - 1)


async def write_history(conn: AsyncConnection, clock: Clock) -> int:
    """Replace today's history rows with the day's top scores of each kind; drop expired days."""
    h = HISTORY
    await conn.execute(
        delete(h).where(or_(h.c.day == clock.today, h.c.day < oldest_history_day(clock.today)))
    )
    written = 0
    for kind in ("artist", "show"):
        state, key, _ = STATE[kind]
        rows = (
            select(
                literal(kind).label("entity_type"),
                state.c[key],
                literal(clock.today, Date).label("day"),
                state.c.score,
            )
            .where(state.c.score > 0)
            .order_by(state.c.score.desc(), state.c[key])
            .limit(HISTORY_TOP)
        )
        result = await conn.execute(
            insert(h).from_select(["entity_type", "entity_id", "day", "score"], rows)
        )
        written += int(result.rowcount)
    return written


async def write_watermark(conn: AsyncConnection, clock: Clock, *, mode: str, event_id: int) -> None:
    w = WATERMARKS
    await conn.execute(delete(w).where(w.c.name == WATERMARK_NAME))
    await conn.execute(
        insert(w).values(name=WATERMARK_NAME, computed_at=clock.now, mode=mode, event_id=event_id)
    )
