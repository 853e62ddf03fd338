from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from models.geo_trending import (
    GEO,
    normalize_city_id,
    read_trending,
    recalculate_geo_trending,
)
from models.trending.formula import Clock
from settings import Settings
from tests.insights.world import NOW, TODAY, build_world
from tests.monitor.factories import SHOW_TRENDS


def _trend(
    show_id: int, *, artist_id: int, popularity: int | None, ahead_date: date | None, **sums: float
) -> dict[str, object]:
    """The state row a run at NOW writes for a show of the world (its headliner's popularity,
    its date while ahead), with ``sums`` its activity as of NOW."""
    row: dict[str, object] = {
        "show_id": show_id,
        "artist_id": artist_id,
        "popularity": popularity,
        "cancelled": ahead_date is None,
        "ahead_date": ahead_date,
        "as_of": NOW,
        **{name: sums.get(name, 0.0) for name in ("views", "follows", "votes", "attendance")},
    }
    return row


async def build_scored_world(engine: AsyncEngine) -> None:
    """The world plus the shows' trending inputs: show 1 has 20 views as of now. Their scores
    at NOW (show weights: popularity 20, proximity 25, views 15 of 100; 80 without popularity):
    show 2 (artist 1, popularity 80, today): 16 + 25 = 41.0; show 1 (artist 1, in 14 days,
    20 views): 16 + 25*0.5 + 15*(20/40) = 36.0; show 4 (artist 6, popularity 50, in 7 days):
    10 + 25*2**-0.5 = 27.68; show 3 (artist 3, no popularity, in 28 days): 25*0.25/80*100 =
    7.81; show 5 cancelled: 0."""
    await build_world(engine)
    rows = [
        _trend(1, artist_id=1, popularity=80, ahead_date=date(2026, 3, 24), views=20.0),
        _trend(2, artist_id=1, popularity=80, ahead_date=date(2026, 3, 10)),
        _trend(3, artist_id=3, popularity=None, ahead_date=date(2026, 4, 7)),
        _trend(4, artist_id=6, popularity=50, ahead_date=date(2026, 3, 17)),
        _trend(5, artist_id=2, popularity=40, ahead_date=None),
    ]
    # The ranking key: the score without its proximity points (formula.show_bound).
    bounds = {1: 23.5, 2: 16.0, 3: 0.0, 4: 10.0, 5: 0.0}
    async with engine.begin() as conn:
        await conn.execute(
            insert(SHOW_TRENDS), [{**r, "bound": bounds[int(str(r["show_id"]))]} for r in rows]
        )


async def _compute(engine: AsyncEngine, now=NOW) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        result = await recalculate_geo_trending(conn, Clock.at(now, Settings(_env_file=None)))
    return result.rows


async def _top(engine: AsyncEngine, scope: str, scope_id: str | None, kind: str) -> list:  # type: ignore[type-arg]
    async with engine.connect() as conn:
        day, ranked = await read_trending(
            conn,
            scope=scope,
            scope_id=scope_id,
            kind=kind,
            limit=10,
            now=NOW,
            settings=Settings(_env_file=None),
        )
    return [day, [(r.id, r.score) for r in ranked]]


async def test_market_and_city_scores_of_artists_and_shows(engine: AsyncEngine) -> None:
    await build_scored_world(engine)

    rows = await _compute(engine)

    assert rows == {"market_artists": 4, "market_shows": 4, "city_artists": 5, "city_shows": 4}
    # Market 3: artist 1 (popularity 80, shows in 0 and 14 days: 1.5, 20 views on show 1):
    # (20*0.8 + 30*1.5/2.5 + 15*20/40) = 41.5; artist 2 supports show 1: 8 + 10 + 7.5;
    # artist 3 (no popularity: out of 80) 30*0.25/1.25 / 80 = 7.5.
    assert await _top(engine, "market", "3", "artist") == [TODAY, [(1, 41.5), (2, 25.5), (3, 7.5)]]
    assert await _top(engine, "market", "3", "show") == [TODAY, [(2, 41.0), (1, 36.0), (3, 7.81)]]
    # Market 27: artist 6's show in 7 days (proximity 2**-0.5); show 5 of 2 is cancelled.
    assert await _top(engine, "market", "27", "artist") == [TODAY, [(6, 22.43)]]
    assert await _top(engine, "city", "us/il/chicago", "artist") == [TODAY, [(1, 31.0), (3, 7.5)]]
    assert await _top(engine, "city", "us/il/rosemont", "artist") == [
        TODAY,
        [(1, 33.5), (2, 25.5)],
    ]
    assert await _top(engine, "city", "us/ca/los angeles", "show") == [TODAY, [(4, 27.68)]]
    assert await _top(engine, "market", "35", "artist") == [None, []]
    assert await _top(engine, "global", None, "show") == [
        None,
        [(2, 41.0), (1, 36.0), (4, 27.68), (3, 7.81)],
    ]


async def test_scores_are_kept_per_day_and_a_rerun_replaces_the_day(engine: AsyncEngine) -> None:
    await build_scored_world(engine)
    await _compute(engine)
    await _compute(engine)
    tomorrow = NOW + timedelta(days=1)
    await _compute(engine, tomorrow)

    async with engine.connect() as conn:
        days = (await conn.execute(GEO.select().with_only_columns(GEO.c.day).distinct())).all()
    assert sorted(d for (d,) in days) == [TODAY, TODAY + timedelta(days=1)]
    # The latest day is served: tomorrow, artist 1's views decayed by 2**(-24/72).
    day, ranked = await _top(engine, "market", "3", "artist")
    assert day == TODAY + timedelta(days=1)
    assert ranked[0][0] == 1


@pytest.mark.parametrize(
    ("given", "stored"),
    [("US/CA/San Francisco", "us/ca/san francisco"), (" us / / Paris ", "us//paris")],
)
def test_city_ids_normalise(given: str, stored: str) -> None:
    assert normalize_city_id(given) == stored


@pytest.mark.parametrize("bad", ["Chicago", "USA/IL/Chicago", "US/IL/", "a/b/c/d", "1X/IL/C"])
def test_bad_city_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="city id"):
        normalize_city_id(bad)


def test_a_ticketmaster_venue_keeps_its_first_market() -> None:
    from clients.ticketmaster import TmVenue
    from tasks.mapping import tm_venue_record

    venue = TmVenue.model_validate(
        {"id": "KovZ1", "name": "Hall", "markets": [{"id": "27", "name": "LA"}, {"id": "41"}]}
    )
    bare = TmVenue.model_validate({"id": "KovZ2", "name": "Hall"})

    assert tm_venue_record(venue).values()["market_id"] == 27
    assert "market_id" not in tm_venue_record(bare).values()
