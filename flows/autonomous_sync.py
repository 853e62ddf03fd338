"""``autonomous-sync``: discover new artists (Ticketmaster markets, Spotify playlists) and sync
the upcoming shows of the artists most in need.

Modes: ``discovery``, ``sync``, ``full`` (both). Deployed every 4 hours (discovery) and every
2 hours (sync).

Phases, in order (each a function below; Prefect task runs in brackets):

1. ``discover_artists`` (``discovery``, ``full``): every music event of the discovery markets in
   the discovery window [``sweep-markets``, cached] and the artists of the configured Spotify
   playlists [``read-playlists``, ``read-spotify-artists``, cached]; attractions linked to the
   artists we know; up to ``limit`` new artists imported, ranked by evidence (events, markets,
   popularity); the events of known headliners stored.
2. ``sync_artist_shows`` (``sync``, ``full``): the artists most in need (never synced, due after
   a failure, then the stalest), each one's upcoming Ticketmaster shows stored with its success
   mark, the batch's artists in one transaction (each alone if that fails)
   [``sync-artist-batch``, ``SYNC_BATCH_SIZE`` artists each].

What is retried, cached and limited (``tasks/policy.py``; defaults shown, a test keeps this
equal to the code):

Spotify:

| | |
|---|---|
| request retries | 4× on 429, 5xx, network, back-off 0.5 s; `Retry-After` ≤ 60 s; 401: re-auth |
| cached by Prefect | `read-spotify-artists`, `read-playlists`: 6 h |
| rate limits | 180/min |
| stops | quota spent or key refused: ends it for the run, artists untouched; 403: degrades |

Ticketmaster:

| | |
|---|---|
| request retries | 4× on 429, 5xx, network, back-off 0.5 s; `Retry-After` ≤ 60 s |
| cached by Prefect | `sweep-markets`: 30 min |
| rate limits | 5/s, 5,000/day |
| stops | quota spent or key refused: ends it for the run, artists untouched |

No Prefect task retries a read: the client retried each request already. A failed
artist keeps its data and its old sync time, gets an error row and a retry time
(back-off from 30 min, doubling, at most 2 days); a later run takes it again.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from clients.ticketmaster import TmEvent
from flows._artist_sync import (
    SyncRun,
    day_window,
    open_sync_run,
    sync_in_batches,
)
from flows._runs import RunOutcome, job_flow
from flows.params import AutonomousMode, AutonomousSyncParams, Limit
from models.artists import ArtistCandidate, group_candidates
from models.ledger import JOB_AUTONOMOUS_SYNC
from models.sync_state import ArtistToSync, claim_artists_for_sync
from settings import Settings, get_settings
from tasks.mapping import attraction_candidate, spotify_candidate
from tasks.store import ArtistSync, import_artists, store_events
from tasks.upstream import (
    cached,
    read_artist_events,
    read_playlists,
    read_spotify_artists_task,
    sweep_markets,
)

__all__ = ["AutonomousSyncParams", "apis_for", "autonomous_sync"]


def apis_for(params: AutonomousSyncParams, settings: Settings) -> list[str]:
    """Ticketmaster always; Spotify only when discovery reads configured playlists."""
    apis = ["ticketmaster"]
    if params.mode in ("discovery", "full") and settings.discovery_playlists:
        apis.append("spotify")
    return apis


@job_flow("autonomous-sync", timeout_hours=2)
async def autonomous_sync(
    mode: AutonomousMode = "sync",
    limit: Limit = 25,
    dry_run: bool = False,
) -> RunOutcome:
    """Discover artists and/or sync the upcoming shows of the artists most in need."""
    params = AutonomousSyncParams(mode=mode, limit=limit, dry_run=dry_run)
    apis = apis_for(params, get_settings())
    async with open_sync_run(job=JOB_AUTONOMOUS_SYNC, params=params, apis=apis) as sync:
        if mode in ("discovery", "full"):
            await discover_artists(sync, limit=limit)
        if mode in ("sync", "full"):
            await sync_artist_shows(sync, limit=limit)
        return await sync.outcome()


@dataclass
class Evidence:
    """Why a discovered artist deserves a row: the events it headlines and the markets it
    plays. Ranks the new artists (then by popularity, then name) when more than ``limit``."""

    events: Counter[str] = field(default_factory=Counter)
    markets: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def rank(self, candidate: ArtistCandidate) -> tuple[int, int, int, str]:
        tm_id = candidate.ticketmaster_id or ""
        return (
            -self.events[tm_id],
            -len(self.markets.get(tm_id, ())),
            -(candidate.popularity or 0),
            candidate.name.casefold(),
        )


async def discover_artists(sync: SyncRun, *, limit: int) -> None:
    """Find artists playing the major markets (and in the configured Spotify playlists), link
    them to the ones we know, and import up to ``limit`` new ones ranked by evidence."""
    run, settings = sync.run, sync.settings
    events, evidence = await sweep_discovery_markets(sync)
    candidates = {("tm", a.id): attraction_candidate(a) for e in events for a in e.attractions}
    if settings.discovery_playlists and sync.upstream.spotify is not None:
        candidates.update(await playlist_candidates(sync))

    found = list(candidates.values())
    # One artist found by two sources (a Ticketmaster attraction and a playlist) counts once.
    distinct_artists, _ = group_candidates(found)
    run.count("artists_found", len(distinct_artists))
    known = await import_artists(sync.writer, found, create=False, now=sync.now)
    run.count("artists_linked", known.linked)
    run.count("artists_merged", known.merged)
    unknown = [c for c, artist_id in zip(found, known.artist_ids, strict=True) if not artist_id]
    new = sorted(unknown, key=evidence.rank)[:limit]
    added = await import_artists(sync.writer, new, create=True, now=sync.now)
    run.count("artists_added", added.added)
    run.changes.extend({"artist": c.name, "change": "added"} for c in new)
    run.summary_lines.append(
        f"Discovery: {len(found)} artists found in {len(settings.discovery_markets)} markets"
        f"{' and playlists' if settings.discovery_playlists else ''}; {added.added} added "
        f"(limit {limit}), {known.linked} linked to known artists."
    )
    # The events of known and newly added headliners are already fetched: store their shows.
    stored = await store_events(sync.writer, events, today=sync.now.date(), now=sync.now)
    for key, value in stored.items():
        run.count(key, value)


async def sweep_discovery_markets(sync: SyncRun) -> tuple[list[TmEvent], Evidence]:
    """Every event of the discovery markets in the window (one cached task), each failed market
    and malformed record recorded; the evidence each headliner has."""
    run, settings = sync.run, sync.settings
    start, end = day_window(sync.now, settings.discovery_window_days)
    sweep = await cached(sweep_markets, settings, "ticketmaster")(
        sync.upstream, list(settings.discovery_markets), start, end, settings.sync_concurrency
    )
    for market_id, error in sorted(sweep.failed_markets.items()):
        await run.error(
            source="ticketmaster", key=f"market:{market_id}", entity="market", error=error
        )
    run.count("markets_scanned", len(sweep.events_by_market))
    run.count("markets_failed", len(sweep.failed_markets))
    run.count("events_seen", sum(len(ids) for ids in sweep.events_by_market.values()))
    evidence = Evidence()
    headliners = {e.id: e.attractions[0].id for e in sweep.events if e.attractions}
    for market_id, event_ids in sweep.events_by_market.items():
        for event_id in event_ids:
            if event_id in headliners:
                evidence.events[headliners[event_id]] += 1
                evidence.markets[headliners[event_id]].add(market_id)
    return sweep.events, evidence


async def playlist_candidates(sync: SyncRun) -> dict[tuple[str, str], ArtistCandidate]:
    """The artists of the configured Spotify playlists, with their details (popularity among
    them) where the app's tier allows."""
    run, settings, spotify = sync.run, sync.settings, sync.upstream.require_spotify()
    read = await cached(read_playlists, settings, "spotify")(
        sync.upstream, list(settings.discovery_playlists)
    )
    run.summary_lines.extend(
        f"Spotify playlist {playlist_id} unavailable: {reason}"
        for playlist_id, reason in read.unavailable.items()
    )
    if not read.refs:
        run.summary_lines.extend(spotify.degradation_notes())
        return {}
    try:
        details = await cached(read_spotify_artists_task, settings, "spotify")(
            sync.upstream, sorted(read.refs)
        )
    except Exception as exc:
        run.summary_lines.append(f"Spotify artist details unavailable: {run.redact(str(exc))}")
        details = []
    detailed = {a.id: a for a in details}
    candidates: dict[tuple[str, str], ArtistCandidate] = {}
    for spotify_id, name in read.refs.items():
        if spotify_id in detailed:
            candidates[("spotify", spotify_id)] = spotify_candidate(detailed[spotify_id])
        else:
            candidates[("spotify", spotify_id)] = ArtistCandidate(name=name, spotify_id=spotify_id)
    run.count("playlist_artists_seen", len(read.refs))
    run.summary_lines.extend(spotify.degradation_notes())
    return candidates


async def sync_artist_shows(sync: SyncRun, *, limit: int) -> None:
    """The upcoming Ticketmaster shows of the artists most in need (never synced, due after a
    failure, then the stalest), stored with their success marks a batch at a time."""
    settings = sync.settings
    async with sync.writer.transaction() as conn:  # claimed for this run, committed first
        chosen = await claim_artists_for_sync(
            conn,
            run_id=sync.run.run_id,
            now=sync.now,
            lease=sync.claim_lease,
            limit=limit,
            stale_after_hours=settings.sync_stale_after_hours,
            source_column="ticketmaster_synced_at",
            require=("ticketmaster_id",),
        )
    sync.run.count("artists_selected", len(chosen))
    start, end = day_window(sync.now, settings.sync_show_window_days)
    next_sync = sync.now + timedelta(hours=settings.sync_stale_after_hours)

    async def sync_artist(artist: ArtistToSync) -> ArtistSync:
        attraction_id = artist.ticketmaster_id or ""  # selected with require=("ticketmaster_id",)
        fetched = await read_artist_events(sync.upstream, attraction_id, start, end)
        return ArtistSync(
            artist_id=artist.id,
            identity=None,
            events=fetched.events,
            setlists=None,
            sources=["ticketmaster"],
            next_sync_at=next_sync,
            listing_window=(start.date(), end.date()),
            events_complete=fetched.complete,
        )

    await sync_in_batches(sync, chosen, sync_artist, label="artist sync")
    counts = sync.run.counts
    sync.run.summary_lines.append(
        f"Artist sync: {counts['artists_synced']} of {len(chosen)} artists synced, "
        f"{counts['artists_failed']} failed (retried later), "
        f"{counts['artists_skipped']} left for the next run."
    )
