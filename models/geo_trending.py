"""Geographic trending: per market (Ticketmaster's 21 major US markets, or any market a venue
carries) and per city, the top artists and shows, kept per day in ``trending_geo``.

A show is in the scope of its venue: the venue's ``market_id`` and its city (``cc/st/city`` in
lower case). The shows that count are those not cancelled, at a venue with a market (or a city),
dated ``GEO_PAST_DAYS`` ago or later, with a ``trending_shows`` row.

- **Shows**: a show's score in its market and city is its global score (the same formula, the
  same decay): geography only selects.
- **Artists**: an artist's score in a scope comes from its shows there (headlined or supporting),
  with the global score's decay:

      score = 100 * sum(w_i * c_i) / sum(w_i)      (over present components)

  | component | w | value | k |
  | popularity | 20 | Spotify popularity / 100 (absent when unknown) | — |
  | upcoming shows | 30 | sum of proximities of its shows ahead in the scope | 1 |
  | show follows | 10 | decayed net follows of those shows | 5 |
  | views | 15 | decayed views of those shows | 20 |
  | votes | 10 | decayed votes of those shows | 10 |
  | attendance | 15 | decayed attendance of those shows | 5 |

  Activity comes from each show's stored decayed sums (``trending_shows``, as of ``as_of``)
  aged to now with the activity half-life, exactly as the global run ages them: no rescan of
  the events. Proximity is the global ``2 ** (-days_until / S)``.

A daily run replaces the day's rows: per scope and kind the ``GEO_TOP`` best scores above 0
(ties by id), and drops days older than ``GEO_HISTORY_DAYS``. Four ``INSERT ... SELECT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    CreateTableAs,
    Date,
    Float,
    Integer,
    String,
    Table,
    and_,
    case,
    cast,
    column,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    values,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from models.insight_tables import TrendingGeo
from models.tables import (
    Artist,
    Show,
    ShowStatus,
    ShowSupportAct,
    TrendingArtist,
    TrendingShow,
    Venue,
)
from models.trending.formula import Clock, show_score, snap
from models.trending.recalculate import PG_WORK_MEM
from models.trending.scores import SUMS, entity_scores, ranked
from models.trending.sql import float_
from settings import Settings

__all__ = [
    "GEO_ARTIST_WEIGHTS",
    "GEO_HALF_SATURATION",
    "GEO_HISTORY_DAYS",
    "GEO_PAST_DAYS",
    "GEO_TOP",
    "GeoResult",
    "Ranked",
    "city_exists",
    "city_key",
    "market_exists",
    "normalize_city_id",
    "read_trending",
    "recalculate_geo_trending",
]

GEO_TOP: Final = 100
GEO_HISTORY_DAYS: Final = 400
GEO_PAST_DAYS: Final = 30
GEO_ARTIST_WEIGHTS: Final[dict[str, int]] = {
    "popularity": 20,
    "upcoming_shows": 30,
    "show_follows": 10,
    "views": 15,
    "votes": 10,
    "attendance": 15,
}
GEO_HALF_SATURATION: Final[dict[str, float]] = {
    "upcoming_shows": 1.0,
    "show_follows": 5.0,
    "views": 20.0,
    "votes": 10.0,
    "attendance": 5.0,
}

GEO: Table = TrendingGeo.__table__  # type: ignore[attr-defined]
_shows: Table = Show.__table__  # type: ignore[attr-defined]
_venues: Table = Venue.__table__  # type: ignore[attr-defined]
_acts: Table = ShowSupportAct.__table__  # type: ignore[attr-defined]
_artists: Table = Artist.__table__  # type: ignore[attr-defined]
_show_trends: Table = TrendingShow.__table__  # type: ignore[attr-defined]
TRENDING_ARTISTS: Table = TrendingArtist.__table__  # type: ignore[attr-defined]


def city_key(
    country: ColumnElement[Any], state: ColumnElement[Any], city: ColumnElement[Any]
) -> ColumnElement[str]:
    """``cc/st/city`` in lower case (an unknown state or country is empty)."""
    slash = literal("/", String)
    return (
        func.lower(func.coalesce(country, ""))
        + slash
        + func.lower(func.coalesce(state, ""))
        + slash
        + func.lower(city)
    )


def normalize_city_id(value: str) -> str:
    """A city id as stored: ``US/CA/San Francisco`` -> ``us/ca/san francisco``.

    Raises ``ValueError`` unless it is ``country/state/city`` (country two letters, state up to
    16 characters and may be empty, city not empty)."""
    parts = [part.strip() for part in value.split("/")]
    if len(parts) != 3:
        raise ValueError(
            f"a city id is country/state/city, e.g. US/CA/San Francisco; got {value!r}"
        )
    country, state, city = parts
    if len(country) != 2 or not country.isalpha():
        raise ValueError(f"a city id starts with a two-letter country code; got {value!r}")
    if len(state) > 16 or not city or len(city) > 160:
        raise ValueError(
            f"a city id needs a state of at most 16 characters and a city; got {value!r}"
        )
    return f"{country}/{state}/{city}".lower()


def _saturate(value: ColumnElement[Any], key: str) -> ColumnElement[float]:
    k = float_(GEO_HALF_SATURATION[key])
    return case((value > float_(0.0), value / (value + k)), else_=float_(0.0))


def _round(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.floor(value * float_(100.0) + float_(0.5), type_=Float) / float_(100.0)


def _eligible(clock: Clock, decays: Any) -> Any:
    """One row per show that counts: its market, city, proximity, decayed sums and score.

    ``decays``: the decay to now of each distinct ``as_of`` of the state rows (a few: one per
    run). Joined instead of computed per row: the score's expression names each decayed sum
    about six times, and PostgreSQL evaluates an inlined ``power`` at each of them."""
    s, v, t, d = _shows.c, _venues.c, _show_trends.c, decays.c
    ahead = clock.is_ahead(s.status, s.local_date)
    decay = func.coalesce(d.decay, float_(0.0))
    decayed = {name: t[name] * decay for name in SUMS}
    # The global score at the same instant (models/trending/scores.py): the same inputs, each
    # decayed sum snapped as a reader snaps it.
    score = show_score(
        clock,
        cancelled=t.cancelled,
        ahead_date=t.ahead_date,
        popularity=t.popularity,
        **{name: snap(value) for name, value in decayed.items()},
    )
    return (
        select(
            s.id.label("show_id"),
            s.artist_id,
            v.market_id,
            case(
                (v.city.is_not(None), city_key(v.country_code, v.state_code, v.city)),
                else_=None,
            ).label("city_id"),
            case((ahead, clock.proximity(s.local_date)), else_=float_(0.0)).label("proximity"),
            *(value.label(name) for name, value in decayed.items()),
            score.label("score"),
        )
        .select_from(
            _shows.join(_venues, v.id == s.venue_id)
            .join(_show_trends, t.show_id == s.id)
            .outerjoin(decays, d.as_of == t.as_of)
        )
        .where(
            s.status != ShowStatus.CANCELLED.value,
            s.local_date >= clock.today - timedelta(days=GEO_PAST_DAYS),
            or_(v.market_id.is_not(None), v.city.is_not(None)),
        )
        .subquery("eligible")
    )


_STAGED = "geo_trending_staged"


async def _stage(conn: AsyncConnection, clock: Clock) -> Table:
    """The eligible shows, once per artist on the bill (``headliner`` 1 for the headliner's
    row), staged in a temporary table: the four rankings read it instead of joining the
    catalogue four times."""
    t = _show_trends.c
    distinct = select(t.as_of).where(t.as_of.is_not(None)).group_by(t.as_of)
    if conn.dialect.name == "postgresql":
        # A VALUES list, not a temporary table: a plan that reads a temporary table never runs
        # in parallel.
        instants = [(instant,) for instant in (await conn.execute(distinct)).scalars()]
        source: Any = values(column("as_of", t.as_of.type), name="as_of_values").data(
            instants or [(None,)]
        )
        as_of = cast(source.c.as_of, t.as_of.type)  # rendered as literals: typed back
    else:  # SQLite has no column list for VALUES in FROM
        source = await _temporary(conn, distinct, "geo_trending_instants")
        as_of = source.c.as_of
    decays = select(as_of.label("as_of"), clock.decay_since(as_of).label("decay")).subquery(
        "decays"
    )
    eligible = _eligible(clock, decays)
    e = eligible.c
    headliners = select(
        _shows.c.id.label("show_id"), _shows.c.artist_id, literal(1, Integer).label("headliner")
    )
    support = select(_acts.c.show_id, _acts.c.artist_id, literal(0, Integer))
    billed = union_all(headliners, support).subquery("billed")
    query = select(
        e.show_id,
        billed.c.artist_id,
        billed.c.headliner,
        e.market_id,
        e.city_id,
        e.proximity,
        e.follows,
        e.views,
        e.votes,
        e.attendance,
        e.score,
    ).select_from(eligible.join(billed, billed.c.show_id == e.show_id))
    return await _temporary(conn, query, _STAGED)


async def _temporary(conn: AsyncConnection, query: Any, name: str) -> Table:
    await conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    staged = CreateTableAs(query, name, temporary=True)
    await conn.execute(staged)
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"ANALYZE {name}"))
    return staged.table


def _ranked_rows(clock: Clock, scope: str, kind: str, staged: Table, *, postgres: bool) -> Any:
    """(scope, scope_id, kind, day, id, score) of the day's top ``GEO_TOP`` per scope.

    Rows are grouped and ranked by the market's number, or the city's key compared byte by
    byte on PostgreSQL (``COLLATE "C"``: sorting 800,000 rows by the database's collation took
    4 s at full scale); the same groups, since equal keys are equal bytes."""
    e = staged.c
    where_scoped = (e.market_id if scope == "market" else e.city_id).is_not(None)
    if scope == "market":
        scope_id: ColumnElement[Any] = e.market_id
    else:
        scope_id = e.city_id.collate("C") if postgres else e.city_id
    if kind == "show":
        scored = (
            select(scope_id.label("scope_id"), e.show_id.label("entity_id"), e.score)
            .where(where_scoped, e.headliner == 1, e.score > float_(0.0))
            .subquery("scored")
        )
    else:
        a = _artists.c
        sums = (
            select(
                scope_id.label("scope_id"),
                e.artist_id,
                func.sum(e.proximity, type_=Float).label("upcoming"),
                func.sum(e.follows, type_=Float).label("follows"),
                func.sum(e.views, type_=Float).label("views"),
                func.sum(e.votes, type_=Float).label("votes"),
                func.sum(e.attendance, type_=Float).label("attendance"),
            )
            .where(where_scoped)
            .group_by(scope_id, e.artist_id)
            .offset(0)
            .subquery("sums")
        )
        x = sums.c
        w = GEO_ARTIST_WEIGHTS
        popularity = cast(a.popularity, Float)
        present = a.popularity.is_not(None)
        numerator = (
            case((present, float_(w["popularity"]) * popularity / float_(100.0)), else_=0.0)
            + float_(w["upcoming_shows"]) * _saturate(x.upcoming, "upcoming_shows")
            + float_(w["show_follows"]) * _saturate(x.follows, "show_follows")
            + float_(w["views"]) * _saturate(x.views, "views")
            + float_(w["votes"]) * _saturate(x.votes, "votes")
            + float_(w["attendance"]) * _saturate(x.attendance, "attendance")
        )
        rest = float_(sum(w.values()) - w["popularity"])
        denominator = case((present, rest + float_(w["popularity"])), else_=rest)
        score = _round(float_(100.0) * numerator / denominator)
        scored = (
            select(x.scope_id, x.artist_id.label("entity_id"), score.label("score"))
            .select_from(sums.join(_artists, a.id == x.artist_id))
            .offset(0)
            .subquery("scored")
        )
    c = scored.c
    place = (
        func.row_number()
        .over(partition_by=c.scope_id, order_by=(c.score.desc(), c.entity_id))
        .label("place")
    )
    ranked = select(c.scope_id, c.entity_id, c.score, place).where(c.score > 0).subquery("ranked")
    r = ranked.c
    return select(
        literal(scope, String).label("scope"),
        cast(r.scope_id, String) if scope == "market" else r.scope_id,
        literal(kind, String).label("entity_type"),
        literal(clock.today, Date).label("day"),
        r.entity_id,
        r.score,
    ).where(r.place <= literal(GEO_TOP, Integer))


@dataclass(frozen=True, slots=True)
class GeoResult:
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


async def recalculate_geo_trending(conn: AsyncConnection, clock: Clock) -> GeoResult:
    """Replace the day's ``trending_geo`` rows (in the caller's transaction); drop expired days.

    Run it after the global scores of the same instant: show activity is read from
    ``trending_shows``."""
    g = GEO
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # As the global run (models/trending/recalculate.py): room for the per-scope hash
        # aggregates (with the default 4 MB they spill to disk), and no JIT compilation of the
        # score expressions (it took longer than evaluating them).
        await conn.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
        await conn.execute(text("SET LOCAL jit = off"))
    oldest = clock.today - timedelta(days=GEO_HISTORY_DAYS - 1)
    await conn.execute(delete(g).where(or_(g.c.day == clock.today, g.c.day < oldest)))
    rows: dict[str, int] = {}
    staged = await _stage(conn, clock)
    for scope in ("market", "city"):
        for kind in ("artist", "show"):
            result = await conn.execute(
                insert(g).from_select(
                    ["scope", "scope_id", "entity_type", "day", "entity_id", "score"],
                    _ranked_rows(clock, scope, kind, staged, postgres=postgres),
                )
            )
            rows[f"{scope}_{kind}s"] = int(result.rowcount)
    await conn.execute(text(f"DROP TABLE {_STAGED}"))
    return GeoResult(rows=rows)


# --- Reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ranked:
    """One entry of a trending list: an artist, or a show with its headliner and venue."""

    rank: int
    id: int
    name: str
    score: float
    artist_id: int | None = None
    artist_name: str | None = None
    venue_name: str | None = None
    city: str | None = None
    local_date: date | None = None


async def read_trending(
    conn: AsyncConnection,
    *,
    scope: str,
    scope_id: str | None,
    kind: str,
    limit: int,
    now: datetime,
    settings: Settings,
) -> tuple[date | None, list[Ranked]]:
    """The latest day's top ``limit`` of a market or city (its day, None when never computed),
    or the global scores at ``now`` (``scope`` "global": no day)."""
    clock = Clock.at(now, settings)
    if kind == "artist":
        if scope == "global":
            ids, day = await _global_ids(conn, clock, kind, limit), None
        else:
            day, ids = await _geo_ids(conn, scope, scope_id, kind, limit)
        if ids is None:
            return day, []
        a = _artists.c
        rows = (
            await conn.execute(
                select(a.id, a.name, ids.c.score)
                .select_from(ids.join(_artists, a.id == ids.c.entity_id))
                .order_by(ids.c.score.desc(), a.id)
            )
        ).all()
        return day, [
            Ranked(rank=i, id=r.id, name=r.name, score=float(r.score))
            for i, r in enumerate(rows, start=1)
        ]
    if scope == "global":
        ids, day = await _global_ids(conn, clock, kind, limit), None
    else:
        day, ids = await _geo_ids(conn, scope, scope_id, kind, limit)
    if ids is None:
        return day, []
    s, a, v = _shows.c, _artists.c, _venues.c
    rows = (
        await conn.execute(
            select(
                s.id,
                s.name,
                s.local_date,
                a.id.label("artist_id"),
                a.name.label("artist_name"),
                v.name.label("venue_name"),
                v.city,
                ids.c.score,
            )
            .select_from(
                ids.join(_shows, s.id == ids.c.entity_id)
                .join(_artists, a.id == s.artist_id)
                .outerjoin(_venues, v.id == s.venue_id)
            )
            .order_by(ids.c.score.desc(), s.id)
        )
    ).all()
    return day, [
        Ranked(
            rank=i,
            id=r.id,
            name=r.name or f"{r.artist_name} {r.local_date.isoformat()}",
            score=float(r.score),
            artist_id=r.artist_id,
            artist_name=r.artist_name,
            venue_name=r.venue_name,
            city=r.city,
            local_date=r.local_date,
        )
        for i, r in enumerate(rows, start=1)
    ]


async def _global_ids(conn: AsyncConnection, clock: Clock, kind: str, limit: int) -> Any:
    """The global top ``limit`` at ``clock`` (``models.trending.scores.ranked``), as rows."""
    best = await ranked(conn, clock, kind, limit)
    if not best:
        return None
    state = _show_trends if kind == "show" else TRENDING_ARTISTS
    key = state.c.show_id if kind == "show" else state.c.artist_id
    scores = entity_scores(clock, kind, key.in_([b.id for b in best]))
    return select(scores.c.id.label("entity_id"), scores.c.score).subquery("ids")


async def _geo_ids(
    conn: AsyncConnection, scope: str, scope_id: str | None, kind: str, limit: int
) -> tuple[date | None, Any]:
    g = GEO.c
    of_scope = and_(g.scope == scope, g.scope_id == scope_id, g.entity_type == kind)
    day = (await conn.execute(select(func.max(g.day)).where(of_scope))).scalar_one()
    if day is None:
        return None, None
    ids = (
        select(g.entity_id, g.score)
        .where(of_scope, g.day == day)
        .order_by(g.score.desc(), g.entity_id)
        .limit(limit)
        .subquery("ids")
    )
    return day, ids


async def market_exists(conn: AsyncConnection, market_id: int) -> bool:
    """Whether a venue carries the market ``market_id``."""
    v = _venues.c
    found = await conn.execute(select(v.id).where(v.market_id == market_id).limit(1))
    return found.first() is not None


async def city_exists(conn: AsyncConnection, city_id: str) -> bool:
    """Whether a venue stands in the city ``city_id`` (normalised)."""
    v = _venues.c
    key = city_key(v.country_code, v.state_code, v.city)
    found = await conn.execute(select(v.id).where(v.city.is_not(None), key == city_id).limit(1))
    return found.first() is not None
