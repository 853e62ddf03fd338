"""``autonomous-sync``: discover new artists (Ticketmaster markets, Spotify playlists), sync
the upcoming shows of the artists most in need, and watch for the setlists of shows just played.

Modes: ``discovery``, ``sync``, ``full`` (both). Deployed every 4 hours (discovery) and every
2 hours (sync).

Phases, in order (each a function below; Prefect task runs in brackets). With the daily
request plan (``REQUEST_PLAN=planned``, ``flows/_plan.py``) each run is first granted its share
of what is left of the day's Ticketmaster and setlist.fm quotas; each phase takes what the grant
covers, ``limit`` being only a ceiling:

1. ``discover_artists`` (``discovery``, ``full``): every music event of the discovery markets in
   the discovery window [``sweep-markets``, cached] and the artists of the configured Spotify
   playlists [``read-playlists``, ``read-spotify-artists``, cached]; attractions linked to the
   artists we know; up to ``limit`` new artists imported: first those whose every listed event
   is dated today or tomorrow (no later sweep would see them), then ranked by evidence (events,
   markets, popularity); the events of known headliners stored. With the plan,
   ``confirm_vanished_shows``: the stored shows a complete market's sweep no longer lists are
   looked up by event id (delisted when Ticketmaster no longer has them).
2. ``sync_artist_shows`` (``sync``, ``full``): the artists most in need (never synced, due after
   a failure, then the stalest; with the plan, due 21 h after their last read), each one's
   upcoming Ticketmaster shows stored with its success mark, the batch's artists in one
   transaction (each alone if that fails) [``sync-artist-batch``, ``SYNC_BATCH_SIZE`` artists
   each].
3. ``watch_setlists`` (``sync``, ``full``; with a setlist.fm key): with the plan, first the
   artists of ours in setlist.fm's news (``read_setlist_news``: every setlist published or
   edited in the last 26 h); then the artists awaiting the
   setlist of a show they just played (with the plan: 3 h after it started, then every 12 h
   for 3 days; fixed: a show dated in the last ``SETLIST_WATCH_DAYS`` days, read again after
   ``SETLIST_WATCH_RECHECK_HOURS``, at most ``SETLIST_WATCH_PER_RUN``): their new setlists read
   from their incremental cursor and stored, only their setlist.fm cursor moved.
4. With the plan: ``backfill_history`` on the rest of the run's setlist.fm grant (artists never
   read included, from page 1), then ``rotate_spotify``: Spotify metadata of the artists among
   the top ``SPOTIFY_TRENDING_DAILY`` of the latest daily trending ranking read 20 h ago or
   more, then of the artists read 6 days ago or more (never read first), batched where the
   app's tier allows.

What is retried, cached and limited (``tasks/policy.py``; defaults shown, a test keeps this
equal to the code):

Spotify:

| | |
|---|---|
| request retries | 4× on 429, 5xx, network, back-off 0.5 s; `Retry-After` ≤ 60 s; 401: re-auth |
| cached by Prefect | `read-spotify-artists`, `read-playlists`: 6 h |
| rate limits | 180/min |
| stops | quota, key or plan share spent: API ends for the run, artists untouched; 403: degrades |

Ticketmaster:

| | |
|---|---|
| request retries | 4× on 429, 5xx, network, back-off 0.5 s; `Retry-After` ≤ 60 s |
| cached by Prefect | `sweep-markets`: 30 min |
| rate limits | 5/s, 5,000/day; daily plan: a share of 90 % of the day |
| stops | quota, key or plan share spent: API ends for the run, artists untouched |

setlist.fm:

| | |
|---|---|
| request retries | 4× on 429, 5xx, network, back-off 0.5 s; `Retry-After` ≤ 60 s |
| cached by Prefect | nothing (read incrementally from each artist's cursor) |
| rate limits | 2/s, 1,440/day; daily plan: a share of 90 % of the day: watch, then backfill |
| stops | quota, key or plan share spent: API ends for the run, artists untouched |

No Prefect task retries a read: the client retried each request already. A failed
artist keeps its data and its old sync time, gets an error row and a retry time
(back-off from 30 min, doubling, at most 2 days); a later run takes it again.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from clients.errors import AuthError, QuotaExhausted
from clients.ticketmaster import TmEvent
from flows._artist_sync import (
    SyncRun,
    backfill_history,
    day_window,
    open_sync_run,
    read_new_setlists,
    record_setlistfm_failure,
    stored_listings,
    sync_in_batches,
    with_moved_events,
)
from flows._runs import RunOutcome, job_flow
from flows.master_sync import look_up_shows, refresh_spotify
from flows.params import AutonomousMode, AutonomousSyncParams, Limit
from models.artists import ArtistCandidate, group_candidates
from models.catalog import artists_with_news, listed_shows_in_cities, setlist_versions_of
from models.ledger import JOB_AUTONOMOUS_SYNC
from models.sync_state import (
    ArtistToSync,
    claim_artists_for_sync,
    claim_awaiting_setlists,
    claim_by_mbid,
    claim_setlists_after_shows,
    claim_spotify_rotation,
    claim_spotify_trending,
    mark_spotify_read,
)
from settings import Settings, get_settings
from tasks.deps import has_credentials
from tasks.mapping import attraction_candidate, spotify_candidate
from tasks.store import ArtistSync, import_artists, store_events, store_setlist_check
from tasks.upstream import (
    MarketSweep,
    cached,
    read_artist_events,
    read_playlists,
    read_spotify_artists_task,
    sweep_markets,
)

__all__ = ["AutonomousSyncParams", "apis_for", "autonomous_sync"]

#: The daily plan's setlist watch: the first read this long after a show started, then again
#: every ``WATCH_RECHECK``, for ``WATCH_DAYS`` days after it.
WATCH_FIRST_AFTER = timedelta(hours=3)
WATCH_RECHECK = timedelta(hours=12)
WATCH_DAYS = 3
#: The daily plan's setlist news: each planned watch first reads setlist.fm's setlists published
#: or edited in the last ``NEWS_LOOKBACK`` (every artist's, newest edits first), at most
#: ``NEWS_PAGES`` pages, and watches the artists of ours among them first.
NEWS_LOOKBACK = timedelta(hours=26)
NEWS_PAGES = 5
#: The daily plan reads every artist's Spotify data at least this often.
SPOTIFY_ROTATION = timedelta(days=6)
#: An artist of the daily trending top is read again this long after its last read (a run every
#: 2 h reaches it each day).
SPOTIFY_TRENDING_DAILY_AFTER = timedelta(hours=20)
#: The daily plan reads an artist's Ticketmaster listing again after this many hours (at most
#: ``SYNC_STALE_AFTER_HOURS``): with a sync run every 2 h, within 23 h of the last read, so a
#: change the market sweeps cannot see (an event beyond their window, outside their markets;
#: the sandbox announces events 21 to 300 days ahead) waits less than a day.
LISTING_STALE_HOURS = 21.0
#: Vanished shows a planned discovery run looks up at most (its Ticketmaster grant first).
VANISHED_CHECKS_PER_RUN = 500
#: History pages a planned sync run may read at most (its setlist.fm grant decides first).
MAX_PAGES = 50_000


def apis_for(params: AutonomousSyncParams, settings: Settings) -> list[str]:
    """Ticketmaster always; Spotify when discovery reads configured playlists, or when the sync
    keeps Spotify metadata fresh (``sync``/``full`` with the daily plan and Spotify
    credentials); setlist.fm when the sync watches for new setlists (``sync``/``full`` with a
    setlist.fm key and ``SETLIST_WATCH_PER_RUN`` above 0)."""
    apis = ["ticketmaster"]
    syncing = params.mode in ("sync", "full")
    if (params.mode in ("discovery", "full") and settings.discovery_playlists) or (
        syncing and settings.request_plan == "planned" and has_credentials(settings, "spotify")
    ):
        apis.append("spotify")
    if syncing and _watching(settings):
        apis.append("setlistfm")
    return apis


def _watching(settings: Settings) -> bool:
    key = settings.setlistfm_api_key
    return settings.setlist_watch_per_run > 0 and key is not None and bool(key.get_secret_value())


@job_flow("autonomous-sync", timeout_hours=2)
async def autonomous_sync(
    mode: AutonomousMode = "sync",
    limit: Limit = 1000,
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
            if "setlistfm" in apis:
                stopped = await watch_setlists(sync, limit=limit)
                if sync.plan.planned and sync.settings.setlist_history_pages_per_run > 0:
                    pages = sync.plan.cap("setlistfm", MAX_PAGES)  # the rest of the grant
                    await backfill_history(sync, stopped=stopped, pages=pages, first_reads=True)
            if sync.plan.planned and "spotify" in apis:
                await rotate_spotify(sync, limit=limit)
        return await sync.outcome()


@dataclass
class Evidence:
    """Why a discovered artist deserves a row: the events it headlines and the markets it
    plays. Ranks the new artists when more than ``limit``: first those about to leave the
    listing (every event they appear in is dated today or tomorrow, ``last_day <= soon``: a
    later sweep would not see them again, and an artist left for the next run was never
    imported at all), then by events, markets, popularity, name."""

    events: Counter[str] = field(default_factory=Counter)
    markets: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    #: Per attraction (headliner or supporting act): the date of its last listed event.
    last_day: dict[str, date] = field(default_factory=dict)
    #: The last day that counts as about to leave (tomorrow); ``None``: nobody is.
    soon: date | None = None

    def leaving(self, tm_id: str) -> bool:
        last = self.last_day.get(tm_id)
        return self.soon is not None and last is not None and last <= self.soon

    def rank(self, candidate: ArtistCandidate) -> tuple[int, int, int, int, str]:
        tm_id = candidate.ticketmaster_id or ""
        return (
            0 if self.leaving(tm_id) else 1,
            -self.events[tm_id],
            -len(self.markets.get(tm_id, ())),
            -(candidate.popularity or 0),
            candidate.name.casefold(),
        )


async def discover_artists(sync: SyncRun, *, limit: int) -> None:
    """Find artists playing the major markets (and in the configured Spotify playlists), link
    them to the ones we know, and import up to ``limit`` new ones ranked by evidence."""
    run, settings = sync.run, sync.settings
    events, evidence, sweep = await sweep_discovery_markets(sync)
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
    if sync.plan.planned:
        await confirm_vanished_shows(sync, sweep)


async def confirm_vanished_shows(sync: SyncRun, sweep: MarketSweep) -> None:
    """The daily plan's check of what a sweep no longer lists: each stored upcoming show in the
    sweep's window, at a venue in a city of a market read to its end, whose event the sweep did not
    return, is looked up by its event id (moved, rescheduled, cancelled, or delisted when
    Ticketmaster no longer has it), within the run's Ticketmaster grant and
    ``VANISHED_CHECKS_PER_RUN``. A dropped event is then reflected within hours, not at the
    artist's next listing read."""
    complete = [m for m in sweep.complete_markets if m not in sweep.failed_markets]
    in_complete = {event_id for m in complete for event_id in sweep.events_by_market.get(m, [])}
    # The cities the complete markets' events were in (our venues do not store their market):
    # a show at a venue of such a city is one the sweep had to list.
    cities = {
        (venue.city, venue.state_code)
        for event in sweep.events
        if event.id in in_complete
        for venue in event.venues
        if venue.city
    }
    if not cities:
        return
    start, end = day_window(sync.now, sync.settings.sweep_window_days)
    # The sweep's window is in UTC, the shows' dates local: a show on the window's first or
    # last day may be outside it while listed; only the days strictly inside are compared.
    async with sync.writer.read() as conn:
        listed = await listed_shows_in_cities(
            conn,
            cities=cities,
            start=start.date() + timedelta(days=1),
            end=end.date() - timedelta(days=1),
        )
    seen = {event.id for event in sweep.events}
    vanished = [(show_id, event_id) for show_id, event_id in listed if event_id not in seen]
    sync.run.count("shows_vanished", len(vanished))
    limit = sync.plan.cap("ticketmaster", VANISHED_CHECKS_PER_RUN)
    await look_up_shows(sync, vanished[:limit], stopped={}, label="vanished_shows")


async def sweep_discovery_markets(sync: SyncRun) -> tuple[list[TmEvent], Evidence, MarketSweep]:
    """Every event of the discovery markets in the window (one cached task), each failed market
    and malformed record recorded; the evidence each headliner has."""
    run, settings = sync.run, sync.settings
    start, end = day_window(sync.now, settings.sweep_window_days)
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
    evidence = Evidence(soon=sync.now.date() + timedelta(days=1))
    undated: set[str] = set()  # in an event without a date: listed for a while yet
    for event in sweep.events:
        for attraction in event.attractions:
            if event.local_date is None:
                undated.add(attraction.id)
                continue
            last = evidence.last_day.get(attraction.id)
            if last is None or event.local_date > last:
                evidence.last_day[attraction.id] = event.local_date
    for tm_id in undated:
        evidence.last_day.pop(tm_id, None)
    headliners = {e.id: e.attractions[0].id for e in sweep.events if e.attractions}
    for market_id, event_ids in sweep.events_by_market.items():
        for event_id in event_ids:
            if event_id in headliners:
                evidence.events[headliners[event_id]] += 1
                evidence.markets[headliners[event_id]].add(market_id)
    return sweep.events, evidence, sweep


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
    stale_after = settings.sync_stale_after_hours
    if sync.plan.planned:  # read again within a day, whatever the run's time
        stale_after = min(stale_after, LISTING_STALE_HOURS)
    async with sync.writer.transaction() as conn:  # claimed for this run, committed first
        chosen = await claim_artists_for_sync(
            conn,
            run_id=sync.run.run_id,
            now=sync.now,
            lease=sync.claim_lease,
            limit=sync.plan.cap("ticketmaster", limit),
            stale_after_hours=stale_after,
            source_column="ticketmaster_synced_at",
            require=("ticketmaster_id",),
        )
    sync.run.count("artists_selected", len(chosen))
    start, end = day_window(sync.now, settings.sync_show_window_days)
    next_sync = sync.now + timedelta(hours=stale_after)
    stored = await stored_listings(sync, chosen, (start, end))

    async def sync_artist(artist: ArtistToSync) -> ArtistSync:
        attraction_id = artist.ticketmaster_id or ""  # selected with require=("ticketmaster_id",)
        fetched = await read_artist_events(sync.upstream, attraction_id, start, end)
        events = await with_moved_events(
            sync, fetched.events, stored=stored.get(artist.id, []), complete=fetched.complete
        )
        return ArtistSync(
            artist_id=artist.id,
            identity=None,
            events=events,
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


async def watch_setlists(sync: SyncRun, *, limit: int) -> dict[str, str]:
    """The new setlists of the artists awaiting one. Each is read incrementally from its
    setlist.fm cursor (from page 1, with its history cursor, when none is stored yet) and stored
    with the cursor moved, its other sync marks untouched. setlist.fm stopping (quota spent, key
    refused, the run's grant spent) ends the watch for the run (one error row, none for the
    grant); another failure costs that artist's check for this run only (an error row, no
    failure mark). Returns the APIs that stopped.

    Which artists: with the daily plan, those with a show that started
    ``WATCH_FIRST_AFTER`` to ``WATCH_DAYS`` days ago without a setlist, read again every
    ``WATCH_RECHECK`` (a setlist appears 3–40 h after its show: a read about 3 h after it, then
    every 12 h, finds it within 12 h of its publication), at most the run's ``limit`` and
    what its setlist.fm grant covers. With the fixed plan: those with a show dated in the last
    ``SETLIST_WATCH_DAYS`` days (or today), read again after ``SETLIST_WATCH_RECHECK_HOURS``, at
    most ``SETLIST_WATCH_PER_RUN``. Least recently read first."""
    run, settings = sync.run, sync.settings
    stopped: dict[str, str] = {}
    news: list[str] = []
    if sync.plan.planned:
        news, news_stopped = await read_setlist_news(sync)
        if news_stopped is not None:
            return news_stopped
    async with sync.writer.transaction() as conn:  # claimed for this run, committed first
        if sync.plan.planned:
            cap = sync.plan.cap("setlistfm", limit)
            first = await claim_by_mbid(
                conn,
                mbids=news,
                run_id=run.run_id,
                now=sync.now,
                lease=sync.claim_lease,
                limit=cap,
            )
            taken = {a.id for a in first}
            after_shows = await claim_setlists_after_shows(
                conn,
                run_id=run.run_id,
                now=sync.now,
                lease=sync.claim_lease,
                first_after=WATCH_FIRST_AFTER,
                recheck_after=WATCH_RECHECK,
                days=WATCH_DAYS,
                limit=cap - len(first),
            )
            chosen = first + [a for a in after_shows if a.id not in taken]
            if first:
                run.count("setlist_news_artists", len(first))
        else:
            chosen = await claim_awaiting_setlists(
                conn,
                run_id=run.run_id,
                now=sync.now,
                lease=sync.claim_lease,
                days=settings.setlist_watch_days,
                recheck_after=timedelta(hours=settings.setlist_watch_recheck_hours),
                limit=settings.setlist_watch_per_run,
            )
    if not chosen:
        return stopped
    async with sync.writer.read() as conn:
        known = await setlist_versions_of(conn, [a.id for a in chosen])
    for artist in chosen:
        mbid = artist.mbid or ""  # chosen with a MusicBrainz id
        try:
            setlists, history = await read_new_setlists(sync, artist, mbid, known[artist.id])
            counts = await store_setlist_check(
                sync.writer,
                artist_id=artist.id,
                setlists=setlists,
                history=history,
                today=sync.now.date(),
                now=sync.now,
            )
        except Exception as exc:
            halted = await record_setlistfm_failure(
                run,
                exc,
                step="setlist-watch",
                artist_id=artist.id,
                resumes="the setlist watch resumes next run",
            )
            if halted:
                stopped[getattr(exc, "api", "setlistfm")] = run.redact(str(exc))
                break
            continue
        run.count("setlists_watched")
        for key, value in counts.items():
            run.count(key, value)
        if any(value for key, value in counts.items() if key.endswith(("_added", "_updated"))):
            run.changes.append({"artist": artist.name, **counts})
    await sync.record_refused_records()
    return stopped


async def read_setlist_news(sync: SyncRun) -> tuple[list[str], dict[str, str] | None]:
    """setlist.fm's news for the daily plan's watch: the setlists published or edited in the
    last ``NEWS_LOOKBACK``, every artist's (``search/setlists?lastUpdated=``, 20 a page, at
    most ``NEWS_PAGES``), and which of our artists (by MusicBrainz id) they bring something new
    for. It finds a setlist that no stored show announces (a show played before the artist was
    imported, or one Ticketmaster never listed) within a run or two of its publication.

    Returns those artists' MusicBrainz ids, and the APIs that stopped (a spent quota or grant,
    a refused key: the watch ends for the run) or None. Another failure is recorded and the
    watch goes on without the news."""
    since = sync.now - NEWS_LOOKBACK
    published: dict[str, tuple[str, str]] = {}
    client = sync.upstream.require_setlistfm()
    try:
        for number in range(1, NEWS_PAGES + 1):
            page = await client.recently_updated(since, page=number)
            sync.run.count("setlist_news_pages")
            for setlist in page.setlists:
                if setlist.artist.mbid:
                    published[setlist.id] = (setlist.artist.mbid, setlist.version_id)
            if page.is_last:
                break
    except (QuotaExhausted, AuthError) as exc:  # a spent quota or grant, a refused key
        await record_setlistfm_failure(
            sync.run,
            exc,
            step="setlist-news",
            artist_id=0,
            resumes="the setlist watch resumes next run",
        )
        return [], {exc.api: sync.run.redact(str(exc))}
    except Exception as exc:  # what was read so far still counts
        await sync.run.error(
            source="setlistfm",
            key="setlist-news",
            entity="api",
            error=sync.run.redact(f"{type(exc).__name__}: {exc}"),
        )
    async with sync.writer.read() as conn:
        return await artists_with_news(conn, published), None


async def rotate_spotify(sync: SyncRun, *, limit: int) -> None:
    """Spotify metadata kept at most ``SPOTIFY_ROTATION`` old for every artist (the daily plan):
    first the artists among the top ``SPOTIFY_TRENDING_DAILY`` of the latest daily trending
    ranking read ``SPOTIFY_TRENDING_DAILY_AFTER`` ago (their popularity and follower growth move
    their scores: they get them daily), then the artists never read, then the oldest; at most
    ``limit`` a run; batched reads of 50 by id where the app's tier allows (one by one in
    development mode), an exact-name search for an artist without a Spotify id
    (``master_sync.refresh_spotify``'s rules). Each artist read or searched gets its
    ``spotify_synced_at``."""
    async with sync.writer.transaction() as conn:
        daily = await claim_spotify_trending(
            conn,
            run_id=sync.run.run_id,
            now=sync.now,
            lease=sync.claim_lease,
            top=sync.settings.spotify_trending_daily,
            older_than=SPOTIFY_TRENDING_DAILY_AFTER,
            limit=limit,
        )
        weekly = (
            await claim_spotify_rotation(
                conn,
                run_id=sync.run.run_id,
                now=sync.now,
                lease=sync.claim_lease,
                older_than=SPOTIFY_ROTATION,
                limit=limit - len(daily),
                # A trending artist due for the rotation too is read once.
                exclude=[artist.id for artist in daily],
            )
            if len(daily) < limit
            else []
        )
    chosen = daily + weekly
    if not chosen:
        return
    read = await refresh_spotify(sync, chosen, research_after=SPOTIFY_ROTATION)
    # A name search whose one hit only a leading article sets apart is held back: setlist.fm,
    # linked by id, confirms it in the artist's master sync, which searches again only if the
    # search is not stamped as done (``spotify_research_after_days``).
    done = read.ids - set(read.held_back)
    async with sync.writer.transaction() as conn:
        await mark_spotify_read(conn, done, now=sync.now)
    trending = sum(1 for artist in daily if artist.id in done)
    if len(done) > trending:
        sync.run.count("spotify_rotated", len(done) - trending)
    if trending:
        sync.run.count("spotify_trending_daily", trending)
    sync.run.summary_lines.append(
        f"Spotify rotation: {len(done) - trending} of {len(weekly)} artists read "
        f"(metadata kept under {SPOTIFY_ROTATION.days} days old)"
        + (
            f"; daily for the trending top {sync.settings.spotify_trending_daily}: "
            f"{trending} of {len(daily)}."
            if daily
            else "."
        )
    )
