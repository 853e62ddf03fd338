"""The real clients against the sandbox in-process, sharing one virtual clock with it.

The clients' limiter and the sandbox's buckets have the same parameters; the clock is virtual,
so waiting for a cap takes no real time. The sandbox calendar is detached from the clock here:
a run slowed by retries must see the same world as a quick one.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from clients.clock import VirtualClock
from clients.ratelimit import TokenBucketLimiter
from clients.setlistfm import SetlistFmClient
from clients.spotify import SpotifyClient
from clients.ticketmaster import TicketmasterClient
from sandbox.app import create_app
from sandbox.catalog import Catalog
from sandbox.config import SandboxConfig, SpotifyTier
from sandbox.core import Sandbox
from sandbox.server import demo_settings_overrides
from settings import Settings
from tests.sandbox.conftest import BASE_URL, SEED, TODAY

ARTISTS_FETCHED = 200
CONCURRENCY = 8


@pytest.fixture(scope="module")
def big_catalog() -> Catalog:
    return Catalog(seed=SEED, artists=ARTISTS_FETCHED, today=TODAY)


def _settings() -> Settings:
    return Settings.model_validate(demo_settings_overrides(BASE_URL))


@dataclass
class Run:
    """What one full fetch returned, and what it cost."""

    data: dict[str, Any]
    sandbox: Sandbox
    clock: VirtualClock
    retries: int
    limiter: TokenBucketLimiter


def _sandbox_app(catalog: Catalog, clock: VirtualClock, **overrides: Any) -> Any:
    config = SandboxConfig(
        seed=SEED,
        artists=catalog.size,
        today=TODAY,
        clock=clock,
        calendar_follows_clock=False,
        **overrides,
    )
    return create_app(config, catalog=catalog)


async def _fetch_everything(catalog: Catalog, **overrides: Any) -> Run:
    """Attractions, upcoming events, Spotify artists and every setlist page of every artist."""
    clock = VirtualClock()
    app = _sandbox_app(catalog, clock, **overrides)
    sandbox: Sandbox = app.state.sandbox
    settings = _settings()
    limiter = TokenBucketLimiter.from_settings(settings, clock=clock)
    start = sandbox.now()
    end = start + timedelta(days=365)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        common: dict[str, Any] = {"http": http, "limiter": limiter, "clock": clock}
        spotify = SpotifyClient.from_settings(settings, rng=random.Random(1), **common)
        tm = TicketmasterClient.from_settings(settings, rng=random.Random(2), **common)
        sfm = SetlistFmClient.from_settings(settings, rng=random.Random(3), **common)
        attractions: dict[str, Any] = {}
        events: dict[str, list[Any]] = {}
        setlists: dict[str, list[Any]] = {}
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one_artist(index: int) -> None:
            artist = catalog.artists[index]
            async with gate:
                if artist.ticketmaster_id is not None:
                    attraction = await tm.get_attraction(artist.ticketmaster_id)
                    assert attraction is not None
                    attractions[artist.ticketmaster_id] = attraction.model_dump(mode="json")
                    found = events.setdefault(artist.ticketmaster_id, [])
                    async for page in tm.iter_events(
                        attraction_id=artist.ticketmaster_id, start=start, end=end
                    ):
                        found.extend(e.model_dump(mode="json") for e in page.events)
                if artist.mbid is not None:
                    pages = setlists.setdefault(artist.mbid, [])
                    async for setlist_page in sfm.iter_artist_setlists(artist.mbid):
                        pages.extend(s.model_dump(mode="json") for s in setlist_page.setlists)

        await asyncio.gather(*(one_artist(i) for i in range(len(catalog.artists))))
        ids = [a.spotify_id for a in catalog.artists if a.spotify_id]
        artists = [a.model_dump(mode="json") for a in await spotify.get_artists(ids)]
        retries = spotify.stats.retries + tm.stats.retries + sfm.stats.retries
    data = {"attractions": attractions, "events": events, "setlists": setlists, "artists": artists}
    return Run(data=data, sandbox=sandbox, clock=clock, retries=retries, limiter=limiter)


async def test_a_fetch_with_5_percent_faults_returns_exactly_what_a_clean_fetch_returns(
    big_catalog: Catalog,
) -> None:
    clean = await _fetch_everything(big_catalog)
    faulty = await _fetch_everything(big_catalog, fault_rate=0.05, fault_seed=99)

    assert faulty.data == clean.data
    assert len(clean.data["attractions"]) == 194
    assert sum(len(v) for v in clean.data["setlists"].values()) == sum(
        len(big_catalog.setlists(a, big_catalog.origin)) for a in big_catalog.artists
    )
    assert len(clean.data["artists"]) == 194
    # Faults really happened, of every kind, and the clients retried through them.
    kinds = {kind for (_, kind) in faulty.sandbox.stats.faults}
    assert kinds == {"500", "503", "timeout", "malformed_json", "truncated_body"}
    # Every fault costs one retry, except a malformed body on a 404 ("no results", not retried).
    assert 0 < faulty.retries <= sum(faulty.sandbox.stats.faults.values())
    assert clean.retries == 0
    # The caps were reached (the clock had to move) yet never exceeded.
    assert clean.sandbox.stats.over_cap == {}
    assert faulty.sandbox.stats.over_cap == {}
    assert clean.clock.now() > 60.0
    assert faulty.clock.now() > clean.clock.now()


async def test_development_mode_spotify_degrades_without_failing(big_catalog: Catalog) -> None:
    tier: SpotifyTier = "development"
    clock = VirtualClock()
    app = _sandbox_app(big_catalog, clock, spotify_tier=tier)
    sandbox: Sandbox = app.state.sandbox
    settings = _settings()
    limiter = TokenBucketLimiter.from_settings(settings, clock=clock)
    own, others, editorial, _ = big_catalog.playlists
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        spotify = SpotifyClient.from_settings(
            settings, http=http, limiter=limiter, clock=clock, rng=random.Random(1)
        )
        ids = [a.spotify_id for a in big_catalog.artists if a.spotify_id][:60]
        artists = await spotify.get_artists(ids)
        shared = await spotify.playlist_artists(others.id)
        curated = await spotify.playlist_artists(editorial.id)
        mine = await spotify.playlist_artists(own.id)
        found = await spotify.search_artists(big_catalog.artists[0].name, limit=50)

    assert [a.id for a in artists] == ids
    assert all(a.popularity is None and a.followers is None for a in artists)
    assert (shared, curated) == ([], [])
    expected_mine = list(dict.fromkeys(a.spotify_id for t, _ in own.tracks for a in t.artists))
    assert [ref.id for ref in mine] == expected_mine
    assert found[0].id == big_catalog.artists[0].spotify_id
    assert spotify.capabilities.batch_artists is False
    assert spotify.capabilities.popularity_fields is False
    notes = spotify.degradation_notes()
    assert any("batch artist lookup" in note for note in notes)
    assert any("popularity" in note for note in notes)
    stats = sandbox.stats
    assert stats.count("spotify", "/v1/artists", 403) == 1
    assert stats.count("spotify", "/v1/artists/{id}", 200) == 60
    assert stats.count("spotify", "/v1/search", 200) == 1
    assert stats.over_cap == {}


async def test_quota_answers_stop_the_clients_for_good(big_catalog: Catalog) -> None:
    from clients.errors import QuotaExhausted
    from sandbox.caps import ApiCaps

    clock = VirtualClock()
    app = _sandbox_app(
        big_catalog,
        clock,
        spotify_daily_quota=1,
        caps={"ticketmaster": ApiCaps(per_second=5, per_day=2)},
    )
    sandbox: Sandbox = app.state.sandbox
    settings = _settings()
    limiter = TokenBucketLimiter.from_settings(settings, clock=clock)
    artist = next(a for a in big_catalog.artists if a.kind == "core")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        common: dict[str, Any] = {"http": http, "limiter": limiter, "clock": clock}
        spotify = SpotifyClient.from_settings(settings, **common)
        tm = TicketmasterClient.from_settings(settings, **common)
        assert await spotify.get_artist(artist.spotify_id or "") is not None
        with pytest.raises(QuotaExhausted):
            await spotify.get_artist(artist.spotify_id or "")
        with pytest.raises(QuotaExhausted):  # latched: nothing more is sent
            await spotify.get_artist(artist.spotify_id or "")
        for _ in range(2):
            assert await tm.get_attraction(artist.ticketmaster_id or "") is not None
        with pytest.raises(QuotaExhausted):
            await tm.get_attraction(artist.ticketmaster_id or "")
    stats = sandbox.stats
    assert stats.refusals == {("spotify", "quota"): 1, ("ticketmaster", "per_day"): 1}
    assert stats.count("spotify", "/v1/artists/{id}") == 2
    assert stats.count("ticketmaster", "/discovery/v2/attractions/{id}.json") == 3
