"""GET /api/trending and GET /api/artists/{id}/similar, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from models.insights import recalculate_insights
from monitor.api import create_app
from settings import Settings
from tests.insights.test_geo_trending import build_scored_world
from tests.insights.world import NOW

SECRET = "s3cret-Value-0123456789-abcdefghijklmnop"
GOOD = {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    await build_scored_world(engine)
    settings = Settings(_env_file=None, cron_secret=SecretStr(SECRET))
    await recalculate_insights(engine, now=NOW, settings=settings)
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.5", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor") as c:
        yield c


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    return await client.get(path, params=params, headers=GOOD)


async def test_trending_of_a_market(client: httpx.AsyncClient) -> None:
    response = await _get(client, "/api/trending", scope="market", id="3", limit=2)

    assert response.status_code == 200
    body = response.json()
    assert (body["scope"], body["id"], body["name"], body["kind"], body["day"]) == (
        "market",
        "3",
        "Chicagoland & Northern IL",
        "artist",
        "2026-03-10",
    )
    assert [(i["rank"], i["id"], i["name"], i["score"]) for i in body["items"]] == [
        (1, 1, "One", 41.5),
        (2, 2, "Two", 25.5),
    ]


async def test_trending_shows_of_a_city_and_global(client: httpx.AsyncClient) -> None:
    city = await _get(client, "/api/trending", scope="city", id="US/IL/Chicago", kind="show")
    world = await _get(client, "/api/trending", kind="show", limit=1)

    assert city.status_code == 200
    assert city.json()["id"] == "us/il/chicago"
    first = city.json()["items"][0]
    assert (first["id"], first["artist_name"], first["city"], first["local_date"]) == (
        2,
        "One",
        "Chicago",
        "2026-03-10",
    )
    assert [i["id"] for i in city.json()["items"]] == [2, 3]
    assert world.json()["day"] is None
    assert [(i["id"], i["score"]) for i in world.json()["items"]] == [(2, 41.0)]


async def test_a_major_market_without_venues_is_empty(client: httpx.AsyncClient) -> None:
    response = await _get(client, "/api/trending", scope="market", id="35")

    assert response.status_code == 200
    assert (response.json()["day"], response.json()["items"]) == (None, [])


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"scope": "market"}, 422, "query.id: scope=market needs an id, e.g. id=27"),
        ({"scope": "city"}, 422, "query.id: scope=city needs an id, e.g. id=US/CA/San Francisco"),
        ({"scope": "global", "id": "3"}, 422, "query.id: id is not taken with scope=global"),
        (
            {"scope": "market", "id": "x3"},
            422,
            "query.id: a market id is a positive whole number; got 'x3'",
        ),
        (
            {"scope": "market", "id": "99999999999"},
            422,
            "query.id: a market id is a positive whole number; got '99999999999'",
        ),
        (
            {"scope": "market", "id": "99"},
            404,
            "unknown market 99: the major markets are 3, 5, 6, 7, 10, 11, 14, 15, 16, 18, 20, "
            "22, 27, 31, 35, 36, 37, 40, 41, 42, 47",
        ),
        (
            {"scope": "city", "id": "Chicago"},
            422,
            "query.id: a city id is country/state/city, e.g. US/CA/San Francisco; got 'Chicago'",
        ),
        (
            {"scope": "city", "id": "US/IL/Gotham"},
            404,
            "no venue stands in the city 'us/il/gotham'",
        ),
        ({"scope": "planet"}, 422, "query.scope: Input should be 'global', 'market' or 'city'"),
        ({"kind": "venue"}, 422, "query.kind: Input should be 'artist' or 'show'"),
        ({"limit": "0"}, 422, "query.limit: Input should be greater than or equal to 1"),
        ({"limit": "101"}, 422, "query.limit: Input should be less than or equal to 100"),
    ],
)
async def test_bad_trending_requests_are_refused_clearly(
    client: httpx.AsyncClient, params: dict[str, str], status: int, message: str
) -> None:
    response = await _get(client, "/api/trending", **params)

    assert response.status_code == status
    assert response.json()["error"]["message"] == message


async def test_similar_artists_of_an_artist(client: httpx.AsyncClient) -> None:
    response = await _get(client, "/api/artists/1/similar", limit=2)

    assert response.status_code == 200
    body = response.json()
    assert (body["artist_id"], body["name"], body["day"]) == (1, "One", "2026-03-10")
    assert body["similar"][0] == {
        "rank": 1,
        "id": 2,
        "name": "Two",
        "slug": "artist-2",
        "score": 31.67,
        "shared_shows": 1,
        "shared_venues": 0.5,
        "covers": 0,
        "shared_genres": 0.0,
        "shared_markets": 1,
    }
    assert [s["id"] for s in body["similar"]] == [2, 3]


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/artists/999/similar", 404, "no artist with id 999"),
        (
            "/api/artists/abc/similar",
            422,
            "path.artist_id: Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            "/api/artists/0/similar",
            422,
            "path.artist_id: Input should be greater than or equal to 1",
        ),
        (
            "/api/artists/99999999999/similar",
            422,
            "path.artist_id: Input should be less than or equal to 2147483647",
        ),
        (
            "/api/artists/1/similar?limit=11",
            422,
            "query.limit: Input should be less than or equal to 10",
        ),
    ],
)
async def test_bad_similar_requests_are_refused_clearly(
    client: httpx.AsyncClient, path: str, status: int, message: str
) -> None:
    response = await client.get(path, headers=GOOD)

    assert response.status_code == status
    assert response.json()["error"]["message"] == message


@pytest.mark.parametrize("path", ["/api/trending", "/api/artists/1/similar"])
async def test_the_insight_routes_need_the_token(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 401


async def test_the_insight_routes_are_in_openapi(client: httpx.AsyncClient) -> None:
    paths = (await _get(client, "/openapi.json")).json()["paths"]

    trending = paths["/api/trending"]["get"]
    assert [p["name"] for p in trending["parameters"]] == ["scope", "id", "kind", "limit"]
    assert sorted(trending["responses"]) == ["200", "401", "404", "422", "429", "503"]
    similar = paths["/api/artists/{artist_id}/similar"]["get"]
    assert sorted(similar["responses"]) == ["200", "401", "404", "422", "429", "503"]
    assert similar["security"] == [{"HTTPBearer": []}]
