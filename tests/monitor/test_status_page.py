"""GET /status, its login form and session cookie, on both databases (no browser here: see
test_status_browser.py for what a person sees)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.api import AUTH_FAILURE_BURST, create_app
from monitor.status_page import (
    SESSION_COOKIE,
    SESSION_HOURS,
    make_session,
    session_is_valid,
    sparkline_svg,
)
from settings import Settings
from tests.monitor.status_world import HOSTILE_NAME, NOW, build_status_world

SECRET = "s3cret-Value-0123456789-abcdefghijklmnop"
GOOD = {"Authorization": f"Bearer {SECRET}"}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def _settings(secret: str | None = SECRET) -> Settings:
    return Settings(
        _env_file=None,
        cron_secret=SecretStr(secret) if secret is not None else None,
        sync_stale_after_hours=24,
    )


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://monitor")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(engine: AsyncEngine, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    await build_status_world(engine)
    async with _client(create_app(_settings(), engine=engine, clock=clock)) as c:
        yield c


def _text(html: str) -> str:
    """The page's text as a person reads it, roughly: tags dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_status_with_the_bearer_token_shows_every_section(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/status", headers=GOOD)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    text = _text(html)
    # 3 artists, 1 synced (33 %), fresh (100 %); 2 scored (67 %); 1 of 3 runs in 24 h a success.
    assert (
        "Overall 58% Sync coverage 33% Sync freshness 100% Trending coverage 67% Success rate 33%"
        in text
    )
    for section in ("health", "runs", "quota", "trending", "errors"):
        assert f"id='{section}'" in html
    # Quota today: Ticketmaster 4600 of 5000 (92 %, hot), setlist.fm 12 of 1440; Spotify uncapped.
    assert "4600 / 5000" in text
    assert "<i class='hot' style='width:92%'>" in html
    assert "12 / 1440" in text
    assert "no daily cap" in text
    # The timeline: three master-sync runs, two autonomous-sync runs, one trending run.
    assert html.count("class='mark s-success' title=") == 4
    assert html.count("class='mark s-failed' title=") == 1
    assert "last: partial at 2026-03-10 11:00" in text
    assert "Seed never ran" in text
    # Trending, with sparklines: 30 points for artist 1, two single points for artist 2.
    assert "1 Northern Lights 91.5" in text
    assert "Northern Lights: 30 of the last 30 days in the history" in html
    assert "The Tags 40.2 " in text
    assert "2 of the last 30 days in the history" in html
    assert "Northern Lights 2026-03-20 @ The Fillmore 70.0" in text
    # The latest error.
    assert "HTTP 500 for K1" in text
    # Scripts authenticate with the token: no sign-out form for them.
    assert "Sign out" not in text


async def test_status_escapes_every_name(client: httpx.AsyncClient) -> None:
    html = (await client.get("/status", headers=GOOD)).text

    assert HOSTILE_NAME not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; The Tags" in html
    assert "<script" not in html


async def test_status_without_credentials_answers_the_login_form_uncounted(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(AUTH_FAILURE_BURST + 2):
        response = await client.get("/status")
        assert response.status_code == 401
    assert "<form class='login' method='post' action='/status/login'>" in response.text
    assert "Northern Lights" not in response.text
    # Showing the form spent none of the client's failed authentications.
    assert (await client.get("/status", headers=GOOD)).status_code == 200


async def test_status_with_a_wrong_bearer_token_is_refused_as_json(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/status", headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "invalid bearer token"


async def test_login_sets_a_signed_httponly_samesite_cookie_and_the_page_accepts_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/status/login",
        content=f"secret={SECRET}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/status"
    cookie = response.headers["set-cookie"]
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/status"} <= attributes
    assert f"max-age={SESSION_HOURS * 3600}" in attributes
    assert "secure" not in attributes  # plain HTTP here; Secure over HTTPS
    assert SECRET not in cookie
    assert session_is_valid(SECRET.encode(), value, now=NOW)

    page = await client.get("/status", headers={"Cookie": f"{SESSION_COOKIE}={value}"})
    assert page.status_code == 200
    assert "Northern Lights" in page.text
    assert "Sign out" in page.text
    # The cookie opens the page only, never the JSON API.
    api = await client.get("/api/sync/monitor", headers={"Cookie": f"{SESSION_COOKIE}={value}"})
    assert api.status_code == 401


async def test_an_expired_or_forged_cookie_gets_the_login_form(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    value, _ = make_session(SECRET.encode(), now=NOW)
    forged, _ = make_session(b"another-secret-of-thirty-two-characters", now=NOW)
    clock.now = NOW + timedelta(hours=SESSION_HOURS, seconds=1)
    expired = await client.get("/status", headers={"Cookie": f"{SESSION_COOKIE}={value}"})
    clock.now = NOW
    wrong = await client.get("/status", headers={"Cookie": f"{SESSION_COOKIE}={forged}"})
    garbage = await client.get("/status", headers={"Cookie": f"{SESSION_COOKIE}=12.x; a=b"})

    for response in (expired, wrong, garbage):
        assert response.status_code == 401
        assert "action='/status/login'" in response.text


async def test_a_wrong_secret_shows_the_form_again_and_counts_as_a_failure(
    client: httpx.AsyncClient,
) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(AUTH_FAILURE_BURST):
        response = await client.post("/status/login", content="secret=guess", headers=form)
        assert response.status_code == 401
        assert "Wrong secret." in response.text
        assert "set-cookie" not in response.headers
    missing = await client.post("/status/login", content="", headers=form)
    assert missing.status_code == 429
    assert missing.json()["error"]["code"] == "too_many_requests"
    # The limit holds for the whole monitor: the right token waits too.
    assert (await client.get("/status", headers=GOOD)).status_code == 429


async def test_logout_clears_the_cookie(client: httpx.AsyncClient) -> None:
    response = await client.post("/status/logout")

    assert response.status_code == 303
    assert response.headers["location"] == "/status"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f'{SESSION_COOKIE}="";') or cookie.startswith(f"{SESSION_COOKIE}=;")
    assert "max-age=0" in cookie.lower()


async def test_without_a_secret_the_page_and_the_login_answer_503(engine: AsyncEngine) -> None:
    async with _client(create_app(_settings(None), engine=engine, clock=lambda: NOW)) as c:
        page = await c.get("/status")
        login = await c.post("/status/login", content=f"secret={SECRET}")

    assert (page.status_code, login.status_code) == (503, 503)


async def test_the_status_routes_are_in_openapi(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json", headers=GOOD)).json()["paths"]

    assert "text/html" in paths["/status"]["get"]["responses"]["200"]["content"]
    assert set(paths["/status/login"]) == {"post"}
    assert set(paths["/status/logout"]) == {"post"}


def test_a_sparkline_draws_gaps_and_single_days() -> None:
    svg = sparkline_svg([100.0, 0.0, None, 50.0, None], label="A")

    line = "<polyline fill='none' stroke='#0969da' stroke-width='1.5' points='0.0,2.0 25.0,22.0'/>"
    assert line in svg
    assert "<circle cx='75.0' cy='12.0' r='1.5' fill='#0969da'/>" in svg
    assert "A: 3 of the last 5 days in the history" in svg
