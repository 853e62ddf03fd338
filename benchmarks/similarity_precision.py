"""Similar artists against the sandbox world's known structure: precision@10.

``python -m benchmarks.similarity_precision [--artists 1000] [--seed 7] [--database-url URL]``

The sandbox catalogue (``sandbox.catalog.Catalog``) gives every artist a Ticketmaster genre (12)
and sub-genre (24). Its co-billing (supporting acts) and covers are drawn uniformly among all
artists: the sandbox has **no scenes or co-touring groups**, so those signals carry no genre
structure there. This benchmark stores the catalogue as the sync would (artists with their
Spotify genres when on Spotify, else Ticketmaster's genre and sub-genre names; venues with their
market; the Ticketmaster events with supporting acts; each setlist.fm artist's latest 60
performances as shows, with their cover songs), runs ``models.similarity`` and reports, over
the artists with at least one similar artist:

- precision@10: the share of an artist's similar artists (up to 10) in its genre (sub-genre);
- coverage: the share of artists that have 10 similar artists;
- the random baseline: the share of the other artists in the same genre (sub-genre);

for all signals, and for the evidence without genres (the same run after clearing every artist's
genres: co-billing, venues, covers, markets only). Storing bypasses the HTTP sync (the sync of
1,000 artists through the sandbox's rate caps takes hours); what the computation reads is the
same rows.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from models.db import create_all, make_engine
from models.identity import normalize_name
from models.similarity import recalculate_similarity
from models.tables import Artist, Setlist, SetlistEntry, Show, ShowSupportAct, Song, Venue
from sandbox.catalog import Catalog

TODAY = date(2026, 3, 1)
PERFORMANCES_PER_ARTIST = 60
_T = {
    "artists": Artist.__table__,  # type: ignore[attr-defined]
    "venues": Venue.__table__,  # type: ignore[attr-defined]
    "shows": Show.__table__,  # type: ignore[attr-defined]
    "acts": ShowSupportAct.__table__,  # type: ignore[attr-defined]
    "songs": Song.__table__,  # type: ignore[attr-defined]
    "setlists": Setlist.__table__,  # type: ignore[attr-defined]
    "entries": SetlistEntry.__table__,  # type: ignore[attr-defined]
}


def _rows(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    artists = []
    for a in catalog.artists:
        genres = list(a.spotify_genres) if a.on_spotify else [a.genre.name, a.sub_genre[1]]
        artists.append(
            {
                "id": a.index + 1,
                "name": a.name,
                "normalized_name": normalize_name(a.name),
                "slug": f"a-{a.index + 1}",
                "mbid": a.mbid,
                "genres": genres,
                "popularity": a.base_popularity if a.on_spotify else None,
            }
        )
    venues = [
        {
            "id": v.index + 1,
            "name": v.name,
            "normalized_name": normalize_name(v.name),
            "city": v.city.name,
            "state_code": v.city.state_code,
            "country_code": "US",
            "market_id": v.market.id,
        }
        for v in catalog.venues
    ]
    shows: list[dict[str, Any]] = []
    acts: list[dict[str, Any]] = []
    for e in catalog.events:
        if e.status == "cancelled":
            continue
        show_id = len(shows) + 1
        shows.append(
            {
                "id": show_id,
                "artist_id": e.headliner.index + 1,
                "venue_id": e.venue.index + 1,
                "local_date": e.local_date,
                "status": "upcoming" if e.local_date >= TODAY else "completed",
            }
        )
        acts += [
            {"show_id": show_id, "artist_id": s.index + 1, "position": p}
            for p, s in enumerate(e.support, start=1)
        ]
    songs: list[dict[str, Any]] = []
    setlists: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for a in catalog.artists:
        if not a.on_setlistfm:
            continue
        song_id = len(songs) + 1
        songs.append(
            {"id": song_id, "artist_id": a.index + 1, "title": "x", "normalized_title": "x"}
        )
        for p in catalog.performances(a)[-PERFORMANCES_PER_ARTIST:]:
            show_id = len(shows) + 1
            shows.append(
                {
                    "id": show_id,
                    "artist_id": a.index + 1,
                    "venue_id": p.venue.index + 1,
                    "local_date": p.event_date,
                    "status": "completed",
                }
            )
            setlist_id = len(setlists) + 1
            setlists.append(
                {
                    "id": setlist_id,
                    "setlistfm_id": p.setlist_id,
                    "version_id": "v",
                    "artist_id": a.index + 1,
                    "show_id": show_id,
                    "event_date": p.event_date,
                }
            )
            position = 0
            for content in catalog.sets(p, 0):
                for song in content.songs:
                    position += 1
                    if song.cover is None:
                        continue
                    entries.append(
                        {
                            "setlist_id": setlist_id,
                            "position": position,
                            "set_index": 1,
                            "song_id": song_id,
                            "tape": song.tape,
                            "cover_mbid": song.cover.mbid,
                            "cover_artist_name": song.cover.name,
                        }
                    )
    return {
        "artists": artists,
        "venues": venues,
        "shows": shows,
        "acts": acts,
        "songs": songs,
        "setlists": setlists,
        "entries": entries,
    }


async def _store(engine: Any, rows: dict[str, list[dict[str, Any]]]) -> None:
    async with engine.begin() as conn:
        for name in ("artists", "venues", "shows", "acts", "songs", "setlists", "entries"):
            batch = rows[name]
            for start in range(0, len(batch), 5000):
                await conn.execute(insert(_T[name]), batch[start : start + 5000])


async def _evaluate(engine: Any, catalog: Catalog) -> dict[str, float]:
    genre = {a.index + 1: a.genre.name for a in catalog.artists}
    sub = {a.index + 1: a.sub_genre[0] for a in catalog.artists}
    async with engine.connect() as conn:
        pairs = (
            await conn.execute(text("SELECT artist_id, similar_id FROM artist_similarity"))
        ).all()
    lists: dict[int, list[int]] = {}
    for artist_id, similar_id in pairs:
        lists.setdefault(artist_id, []).append(similar_id)
    n = len(catalog.artists)
    genre_sizes, sub_sizes = Counter(genre.values()), Counter(sub.values())
    p_genre = [sum(genre[s] == genre[a] for s in sims) / len(sims) for a, sims in lists.items()]
    p_sub = [sum(sub[s] == sub[a] for s in sims) / len(sims) for a, sims in lists.items()]
    return {
        "artists_with_similar": len(lists) / n,
        "coverage_10": sum(len(s) >= 10 for s in lists.values()) / n,
        "p10_genre": sum(p_genre) / len(p_genre) if p_genre else 0.0,
        "p10_sub_genre": sum(p_sub) / len(p_sub) if p_sub else 0.0,
        "random_genre": sum((genre_sizes[genre[a]] - 1) / (n - 1) for a in genre) / n,
        "random_sub_genre": sum((sub_sizes[sub[a]] - 1) / (n - 1) for a in sub) / n,
    }


async def main(artists: int, seed: int, url: str | None) -> None:
    catalog = Catalog(seed=seed, artists=artists, today=TODAY)
    rows = _rows(catalog)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url or f"sqlite+aiosqlite:///{Path(tmp) / 'similarity.db'}")
        try:
            if url is None:
                await create_all(engine)
            await _store(engine, rows)
            print(
                f"catalogue: {artists} artists (seed {seed}), {len(rows['shows'])} shows, "
                f"{len(rows['acts'])} supporting acts, {len(rows['entries'])} cover entries; "
                f"database {engine.dialect.name}"
            )
            for label, clear in (("all signals", False), ("without genres", True)):
                if clear:
                    async with engine.begin() as conn:
                        await conn.execute(text("UPDATE artists SET genres = NULL"))
                began = time.perf_counter()
                async with engine.begin() as conn:
                    written = await recalculate_similarity(conn, day=TODAY)
                took = time.perf_counter() - began
                figures = await _evaluate(engine, catalog)
                print(
                    f"{label}: {written} rows in {took:.2f} s; "
                    f"precision@10 genre {figures['p10_genre']:.3f} "
                    f"(random {figures['random_genre']:.3f}, "
                    f"{figures['p10_genre'] / figures['random_genre']:.1f}x), "
                    f"sub-genre {figures['p10_sub_genre']:.3f} "
                    f"(random {figures['random_sub_genre']:.3f}); "
                    f"artists with similar {figures['artists_with_similar']:.1%}, "
                    f"with 10: {figures['coverage_10']:.1%}"
                )
        finally:
            await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artists", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database-url", default=None, help="an empty, migrated database (default: SQLite)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.artists, args.seed, args.database_url))
