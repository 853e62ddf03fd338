"""Upstream reads: plain async functions that make the requests, and the few coarse Prefect
tasks worth caching for the operator (a market sweep, a batch of Spotify artists, playlists).

Prefect sits off the per-request path: a task run wraps a whole sweep or batch, never one
request. Retries of a request belong to the client's transport; a failed artist is retried by
a later run; no Prefect task retries a read (see ``tasks/policy.py``). Cached reads are keyed by
their inputs (the client bundle excluded), the task's source and the upstream's base URLs, and
expire after the source's ``CACHE_TTL_*_MINUTES``. Writes are never cached (``tasks/store.py``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from prefect import Task, task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE, CachePolicy
from prefect.utilities.hashing import hash_objects

from clients.errors import EndpointUnavailable
from clients.setlistfm import SetlistPage, SfmArtist, SfmSetlist
from clients.spotify import SpotifyArtist, SpotifyArtistRef
from clients.ticketmaster import (
    MAX_PAGE_SIZE,
    EventPage,
    TmAttraction,
    TmEvent,
    reachable_elements,
)
from models.identity import normalize_name
from settings import Settings
from tasks.deps import Upstream

__all__ = [
    "ArtistSetlists",
    "EventsFetch",
    "MarketSweep",
    "PlaylistRead",
    "cached",
    "find_setlistfm_artist",
    "read_artist_events",
    "read_artist_setlists",
    "read_history_page",
    "read_playlists",
    "read_spotify_artists",
    "read_spotify_artists_task",
    "search_attractions",
    "search_spotify_artist",
    "sweep_markets",
]

CachedSource = Literal["spotify", "ticketmaster"]


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


def cached(read_task: Task[Any, Any], settings: Settings, source: CachedSource) -> Task[Any, Any]:
    """The task with this source's cache expiry (``CACHE_TTL_<SOURCE>_MINUTES``; 0 turns caching
    off). No Prefect retries: the client already retried each request."""
    minutes = float(getattr(settings, f"cache_ttl_{source}_minutes"))
    if minutes <= 0:
        return read_task.with_options(cache_policy=NO_CACHE, persist_result=False)
    return read_task.with_options(cache_expiration=timedelta(minutes=minutes))


# --- plain reads (no Prefect): one call, the requests it takes --------------------------------


@dataclass
class EventsFetch:
    """Ticketmaster events of one query, each once (the records that failed validation stay
    with the client: ``Upstream.take_malformed``).

    ``complete``: every event of the query was read. False when a page contradicted itself,
    held a record that failed validation, ended at deep paging, left events out of reach (a
    window too big to split), or when a window's paging stopped before its last page: only a
    complete read may tell that an event is no longer listed."""

    events: list[TmEvent] = field(default_factory=list)
    complete: bool = True


async def _collect(pages: AsyncIterable[EventPage]) -> EventsFetch:
    fetched = EventsFetch()
    seen: set[str] = set()
    previous: EventPage | None = None
    async for page in pages:
        if previous is not None and not previous.is_last and page.page != previous.page + 1:
            fetched.complete = False  # the previous window stopped short of its last page
        if page.page == 0 and page.total_elements > reachable_elements(MAX_PAGE_SIZE):
            fetched.complete = False  # more events than deep paging reaches: some out of reach
        if not page.trusted or page.deep_paging_end or page.errors:
            fetched.complete = False
        previous = page
        for event in page.events:
            if event.id not in seen:
                seen.add(event.id)
                fetched.events.append(event)
    if previous is not None and not previous.is_last:
        fetched.complete = False
    return fetched


async def read_artist_events(
    upstream: Upstream, attraction_id: str, start: datetime, end: datetime
) -> EventsFetch:
    """An artist's upcoming Ticketmaster events in a date window."""
    client = upstream.require_ticketmaster()
    return await _collect(client.iter_events(attraction_id=attraction_id, start=start, end=end))


async def read_spotify_artists(upstream: Upstream, ids: Sequence[str]) -> list[SpotifyArtist]:
    """Spotify artists by id, batched where the tier allows."""
    return list(await upstream.require_spotify().get_artists(list(ids)))


_AMPERSAND = re.compile(r"\s+&\s+")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def other_connector(name: str) -> str | None:
    """``name`` with its connector spelled the other way ("X & The Y" <-> "X and The Y"), or
    None when it has neither. Ticketmaster writes "and" for some artists whose name other
    sources write with "&"; the two spellings are one normalised name."""
    if _AMPERSAND.search(name):
        return _AMPERSAND.sub(" and ", name)
    if _AND.search(name):
        return _AND.sub(" & ", name)
    return None


async def search_spotify_artist(upstream: Upstream, name: str) -> list[SpotifyArtist]:
    """Spotify's artist search for ``name`` (10 results: the development tier's maximum). When
    no result has ``name``'s normalised name and the name has a connector ("&" or "and"), once
    more with the connector spelled the other way: a search matches words, and "and" is not a
    word of "X & The Y"."""
    client = upstream.require_spotify()
    found = list(await client.search_artists(name, limit=10))
    other = other_connector(name)
    wanted = normalize_name(name)
    if other is None or any(normalize_name(a.name) == wanted for a in found):
        return found
    seen = {a.id for a in found}
    more = await client.search_artists(other, limit=10)
    return found + [a for a in more if a.id not in seen]


async def search_attractions(upstream: Upstream, name: str) -> list[TmAttraction]:
    """Ticketmaster's music attractions for ``name`` (one request, the first 20)."""
    return list(await upstream.require_ticketmaster().search_attractions(name))


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


@dataclass
class ArtistSetlists:
    """``complete``: a read from page 1 (no cursor) reached the history's last page."""

    mbid: str | None
    setlists: list[SfmSetlist] = field(default_factory=list)
    requests_pages: int = 0
    complete: bool = False


async def read_artist_setlists(
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
        fresh = [s for s in page.setlists if known_versions.get(s.id) != s.version_id]
        fetched.setlists.extend(fresh)
        if page.is_last:
            fetched.complete = updated_since is None and page.trusted
            break
        if updated_since is None and (not fresh or page_number >= max_pages):
            break
        page_number += 1
    return fetched


async def read_history_page(upstream: Upstream, mbid: str, page: int) -> SetlistPage:
    """One page of an artist's setlists, newest first (the history backfill's read)."""
    return await upstream.require_setlistfm().artist_setlists(mbid, page=page)


# --- coarse, cached tasks -----------------------------------------------------------------------


@dataclass
class MarketSweep:
    """What one sweep of the discovery markets returned: each event once, the markets read, and
    the markets that failed (with their redacted error) so the run can record them."""

    events: list[TmEvent] = field(default_factory=list)
    events_by_market: dict[int, list[str]] = field(default_factory=dict)
    failed_markets: dict[int, str] = field(default_factory=dict)
    #: The markets read to their end (every page, nothing beyond deep paging): an event of
    #: theirs that is missing is missing from Ticketmaster's listing.
    complete_markets: set[int] = field(default_factory=set)


@task(name="sweep-markets", cache_policy=READ_CACHE)
async def sweep_markets(
    upstream: Upstream,
    market_ids: Sequence[int],
    start: datetime,
    end: datetime,
    concurrency: int,
) -> MarketSweep:
    """Every music event of the discovery markets in a date window: one Prefect task for the
    whole sweep (cached, so a re-run after a crash reads nothing again). A market that fails is
    reported in ``failed_markets``; the others go on."""
    client = upstream.require_ticketmaster()
    semaphore = asyncio.Semaphore(concurrency)
    sweep = MarketSweep()

    async def market(market_id: int) -> None:
        async with semaphore:
            try:
                fetched = await _collect(
                    client.iter_events(market_id=market_id, start=start, end=end)
                )
            except Exception as exc:
                sweep.failed_markets[market_id] = upstream.redact(f"{type(exc).__name__}: {exc}")
                return
        sweep.events_by_market[market_id] = [event.id for event in fetched.events]
        sweep.events.extend(fetched.events)
        if fetched.complete:
            sweep.complete_markets.add(market_id)

    await asyncio.gather(*(market(m) for m in market_ids))
    sweep.events = list({event.id: event for event in sweep.events}.values())
    return sweep


@dataclass
class PlaylistRead:
    """The artists of the configured playlists (first name seen wins) and the playlists the
    app's tier may not read."""

    refs: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)


@task(name="read-playlists", cache_policy=READ_CACHE)
async def read_playlists(upstream: Upstream, playlist_ids: Sequence[str]) -> PlaylistRead:
    """The artists of the configured Spotify playlists ([] where this app's tier may not read
    playlists: development-mode apps)."""
    client = upstream.require_spotify()
    read = PlaylistRead()
    for playlist_id in playlist_ids:
        try:
            refs: list[SpotifyArtistRef] = list(await client.playlist_artists(playlist_id))
        except EndpointUnavailable as exc:
            read.unavailable[playlist_id] = str(exc)
            continue
        for ref in refs:
            read.refs.setdefault(ref.id, ref.name)
    return read


@task(name="read-spotify-artists", cache_policy=READ_CACHE)
async def read_spotify_artists_task(upstream: Upstream, ids: Sequence[str]) -> list[SpotifyArtist]:
    """Spotify artists by id in one task: batched requests of up to 50 where the tier allows."""
    return await read_spotify_artists(upstream, ids)
