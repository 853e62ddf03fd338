"""Similar artists against the sandbox world's known structure: precision@10.

``python -m benchmarks.similarity_precision [--artists 1000] [--seed 7] [--database-url URL]``

The sandbox catalogue (``sandbox.catalog.Catalog``) gives every artist a Ticketmaster genre (12)
and a **scene**: a co-touring group of 8-20 artists inside its genre. 80 % of supporting acts
come from the headliner's scene, cover songs from the performer's scene (60 %) or genre (25 %).
This benchmark stores the catalogue as the sync would (artists with their Spotify genres when on
Spotify, else Ticketmaster's genre and sub-genre names; venues with their market; the
Ticketmaster events with supporting acts; each setlist.fm artist's latest 60 performances as
shows, with their cover songs), runs ``models.similarity`` and reports, over the artists with at
least one similar artist:

- precision@10: the share of an artist's similar artists (up to 10) in its scene (genre);
- the random baseline: the share of the other artists in the same scene (genre); the scene's
  ceiling: what a perfect list of 10 would score (a scene of 8 has 7 other artists);
- coverage: the share of artists that have any, and 10, similar artists;

for all signals, then with signals ablated (``VARIANTS``: the same stored world with genres
cleared, supporting acts or cover entries deleted, in a transaction rolled back after each run).
Storing bypasses the HTTP sync (the sync of 1,000 artists through the sandbox's rate caps takes
hours); what the computation reads is the same rows.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

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
    known: dict[tuple[int, date, int], int] = {}  # (artist, date, venue) -> show id
    for e in catalog.events:
        if e.status == "cancelled":
            continue
        show_id = len(shows) + 1
        known[(e.headliner.index, e.local_date, e.venue.index)] = show_id
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
            # A played Ticketmaster event is the same show (one per artist, date and venue).
            show_id = known.get((a.index, p.event_date, p.venue.index), len(shows) + 1)
            if show_id > len(shows):
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


#: The runs: a label, and the statements that take signals out of the stored world first (in a
#: transaction rolled back after the run). Genres: every artist's genres cleared; co-billing:
#: the supporting acts deleted (their venues go with them); covers: every cover entry deleted.
_NO_GENRES = "UPDATE artists SET genres = NULL"
_NO_SUPPORT = "DELETE FROM show_support_acts"
_NO_COVERS = "DELETE FROM setlist_entries"
VARIANTS: dict[str, tuple[str, ...]] = {
    "all signals": (),
    "without genres": (_NO_GENRES,),
    "without co-billing (supporting acts)": (_NO_SUPPORT,),
    "without covers": (_NO_COVERS,),
    "co-billing, venues, markets (no genres, no covers)": (_NO_GENRES, _NO_COVERS),
    "covers, venues, markets (no genres, no co-billing)": (_NO_GENRES, _NO_SUPPORT),
    "genres, venues, markets (no co-billing, no covers)": (_NO_SUPPORT, _NO_COVERS),
    "venues and markets only": (_NO_GENRES, _NO_SUPPORT, _NO_COVERS),
}


@dataclass(frozen=True, slots=True)
class Figures:
    """Precision@10 of one run against the sandbox's scenes and genres, with the baselines."""

    label: str
    rows: int
    seconds: float
    artists_with_similar: float  # share of all artists with at least one similar artist
    coverage_10: float  # share of all artists with 10
    p10_scene: float  # mean share of an artist's list (up to 10) in its scene
    p10_genre: float
    random_scene: float  # the share of the other artists in the same scene
    random_genre: float
    ceiling_scene: float  # a perfect list of 10: min(10, scene size - 1) / 10

    def line(self) -> str:
        return (
            f"{self.label}: {self.rows} rows in {self.seconds:.2f} s; precision@10 "
            f"scene {self.p10_scene:.3f} (random {self.random_scene:.3f}, "
            f"{self.p10_scene / self.random_scene:.1f}x; ceiling {self.ceiling_scene:.3f}), "
            f"genre {self.p10_genre:.3f} (random {self.random_genre:.3f}, "
            f"{self.p10_genre / self.random_genre:.1f}x); "
            f"artists with similar {self.artists_with_similar:.1%}, "
            f"with 10: {self.coverage_10:.1%}"
        )


def _score(
    catalog: Catalog, pairs: list[tuple[int, int]], label: str, rows: int, seconds: float
) -> Figures:
    scene = {a.index + 1: a.scene for a in catalog.artists}
    genre = {a.index + 1: a.genre.name for a in catalog.artists}
    lists: dict[int, list[int]] = {}
    for artist_id, similar_id in pairs:
        lists.setdefault(artist_id, []).append(similar_id)
    n = len(catalog.artists)
    scene_sizes, genre_sizes = Counter(scene.values()), Counter(genre.values())

    def precision(truth: Mapping[int, object]) -> float:
        shares = [sum(truth[s] == truth[a] for s in sims) / len(sims) for a, sims in lists.items()]
        return sum(shares) / len(shares) if shares else 0.0

    return Figures(
        label=label,
        rows=rows,
        seconds=seconds,
        artists_with_similar=len(lists) / n,
        coverage_10=sum(len(s) >= 10 for s in lists.values()) / n,
        p10_scene=precision(scene),
        p10_genre=precision(genre),
        random_scene=sum((scene_sizes[scene[a]] - 1) / (n - 1) for a in scene) / n,
        random_genre=sum((genre_sizes[genre[a]] - 1) / (n - 1) for a in genre) / n,
        ceiling_scene=sum(min(10, scene_sizes[scene[a]] - 1) / 10 for a in scene) / n,
    )


async def evaluate(
    engine: AsyncEngine, catalog: Catalog, variants: dict[str, tuple[str, ...]] = VARIANTS
) -> list[Figures]:
    """Each run on the stored world: take its signals out, compute, score, roll back."""
    results = []
    for label, statements in variants.items():
        async with engine.connect() as conn:
            transaction = await conn.begin()
            try:
                for statement in statements:
                    await conn.execute(text(statement))
                began = time.perf_counter()
                written = await recalculate_similarity(conn, day=TODAY)
                took = time.perf_counter() - began
                pairs = (
                    await conn.execute(
                        text(
                            "SELECT artist_id, similar_id FROM artist_similarity"
                            " ORDER BY artist_id, rank"
                        )
                    )
                ).all()
            finally:
                await transaction.rollback()
        results.append(_score(catalog, [(int(a), int(b)) for a, b in pairs], label, written, took))
    return results


async def main(artists: int, seed: int, url: str | None) -> None:
    catalog = Catalog(seed=seed, artists=artists, today=TODAY)
    rows = _rows(catalog)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url or f"sqlite+aiosqlite:///{Path(tmp) / 'similarity.db'}")
        try:
            if url is None:
                await create_all(engine)
            await _store(engine, rows)
            sizes = sorted(len(s) for s in catalog.scenes)
            print(
                f"catalogue: {artists} artists (seed {seed}) in {len(catalog.scenes)} scenes "
                f"({sizes[0]}-{sizes[-1]} artists) of 12 genres, {len(rows['shows'])} shows, "
                f"{len(rows['acts'])} supporting acts, {len(rows['entries'])} cover entries; "
                f"database {engine.dialect.name}",
                flush=True,
            )
            for figures in await evaluate(engine, catalog):
                print(figures.line(), flush=True)
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
