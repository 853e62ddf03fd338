"""Fixtures: an in-process sandbox on a virtual clock, and raw httpx helpers for each API."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from clients.clock import VirtualClock
from sandbox.app import create_app
from sandbox.catalog import Catalog
from sandbox.config import DEMO_CREDENTIALS, SandboxConfig
from sandbox.core import Sandbox

TODAY = date(2026, 3, 1)
SEED = 7
ARTISTS = 120
BASE_URL = "http://sandbox.test"
TM_KEY = DEMO_CREDENTIALS["ticketmaster_api_key"]
SFM_KEY = DEMO_CREDENTIALS["setlistfm_api_key"]
BASIC = base64.b64encode(
    f"{DEMO_CREDENTIALS['spotify_client_id']}:{DEMO_CREDENTIALS['spotify_client_secret']}".encode()
).decode()


@dataclass
class Harness:
    """One sandbox, its virtual clock and a raw httpx client talking to it in-process."""

    sandbox: Sandbox
    clock: VirtualClock
    http: httpx.AsyncClient

    @property
    def catalog(self) -> Catalog:
        return self.sandbox.catalog

    async def token(self) -> str:
        response = await self.http.post(
            "/api/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {BASIC}"},
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def spotify(
        self, path: str, *, params: Mapping[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        bearer = token if token is not None else await self.token()
        return await self.http.get(
            f"/v1{path}", params=params, headers={"Authorization": f"Bearer {bearer}"}
        )

    async def tm(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(f"/discovery/v2{path}", params={"apikey": TM_KEY, **params})

    async def sfm(
        self, path: str, *, params: Mapping[str, Any] | None = None, json: bool = True
    ) -> httpx.Response:
        headers = {"x-api-key": SFM_KEY}
        if json:
            headers["Accept"] = "application/json"
        return await self.http.get(f"/rest/1.0{path}", params=params, headers=headers)


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shared catalogue (seed 7, 120 artists, today 2026-03-01); immutable."""
    return Catalog(seed=SEED, artists=ARTISTS, today=TODAY)


@pytest.fixture
async def make_harness(catalog: Catalog) -> AsyncIterator[HarnessFactory]:
    """Build sandboxes with config overrides; each gets a fresh ``VirtualClock``."""
    opened: list[httpx.AsyncClient] = []

    async def build(**overrides: Any) -> Harness:
        clock = overrides.pop("clock", None) or VirtualClock()
        fields: dict[str, Any] = {"seed": SEED, "artists": ARTISTS, "today": TODAY}
        fields.update(overrides)
        config = SandboxConfig(clock=clock, **fields)
        shared = (config.seed, config.artists, config.today) == (SEED, ARTISTS, TODAY)
        app = create_app(config, catalog=catalog if shared else None)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
        opened.append(http)
        return Harness(sandbox=app.state.sandbox, clock=clock, http=http)

    yield build
    for http in opened:
        await http.aclose()


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> Harness:
    """A sandbox for the quirk tests: extended Spotify tier, caps lifted (many requests happen
    at one virtual instant), no faults, no latency. Cap tests build their own."""
    return await make_harness(caps=False)
