"""``sync-artist``: import or refresh one artist now, on demand (the web app, an operator).

The artist is named by ``ref``: our artist id (digits), a Spotify id (22 base62 characters), a
Ticketmaster attraction id (``K8vZ9…``) or a name. Deployed without a schedule
(``sync-artist/on-demand``); started by ``prefect deployment run``, ``POST /api/sync/artist`` on
the monitor, or ``mysetlist trigger sync-artist --artist REF``.

Phases, in order (each a function; the last two are master-sync's own):

1. ``resolve_artist``: the reference onto one artist row. An id we store is used as it is; an id
   we do not store is read from its API and imported. A name is first matched (exactly, once
   normalised) among our artists, then searched on Ticketmaster and Spotify, and only an exact
   normalised match is imported. A name that fits two different artists is refused with the
   candidates listed, never guessed; one that fits none fails the run with the reason.
2. ``claim``: the artist claimed for this run whatever its sync state (no staleness, no
   back-off: it was asked for). Another run holding it syncs it already: this run skips it and
   ends ``Completed(name="Skipped")``.
3. ``refresh_spotify`` and 4. ``sync_artists`` (``flows/master_sync.py``): Spotify metadata,
   upcoming Ticketmaster shows, setlist.fm setlists, stored with the success mark in one
   transaction. Nothing else in the catalogue is touched (no past-show completion, no
   snapshots: those are master-sync's, for every artist).

The run's counts carry ``artist_id``: the artist the reference named (the caller may have
known it by name only).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Literal

from prefect.states import Completed

from clients.spotify import SpotifyArtist
from clients.ticketmaster import TmAttraction
from flows._artist_sync import SyncRun, open_sync_run
from flows._runs import RunOutcome, job_flow
from flows.master_sync import APIS, refresh_spotify, sync_artists
from flows.params import ArtistRef, SyncArtistParams
from models.artists import ArtistCandidate, group_candidates
from models.genres import genres_contradict
from models.identity import normalize_name
from models.ledger import JOB_SYNC_ARTIST
from models.sync_state import ArtistKey, ArtistToSync, claim_artist, find_artists
from tasks.mapping import attraction_candidate, spotify_candidate
from tasks.store import import_artists
from tasks.upstream import search_spotify_artist

__all__ = [
    "AmbiguousArtist",
    "ArtistNotFound",
    "RefKind",
    "kind_of",
    "match_by_name",
    "resolve_artist",
    "sync_artist",
]

RefKind = Literal["id", "spotify_id", "ticketmaster_id", "name"]

_OUR_ID = re.compile(r"[0-9]+")
_MAX_OUR_ID = 2**31 - 1  # integer primary keys
_SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")
# Ticketmaster attraction ids: ``K8vZ9`` and base62 (``K8vZ9171ob7``); events and venues differ.
_TICKETMASTER_ATTRACTION_ID = re.compile(r"K8vZ9[0-9A-Za-z_-]{1,59}")
#: How many candidates an ambiguity lists.
_MAX_LISTED = 10


class ArtistNotFound(LookupError):
    """No artist of ours, and none upstream, fits the reference."""


class AmbiguousArtist(LookupError):
    """The name fits two or more different artists: refused, never guessed."""


def kind_of(ref: str) -> RefKind:
    """What the reference is, by its form alone: 22 base62 characters are a Spotify id, other
    digits our id, ``K8vZ9…`` a Ticketmaster attraction id, anything else a name."""
    if _SPOTIFY_ID.fullmatch(ref):
        return "spotify_id"
    if _OUR_ID.fullmatch(ref):
        return "id"
    if _TICKETMASTER_ATTRACTION_ID.fullmatch(ref):
        return "ticketmaster_id"
    return "name"


def _ids(candidate: ArtistCandidate | ArtistToSync) -> str:
    labels = {"spotify_id": "Spotify", "ticketmaster_id": "Ticketmaster", "mbid": "MusicBrainz"}
    named = [
        f"{label} {value}"
        for field, label in labels.items()
        if (value := getattr(candidate, field, None))
    ]
    return ", ".join(named) or "no ids"


def match_by_name(
    name: str, attractions: list[TmAttraction], spotify: list[SpotifyArtist]
) -> ArtistCandidate:
    """The one artist whose name is exactly ``name`` once normalised, from a Ticketmaster and a
    Spotify search. Results that share an id (an attraction linking its Spotify artist) are one
    artist; an unlinked attraction and a Spotify artist of that name are one too, as the
    identity rules link them (``models/artists.py``), unless their genres contradict
    (``models/genres.py``). Anything more is ambiguous."""
    wanted = normalize_name(name)
    exact = [spotify_candidate(a) for a in spotify if normalize_name(a.name) == wanted]
    exact += [attraction_candidate(a) for a in attractions if normalize_name(a.name) == wanted]
    groups, _ = group_candidates(exact)
    if len(groups) == 2:
        ticketmaster = [g for g in groups if g.ticketmaster_id and not g.spotify_id]
        spotify_only = [g for g in groups if g.spotify_id and not g.ticketmaster_id]
        if (
            len(ticketmaster) == 1
            and len(spotify_only) == 1
            and not genres_contradict(ticketmaster[0].ticketmaster_genres, spotify_only[0].genres)
        ):
            groups = [spotify_only[0].combine(ticketmaster[0])]
    if not groups:
        raise ArtistNotFound(
            f"no artist named {name!r} here, on Ticketmaster or on Spotify (exact names only)"
        )
    if len(groups) > 1:
        listed = "; ".join(f"{g.name} ({_ids(g)})" for g in groups[:_MAX_LISTED])
        raise AmbiguousArtist(
            f"{name!r} names {len(groups)} different artists upstream: {listed}. "
            "Ask again with the Spotify or Ticketmaster id of the one meant."
        )
    return groups[0]


async def _find(sync: SyncRun, key: ArtistKey, value: int | str) -> list[ArtistToSync]:
    async with sync.writer.read() as conn:
        return await find_artists(conn, key=key, value=value)


async def _import(sync: SyncRun, candidate: ArtistCandidate, *, source: str) -> int:
    """The candidate's row: linked to the artist we store under one of its ids or its name, or
    added."""
    run = sync.run
    resolved = await import_artists(sync.writer, [candidate], create=True, now=sync.now)
    run.count("artists_added", resolved.added)
    run.count("artists_linked", resolved.linked)
    run.count("artists_merged", resolved.merged)
    if resolved.added:
        run.changes.append({"artist": candidate.name, "change": f"added from {source}"})
    return resolved.artist_ids[0]


async def _spotify_artist(sync: SyncRun, spotify_id: str) -> ArtistCandidate:
    """A Spotify artist we do not store, with its Ticketmaster attraction when one links it
    (an exact link, never a name guess; a failed search only loses the link)."""
    artist = await sync.upstream.require_spotify().get_artist(spotify_id)
    if artist is None:
        raise ArtistNotFound(f"Spotify has no artist {spotify_id}")
    candidate = spotify_candidate(artist)
    try:
        attractions = await sync.upstream.require_ticketmaster().search_attractions(artist.name)
    except Exception as exc:
        await sync.run.error(
            source="ticketmaster",
            key=f"search:{spotify_id}",
            entity="artist",
            error=f"{type(exc).__name__}: {exc}",
        )
        return candidate
    linked = next((a for a in attractions if a.spotify_id == spotify_id), None)
    return candidate.combine(attraction_candidate(linked)) if linked else candidate


async def _attraction(sync: SyncRun, attraction_id: str) -> ArtistCandidate:
    attraction = await sync.upstream.require_ticketmaster().get_attraction(attraction_id)
    if attraction is None:
        raise ArtistNotFound(f"Ticketmaster has no attraction {attraction_id}")
    return attraction_candidate(attraction)


async def resolve_artist(sync: SyncRun, ref: str) -> int:
    """Our artist id for ``ref``, importing the artist when it is new (see the module's text)."""
    kind = kind_of(ref)
    if kind == "id":
        found = await _find(sync, "id", int(ref)) if int(ref) <= _MAX_OUR_ID else []
        if not found:
            raise ArtistNotFound(f"no artist with our id {ref}")
        return found[0].id
    if kind in ("spotify_id", "ticketmaster_id"):
        found = await _find(sync, kind, ref)
        if found:
            return found[0].id
        if kind == "spotify_id":
            return await _import(sync, await _spotify_artist(sync, ref), source="Spotify")
        return await _import(sync, await _attraction(sync, ref), source="Ticketmaster")
    found = await _find(sync, "normalized_name", normalize_name(ref))
    if len(found) > 1:
        listed = "; ".join(f"#{a.id} {a.name} ({_ids(a)})" for a in found[:_MAX_LISTED])
        raise AmbiguousArtist(
            f"{ref!r} names {len(found)} of our artists: {listed}. Ask again with our id."
        )
    if found:
        return found[0].id
    attractions = await sync.upstream.require_ticketmaster().search_attractions(ref)
    spotify = await search_spotify_artist(sync.upstream, ref)
    return await _import(sync, match_by_name(ref, attractions, spotify), source="a name search")


async def claim(sync: SyncRun, artist_id: int) -> ArtistToSync | None:
    """The artist claimed for this run (committed before the work), or None when another run
    holds it."""
    async with sync.writer.transaction() as conn:
        return await claim_artist(
            conn,
            artist_id=artist_id,
            run_id=sync.run.run_id,
            now=sync.now,
            lease=sync.claim_lease,
        )


def _summary(ref: str, artist: ArtistToSync, counts: Counter[str]) -> str:
    done = "synced" if counts["artists_synced"] else "not synced"
    return (
        f"Sync artist {ref!r}: #{artist.id} {artist.name} {done}; {counts['shows_added']} shows "
        f"added, {counts['shows_updated']} updated; {counts['setlists_added']} setlists added, "
        f"{counts['setlists_updated']} updated."
    )


@job_flow("sync-artist", timeout_hours=0.5)
async def sync_artist(ref: ArtistRef, dry_run: bool = False) -> RunOutcome:
    """Import or refresh one artist now: Spotify metadata, Ticketmaster shows, setlists."""
    params = SyncArtistParams(ref=ref, dry_run=dry_run)
    async with open_sync_run(job=JOB_SYNC_ARTIST, params=params, apis=APIS) as sync:
        artist_id = await resolve_artist(sync, params.ref)
        sync.run.count("artist_id", artist_id)  # which artist the reference named, for the caller
        artist = await claim(sync, artist_id)
        if artist is None and params.dry_run and sync.run.counts["artists_added"]:
            # A dry run rolls each write back: the artist it would add is not there to sync.
            sync.run.summary_lines.append(
                f"Sync artist {params.ref!r} (dry run): the artist would be added; its shows "
                "and setlists are read by a real run."
            )
            return await sync.outcome()
        if artist is None:
            sync.run.count("artists_skipped")
            sync.run.summary_lines.append(
                f"Sync artist {params.ref!r}: artist #{artist_id} is being synced by another "
                "run right now; left to it."
            )
            outcome = await sync.outcome()
            return Completed(name="Skipped", data=outcome) if isinstance(outcome, dict) else outcome
        spotify_read = await refresh_spotify(sync, [artist])
        await sync_artists(sync, [artist], spotify_read=spotify_read)
        sync.run.summary_lines.append(_summary(params.ref, artist, sync.run.counts))
        return await sync.outcome()
