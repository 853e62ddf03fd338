"""Flow tests: the real flows, on SQLite and PostgreSQL, against the in-process sandbox.

The settings point the clients at ``http://sandbox-<random>.test`` with the sandbox's demo
credentials; an ``httpx.AsyncClient`` factory routes them in-process (``ASGITransport``). By
default the run uses in-process buckets with caps lifted far above the traffic (so nothing
waits) and no caching; tests about caps use the Prefect limits of the session's test server instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from models.db import create_all
from models.tables import (
    Artist,
    Setlist,
    SetlistEntry,
    Show,
    ShowSupportAct,
    Song,
    SyncRun,
    Venue,
)
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.core import Sandbox
from sandbox.server import demo_settings_overrides
from settings import Settings, get_settings
from tasks.deps import use_http_factory
from tests.conftest import empty_postgres

FAST_ENV = {
    "RATE_LIMITER": "local",
    "SPOTIFY_REQUESTS_PER_MINUTE": "600000",
    "TICKETMASTER_REQUESTS_PER_SECOND": "10000",
    "TICKETMASTER_REQUESTS_PER_DAY": "1000000",
    "SETLISTFM_REQUESTS_PER_SECOND": "10000",
    "SETLISTFM_REQUESTS_PER_DAY": "1000000",
    "CACHE_TTL_SPOTIFY_MINUTES": "0",
    "CACHE_TTL_TICKETMASTER_MINUTES": "0",
    "HTTP_BACKOFF_BASE_SECONDS": "0",
    "SYNC_RETRY_BASE_MINUTES": "0.0001",
}


@dataclass
class SyncWorld:
    """The settings, the database and the sandbox one flow test runs against."""

    engine: AsyncEngine
    monkeypatch: pytest.MonkeyPatch
    sandbox: Sandbox | None = None

    def configure(self, **env: str) -> Settings:
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        return get_settings()

    @property
    def settings(self) -> Settings:
        return get_settings()


@pytest.fixture
def world(
    engine: AsyncEngine,
    database_url: str,
    prefect_harness: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[SyncWorld]:
    del prefect_harness
    env = {"DATABASE_URL": database_url, **FAST_ENV}
    # A host of its own per test: cached reads are keyed by the upstream's URLs, so no test (and
    # no earlier test session) can answer for another.
    sandbox_url = f"http://sandbox-{uuid.uuid4().hex[:12]}.test"
    env.update({k.upper(): v for k, v in demo_settings_overrides(sandbox_url).items()})
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield SyncWorld(engine=engine, monkeypatch=monkeypatch)
    get_settings.cache_clear()


@pytest.fixture
def use_sandbox(world: SyncWorld) -> Iterator[Callable[..., Sandbox]]:
    """Start the in-process sandbox with a config (``artists=60`` and caps lifted by default) and
    route the clients to it; optionally wrap its transport (``wrap``) to inject targeted
    failures."""
    stack: list[Any] = []

    def start(
        *,
        wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
        **config: Any,
    ) -> Sandbox:
        config.setdefault("artists", 60)
        config.setdefault("seed", 7)
        config.setdefault("caps", False)  # the sandbox's caps are its own: lifted like FAST_ENV
        app = create_app(SandboxConfig(settings=world.settings, **config))
        sandbox: Sandbox = app.state.sandbox
        transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=app)
        if wrap is not None:
            transport = wrap(transport)
        final = transport
        context = use_http_factory(lambda: httpx.AsyncClient(transport=final))
        context.__enter__()
        stack.append(context)
        world.sandbox = sandbox
        return sandbox

    yield start
    while stack:
        stack.pop().__exit__(None, None, None)


async def reset_database(engine: AsyncEngine) -> None:
    """Empty every table (to run a second scenario in the same test)."""
    if engine.dialect.name == "sqlite":
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.drop_all)
        await create_all(engine)
        return
    await empty_postgres(engine)


async def dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every synced fact, keyed on natural keys (no surrogate ids, no bookkeeping times)."""
    a = Artist.__table__  # type: ignore[attr-defined]
    v = Venue.__table__  # type: ignore[attr-defined]
    s = Show.__table__  # type: ignore[attr-defined]
    sa = ShowSupportAct.__table__  # type: ignore[attr-defined]
    so = Song.__table__  # type: ignore[attr-defined]
    sl = Setlist.__table__  # type: ignore[attr-defined]
    se = SetlistEntry.__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        artists = {
            row.id: (row.name, row.spotify_id, row.ticketmaster_id, row.mbid)
            for row in (await conn.execute(select(a))).all()
        }
        artist_rows = [
            (*artists[row.id], row.slug, row.popularity, row.followers, row.image_url)
            for row in (await conn.execute(select(a))).all()
        ]
        venues = {
            row.id: (
                row.ticketmaster_id,
                row.setlistfm_id,
                row.name,
                row.city,
                row.state_code,
                row.country_code,
                row.postal_code,
                row.latitude,
                row.longitude,
                row.timezone,
            )
            for row in (await conn.execute(select(v))).all()
        }
        shows = {
            row.id: (row.ticketmaster_id, row.setlistfm_id)
            for row in (await conn.execute(select(s))).all()
        }
        show_rows = [
            (
                row.ticketmaster_id,
                row.setlistfm_id,
                artists[row.artist_id],
                venues.get(row.venue_id),
                row.local_date,
                row.local_time,
                row.starts_at,
                row.status,
                row.min_price,
                row.max_price,
                row.currency,
                row.name,
                row.ticket_url,
            )
            for row in (await conn.execute(select(s))).all()
        ]
        acts = [
            (shows[row.show_id], artists[row.artist_id], row.position)
            for row in (await conn.execute(select(sa))).all()
        ]
        songs = {
            row.id: (artists[row.artist_id], row.title)
            for row in (await conn.execute(select(so))).all()
        }
        setlists = {row.id: row.setlistfm_id for row in (await conn.execute(select(sl))).all()}
        setlist_rows = [
            (
                row.setlistfm_id,
                row.version_id,
                artists[row.artist_id],
                shows.get(row.show_id),
                row.event_date,
                row.tour_name,
                row.info,
                row.url,
            )
            for row in (await conn.execute(select(sl))).all()
        ]
        entries = [
            (
                setlists[row.setlist_id],
                row.position,
                row.set_index,
                row.set_name,
                row.encore,
                songs[row.song_id],
                row.tape,
                row.cover_artist_name,
                row.cover_mbid,
                row.with_artist_name,
                row.info,
            )
            for row in (await conn.execute(select(se))).all()
        ]
    return {
        "artists": sorted(artist_rows, key=repr),
        "venues": sorted(venues.values(), key=repr),
        "shows": sorted(show_rows, key=repr),
        "support_acts": sorted(acts, key=repr),
        "songs": sorted(songs.values(), key=repr),
        "setlists": sorted(setlist_rows, key=repr),
        "setlist_entries": sorted(entries, key=repr),
    }


async def ledger(engine: AsyncEngine) -> list[dict[str, Any]]:
    runs = SyncRun.__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(runs).order_by(runs.c.id))).mappings().all()
    return [dict(row) for row in rows]


def failing_when(
    predicate: Callable[[httpx.Request], bool], *, status: int = 500
) -> Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]:
    """A transport wrapper answering ``status`` to every request the predicate picks."""

    class Failing(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if predicate(request):
                return httpx.Response(
                    status, json={"fault": {"faultstring": "down"}}, request=request
                )
            return await self.inner.handle_async_request(request)

    return Failing
