"""GET /api/artists/{id}/forecast, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from models.trending import recalculate_trending
from models.trending.forecast import recalculate_forecast
from monitor.api import create_app
from settings import Settings
from tests.trending.scenario import ARTISTS, NOW, artist, seed, trending_settings
from tests.trending.test_forecast import ARTIST_1

SECRET = "s3cret-Value-0123456789-abcdefghijklmnop"
GOOD = {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=trending_settings())
    await recalculate_forecast(engine, now=NOW, settings=trending_settings())
    async with engine.begin() as conn:  # an artist found after the run: no forecast yet
        await conn.execute(insert(ARTISTS), [artist(8, popularity=10, followers=None)])
    settings = Settings(_env_file=None, cron_secret=SecretStr(SECRET))
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.5", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor") as c:
        yield c


async def test_an_artist_s_forecast_for_the_next_7_days(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/artists/1/forecast", headers=GOOD)

    assert response.status_code == 200
    body = response.json()
    assert (body["artist_id"], body["name"], body["score"], body["made_on"]) == (
        1,
        "Artist 1",
        64.0,
        "2025-06-01",
    )
    assert body["days"] == [
        {"day": (NOW.date() + timedelta(days=h)).isoformat(), "horizon": h, "score": score}
        for h, score in enumerate(ARTIST_1, start=1)
    ]


async def test_an_artist_without_a_forecast_yet(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/artists/8/forecast", headers=GOOD)

    assert response.status_code == 200
    assert response.json() == {
        "artist_id": 8,
        "name": "Artist 8",
        "score": None,
        "made_on": None,
        "days": [],
    }


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/artists/999/forecast", 404, "no artist with id 999"),
        (
            "/api/artists/abc/forecast",
            422,
            "path.artist_id: Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            "/api/artists/0/forecast",
            422,
            "path.artist_id: Input should be greater than or equal to 1",
        ),
        (
            "/api/artists/99999999999/forecast",
            422,
            "path.artist_id: Input should be less than or equal to 2147483647",
        ),
    ],
)
async def test_bad_forecast_requests_are_refused_clearly(
    client: httpx.AsyncClient, path: str, status: int, message: str
) -> None:
    response = await client.get(path, headers=GOOD)

    assert response.status_code == status
    assert response.json()["error"]["message"] == message


async def test_the_forecast_needs_the_token_and_is_in_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/artists/1/forecast")).status_code == 401
    paths = (await client.get("/openapi.json", headers=GOOD)).json()["paths"]
    operation = paths["/api/artists/{artist_id}/forecast"]["get"]
    assert sorted(operation["responses"]) == ["200", "401", "404", "422", "429", "503"]
    assert operation["security"] == [{"HTTPBearer": []}]
