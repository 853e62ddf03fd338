"""Geographic trending equals a brute-force computation of its definition, row for row.

A seeded random world (more than ``GEO_TOP`` shows and artists in some scopes, so the top-K cut
applies; shows past, ahead, cancelled, postponed, without a city or a market; supporting acts;
state rows as of several instants, some marked for a recount) is ranked by
``recalculate_geo_trending`` and, in Python, from the raw rows: each show's decayed sums and
proximity, its global score (``show_scores``, the definition: geography only selects), each
artist's sums over the shows of its bill in each scope, the artist formula, the top
``GEO_TOP`` per scope by score then id. Both databases.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.geo_trending import (
    GEO,
    GEO_ARTIST_WEIGHTS,
    GEO_HALF_SATURATION,
    GEO_PAST_DAYS,
    GEO_TOP,
    recalculate_geo_trending,
)
from models.trending.formula import AHEAD_STATUSES, Clock
from models.trending.scores import show_scores
from models.trending.sql import MIN_EXPONENT
from settings import Settings
from tests.insights.world import NOW
from tests.monitor.factories import (
    ARTISTS,
    SHOW_TRENDS,
    SHOWS,
    SUPPORT_ACTS,
    VENUES,
    artist,
    show,
    venue,
)

SUMS = ("views", "follows", "votes", "attendance")
STATUSES = ("upcoming", "upcoming", "upcoming", "postponed", "ongoing", "completed", "cancelled")


def _pow2(exponent: float) -> float:
    return 0.0 if exponent < MIN_EXPONENT else 2.0**exponent


def _epoch(instant: datetime) -> float:
    return float(math.floor(instant.timestamp()))


def _world(seed: int) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    today = NOW.date()
    artists = [
        artist(a, popularity=None if a % 7 == 0 else rng.randint(0, 100)) for a in range(1, 181)
    ]
    venues = []
    for v in range(1, 41):
        market = None if v % 9 == 0 else 1 + v % 3
        city = None if v % 11 == 0 else f"City {v % 5}"
        venues.append(
            venue(
                v,
                city=city,
                state_code=None if v % 13 == 0 else "ST",
                country_code="US",
                market_id=market,
            )
        )
    shows, trends, acts = [], [], []
    instants = [NOW, NOW - timedelta(hours=5), NOW - timedelta(days=3), NOW - timedelta(days=40)]
    for s in range(1, 801):
        headliner = rng.randint(1, len(artists))
        day = today + timedelta(days=rng.randint(-GEO_PAST_DAYS - 10, 150))
        status = rng.choice(STATUSES)
        shows.append(
            show(
                s,
                artist_id=headliner,
                venue_id=None if s % 31 == 0 else rng.randint(1, len(venues)),
                local_date=day,
            )
            | {"status": status}
        )
        if s % 5 == 0:
            support = 1 + (headliner + rng.randint(1, 50)) % len(artists)
            acts.append({"show_id": s, "artist_id": support, "position": 1})
        if s % 17 == 0:
            continue  # no trending row yet: not counted
        row: dict[str, Any] = {
            "show_id": s,
            "artist_id": headliner,
            "popularity": artists[headliner - 1]["popularity"],
            "cancelled": status == "cancelled",
            "ahead_date": day if status in AHEAD_STATUSES else None,
            "as_of": None if s % 23 == 0 else rng.choice(instants),
            "bound": 0.0,
        }
        for name in SUMS:
            value = 0.0 if rng.random() < 0.3 else rng.uniform(0.0, 60.0)
            row[name] = -value / 3 if name == "follows" and rng.random() < 0.2 else value
        trends.append(row)
    return {"artists": artists, "venues": venues, "shows": shows, "acts": acts, "trends": trends}


def _saturate(value: float, key: str) -> float:
    return value / (value + GEO_HALF_SATURATION[key]) if value > 0.0 else 0.0


def _expected(
    world: dict[str, list[dict[str, Any]]], clock: Clock, scores: dict[int, float]
) -> set[tuple[str, str, str, int, float]]:
    today = clock.today
    venues = {v["id"]: v for v in world["venues"]}
    trends = {t["show_id"]: t for t in world["trends"]}
    popularity = {a["id"]: a["popularity"] for a in world["artists"]}
    billed: dict[int, list[int]] = defaultdict(list)
    for act in world["acts"]:
        billed[act["show_id"]].append(act["artist_id"])
    show_rows: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    artist_sums: dict[tuple[str, str, int], list[float]] = defaultdict(lambda: [0.0] * 5)
    for s in world["shows"]:
        t = trends.get(s["id"])
        v = venues.get(s["venue_id"], {"market_id": None, "city": None})
        if (
            t is None
            or s["status"] == "cancelled"
            or s["local_date"] < today - timedelta(days=GEO_PAST_DAYS)
            or (v["market_id"] is None and v["city"] is None)
        ):
            continue
        scopes = []
        if v["market_id"] is not None:
            scopes.append(("market", str(v["market_id"])))
        if v["city"] is not None:
            key = f"{(v['country_code'] or '').lower()}/{(v['state_code'] or '').lower()}"
            scopes.append(("city", f"{key}/{v['city'].lower()}"))
        ahead = s["status"] in AHEAD_STATUSES and s["local_date"] >= today
        days = (s["local_date"] - today).days
        proximity = _pow2(-days / clock.show_half_life_days) if ahead else 0.0
        decay = (
            0.0
            if t["as_of"] is None
            else _pow2((_epoch(t["as_of"]) - clock.now_epoch) / clock.activity_half_life_s)
        )
        values = [
            proximity,
            *(t[name] * decay for name in ("follows", "views", "votes", "attendance")),
        ]
        for scope in scopes:
            show_rows[scope].append((s["id"], scores[s["id"]]))
            for artist_id in [s["artist_id"], *billed[s["id"]]]:
                sums = artist_sums[(*scope, artist_id)]
                for i, value in enumerate(values):
                    sums[i] += value
    rows: set[tuple[str, str, str, int, float]] = set()
    for (scope, scope_id), entries in show_rows.items():
        best = sorted((e for e in entries if e[1] > 0), key=lambda e: (-e[1], e[0]))[:GEO_TOP]
        rows |= {(scope, scope_id, "show", i, score) for i, score in best}
    w = GEO_ARTIST_WEIGHTS
    per_scope: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    for (scope, scope_id, artist_id), (up, follows, views, votes, att) in artist_sums.items():
        pop = popularity[artist_id]
        numerator = (
            (w["popularity"] * float(pop) / 100.0 if pop is not None else 0.0)
            + w["upcoming_shows"] * _saturate(up, "upcoming_shows")
            + w["show_follows"] * _saturate(follows, "show_follows")
            + w["views"] * _saturate(views, "views")
            + w["votes"] * _saturate(votes, "votes")
            + w["attendance"] * _saturate(att, "attendance")
        )
        rest = float(sum(w.values()) - w["popularity"])
        denominator = rest + w["popularity"] if pop is not None else rest
        score = math.floor(100.0 * numerator / denominator * 100.0 + 0.5) / 100.0
        per_scope[(scope, scope_id)].append((artist_id, score))
    for (scope, scope_id), entries in per_scope.items():
        best = sorted((e for e in entries if e[1] > 0), key=lambda e: (-e[1], e[0]))[:GEO_TOP]
        rows |= {(scope, scope_id, "artist", i, score) for i, score in best}
    return rows


async def test_geographic_trending_equals_a_brute_force_computation(engine: AsyncEngine) -> None:
    world = _world(seed=15)
    async with engine.begin() as conn:
        for table, key in (
            (ARTISTS, "artists"),
            (VENUES, "venues"),
            (SHOWS, "shows"),
            (SUPPORT_ACTS, "acts"),
            (SHOW_TRENDS, "trends"),
        ):
            await conn.execute(insert(table), world[key])
    clock = Clock.at(NOW + timedelta(hours=7), Settings(_env_file=None))
    async with engine.begin() as conn:
        result = await recalculate_geo_trending(conn, clock)
    async with engine.connect() as conn:
        scored = show_scores(clock)
        scores = {int(r[0]): float(r[1]) for r in await conn.execute(select(scored))}
        g = GEO.c
        stored = {
            (r.scope, r.scope_id, r.entity_type, int(r.entity_id), float(r.score))
            for r in await conn.execute(
                select(g.scope, g.scope_id, g.entity_type, g.entity_id, g.score).where(
                    g.day == clock.today
                )
            )
        }
    expected = _expected(world, clock, scores)
    assert stored == expected
    assert result.total == len(expected)
    # The world exercises the cut: some scope has more than GEO_TOP candidates of each kind.
    per_scope: dict[tuple[str, str, str], int] = defaultdict(int)
    for scope, scope_id, kind, _, _ in expected:
        per_scope[(scope, scope_id, kind)] += 1
    assert max(n for (scope, _, kind), n in per_scope.items() if kind == "show") == GEO_TOP
    assert max(n for (scope, _, kind), n in per_scope.items() if kind == "artist") == GEO_TOP
