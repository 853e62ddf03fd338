"""``autonomous-sync``: discover new artists (Ticketmaster markets, Spotify playlists) and sync
the upcoming shows of the artists most in need.

Modes: ``discovery``, ``sync``, ``full`` (both). Deployed every 4 hours (discovery) and every
2 hours (sync).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Annotated, Literal

from prefect import flow
from pydantic import BaseModel, ConfigDict, Field

from clients.errors import EndpointUnavailable
from clients.ticketmaster import TmEvent
from flows._artist_sync import day_window, for_each_artist, record_malformed
from flows._runs import RunTracker, tracked_run
from models.artists import ArtistCandidate, group_candidates
from models.ledger import JOB_AUTONOMOUS_SYNC
from models.sync_state import ArtistToSync, select_artists_for_sync
from models.types import utcnow
from settings import Settings, get_settings
from tasks.deps import Upstream, check_credentials, open_upstream, prepare_limiter
from tasks.mapping import attraction_candidate, spotify_candidate
from tasks.store import Writer, import_artists, store_artist_sync, store_events
from tasks.upstream import (
    fetch_artist_events,
    fetch_market_events,
    fetch_playlist_artists,
    fetch_spotify_artists,
    with_cache,
)

__all__ = ["AutonomousSyncParams", "autonomous_sync"]

MAX_LIMIT = 10_000
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]


class AutonomousSyncParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["discovery", "sync", "full"] = "sync"
    limit: Limit = 25
    dry_run: bool = False


def _apis(params: AutonomousSyncParams, settings: Settings) -> list[str]:
    apis = ["ticketmaster"]
    if params.mode in ("discovery", "full") and settings.discovery_playlists:
        apis.append("spotify")
    return apis


@flow(name="autonomous-sync", validate_parameters=True)
async def autonomous_sync(
    mode: Literal["discovery", "sync", "full"] = "sync",
    limit: Limit = 25,
    dry_run: bool = False,
) -> dict[str, int]:
    """Discover artists and/or sync the upcoming shows of the artists most in need."""
    params = AutonomousSyncParams(mode=mode, limit=limit, dry_run=dry_run)
    settings = get_settings()
    apis = _apis(params, settings)
    check_credentials(settings, apis)
    limiter = await prepare_limiter(settings, apis)
    async with (
        tracked_run(job=JOB_AUTONOMOUS_SYNC, mode=mode, parameters=params, dry_run=dry_run) as run,
        open_upstream(settings, apis=apis, limiter=limiter) as upstream,
        Writer(run.engine, dry_run=dry_run).dry_run_scope() as writer,
    ):
        now = utcnow()
        if mode in ("discovery", "full"):
            await discover_artists(run, upstream, writer, limit=limit, now=now)
        if mode in ("sync", "full"):
            await sync_artist_shows(run, upstream, writer, limit=limit, now=now)
        for key, value in upstream.request_counts().items():
            run.count(key, value)
        return dict(run.counts)


async def discover_artists(
    run: RunTracker, upstream: Upstream, writer: Writer, *, limit: int, now: datetime
) -> None:
    """Find artists playing the major markets (and in the configured Spotify playlists), link
    them to the ones we know, and import up to ``limit`` new ones ranked by evidence."""
    settings = run.settings
    start, end = day_window(now, settings.discovery_window_days)
    fetch = with_cache(fetch_market_events, settings, "ticketmaster")
    semaphore = asyncio.Semaphore(settings.sync_concurrency)

    async def market(market_id: int) -> None:
        async with semaphore:
            try:
                fetched = await fetch(upstream, market_id, start, end)
            except Exception as exc:
                await run.error(
                    source="ticketmaster",
                    key=f"market:{market_id}",
                    entity="market",
                    error=f"{type(exc).__name__}: {exc}",
                )
                return
        run.count("markets_scanned")
        run.count("events_seen", len(fetched.events))
        await record_malformed(run, fetched.malformed)
        events.extend(fetched.events)
        for event in fetched.events:
            for attraction in event.attractions[:1]:
                evidence[attraction.id]["events"] += 1
                markets[attraction.id].add(market_id)

    events: list[TmEvent] = []
    evidence: dict[str, dict[str, int]] = defaultdict(lambda: {"events": 0})
    markets: dict[str, set[int]] = defaultdict(set)
    await asyncio.gather(*(market(m) for m in settings.discovery_markets))
    unique_events = list({e.id: e for e in events}.values())

    candidates: dict[tuple[str, str], ArtistCandidate] = {}
    popularity: dict[tuple[str, str], int] = {}
    for event in unique_events:
        for attraction in event.attractions:
            candidates[("tm", attraction.id)] = attraction_candidate(attraction)
    if settings.discovery_playlists and upstream.spotify is not None:
        await _playlist_candidates(run, upstream, candidates, popularity)

    ordered = list(candidates.items())
    # One artist found by two sources (a Ticketmaster attraction and a playlist) counts once.
    run.count("artists_found", len(group_candidates([c for _, c in ordered])[0]))
    known = await import_artists(writer, [c for _, c in ordered], create=False, now=now)
    run.count("artists_linked", known.linked)
    run.count("artists_merged", known.merged)

    def rank(item: tuple[tuple[str, str], ArtistCandidate]) -> tuple[int, int, int, str]:
        key, candidate = item
        tm_id = candidate.ticketmaster_id or ""
        return (
            -evidence[tm_id]["events"] if tm_id in evidence else 0,
            -len(markets.get(tm_id, ())),
            -(candidate.popularity or popularity.get(key, 0)),
            candidate.name.casefold(),
        )

    new = sorted(
        (item for item, artist_id in zip(ordered, known.artist_ids, strict=True) if not artist_id),
        key=rank,
    )[:limit]
    added = await import_artists(writer, [c for _, c in new], create=True, now=now)
    run.count("artists_added", added.added)
    run.summary_lines.append(
        f"Discovery: {len(ordered)} artists found in {len(settings.discovery_markets)} markets"
        f"{' and playlists' if settings.discovery_playlists else ''}; {added.added} added "
        f"(limit {limit}), {known.linked} linked to known artists."
    )
    if new:
        run.changes.extend({"artist": c.name, "change": "added"} for _, c in new)
    # The events of known and newly added headliners are already fetched: store their shows.
    stored = await store_events(writer, unique_events, today=now.date(), now=now)
    for key, value in stored.items():
        run.count(key, value)


async def _playlist_candidates(
    run: RunTracker,
    upstream: Upstream,
    candidates: dict[tuple[str, str], ArtistCandidate],
    popularity: dict[tuple[str, str], int],
) -> None:
    fetch = with_cache(fetch_playlist_artists, run.settings, "spotify")
    refs: dict[str, str] = {}
    for playlist_id in run.settings.discovery_playlists:
        try:
            for ref in await fetch(upstream, playlist_id):
                refs.setdefault(ref.id, ref.name)
        except EndpointUnavailable as exc:
            run.summary_lines.append(f"Spotify playlist {playlist_id} unavailable: {exc}")
    if not refs:
        notes = upstream.require_spotify().degradation_notes()
        run.summary_lines.extend(notes)
        return
    try:
        details = await with_cache(fetch_spotify_artists, run.settings, "spotify")(
            upstream, sorted(refs)
        )
    except Exception as exc:
        run.summary_lines.append(f"Spotify artist details unavailable: {run.redact(str(exc))}")
        details = []
    detailed = {a.id: a for a in details}
    for spotify_id, name in refs.items():
        key = ("spotify", spotify_id)
        if spotify_id in detailed:
            candidates[key] = spotify_candidate(detailed[spotify_id])
            popularity[key] = detailed[spotify_id].popularity or 0
        else:
            candidates[key] = ArtistCandidate(name=name, spotify_id=spotify_id)
    run.count("playlist_artists_seen", len(refs))
    run.summary_lines.extend(upstream.require_spotify().degradation_notes())


async def sync_artist_shows(
    run: RunTracker, upstream: Upstream, writer: Writer, *, limit: int, now: datetime
) -> None:
    """The upcoming Ticketmaster shows of the artists most in need (never synced, due after a
    failure, then the stalest), each artist in one transaction with its success mark."""
    settings = run.settings
    async with writer.read() as conn:
        chosen = await select_artists_for_sync(
            conn,
            now=now,
            limit=limit,
            stale_after_hours=settings.sync_stale_after_hours,
            source_column="ticketmaster_synced_at",
            require=("ticketmaster_id",),
        )
    run.count("artists_selected", len(chosen))
    start, end = day_window(now, settings.sync_show_window_days)
    fetch = with_cache(fetch_artist_events, settings, "ticketmaster")
    next_sync = now + timedelta(hours=settings.sync_stale_after_hours)

    async def job(artist: ArtistToSync) -> dict[str, int]:
        assert artist.ticketmaster_id is not None
        fetched = await fetch(upstream, artist.ticketmaster_id, start, end)
        await record_malformed(run, fetched.malformed)
        return await store_artist_sync(
            writer,
            artist_id=artist.id,
            identity=None,
            events=fetched.events,
            setlists=None,
            sources=["ticketmaster"],
            today=now.date(),
            now=now,
            next_sync_at=next_sync,
        )

    await for_each_artist(run, writer, chosen, job, now=now, label="artist sync")
    run.summary_lines.append(
        f"Artist sync: {run.counts['artists_synced']} of {len(chosen)} artists synced, "
        f"{run.counts['artists_failed']} failed (retried later)."
    )
