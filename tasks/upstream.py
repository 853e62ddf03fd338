"""Prefect tasks that read the upstream APIs: coarse (a market, an artist, a batch), retried on
transient errors only, and cached on their inputs (the client objects excluded) for a per-source
expiry. Writes are never cached: they live in ``tasks/store.py``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from prefect import Task, task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE, CachePolicy
from prefect.tasks import exponential_backoff
from prefect.utilities.hashing import hash_objects

from clients.errors import MalformedRecord, RetriesExhausted
from clients.setlistfm import SfmArtist, SfmSetlist
from clients.spotify import SpotifyArtist
from clients.ticketmaster import TmEvent
from settings import Settings
from tasks.deps import Upstream

__all__ = [
    "ArtistEvents",
    "ArtistSetlists",
    "fetch_artist_events",
    "fetch_artist_setlists",
    "fetch_market_events",
    "fetch_playlist_artists",
    "fetch_spotify_artists",
    "find_setlistfm_artist",
    "search_spotify_artist",
    "with_cache",
]


@dataclass
class UpstreamScope(CachePolicy):
    """Keys a read by where it was read from (the APIs' base URLs), so a cache filled from the
    sandbox never answers for the real APIs, or one sandbox for another."""

    def compute_key(
        self,
        task_ctx: Any,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        upstream = (inputs or {}).get("upstream")
        return hash_objects(upstream.scope) if isinstance(upstream, Upstream) else None


#: Inputs (the client bundle excluded), the task's source and the upstream's scope make the key.
READ_CACHE: CachePolicy = (INPUTS - "upstream") + TASK_SOURCE + UpstreamScope()


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a task only for errors that may pass: exhausted transport retries, 5xx, timeouts.

    Synchronous and reading ``state.data`` (not ``state.result()``), as async tasks require."""
    del task, task_run
    data = getattr(state, "data", None)
    error = getattr(data, "result", data)
    return isinstance(error, RetriesExhausted | httpx.TransportError)


_RETRY: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": exponential_backoff(backoff_factor=5),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": is_transient,
}


@dataclass
class EventsFetch:
    events: list[TmEvent] = field(default_factory=list)
    malformed: list[MalformedRecord] = field(default_factory=list)


ArtistEvents = EventsFetch


@dataclass
class ArtistSetlists:
    mbid: str | None
    setlists: list[SfmSetlist] = field(default_factory=list)
    malformed: list[MalformedRecord] = field(default_factory=list)
    requests_pages: int = 0


def with_cache(read_task: Task[Any, Any], settings: Settings, source: str) -> Task[Any, Any]:
    """The task with this source's cache expiry (caching off when it is 0) and the configured
    retries: ``task_retries`` with exponential back-off from ``task_retry_delay_seconds``."""
    minutes = float(getattr(settings, f"cache_ttl_{source}_minutes"))
    retries: dict[str, Any] = {
        "retries": settings.task_retries,
        "retry_delay_seconds": exponential_backoff(backoff_factor=settings.task_retry_delay_seconds)
        if settings.task_retry_delay_seconds > 0
        else 0,
    }
    if minutes <= 0:
        return read_task.with_options(cache_policy=NO_CACHE, persist_result=False, **retries)
    return read_task.with_options(cache_expiration=timedelta(minutes=minutes), **retries)


async def _collect(pages: Any) -> EventsFetch:
    fetched = EventsFetch()
    seen: set[str] = set()
    async for page in pages:
        for event in page.events:
            if event.id not in seen:
                seen.add(event.id)
                fetched.events.append(event)
        fetched.malformed.extend(page.errors)
    return fetched


@task(name="fetch-market-events", cache_policy=READ_CACHE, **_RETRY)
async def fetch_market_events(
    upstream: Upstream, market_id: int, start: datetime, end: datetime
) -> EventsFetch:
    """Every music event of one Ticketmaster market in a date window."""
    client = upstream.require_ticketmaster()
    return await _collect(client.iter_events(market_id=market_id, start=start, end=end))


@task(name="fetch-artist-events", cache_policy=READ_CACHE, **_RETRY)
async def fetch_artist_events(
    upstream: Upstream, attraction_id: str, start: datetime, end: datetime
) -> EventsFetch:
    """An artist's upcoming Ticketmaster events in a date window."""
    client = upstream.require_ticketmaster()
    return await _collect(client.iter_events(attraction_id=attraction_id, start=start, end=end))


@task(name="fetch-playlist-artists", cache_policy=READ_CACHE, **_RETRY)
async def fetch_playlist_artists(upstream: Upstream, playlist_id: str) -> list[Any]:
    """The artists of a Spotify playlist ([] where this app's tier may not read playlists)."""
    return list(await upstream.require_spotify().playlist_artists(playlist_id))


@task(name="fetch-spotify-artists", cache_policy=READ_CACHE, **_RETRY)
async def fetch_spotify_artists(upstream: Upstream, ids: Sequence[str]) -> list[SpotifyArtist]:
    """Spotify artists by id, batched where the tier allows."""
    return list(await upstream.require_spotify().get_artists(list(ids)))


@task(name="search-spotify-artist", cache_policy=READ_CACHE, **_RETRY)
async def search_spotify_artist(upstream: Upstream, name: str) -> list[SpotifyArtist]:
    return list(await upstream.require_spotify().search_artists(name, limit=10))


@task(name="find-setlistfm-artist", cache_policy=READ_CACHE, **_RETRY)
async def find_setlistfm_artist(
    upstream: Upstream, ticketmaster_id: str | None, name: str
) -> list[SfmArtist]:
    """setlist.fm artists for a Ticketmaster attraction id (exact), else for a name."""
    client = upstream.require_setlistfm()
    if ticketmaster_id:
        found = await client.search_artists(tmid=ticketmaster_id)
        if found:
            return list(found)
    return list(await client.search_artists(name=name))


@task(name="fetch-artist-setlists", cache_policy=READ_CACHE, **_RETRY)
async def fetch_artist_setlists(
    upstream: Upstream,
    mbid: str,
    updated_since: datetime | None,
    max_pages: int,
    known_versions: dict[str, str],
) -> ArtistSetlists:
    """An artist's setlists that are new or edited.

    With a cursor: ``search/setlists?lastUpdated=`` — everything edited since (one request when
    nothing changed). Without one (first sync): newest first, stopping at the first page whose
    setlists are all stored with the same ``versionId``, or after ``max_pages``."""
    client = upstream.require_setlistfm()
    fetched = ArtistSetlists(mbid=mbid)
    page_number = 1
    while True:
        if updated_since is not None:
            page = await client.setlists_updated_since(mbid, updated_since, page=page_number)
        else:
            page = await client.artist_setlists(mbid, page=page_number)
        fetched.requests_pages += 1
        fetched.malformed.extend(page.errors)
        fresh = [s for s in page.setlists if known_versions.get(s.id) != s.version_id]
        fetched.setlists.extend(fresh)
        if page.is_last:
            break
        if updated_since is None and (not fresh or page_number >= max_pages):
            break
        page_number += 1
    return fetched
