"""Similar artists: each artist's top 10, from co-billing, shared venues, covers, genres and
shared markets — set-based, rewritten by the daily trending run: five stages in temporary tables
(participants, genres, candidate pairs, each artist's shortlist, markets), then one
``INSERT … SELECT`` of the ranking.

Candidates (pairs worth scoring) come from four sources, so the work follows the evidence, not
the square of the catalogue:

- **co-billing**: two artists on the same show (headliner and supporting acts, or two supporting
  acts);
- **shared venues**: two artists who played the same venue, over venues with at most
  ``VENUE_MAX_ARTISTS`` artists (a stadium everyone plays says little, and would make the pairs
  quadratic: with 200 the sandbox's 1,000 artists made 795,000 pairs, nearly all of them);
- **covers**: a setlist of A with a song of B (``cover_mbid`` = B's MusicBrainz id, else the
  cover's artist name = B's name, case-insensitive; tapes excluded), in both directions;
- **genres**: the ``GENRE_ANCHORS`` most popular artists of each genre an artist has.

Each candidate pair is scored on every signal (``WEIGHTS``, documented in
``docs/trending.md``); the market signal, which can only reorder, is computed for each artist's
best ``SHORTLIST`` candidates by the other signals only:

    score = 100 * sum(w_i * c_i) / sum(w_i)

    co_billing  c = shows / (shows + 1)
    covers      c = entries / (entries + 2)
    venues      c = x / (x + 0.1),  x = sum over shared venues of 1 / artists who played it
    genres      c = |Ga ∩ Gb| / |Ga ∪ Gb|  (genres lower-cased; Jaccard)
    markets     c = m / (m + 2),  m = markets where both played

rounded to 0.01; ties by the other artist's id. Rows with a score of 0 are not kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.trending.recalculate import PG_WORK_MEM

__all__ = [
    "GENRE_ANCHORS",
    "HALF_SATURATION",
    "SIMILAR_TOP",
    "VENUE_MAX_ARTISTS",
    "WEIGHTS",
    "SimilarArtist",
    "SimilarList",
    "recalculate_similarity",
    "similar_artists",
]

SIMILAR_TOP: Final = 10
VENUE_MAX_ARTISTS: Final = 50
#: Candidates per artist kept for the market signal and the final ranking.
SHORTLIST: Final = 3 * 10
GENRE_ANCHORS: Final = 20
WEIGHTS: Final[dict[str, int]] = {
    "co_billing": 35,
    "covers": 20,
    "venues": 15,
    "genres": 25,
    "markets": 5,
}
HALF_SATURATION: Final[dict[str, float]] = {
    "co_billing": 1.0,
    "covers": 2.0,
    "venues": 0.1,
    "markets": 2.0,
}

_DOUBLE = "DOUBLE PRECISION"

# (artist_id, genre) for every genre of every artist; JSON arrays only.
_GENRES_SQL = {
    "sqlite": (
        "SELECT a.id AS artist_id, lower(j.value) AS genre FROM artists a, "
        "json_each(CASE WHEN json_type(a.genres) = 'array' THEN a.genres ELSE '[]' END) j "
        "WHERE j.type = 'text'"
    ),
    "postgresql": (
        "SELECT a.id AS artist_id, lower(j.value) AS genre FROM artists a CROSS JOIN LATERAL "
        "json_array_elements_text(CASE WHEN json_typeof(a.genres) = 'array' THEN a.genres "
        "ELSE CAST('[]' AS json) END) AS j(value) WHERE j.value IS NOT NULL"
    ),
}


def _saturate(value: str, key: str) -> str:
    k = HALF_SATURATION[key]
    return f"(CAST({value} AS {_DOUBLE}) / (CAST({value} AS {_DOUBLE}) + {k}))"


# The run's stages: each a temporary table (``CREATE TEMPORARY TABLE … AS``), analysed on
# PostgreSQL so that the next stage is planned on real row counts (one statement of common table
# expressions gave the planner no estimates: at 10,000 artists it took minutes).
_PARTICIPANTS = "similarity_participants"
_GENRES = "similarity_genres"
_CANDIDATES = "similarity_candidates"
_SHORTLIST = "similarity_shortlist"
_MARKETS = "similarity_markets"
_STAGES = (_PARTICIPANTS, _GENRES, _CANDIDATES, _SHORTLIST, _MARKETS)


def _stages(dialect: str) -> list[tuple[str, str]]:
    """(table, query) of each stage, in order."""
    w = WEIGHTS
    evidence = (
        f"{w['co_billing']} * {_saturate('c.shows', 'co_billing')}"
        f" + {w['covers']} * {_saturate('c.covers', 'covers')}"
        f" + {w['venues']} * {_saturate('c.venue_weight', 'venues')}"
        f" + {w['genres']} * COALESCE(g.jaccard, 0.0)"
    )
    participants = """
SELECT id AS show_id, artist_id, venue_id FROM shows WHERE status <> 'cancelled'
UNION
SELECT sa.show_id, sa.artist_id, sh.venue_id
FROM show_support_acts sa JOIN shows sh ON sh.id = sa.show_id
WHERE sh.status <> 'cancelled'
"""
    genres = f"SELECT DISTINCT artist_id, genre FROM ({_GENRES_SQL[dialect]}) g"
    candidates = f"""
WITH billed AS (
    SELECT p1.artist_id AS a, p2.artist_id AS b, COUNT(DISTINCT p1.show_id) AS shows
    FROM {_PARTICIPANTS} p1 JOIN {_PARTICIPANTS} p2
      ON p2.show_id = p1.show_id AND p2.artist_id <> p1.artist_id
    GROUP BY p1.artist_id, p2.artist_id
),
venue_artists AS (
    SELECT DISTINCT venue_id, artist_id FROM {_PARTICIPANTS} WHERE venue_id IS NOT NULL
),
venue_sizes AS (
    SELECT venue_id, COUNT(*) AS artists FROM venue_artists GROUP BY venue_id
    HAVING COUNT(*) BETWEEN 2 AND {VENUE_MAX_ARTISTS}
),
small_venue_artists AS (
    SELECT va.venue_id, va.artist_id, vs.artists
    FROM venue_artists va JOIN venue_sizes vs ON vs.venue_id = va.venue_id
),
venued AS (
    SELECT v1.artist_id AS a, v2.artist_id AS b,
           SUM(1.0 / CAST(v1.artists AS {_DOUBLE})) AS venue_weight
    FROM small_venue_artists v1
    JOIN small_venue_artists v2 ON v2.venue_id = v1.venue_id AND v2.artist_id <> v1.artist_id
    GROUP BY v1.artist_id, v2.artist_id
),
cover_links AS (
    SELECT sl.artist_id AS a, ca.id AS b
    FROM setlist_entries e JOIN setlists sl ON sl.id = e.setlist_id
    JOIN artists ca ON ca.mbid = e.cover_mbid
    WHERE e.tape = false AND e.cover_mbid IS NOT NULL AND ca.id <> sl.artist_id
    UNION ALL
    SELECT sl.artist_id AS a, ca.id AS b
    FROM setlist_entries e JOIN setlists sl ON sl.id = e.setlist_id
    JOIN artists ca ON ca.normalized_name = lower(e.cover_artist_name)
    WHERE e.tape = false AND e.cover_mbid IS NULL AND e.cover_artist_name IS NOT NULL
      AND ca.id <> sl.artist_id
),
covered AS (
    SELECT a, b, COUNT(*) AS covers FROM (
        SELECT a, b FROM cover_links UNION ALL SELECT b AS a, a AS b FROM cover_links
    ) both_ways GROUP BY a, b
),
anchors AS (
    SELECT genre, artist_id FROM (
        SELECT ag.genre, ag.artist_id, row_number() OVER (
            PARTITION BY ag.genre
            ORDER BY CASE WHEN ar.popularity IS NULL THEN 1 ELSE 0 END, ar.popularity DESC,
                     ar.id
        ) AS place
        FROM {_GENRES} ag JOIN artists ar ON ar.id = ag.artist_id
    ) ranked WHERE place <= {GENRE_ANCHORS}
),
genre_pairs AS (
    SELECT DISTINCT ag.artist_id AS a, an.artist_id AS b
    FROM {_GENRES} ag JOIN anchors an ON an.genre = ag.genre AND an.artist_id <> ag.artist_id
),
evidence AS (
    SELECT a, b, shows, 0 AS covers, 0.0 AS venue_weight FROM billed
    UNION ALL SELECT a, b, 0, covers, 0.0 FROM covered
    UNION ALL SELECT a, b, 0, 0, venue_weight FROM venued
    UNION ALL SELECT a, b, 0, 0, 0.0 FROM genre_pairs
)
SELECT a, b, SUM(shows) AS shows, SUM(covers) AS covers, SUM(venue_weight) AS venue_weight
FROM evidence GROUP BY a, b
"""
    # Genre overlap only for the pairs of artists that both have genres.
    shortlist = f"""
WITH genre_counts AS (
    SELECT artist_id, COUNT(*) AS genres FROM {_GENRES} GROUP BY artist_id
),
shared_genres AS (
    SELECT c.a, c.b, COUNT(*) AS shared
    FROM {_CANDIDATES} c
    JOIN {_GENRES} ga ON ga.artist_id = c.a
    JOIN {_GENRES} gb ON gb.artist_id = c.b AND gb.genre = ga.genre
    GROUP BY c.a, c.b
),
jaccard AS (
    SELECT sg.a, sg.b,
           CAST(sg.shared AS {_DOUBLE})
           / CAST(gca.genres + gcb.genres - sg.shared AS {_DOUBLE}) AS jaccard
    FROM shared_genres sg
    JOIN genre_counts gca ON gca.artist_id = sg.a
    JOIN genre_counts gcb ON gcb.artist_id = sg.b
),
weighed AS (
    SELECT c.a, c.b, c.shows, c.covers, c.venue_weight, COALESCE(g.jaccard, 0.0) AS jaccard,
           {evidence} AS evidence
    FROM {_CANDIDATES} c LEFT JOIN jaccard g ON g.a = c.a AND g.b = c.b
)
SELECT a, b, shows, covers, venue_weight, jaccard, evidence FROM (
    SELECT w.*, row_number() OVER (PARTITION BY w.a ORDER BY w.evidence DESC, w.b) AS place
    FROM weighed w
) ranked WHERE place <= {SHORTLIST}
"""
    markets = f"""
SELECT DISTINCT p.artist_id, v.market_id
FROM {_PARTICIPANTS} p JOIN venues v ON v.id = p.venue_id WHERE v.market_id IS NOT NULL
"""
    return [
        (_PARTICIPANTS, participants),
        (_GENRES, genres),
        (_CANDIDATES, candidates),
        (_SHORTLIST, shortlist),
        (_MARKETS, markets),
    ]


def _insert() -> str:
    """The final ranking of the shortlist, with the market signal, into ``artist_similarity``."""
    w = WEIGHTS
    total = sum(w.values())
    score = (
        f"floor(100.0 * (s.evidence + {w['markets']} * {_saturate('s.markets', 'markets')})"
        f" / {total} * 100 + 0.5) / 100.0"
    )
    return f"""
WITH shared_markets AS (
    SELECT c.a, c.b, COUNT(*) AS markets
    FROM {_SHORTLIST} c
    JOIN {_MARKETS} ma ON ma.artist_id = c.a
    JOIN {_MARKETS} mb ON mb.artist_id = c.b AND mb.market_id = ma.market_id
    GROUP BY c.a, c.b
),
scored AS (
    SELECT s.a, s.b, s.shows, s.covers, s.venue_weight, s.jaccard, s.evidence,
           COALESCE(sm.markets, 0) AS markets
    FROM {_SHORTLIST} s LEFT JOIN shared_markets sm ON sm.a = s.a AND sm.b = s.b
),
final AS (
    SELECT s.*, {score} AS score FROM scored s
),
ranked AS (
    SELECT final.*, row_number() OVER (PARTITION BY a ORDER BY score DESC, b) AS place
    FROM final WHERE score > 0
)
INSERT INTO artist_similarity
    (artist_id, similar_id, rank, score, shared_shows, shared_venues, covers, shared_genres,
     shared_markets, day)
SELECT a, b, place, score, shows, venue_weight, covers, jaccard, markets, :day
FROM ranked WHERE place <= {SIMILAR_TOP}
"""


async def recalculate_similarity(conn: AsyncConnection, *, day: date) -> int:
    """Replace every artist's similar artists (in the caller's transaction); rows written."""
    dialect = conn.dialect.name
    if dialect not in _GENRES_SQL:
        raise ValueError(f"similar artists are not implemented for {dialect}")
    if dialect == "postgresql":
        # Room for the hash aggregates and sorts of millions of pairs (4 MB spilled them to
        # disk, in dozens of batches at 100,000 artists), and no JIT (as for trending).
        await conn.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
        await conn.execute(text("SET LOCAL jit = off"))
    await conn.execute(text("DELETE FROM artist_similarity"))
    for table, query in _stages(dialect):
        await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await conn.execute(text(f"CREATE TEMPORARY TABLE {table} AS {query}"))
        if dialect == "postgresql":
            await conn.execute(text(f"ANALYZE {table}"))
    await conn.execute(text(_insert()), {"day": day})
    for table in _STAGES:
        await conn.execute(text(f"DROP TABLE {table}"))
    # SQLite reports no row count for WITH ... INSERT: count what is there.
    return int((await conn.execute(text("SELECT COUNT(*) FROM artist_similarity"))).scalar_one())


@dataclass(frozen=True, slots=True)
class SimilarList:
    """An artist's similar artists as of ``day`` (None: not computed yet)."""

    artist_id: int
    name: str
    day: date | None
    similar: list[SimilarArtist]


@dataclass(frozen=True, slots=True)
class SimilarArtist:
    rank: int
    id: int
    name: str
    slug: str
    score: float
    shared_shows: int
    shared_venues: float
    covers: int
    shared_genres: float
    shared_markets: int


async def similar_artists(
    engine: AsyncEngine, artist_id: int, *, limit: int = SIMILAR_TOP
) -> SimilarList | None:
    """The stored similar artists of ``artist_id``, best first; None when no such artist."""
    async with engine.connect() as conn:
        artist = (
            await conn.execute(
                text("SELECT id, name FROM artists WHERE id = :id"), {"id": artist_id}
            )
        ).first()
        if artist is None:
            return None
        rows = (
            await conn.execute(
                text(
                    "SELECT s.rank, a.id, a.name, a.slug, s.score, s.shared_shows, "
                    "s.shared_venues, s.covers, s.shared_genres, s.shared_markets, s.day "
                    "FROM artist_similarity s JOIN artists a ON a.id = s.similar_id "
                    "WHERE s.artist_id = :id ORDER BY s.rank LIMIT :limit"
                ),
                {"id": artist_id, "limit": limit},
            )
        ).all()
    similar = [
        SimilarArtist(
            rank=r.rank,
            id=r.id,
            name=r.name,
            slug=r.slug,
            score=float(r.score),
            shared_shows=int(r.shared_shows),
            shared_venues=float(r.shared_venues),
            covers=int(r.covers),
            shared_genres=float(r.shared_genres),
            shared_markets=int(r.shared_markets),
        )
        for r in rows
    ]
    day = _as_date(rows[0].day) if rows else None
    return SimilarList(artist_id=artist.id, name=artist.name, day=day, similar=similar)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
