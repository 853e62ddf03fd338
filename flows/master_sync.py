"""``master-sync``: the comprehensive sync of existing artists — Spotify metadata, Ticketmaster
upcoming shows, setlist.fm setlists (incremental), venues from both sources, past shows completed,
and the daily artist snapshots trending growth is measured from.

Modes: ``hourly`` (the few artists with the soonest shows or most recent activity), ``daily``
(the stalest, up to ``limit``), ``full`` (every artist). Deployed daily at 06:00.

Phases, in order (each a function below; Prefect task runs in brackets):

1. ``choose_artists``: the artists of this mode, fairest first.
2. ``refresh_spotify``: one batched read of the artists with a Spotify id
   [``read-spotify-artists``, cached], a name search for the others; ids linked, metadata stored.
3. ``sync_artists``: per artist, its Ticketmaster id when it has none (attraction search), its
   upcoming Ticketmaster shows, its MusicBrainz id (setlist.fm search by Ticketmaster id, then
   exact name) and its new or edited setlists, stored with its success mark, the batch's artists
   in one transaction (each alone if that fails) [``sync-artist-batch``, ``SYNC_BATCH_SIZE``
   artists each]. A name search's result is taken only when unambiguous and spelled alike,
   leading article included (a Spotify hit only a leading article sets apart waits for
   setlist.fm, linked by id, to spell the artist so: ``tasks/matching.py``), and ids found for
   an artist go to its row or nowhere (``docs/storage.md``, "Identity and homonyms").
4. ``backfill_history`` (``daily``/``full``): older setlists of the artists whose published
   history is not complete yet, page after page from each one's stored cursor, within
   ``SETLIST_HISTORY_PAGES_PER_RUN`` pages (its own share of the setlist.fm quota), after the
   fresh work (with the daily plan, ``flows/_plan.py``: within the rest of the run's setlist.fm
   grant, artists never read included, and the run chooses as many artists as its grants
   cover, ``limit`` being a ceiling); each page is stored with the cursor in one transaction,
   so a crash or a quota stop resumes where it stopped, and a complete history is never read
   again.
5. ``confirm_past_shows``: each Ticketmaster show whose date has passed, still upcoming and
   without a setlist, is looked up by its event id (at most ``PAST_SHOW_CHECKS_PER_RUN``,
   oldest first): stored as Ticketmaster has it now (completed, cancelled, postponed, or moved
   to its new date and venue), or ``delisted`` when Ticketmaster no longer has it — never
   completed on the strength of an old listing (a phantom completion).
6. ``finish``: past shows completed — those with a setlist, and setlist.fm's own; in
   ``daily``/``full``, today's artist snapshots.

What is retried, cached and limited (``tasks/policy.py``; defaults shown, a test keeps this
equal to the code):

Spotify:

| | |
|---|---|
| request retries | 4× on 429, 5xx, network, back-off 0.5 s; `Retry-After` ≤ 60 s; 401: re-auth |
| cached by Prefect | `read-spotify-artists`, `read-playlists`: 6 h |
| rate limits | 180/min |
| stops | quota, key or plan share spent: API ends for the run, artists untouched; 403: degrades |
| name search | no Spotify id: once per 7 days; an unambiguous exact-name hit only |

Ticketmaster:

| | |
|---|---|
| request retries | 4× on 429, 5xx, network, back-off 0.5 s; `Retry-After` ≤ 60 s |
| cached by Prefect | `sweep-markets`: 30 min |
| rate limits | 5/s, 5,000/day; daily plan: a share of 90 % of the day |
| stops | quota, key or plan share spent: API ends for the run, artists untouched |
| name search | no Ticketmaster id: once per 7 days; its Spotify link, else an unambiguous name |

setlist.fm:

| | |
|---|---|
| request retries | 4× on 429, 5xx, network, back-off 0.5 s; `Retry-After` ≤ 60 s |
| cached by Prefect | nothing (read incrementally from each artist's cursor) |
| rate limits | 2/s, 1,440/day; daily plan: a share of 90 % of the day: watch, then backfill |
| stops | quota, key or plan share spent: API ends for the run, artists untouched |
| name search | no MusicBrainz id: once per 7 days; its Ticketmaster id, else an unambiguous name |

No Prefect task retries a read: the client retried each request already. A failed
artist keeps its data and its old sync time, gets an error row and a retry time
(back-off from 30 min, doubling, at most 2 days); a later run takes it again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from clients.errors import AuthError, QuotaExhausted
from clients.setlistfm import SfmArtist, SfmSetlist
from clients.spotify import SpotifyArtist
from clients.ticketmaster import TmAttraction, TmEvent
from flows._artist_sync import (
    JUST_PLAYED_DAYS,
    SyncRun,
    backfill_history,
    day_window,
    open_sync_run,
    read_new_setlists,
    stored_listings,
    sync_in_batches,
    with_moved_events,
)
from flows._runs import RunOutcome, job_flow
from flows.params import Limit, MasterMode, MasterSyncParams
from models.artists import ArtistCandidate
from models.catalog import setlist_versions_of
from models.ledger import JOB_MASTER_SYNC
from models.sync_state import (
    ArtistToSync,
    claim_artists_for_sync,
    claim_hourly_artists,
)
from tasks.mapping import attraction_candidate, spotify_candidate
from tasks.matching import (
    Known,
    Pick,
    confirm,
    known_for,
    names_from_sort_name,
    pick_attraction,
    pick_setlistfm_artist,
    pick_spotify_artist,
)
from tasks.store import (
    ArtistSync,
    finish_master_sync,
    import_artists,
    link_found_ids,
    shows_to_confirm,
    store_confirmations,
)
from tasks.upstream import (
    cached,
    find_setlistfm_artist,
    read_artist_events,
    read_spotify_artists_task,
    search_attractions,
    search_spotify_artist,
)

__all__ = ["APIS", "MasterSyncParams", "master_sync"]

APIS = ("spotify", "ticketmaster", "setlistfm")

#: The daily plan's estimate of the requests one chosen artist costs: setlist.fm (a search when
#: it has no MusicBrainz id, then up to ``SETLIST_FIRST_SYNC_MAX_PAGES`` pages) and Ticketmaster
#: (its events, an attraction search when it has no id). The grant bounds the run whatever the
#: artists really cost; these only size the choice.
SETLISTFM_PER_ARTIST = 3.0
TICKETMASTER_PER_ARTIST = 1.5
#: History pages a planned daily run may read at most (its setlist.fm grant decides first).
MAX_PAGES = 50_000

logger = logging.getLogger("mysetlist.flows.identity")


@job_flow("master-sync", timeout_hours=6)
async def master_sync(
    mode: MasterMode = "daily",
    limit: Limit = 1000,
    dry_run: bool = False,
) -> RunOutcome:
    """Sync existing artists from all three sources."""
    params = MasterSyncParams(mode=mode, limit=limit, dry_run=dry_run)
    async with open_sync_run(job=JOB_MASTER_SYNC, params=params, apis=APIS) as sync:
        chosen = await choose_artists(sync, params)
        spotify_read = await refresh_spotify(sync, chosen)
        stopped = await sync_artists(sync, chosen, spotify_read=spotify_read)
        if params.mode in ("daily", "full"):
            pages = sync.settings.setlist_history_pages_per_run
            if sync.plan.planned and pages > 0:  # the rest of the run's setlist.fm grant
                pages = sync.plan.cap("setlistfm", MAX_PAGES)
            await backfill_history(
                sync, stopped=stopped, pages=pages, first_reads=sync.plan.planned
            )
        await confirm_past_shows(sync, stopped=stopped)
        await finish(sync, params, chosen=len(chosen))
        return await sync.outcome()


async def choose_artists(sync: SyncRun, params: MasterSyncParams) -> list[ArtistToSync]:
    """``hourly``: soonest shows and recent activity; ``daily``: the stalest ``limit`` by their
    setlist.fm sync (never synced first: those without a MusicBrainz id, then those awaiting the
    setlist of a show of the last ``JUST_PLAYED_DAYS`` days, then the rest); ``full``: every
    artist not waiting out a retry back-off (in the same order). Claimed for this run (committed
    before the work), so a run on another worker takes other artists."""
    limit: int | None = None if params.mode == "full" else params.limit
    if limit is not None:  # the daily plan: as many as this run's grants cover
        limit = min(
            sync.plan.cap("setlistfm", limit, per_item=SETLISTFM_PER_ARTIST),
            sync.plan.cap("ticketmaster", limit, per_item=TICKETMASTER_PER_ARTIST),
        )
    async with sync.writer.transaction() as conn:
        if params.mode == "hourly":
            chosen = await claim_hourly_artists(
                conn,
                run_id=sync.run.run_id,
                now=sync.now,
                lease=sync.claim_lease,
                limit=params.limit if limit is None else limit,
            )
        else:
            chosen = await claim_artists_for_sync(
                conn,
                run_id=sync.run.run_id,
                now=sync.now,
                lease=sync.claim_lease,
                limit=limit,
                stale_after_hours=None,
                source_column="setlistfm_synced_at",
                just_played_days=JUST_PLAYED_DAYS,
                unidentified_first=True,
            )
    sync.run.count("artists_selected", len(chosen))
    return chosen


@dataclass
class SpotifyRead:
    """What ``refresh_spotify`` did for the chosen artists.

    ``ids``: the artists whose Spotify data was read or searched for (``artist_id in read``).
    ``names``: Spotify's name for each artist read by its stored Spotify id (a source linked by
    id: it may confirm another source's spelling, ``tasks/matching.py`` rule 4). ``held_back``:
    the name searches whose one hit only a leading article set apart from the artist's name,
    taken in ``sync_artists`` if setlist.fm, linked by id, spells the artist so."""

    ids: set[int] = field(default_factory=set)
    names: dict[int, str] = field(default_factory=dict)
    held_back: dict[int, Pick[SpotifyArtist]] = field(default_factory=dict)

    def __contains__(self, artist_id: object) -> bool:
        return artist_id in self.ids

    def add(self, artist_id: int) -> None:
        self.ids.add(artist_id)


async def refresh_spotify(
    sync: SyncRun, chosen: list[ArtistToSync], *, research_after: timedelta | None = None
) -> SpotifyRead:
    """Spotify metadata for the chosen artists: one batched read for those with a Spotify id,
    an exact-name search for the others, at most once per ``SPOTIFY_RESEARCH_AFTER_DAYS``.
    Returns the artists whose Spotify data was read or searched for (their
    ``spotify_synced_at`` moves with their sync, so a miss is not searched again at once), with
    what ``sync_artists`` needs to confirm a hit held back (``SpotifyRead``)."""
    run, upstream = sync.run, sync.upstream
    with_id = {a.spotify_id: a for a in chosen if a.spotify_id}
    candidates: list[ArtistCandidate] = []
    read = SpotifyRead()
    if with_id:
        try:
            found = await cached(read_spotify_artists_task, run.settings, "spotify")(
                upstream, sorted(with_id)
            )
        except Exception as exc:
            await run.error(
                source="spotify",
                key="artists-batch",
                entity="artist",
                error=f"{type(exc).__name__}: {exc}",
            )
            found = []
        for artist in found:
            if artist.id in with_id:
                candidates.append(spotify_candidate(artist))
                read.add(with_id[artist.id].id)
                read.names[with_id[artist.id].id] = artist.name
    if research_after is None:
        research_after = timedelta(days=run.settings.spotify_research_after_days)
    research_before = sync.now - research_after
    due = [
        a
        for a in chosen
        if not a.spotify_id
        and (a.spotify_synced_at is None or a.spotify_synced_at <= research_before)
    ]
    found_for_rows: list[tuple[int, ArtistCandidate]] = []
    for row in due:
        try:
            results = await search_spotify_artist(upstream, row.name)
        except Exception as exc:
            await run.error(
                source="spotify",
                key=f"search:{row.id}",
                entity="artist",
                error=f"{type(exc).__name__}: {exc}",
            )
            continue
        read.add(row.id)  # searched: found or not, not again before the pause
        known = await _known(sync, row, "spotify_id", [a.id for a in results], results)
        pick = pick_spotify_artist(
            row.name,
            results,
            known,
            also_known_as=names_from_sort_name(row.sort_name),
            ticketmaster_genres=row.ticketmaster_genres,
        )
        if pick.found is not None:
            found_for_rows.append((row.id, spotify_candidate(pick.found)))
        elif pick.held_back is not None:  # setlist.fm, linked by id, may confirm it
            read.held_back[row.id] = pick
        else:
            _unmatched(sync, row, "Spotify", pick)
    if candidates:
        resolved = await import_artists(sync.writer, candidates, create=False, now=sync.now)
        run.count("artists_linked", resolved.linked)
        run.count("artists_merged", resolved.merged)
        run.count("artists_spotify_updated", resolved.updated)
    if found_for_rows:  # found by name for one row each: linked to that row or nowhere
        linked, conflicts = await link_found_ids(sync.writer, found_for_rows, now=sync.now)
        run.count("artists_linked", linked.linked)
        run.count("artists_merged", linked.merged)
        run.count("artists_spotify_updated", linked.updated)
        await _record_conflicts(sync, conflicts)
    run.summary_lines.extend(
        f"Degraded: {note}" for note in upstream.require_spotify().degradation_notes()
    )
    return read


@dataclass(frozen=True)
class MbidLookup:
    """An artist's MusicBrainz id as this run knows it.

    ``searched``: setlist.fm was asked this run (a search that found nothing is a completed
    setlist.fm sync too). ``identity``: the ids to link when the search found the artist.
    ``exact``: found by the artist's Ticketmaster id (not by name); ``names``: then, how
    setlist.fm spells the artist (its name, and the name its sort name stands for)."""

    mbid: str | None
    searched: bool = False
    identity: ArtistCandidate | None = None
    exact: bool = False
    names: tuple[str, ...] = ()


def _unmatched(sync: SyncRun, artist: ArtistToSync, source: str, pick: Pick[Any]) -> None:
    """A name search whose results were not taken because they could be another artist's:
    counted and logged with the reason (``tasks/matching.py``)."""
    if pick.ambiguous:
        sync.run.count("identity_ambiguous")
        logger.warning(
            "artist %s (%s): %s search not taken: %s", artist.id, artist.name, source, pick.why
        )


async def _known(
    sync: SyncRun, artist: ArtistToSync, id_field: str, ids: list[str], results: Sequence[object]
) -> Known:
    """What our other rows say about these search results (read only when there are some)."""
    if not results:
        return Known()
    return await known_for(sync.writer, artist.id, artist.name, id_field, ids)


async def _record_conflicts(sync: SyncRun, conflicts: list[tuple[str, str]]) -> None:
    """An id found for one artist that another row holds: an error row each (the operator
    decides; ``docs/storage.md``, "Identity and homonyms")."""
    for key, why in conflicts:
        await sync.run.error(source="identity", key=key, entity="artist", error=why)


async def resolve_mbid(
    sync: SyncRun, artist: ArtistToSync, also_known_as: Sequence[str] = ()
) -> MbidLookup:
    """The artist's MusicBrainz id: stored, or found on setlist.fm by Ticketmaster id (exact) or
    by name (one unambiguous exact normalised match spelled alike with the artist's name or
    ``also_known_as``, ``tasks/matching.py``). An artist searched for recently and not found is
    not searched again before ``SETLIST_RESEARCH_AFTER_DAYS``."""
    if artist.mbid:
        return MbidLookup(artist.mbid)
    searched_at = artist.setlistfm_synced_at
    research_after = timedelta(days=sync.settings.setlist_research_after_days)
    if searched_at is not None and searched_at > sync.now - research_after:
        return MbidLookup(None)
    found: list[SfmArtist] = await find_setlistfm_artist(
        sync.upstream, artist.ticketmaster_id, artist.name
    )
    ids = [i for a in found for i in (a.mbid, str(a.tmid or "")) if i]
    known = await _known(sync, artist, "mbid", ids, list(found))
    pick = pick_setlistfm_artist(
        artist.name,
        found,
        known,
        ticketmaster_id=artist.ticketmaster_id,
        also_known_as=[*also_known_as, *names_from_sort_name(artist.sort_name)],
    )
    match = pick.found
    if match is None:
        _unmatched(sync, artist, "setlist.fm", pick)
        return MbidLookup(None, searched=True)
    identity = ArtistCandidate(
        name=artist.name,
        ticketmaster_id=artist.ticketmaster_id,
        spotify_id=artist.spotify_id,
        mbid=match.mbid,
        sort_name=match.sort_name,
    )
    names = (match.name, *names_from_sort_name(match.sort_name)) if pick.exact else ()
    return MbidLookup(match.mbid, searched=True, identity=identity, exact=pick.exact, names=names)


async def find_ticketmaster_id(
    sync: SyncRun, artist: ArtistToSync, also_known_as: Sequence[str] = ()
) -> Pick[TmAttraction] | None:
    """The Ticketmaster attraction of an artist we know without one (found through Spotify):
    the attraction linking its Spotify id, else one unambiguous exact normalised name
    (``tasks/matching.py``). ``None``: not searched (it has an id, or was searched within
    ``TICKETMASTER_RESEARCH_AFTER_DAYS``)."""
    if artist.ticketmaster_id:
        return None
    searched_at = artist.ticketmaster_synced_at
    research_after = timedelta(days=sync.settings.ticketmaster_research_after_days)
    if searched_at is not None and searched_at > sync.now - research_after:
        return None
    results = await search_attractions(sync.upstream, artist.name)
    ids = [i for a in results for i in (a.id, a.spotify_id, a.mbid) if i]
    known = await _known(sync, artist, "ticketmaster_id", ids, list(results))
    pick = pick_attraction(
        artist.name,
        results,
        known,
        spotify_id=artist.spotify_id,
        mbid=artist.mbid,
        also_known_as=[*also_known_as, *names_from_sort_name(artist.sort_name)],
        spotify_genres=artist.genres,
    )
    if pick.found is None:
        _unmatched(sync, artist, "Ticketmaster", pick)
    return pick


async def sync_artists(
    sync: SyncRun, chosen: list[ArtistToSync], *, spotify_read: SpotifyRead
) -> dict[str, str]:
    """Every chosen artist's upcoming shows and new or edited setlists, stored with its success
    mark a batch of artists at a time (``sync_in_batches``; a first read from page 1 records
    how far it reached in the artist's history cursor). Returns the APIs that stopped."""
    settings = sync.settings
    start, end = day_window(sync.now, settings.sync_show_window_days)
    next_sync = sync.now + timedelta(hours=settings.sync_stale_after_hours)
    async with sync.writer.read() as conn:  # the stored versions, read once for the run
        known_versions = await setlist_versions_of(conn, [a.id for a in chosen])
    stored = await stored_listings(sync, chosen, (start, end))

    async def sync_artist(artist: ArtistToSync) -> ArtistSync:
        sources = ["spotify"] if artist.id in spotify_read else []
        exact: set[str] = set()
        found_attraction = None
        # Spotify's name for the artist's stored Spotify id: a source linked by id.
        spotify_names = [n] if (n := spotify_read.names.get(artist.id)) else []
        tm_search = await find_ticketmaster_id(sync, artist, spotify_names)
        if tm_search is not None:
            sources.append("ticketmaster")  # searched: found or not, not again before the pause
            if (found_attraction := tm_search.found) is not None:
                artist = dataclasses.replace(artist, ticketmaster_id=found_attraction.id)
                if tm_search.exact:
                    exact.add("ticketmaster_id")
        events = None
        complete = False
        if artist.ticketmaster_id:
            fetched_events = await read_artist_events(
                sync.upstream, artist.ticketmaster_id, start, end
            )
            complete = fetched_events.complete
            events = await with_moved_events(
                sync, fetched_events.events, stored=stored.get(artist.id, []), complete=complete
            )
            if "ticketmaster" not in sources:
                sources.append("ticketmaster")
        lookup = await resolve_mbid(sync, artist, spotify_names)
        # Found by a Ticketmaster id that was itself only a name match: not exact either.
        if lookup.exact and (found_attraction is None or "ticketmaster_id" in exact):
            exact.add("mbid")
        identity = lookup.identity
        if found_attraction is not None:
            found = attraction_candidate(found_attraction)
            identity = identity.combine(found) if identity is not None else found
        setlists = None
        history = None
        if lookup.searched or lookup.mbid:
            sources.append("setlistfm")
        if lookup.mbid:
            setlists, history = await read_new_setlists(
                sync, artist, lookup.mbid, known_versions[artist.id]
            )
        if (held := spotify_read.held_back.get(artist.id)) is not None:
            identity = await _confirm_spotify(sync, artist, held, lookup, setlists, identity)
        return ArtistSync(  # stored with its batch; its id conflicts recorded then
            artist_id=artist.id,
            identity=identity,
            events=events,
            setlists=setlists,
            sources=sources,
            next_sync_at=next_sync,
            exact_ids=frozenset(exact),
            listing_window=(start.date(), end.date()),
            events_complete=complete,
            history=history,
        )

    return await sync_in_batches(sync, chosen, sync_artist, label="master sync")


async def _confirm_spotify(
    sync: SyncRun,
    artist: ArtistToSync,
    held: Pick[SpotifyArtist],
    lookup: MbidLookup,
    setlists: Sequence[SfmSetlist] | None,
    identity: ArtistCandidate | None,
) -> ArtistCandidate | None:
    """The Spotify hit held back for ``artist`` (only a leading article set it apart), taken when
    setlist.fm, linked to the artist by id, spells the artist alike: its answer to the artist's
    Ticketmaster id, the artist named in the setlists read by its stored MusicBrainz id, else
    (one request) its answer to that id (``tasks/matching.py`` rule 4). Otherwise not taken, and
    counted as ambiguous."""
    names = list(lookup.names)
    hit = confirm(held, names)
    if hit is None and artist.mbid and lookup.mbid == artist.mbid:
        names = [s.artist.name for s in setlists or () if s.artist.mbid == artist.mbid]
        if not names:  # no setlist read this run names it: ask setlist.fm by its id
            found = await sync.upstream.require_setlistfm().search_artists(mbid=artist.mbid)
            names = [
                name
                for a in found
                if a.mbid == artist.mbid
                for name in (a.name, *names_from_sort_name(a.sort_name))
            ]
        hit = confirm(held, names)
    if hit is None:
        _unmatched(sync, artist, "Spotify", held)
        return identity
    logger.info(
        "artist %s (%s): Spotify %s %r taken: setlist.fm spells the artist so",
        artist.id,
        artist.name,
        hit.id,
        hit.name,
    )
    base = identity if identity is not None else ArtistCandidate(name=artist.name)
    return base.combine(spotify_candidate(hit))


async def confirm_past_shows(sync: SyncRun, *, stopped: dict[str, str]) -> None:
    """Ask Ticketmaster about the shows whose date has passed while they were still upcoming
    (and that have no setlist to prove they were played), before any is completed: an event it
    still has is stored as it is now, one it no longer has (404) is delisted. A lookup that
    fails leaves its show as it is, for the next run; a quota or credentials stop ends the
    lookups for this run."""
    if "ticketmaster" in stopped or sync.upstream.ticketmaster is None:
        return
    pending = await shows_to_confirm(
        sync.writer,
        today=sync.now.date(),
        limit=sync.plan.cap("ticketmaster", sync.settings.past_show_checks_per_run),
    )
    await look_up_shows(sync, pending, stopped=stopped, label="past_shows")


async def look_up_shows(
    sync: SyncRun, pending: Sequence[tuple[int, str]], *, stopped: dict[str, str], label: str
) -> None:
    """Look each show's event up by its Ticketmaster id (``pending``: show id, event id) and
    store what Ticketmaster says now: an event it still has as it is now, one it no longer has
    (404) delisted. Counted as ``<label>_checked``, ``_unchecked`` and ``_delisted``."""
    run = sync.run
    if not pending:
        return
    client = sync.upstream.require_ticketmaster()
    found: list[TmEvent] = []
    gone: list[int] = []
    for index, (show_id, event_id) in enumerate(pending):
        try:
            event = await client.get_event(event_id)
        except (QuotaExhausted, AuthError) as exc:
            stopped.setdefault(exc.api, run.redact(str(exc)))
            run.count(f"{label}_unchecked", len(pending) - index)
            break
        except Exception as exc:  # this show waits for the next run; the others go on
            run.count(f"{label}_unchecked")
            reason = run.redact(f"{type(exc).__name__}: {exc}")
            logger.warning("show %s (event %s) not checked: %s", show_id, event_id, reason)
            continue
        if event is None:
            gone.append(show_id)
        else:
            found.append(event)
    run.count(f"{label}_checked", len(found) + len(gone))
    await sync.record_refused_records()
    if found or gone:
        stored = await store_confirmations(
            sync.writer, found, gone, today=sync.now.date(), now=sync.now
        )
        run.count(f"{label}_delisted", stored.get("past_shows_delisted", 0))


async def finish(sync: SyncRun, params: MasterSyncParams, *, chosen: int) -> None:
    """Past shows become completed; ``daily`` and ``full`` take today's artist snapshots. The
    summary line of the run."""
    finished = await finish_master_sync(
        sync.writer, today=sync.now.date(), snapshot=params.mode in ("daily", "full")
    )
    run = sync.run
    for key, value in finished.items():
        run.count(key, value)
    counts = run.counts
    run.summary_lines.append(
        f"Master sync ({params.mode}): {counts['artists_synced']} of {chosen} artists synced, "
        f"{counts['artists_failed']} failed, {counts['artists_skipped']} left for the next run; "
        f"{counts['setlists_added']} setlists added, {counts['setlists_updated']} updated; "
        f"{counts['history_pages_read']} history pages read, "
        f"{counts['histories_completed']} histories completed; "
        f"{finished['shows_completed']} shows completed."
    )
