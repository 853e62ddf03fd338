"""``master-sync``: the comprehensive sync of existing artists — Spotify metadata, Ticketmaster
upcoming shows, setlist.fm setlists (incremental), venues from both sources, past shows completed,
and the daily artist snapshots trending growth is measured from.

Modes: ``hourly`` (the few artists with the soonest shows or most recent activity), ``daily``
(the stalest, up to ``limit``), ``full`` (every artist). Deployed daily at 06:00.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from prefect import flow
from pydantic import BaseModel, ConfigDict, Field

from clients.setlistfm import SfmArtist
from flows._artist_sync import day_window, for_each_artist, record_malformed
from flows._runs import RunTracker, tracked_run
from models.artists import ArtistCandidate
from models.catalog import setlist_versions
from models.identity import normalize_name
from models.ledger import JOB_MASTER_SYNC
from models.sync_state import ArtistToSync, select_artists_for_sync, select_hourly_artists
from models.types import utcnow
from settings import get_settings
from tasks.deps import Upstream, check_credentials, open_upstream, prepare_limiter
from tasks.mapping import spotify_candidate
from tasks.store import Writer, finish_master_sync, import_artists, store_artist_sync
from tasks.upstream import (
    fetch_artist_events,
    fetch_artist_setlists,
    fetch_spotify_artists,
    find_setlistfm_artist,
    search_spotify_artist,
    with_cache,
)

__all__ = ["MasterSyncParams", "master_sync"]

APIS = ("spotify", "ticketmaster", "setlistfm")
Limit = Annotated[int, Field(ge=1, le=10_000)]


class MasterSyncParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["hourly", "daily", "full"] = "daily"
    limit: Limit = 50
    dry_run: bool = False


@flow(name="master-sync", validate_parameters=True)
async def master_sync(
    mode: Literal["hourly", "daily", "full"] = "daily",
    limit: Limit = 50,
    dry_run: bool = False,
) -> dict[str, int]:
    """Sync existing artists from all three sources."""
    params = MasterSyncParams(mode=mode, limit=limit, dry_run=dry_run)
    settings = get_settings()
    check_credentials(settings, APIS)
    limiter = await prepare_limiter(settings, APIS)
    async with (
        tracked_run(job=JOB_MASTER_SYNC, mode=mode, parameters=params, dry_run=dry_run) as run,
        open_upstream(settings, apis=APIS, limiter=limiter) as upstream,
        Writer(run.engine, dry_run=dry_run).dry_run_scope() as writer,
    ):
        now = utcnow()
        chosen = await _choose(writer, mode=mode, limit=limit, now=now)
        run.count("artists_selected", len(chosen))
        spotify_ok = await _sync_spotify(run, upstream, writer, chosen, now=now)
        await _sync_artists(run, upstream, writer, chosen, spotify_ok=spotify_ok, now=now)
        finished = await finish_master_sync(
            writer, today=now.date(), snapshot=mode in ("daily", "full")
        )
        for key, value in (finished | upstream.request_counts()).items():
            run.count(key, value)
        notes = upstream.require_spotify().degradation_notes()
        run.summary_lines.extend(f"Degraded: {note}" for note in notes)
        counts = run.counts
        run.summary_lines.append(
            f"Master sync ({mode}): {counts['artists_synced']} of {len(chosen)} artists synced, "
            f"{counts['artists_failed']} failed; {counts['setlists_added']} setlists added, "
            f"{counts['setlists_updated']} updated; {finished['shows_completed']} shows completed."
        )
        return dict(run.counts)


async def _choose(writer: Writer, *, mode: str, limit: int, now: datetime) -> list[ArtistToSync]:
    async with writer.read() as conn:
        if mode == "hourly":
            return await select_hourly_artists(conn, now=now, limit=limit)
        return await select_artists_for_sync(
            conn,
            now=now,
            limit=None if mode == "full" else limit,
            stale_after_hours=None,
            source_column="setlistfm_synced_at",
        )


async def _sync_spotify(
    run: RunTracker,
    upstream: Upstream,
    writer: Writer,
    chosen: list[ArtistToSync],
    *,
    now: datetime,
) -> set[int]:
    """Spotify metadata for the chosen artists: one batched read for those with a Spotify id,
    a name search for the others. Returns the artists whose Spotify data was read."""
    settings = run.settings
    with_id = {a.spotify_id: a for a in chosen if a.spotify_id}
    candidates: list[ArtistCandidate] = []
    done: set[int] = set()
    if with_id:
        try:
            found = await with_cache(fetch_spotify_artists, settings, "spotify")(
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
                done.add(with_id[artist.id].id)
    search = with_cache(search_spotify_artist, settings, "spotify")
    for row in (a for a in chosen if not a.spotify_id):
        try:
            results = await search(upstream, row.name)
        except Exception as exc:
            await run.error(
                source="spotify",
                key=f"search:{row.id}",
                entity="artist",
                error=f"{type(exc).__name__}: {exc}",
            )
            continue
        wanted = normalize_name(row.name)
        match = next((a for a in results if normalize_name(a.name) == wanted), None)
        if match is not None:
            candidate = spotify_candidate(match)
            candidates.append(
                ArtistCandidate(
                    **{
                        **candidate.__dict__,
                        "ticketmaster_id": row.ticketmaster_id,
                        "mbid": row.mbid,
                    }
                )
            )
            done.add(row.id)
    if candidates:
        resolved = await import_artists(writer, candidates, create=False, now=now)
        run.count("artists_linked", resolved.linked)
        run.count("artists_merged", resolved.merged)
        run.count("artists_spotify_updated", resolved.updated)
    return done


async def _resolve_mbid(
    run: RunTracker, upstream: Upstream, artist: ArtistToSync, *, now: datetime
) -> tuple[str | None, ArtistCandidate | None, bool]:
    """The artist's MusicBrainz id: stored, or found on setlist.fm by Ticketmaster id (exact) or
    by name (only an exact normalised match). The flag says whether setlist.fm was asked."""
    if artist.mbid:
        return artist.mbid, None, False
    searched = artist.setlistfm_synced_at
    if searched is not None and searched > now - timedelta(
        days=run.settings.setlist_research_after_days
    ):
        return None, None, False  # looked for recently, not on setlist.fm: no request this time
    found: list[SfmArtist] = await with_cache(find_setlistfm_artist, run.settings, "setlistfm")(
        upstream, artist.ticketmaster_id, artist.name
    )
    wanted = normalize_name(artist.name)
    match = next(
        (
            a
            for a in found
            if artist.ticketmaster_id and str(a.tmid or "") == artist.ticketmaster_id
        ),
        None,
    ) or next((a for a in found if normalize_name(a.name) == wanted), None)
    if match is None or not match.mbid:
        return None, None, True
    identity = ArtistCandidate(
        name=artist.name,
        ticketmaster_id=artist.ticketmaster_id,
        spotify_id=artist.spotify_id,
        mbid=match.mbid,
        sort_name=match.sort_name,
    )
    return match.mbid, identity, True


async def _sync_artists(
    run: RunTracker,
    upstream: Upstream,
    writer: Writer,
    chosen: list[ArtistToSync],
    *,
    spotify_ok: set[int],
    now: datetime,
) -> None:
    settings = run.settings
    start, end = day_window(now, settings.sync_show_window_days)
    events_task = with_cache(fetch_artist_events, settings, "ticketmaster")
    setlists_task = with_cache(fetch_artist_setlists, settings, "setlistfm")
    next_sync = now + timedelta(hours=settings.sync_stale_after_hours)
    overlap = timedelta(minutes=settings.setlist_cursor_overlap_minutes)

    async def job(artist: ArtistToSync) -> dict[str, int]:
        sources = ["spotify"] if artist.id in spotify_ok else []
        events = None
        if artist.ticketmaster_id:
            fetched_events = await events_task(upstream, artist.ticketmaster_id, start, end)
            await record_malformed(run, fetched_events.malformed)
            events = fetched_events.events
            sources.append("ticketmaster")
        mbid, identity, searched = await _resolve_mbid(run, upstream, artist, now=now)
        setlists = None
        if searched or mbid:
            sources.append("setlistfm")  # a search that found nothing is a completed sync too
        if mbid:
            async with writer.read() as conn:
                known = await setlist_versions(conn, artist.id)
            cursor = artist.setlistfm_synced_at - overlap if artist.setlistfm_synced_at else None
            fetched = await setlists_task(
                upstream, mbid, cursor, settings.setlist_first_sync_max_pages, known
            )
            await record_malformed(run, fetched.malformed)
            run.count("setlist_pages_read", fetched.requests_pages)
            setlists = fetched.setlists
        return await store_artist_sync(
            writer,
            artist_id=artist.id,
            identity=identity,
            events=events,
            setlists=setlists,
            sources=sources,
            today=now.date(),
            now=now,
            next_sync_at=next_sync,
        )

    await for_each_artist(run, writer, chosen, job, now=now, label="master sync")
