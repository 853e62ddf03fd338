"""The writes of a trending run: the state rows (the score's inputs), the day's history and the
watermark. No score is stored: ``models/trending/scores.py`` computes it when read.

A **full** run rebuilds both state tables from scratch: the activity sums over every event are
staged per ``(artist_id, show_id)`` in one pass by ``CREATE TEMPORARY TABLE ... AS`` (PostgreSQL
runs it in parallel; it never parallelises a data-modifying statement), then the tables are
emptied and refilled by one ``INSERT ... SELECT`` each (summing the staged rows per artist, per
show), with every input as of ``now``; on PostgreSQL their secondary indexes are dropped before
and built after the inserts.

An **incremental** run rewrites only the rows whose inputs changed: rows with events since the
previous run (their stored sums aged to ``now`` plus the new events: exact for an exponential
decay), rows marked for a recount (``as_of`` NULL: new, or their events moved by a merge), and
the rows a change feed names: shows and artists edited since the previous run
(``updated_at``: a status, a date, a headliner, a popularity), artists with a follower snapshot
captured since then, and artists whose nearest show ahead has passed. Everything else keeps its
row, and its score moves with the clock when read.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    CreateTableAs,
    Table,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union,
)
from sqlalchemy import update as update_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateIndex, DropIndex
from sqlalchemy.sql.elements import ColumnElement

from models.tables import ShowStatus, TrendingHistory
from models.trending.formula import AHEAD_STATUSES, Clock, artist_bound, show_bound, snap
from models.trending.queries import (
    ACTIVITY,
    ARTISTS,
    SHOWS,
    SNAPSHOTS,
    STATE,
    SUMS,
    WATERMARK_NAME,
    WATERMARKS,
    EventWindow,
    Watermark,
    activity_sums,
    follower_growth,
    pair_sums,
    regrouped,
    upcoming_sums,
)
from models.trending.scores import Scored, grown_upcoming, ranked
from models.trending.sql import fenced, float_

__all__ = [
    "FEED_OVERLAP",
    "HISTORY",
    "HISTORY_DAYS",
    "HISTORY_TOP",
    "add_missing_rows",
    "catalogue_size",
    "forget_artist_activity",
    "rebuild",
    "state_is_empty",
    "update_changed",
    "write_history",
    "write_watermark",
]

HISTORY: Table = TrendingHistory.__table__  # type: ignore[attr-defined]
# trending_history keeps, per day, the scores of the day's top HISTORY_TOP artists and shows
# (scores above 0), for HISTORY_DAYS days: at most 2,000 rows a day whatever the catalogue's size.
HISTORY_TOP = 1000
HISTORY_DAYS = 400
# The day's ranking starts this many points under the latest day's cut of its kind: a first
# threshold above the day's cut costs a second ranking pass, a lower one more candidates. A day
# of decay lowers the artists' cut by a point or two; the shows' moves less (proximity rises).
# Measured at the benchmark's scale, a day after a run: artists 0.08 + 0.05 s at 1 point, 0.07 s
# at 3; shows 0.06 s at 1 point, 0.09 s at 3.
HISTORY_START_BELOW = {"artist": 3.0, "show": 1.0}
# The change feed reads edits stamped up to this long before the previous run: an edit stamped
# before that run but committed after it is not missed (re-reading a row changes nothing).
FEED_OVERLAP = timedelta(hours=1)


async def add_missing_rows(
    conn: AsyncConnection, kind: str, *, since: datetime | None = None
) -> int:
    """A state row for each artist (or show) without one, to be counted from all its events.

    ``since`` (an incremental run: the change feed's start): only the catalogue rows created
    since the previous run can lack one, so only those are looked at — a key above the state's
    highest, or a row stamped since ``since`` (a row inserted by a transaction that took its
    key before a larger one and committed after the previous run). Two index probes, where
    counting both tables read a million keys of each (0.1-0.3 s at the benchmark's size). A
    full run looks at every row: every state row belongs to a catalogue row (a cascading
    foreign key), so equal counts mean nothing is missing, and the anti-join is skipped."""
    state, key, catalogue = STATE[kind]
    if since is not None:
        # Read first: a bound parameter, not a subquery, lets the planner probe the key's index.
        highest = await conn.scalar(select(func.coalesce(func.max(state.c[key]), 0)))
        recent = select(catalogue.c.id).where(
            or_(catalogue.c.id > highest, catalogue.c.updated_at > since),
            ~exists().where(state.c[key] == catalogue.c.id),
        )
        result = await conn.execute(insert(state).from_select([key], recent))
        return int(result.rowcount)
    counted = select(
        select(func.count()).select_from(catalogue).scalar_subquery(),
        select(func.count()).select_from(state).scalar_subquery(),
    )
    in_catalogue, in_state = (await conn.execute(counted)).one()
    if in_catalogue == in_state:
        return 0
    missing = select(catalogue.c.id).where(~exists().where(state.c[key] == catalogue.c.id))
    result = await conn.execute(insert(state).from_select([key], missing))
    return int(result.rowcount)


async def catalogue_size(conn: AsyncConnection, kind: str) -> int:
    """The artists (or shows) in the catalogue: one state row each."""
    catalogue = STATE[kind][2]
    return int(await conn.scalar(select(func.count()).select_from(catalogue)) or 0)


async def forget_artist_activity(conn: AsyncConnection, *, artist_ids: list[int]) -> None:
    """Have the next run recompute these artists' activity from their raw events, and their
    shows' rows (headliner, popularity). Call it when events or shows change owner: an artist
    merge re-points the loser's events and shows to the survivor."""
    state, key, _ = STATE["artist"]
    shows_state = STATE["show"][0]
    if artist_ids:
        await conn.execute(update_(state).where(state.c[key].in_(artist_ids)).values(as_of=None))
        headlined = select(SHOWS.c.id).where(SHOWS.c.artist_id.in_(artist_ids))
        await conn.execute(
            update_(shows_state).where(shows_state.c.show_id.in_(headlined)).values(as_of=None)
        )


def _ahead_date(status: ColumnElement[Any], local_date: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((status.in_(AHEAD_STATUSES), local_date), else_=null())


def _growth_day(growth: Any) -> ColumnElement[Any]:
    return case((growth.c.growth.is_not(None), growth.c.day), else_=null())


async def _temporary(conn: AsyncConnection, query: Any, name: str) -> Table:
    """``query`` staged in a temporary table (analysed on PostgreSQL)."""
    await conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    staged = CreateTableAs(query, name, temporary=True)
    await conn.execute(staged)
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"ANALYZE {name}"))
    return staged.table


# ---------------------------------------------------------------------------------------------
# Full rebuild


async def state_is_empty(conn: AsyncConnection) -> bool:
    """No trending state row at all (the first run, or after the state was deleted)."""
    for kind in ("artist", "show"):
        state, key, _ = STATE[kind]
        if await conn.scalar(select(state.c[key]).limit(1)) is not None:
            return False
    return True


async def rebuild(
    conn: AsyncConnection, clock: Clock, window: EventWindow, *, empty: bool
) -> dict[str, int]:
    """Every state row recomputed from the catalogue and every event of ``window``, as of now.

    ``empty`` (no state row yet): every row inserted. Otherwise every entity has a row
    (``add_missing_rows``), and only the rows whose stored inputs differ from the recomputed
    ones (``_same_artist``, ``_same_show``) are rewritten: the others give the same scores.
    Returns the rows written per kind."""
    # One pass over the events for both kinds, staged (PostgreSQL runs CREATE TABLE ... AS in
    # parallel; it never parallelises a data-modifying statement).
    pairs = await _temporary(conn, pair_sums(clock, window.condition(clock)), "trending_staged")
    staged = {kind: regrouped(pairs, kind) for kind in ("artist", "show")}
    if empty:
        written = await _insert_all(conn, clock, staged)
    else:
        written = {
            "artist": await _refresh_artists(conn, clock, staged["artist"]),
            "show": await _refresh_shows(conn, clock, staged["show"]),
        }
    await conn.execute(text(f"DROP TABLE {pairs.name}"))
    return written


async def _insert_all(
    conn: AsyncConnection, clock: Clock, staged: dict[str, Any]
) -> dict[str, int]:
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        await conn.execute(text("TRUNCATE trending_artists, trending_shows"))
        # A secondary index is built once from the rows (a sort) instead of taking them one
        # by one in random order; the primary key takes them in order. TRUNCATE holds the
        # tables' exclusive lock until the end of the transaction.
        for kind in ("artist", "show"):
            for index in STATE[kind][0].indexes:
                await conn.execute(DropIndex(index))
    else:
        for kind in ("artist", "show"):
            await conn.execute(delete(STATE[kind][0]))
    written = {
        "artist": await _insert_artists(conn, clock, staged["artist"]),
        "show": await _insert_shows(conn, clock, staged["show"]),
    }
    if postgres:
        for kind in ("artist", "show"):
            for index in STATE[kind][0].indexes:
                await conn.execute(CreateIndex(index))
    return written


# Two sums are the same when they differ by at most this fraction of their magnitudes: summed
# in another order (or aged instead of recounted), equal sums differ in their last bits only.
SAME_SUM = 1e-12


def _close(stored: ColumnElement[Any], fresh: ColumnElement[Any]) -> ColumnElement[bool]:
    return func.abs(stored - fresh) <= float_(SAME_SUM) * (func.abs(stored) + func.abs(fresh))


def _same_sums(clock: Clock, state: Table, fresh: Any) -> list[ColumnElement[bool]]:
    """The stored sums aged to now (as a reader ages them) equal the recounted ones."""
    decay = clock.decay_since(state.c.as_of)
    return [_close(snap(state.c[name] * decay), fresh[name]) for name in SUMS]


def _as_of_by(clock: Clock, state: Table) -> ColumnElement[bool]:
    """The row's inputs are as of now or before (not marked for a recount). A row as of a later
    instant (a full run at an earlier ``now``) is rewritten: its ranking bound holds only from
    its ``as_of`` on."""
    return and_(state.c.as_of.is_not(None), state.c.as_of <= literal(clock.now, state.c.as_of.type))


def _bound_of(z: Any) -> ColumnElement[float]:
    """The ranking bound of an artist's recomputed inputs ``z`` (``formula.artist_bound``)."""
    return artist_bound(
        popularity=z.popularity,
        growth=z.growth,
        follows=z.follows,
        upcoming_until=z.until,
        views=z.views,
        votes=z.votes,
        attendance=z.attendance,
    )


def _at_least(stored: ColumnElement[Any], fresh: ColumnElement[Any]) -> ColumnElement[bool]:
    """A stored ranking bound still bounds the recomputed row's (NULL when none is stored)."""
    return fresh - stored <= float_(SAME_SUM) * (func.abs(stored) + func.abs(fresh))


def _same_artist(clock: Clock, fresh: Any) -> ColumnElement[bool]:
    """The stored row of ``fresh``'s artist gives, at any instant from now on, the scores of
    ``fresh`` (the recomputed inputs): the same popularity, growth and nearest show, sums and
    upcoming-shows sum aged to now within ``SAME_SUM``, and a ranking bound at least the
    recomputed one."""
    t = STATE["artist"][0]
    return and_(
        _as_of_by(clock, t),
        _at_least(t.c.bound, _bound_of(fresh)),
        t.c.popularity.is_not_distinct_from(fresh.popularity),
        t.c.growth.is_not_distinct_from(fresh.growth),
        t.c.growth_day.is_not_distinct_from(fresh.growth_day),
        t.c.upcoming_until.is_not_distinct_from(fresh.until),
        or_(fresh.until.is_(None), _close(grown_upcoming(clock, t), fresh.upcoming)),
        *_same_sums(clock, t, fresh),
    )


def _same_show(clock: Clock, fresh: Any) -> ColumnElement[bool]:
    """As ``_same_artist`` for a show: the same headliner, popularity, status and date, sums
    aged to now within ``SAME_SUM``, and a stored ranking bound at least the recomputed one."""
    t = STATE["show"][0]
    return and_(
        _as_of_by(clock, t),
        t.c.artist_id.is_not_distinct_from(fresh.artist_id),
        t.c.popularity.is_not_distinct_from(fresh.popularity),
        t.c.cancelled == fresh.cancelled,
        t.c.ahead_date.is_not_distinct_from(fresh.ahead_date),
        _at_least(t.c.bound, fresh.bound),
        *_same_sums(clock, t, fresh),
    )


def _artist_rows(clock: Clock, sums: Any) -> Any:
    """Every artist's inputs as of now (``sums``: its activity sums over every event)."""
    growth = follower_growth(clock)
    upcoming = upcoming_sums(clock)
    artists = ARTISTS
    return select(
        artists.c.id,
        artists.c.popularity,
        *(snap(func.coalesce(sums.c[name], float_(0.0))).label(name) for name in SUMS),
        growth.c.growth,
        _growth_day(growth).label("growth_day"),
        func.coalesce(upcoming.c.upcoming, float_(0.0)).label("upcoming"),
        upcoming.c.until,
    ).select_from(
        artists.outerjoin(sums, sums.c.id == artists.c.id)
        .outerjoin(growth, growth.c.id == artists.c.id)
        .outerjoin(upcoming, upcoming.c.id == artists.c.id)
    )


async def _refresh_artists(conn: AsyncConnection, clock: Clock, sums: Any) -> int:
    """Rewrite the artists' rows that differ from their recomputation (every artist has one)."""
    state = STATE["artist"][0]
    z = fenced(_artist_rows(clock, sums), "artist_rows").c
    statement = (
        update_(state)
        .where(state.c.artist_id == z.id, ~func.coalesce(_same_artist(clock, z), false()))
        .values(
            popularity=z.popularity,
            **{name: z[name] for name in SUMS},
            growth=z.growth,
            growth_day=z.growth_day,
            upcoming=z.upcoming,
            upcoming_until=z.until,
            as_of=literal(clock.now, state.c.as_of.type),
            bound=_bound_of(z),
        )
    )
    return int((await conn.execute(statement)).rowcount)


async def _refresh_shows(conn: AsyncConnection, clock: Clock, sums: Any) -> int:
    """Rewrite the shows' rows that differ from their recomputation (every show has one)."""
    state = STATE["show"][0]
    z = fenced(_show_rows(clock, _show_inputs(sums)), "show_rows").c
    statement = (
        update_(state)
        .where(state.c.show_id == z.id, ~func.coalesce(_same_show(clock, z), false()))
        .values({name: z[name] for name in _SHOW_COLUMNS[1:]})
    )
    return int((await conn.execute(statement)).rowcount)


async def _insert_artists(conn: AsyncConnection, clock: Clock, sums: Any) -> int:
    state = STATE["artist"][0]
    z = _artist_rows(clock, sums).subquery("artist_rows").c
    rows = select(
        z.id,
        z.popularity,
        *(z[name] for name in SUMS),
        z.growth,
        z.growth_day,
        z.upcoming,
        z.until,
        literal(clock.now, state.c.as_of.type),
        _bound_of(z),
    )
    columns = [
        "artist_id",
        "popularity",
        *SUMS,
        "growth",
        "growth_day",
        "upcoming",
        "upcoming_until",
        "as_of",
        "bound",
    ]
    result = await conn.execute(insert(state).from_select(columns, rows))
    return int(result.rowcount)


def _show_rows(clock: Clock, inputs: Any) -> Any:
    """The state row of each show of ``inputs`` (``id``, ``artist_id``, ``popularity``,
    ``status``, ``local_date`` and the sums as of now)."""
    x = inputs.c
    cancelled = x.status == ShowStatus.CANCELLED.value
    ahead_date = _ahead_date(x.status, x.local_date)
    bound = show_bound(
        cancelled=cancelled,
        ahead_date=ahead_date,
        popularity=x.popularity,
        follows=x.follows,
        views=x.views,
        votes=x.votes,
        attendance=x.attendance,
    )
    return select(
        x.id,
        x.artist_id,
        x.popularity,
        cancelled.label("cancelled"),
        *(x[name] for name in SUMS),
        literal(clock.now, STATE["show"][0].c.as_of.type).label("as_of"),
        ahead_date.label("ahead_date"),
        bound.label("bound"),
    )


_SHOW_COLUMNS = [
    "show_id",
    "artist_id",
    "popularity",
    "cancelled",
    *SUMS,
    "as_of",
    "ahead_date",
    "bound",
]


def _show_inputs(sums: Any) -> Any:
    shows = SHOWS
    return fenced(
        select(
            shows.c.id,
            shows.c.artist_id,
            ARTISTS.c.popularity,
            shows.c.status,
            shows.c.local_date,
            *(snap(func.coalesce(sums.c[name], float_(0.0))).label(name) for name in SUMS),
        ).select_from(
            shows.join(ARTISTS, ARTISTS.c.id == shows.c.artist_id).outerjoin(
                sums, sums.c.id == shows.c.id
            )
        ),
        "show_inputs",
    )


async def _insert_shows(conn: AsyncConnection, clock: Clock, sums: Any) -> int:
    state = STATE["show"][0]
    rows = _show_rows(clock, _show_inputs(sums))
    result = await conn.execute(insert(state).from_select(_SHOW_COLUMNS, rows))
    return int(result.rowcount)


# ---------------------------------------------------------------------------------------------
# Incremental: the rows whose inputs changed


def _sums_now(clock: Clock, state: Table, fresh: Any, redo: Any) -> dict[str, ColumnElement[Any]]:
    """Each activity sum as of now: stored * decay + the new events, or (``as_of`` NULL) all
    the row's events recounted (``redo``; None when no row is marked)."""
    zero = float_(0.0)
    decay = clock.decay_since(state.c.as_of)
    return {
        name: snap(
            case(
                (
                    state.c.as_of.is_(None),
                    func.coalesce(redo.c[name], zero) if redo is not None else zero,
                ),
                else_=state.c[name] * decay + func.coalesce(fresh.c[name], zero),
            )
        )
        for name in SUMS
    }


def _outer(source: Any, subquery: Any, key: Any) -> Any:
    return source if subquery is None else source.outerjoin(subquery, subquery.c.id == key)


async def _recounts(conn: AsyncConnection, clock: Clock, kind: str, window: EventWindow) -> Any:
    """The sums of every event of the rows of ``kind`` marked for a recount; ``None`` when no
    row is (the usual case: no pass over the events at all)."""
    state, key, _ = STATE[kind]
    if await conn.scalar(select(state.c[key]).where(state.c.as_of.is_(None)).limit(1)) is None:
        return None
    owner = ACTIVITY.c.artist_id if kind == "artist" else ACTIVITY.c.show_id
    stale = select(state.c[key]).where(state.c.as_of.is_(None))
    everything = EventWindow(window.last_id, None).condition(clock)
    return activity_sums(clock, kind, and_(everything, owner.in_(stale)), name="redo")


async def update_changed(
    conn: AsyncConnection, clock: Clock, window: EventWindow, previous: Watermark
) -> dict[str, int]:
    """Rewrite the state rows whose inputs changed since ``previous`` (see the module's
    docstring). Returns the rows rewritten per kind."""
    since = previous.computed_at - FEED_OVERLAP
    events = window.condition(clock)
    a_state, s_state = STATE["artist"][0], STATE["show"][0]
    edited_shows = select(SHOWS.c.id).where(SHOWS.c.updated_at > since)
    edited_artists = select(ARTISTS.c.id).where(ARTISTS.c.updated_at > since)
    show_ids = union(
        select(ACTIVITY.c.show_id.label("id")).where(events, ACTIVITY.c.show_id.is_not(None)),
        select(s_state.c.show_id).where(s_state.c.as_of.is_(None)),
        edited_shows,
        select(SHOWS.c.id).where(SHOWS.c.artist_id.in_(edited_artists)),
    )
    touched_shows = await _temporary(conn, select(show_ids.subquery()), "trending_touched_show")
    artist_ids = union(
        select(ACTIVITY.c.artist_id.label("id")).where(events, ACTIVITY.c.artist_id.is_not(None)),
        select(a_state.c.artist_id).where(a_state.c.as_of.is_(None)),
        edited_artists,
        select(SNAPSHOTS.c.artist_id).where(SNAPSHOTS.c.captured_at > since),
        select(a_state.c.artist_id).where(a_state.c.upcoming_until < clock.today),
        # Shows edited or new: their headliner now and the one the row knew. (A show with new
        # events only changes no artist's inputs: its events count for the artist they name.)
        select(SHOWS.c.artist_id).where(SHOWS.c.id.in_(edited_shows)),
        select(SHOWS.c.artist_id).where(
            SHOWS.c.id.in_(select(s_state.c.show_id).where(s_state.c.as_of.is_(None)))
        ),
        select(s_state.c.artist_id).where(
            s_state.c.show_id.in_(edited_shows), s_state.c.artist_id.is_not(None)
        ),
    )
    touched_artists = await _temporary(
        conn, select(artist_ids.subquery()), "trending_touched_artist"
    )
    written = {
        "artist": await _update_artists(conn, clock, window, touched_artists),
        "show": await _update_shows(conn, clock, window, touched_shows),
    }
    for table in (touched_shows, touched_artists):
        await conn.execute(text(f"DROP TABLE {table.name}"))
    return written


async def _update_artists(
    conn: AsyncConnection, clock: Clock, window: EventWindow, touched: Table
) -> int:
    state = STATE["artist"][0]
    ids = select(touched.c.id)
    fresh = activity_sums(
        clock, "artist", and_(window.condition(clock), ACTIVITY.c.artist_id.in_(ids))
    )
    redo = await _recounts(conn, clock, "artist", window)
    growth = follower_growth(clock, ids)
    upcoming = upcoming_sums(clock, ids)
    sums = _sums_now(clock, state, fresh, redo)
    rows = fenced(
        select(
            state.c.artist_id.label("id"),
            ARTISTS.c.popularity,
            *(value.label(name) for name, value in sums.items()),
            growth.c.growth,
            _growth_day(growth).label("growth_day"),
            func.coalesce(upcoming.c.upcoming, float_(0.0)).label("upcoming"),
            upcoming.c.until,
        )
        .select_from(
            _outer(
                state.join(ARTISTS, ARTISTS.c.id == state.c.artist_id).outerjoin(
                    fresh, fresh.c.id == state.c.artist_id
                ),
                redo,
                state.c.artist_id,
            )
            .outerjoin(growth, growth.c.id == state.c.artist_id)
            .outerjoin(upcoming, upcoming.c.id == state.c.artist_id)
        )
        .where(state.c.artist_id.in_(ids)),
        "artist_rows",
    )
    z = rows.c
    statement = (
        update_(state)
        .where(state.c.artist_id == z.id)
        .values(
            popularity=z.popularity,
            **{name: z[name] for name in SUMS},
            growth=z.growth,
            growth_day=z.growth_day,
            upcoming=z.upcoming,
            upcoming_until=z.until,
            as_of=literal(clock.now, state.c.as_of.type),
            bound=_bound_of(z),
        )
    )
    return int((await conn.execute(statement)).rowcount)


async def _update_shows(
    conn: AsyncConnection, clock: Clock, window: EventWindow, touched: Table
) -> int:
    state = STATE["show"][0]
    ids = select(touched.c.id)
    fresh = activity_sums(clock, "show", and_(window.condition(clock), ACTIVITY.c.show_id.in_(ids)))
    redo = await _recounts(conn, clock, "show", window)
    sums = _sums_now(clock, state, fresh, redo)
    inputs = fenced(
        select(
            state.c.show_id.label("id"),
            SHOWS.c.artist_id,
            ARTISTS.c.popularity,
            SHOWS.c.status,
            SHOWS.c.local_date,
            *(value.label(name) for name, value in sums.items()),
        )
        .select_from(
            _outer(
                state.join(SHOWS, SHOWS.c.id == state.c.show_id)
                .join(ARTISTS, ARTISTS.c.id == SHOWS.c.artist_id)
                .outerjoin(fresh, fresh.c.id == state.c.show_id),
                redo,
                state.c.show_id,
            )
        )
        .where(state.c.show_id.in_(ids)),
        "show_inputs",
    )
    rows = fenced(_show_rows(clock, inputs), "show_rows")
    z = rows.c
    statement = (
        update_(state)
        .where(state.c.show_id == z.id)
        .values({name: z[name] for name in _SHOW_COLUMNS[1:]})
    )
    return int((await conn.execute(statement)).rowcount)


# ---------------------------------------------------------------------------------------------
# History and watermark


def oldest_history_day(today: date) -> date:
    """The first day ``trending_history`` still keeps on ``today``."""
    return today - timedelta(days=HISTORY_DAYS - 1)


async def write_history(conn: AsyncConnection, clock: Clock) -> dict[str, list[Scored]]:
    """Replace today's history rows with the day's top scores of each kind (at ``now``); drop
    expired days. Returns the rows written per kind, best first (their first entries are the
    run's top lists: no second ranking)."""
    h = HISTORY
    await conn.execute(
        delete(h).where(or_(h.c.day == clock.today, h.c.day < oldest_history_day(clock.today)))
    )
    written: dict[str, list[Scored]] = {}
    for kind in ("artist", "show"):
        start = await _first_threshold(conn, kind)
        best = await ranked(conn, clock, kind, HISTORY_TOP, start=start)
        if best:
            await conn.execute(
                insert(h),
                [
                    {"entity_type": kind, "entity_id": r.id, "day": clock.today, "score": r.score}
                    for r in best
                ],
            )
        written[kind] = best
    return written


async def _first_threshold(conn: AsyncConnection, kind: str) -> float:
    """Where the day's ranking of ``kind`` starts: under the lowest score of the latest day's
    history (the day's top moves little; ``HISTORY_START_BELOW``), 40 without one, and 0 (score
    every row at once) when that day had fewer than ``HISTORY_TOP`` rows: no threshold would
    find enough candidates, and each pass that fails costs a statement."""
    h = HISTORY
    latest = select(func.max(h.c.day)).where(h.c.entity_type == kind).scalar_subquery()
    lowest, rows = (
        await conn.execute(
            select(func.min(h.c.score), func.count()).where(
                h.c.entity_type == kind, h.c.day == latest
            )
        )
    ).one()
    if lowest is None:
        return 40.0
    if rows < HISTORY_TOP:
        return 0.0
    return float(lowest) - HISTORY_START_BELOW[kind]


async def write_watermark(conn: AsyncConnection, clock: Clock, *, mode: str, event_id: int) -> None:
    w = WATERMARKS
    await conn.execute(delete(w).where(w.c.name == WATERMARK_NAME))
    await conn.execute(
        insert(w).values(name=WATERMARK_NAME, computed_at=clock.now, mode=mode, event_id=event_id)
    )
