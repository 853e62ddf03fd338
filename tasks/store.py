"""The writes of a sync run: never cached, each one transaction, idempotent. Plain functions
(no Prefect task run each): the flows call them inside their coarse tasks.

A ``Writer`` owns the transactions of a run: it serialises them (SQLite has one writer; on
PostgreSQL it keeps concurrent artist writes from deadlocking on shared venues) and, in a dry run,
rolls each one back at its end, so the run reports what it would have changed and writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from clients.setlistfm import SfmSetlist
from clients.ticketmaster import TmEvent
from models.artists import (
    ArtistCandidate,
    LinkResult,
    ResolveResult,
    link_artist_ids,
    link_artists_ids,
    resolve_artists,
)
from models.catalog import (
    Listing,
    StoreCounts,
    complete_past_shows,
    delist_shows,
    past_shows_to_confirm,
    snapshot_artists,
    store_setlists,
    store_setlists_of,
    store_shows,
)
from models.sync_state import (
    HistoryMark,
    mark_artist_failed,
    mark_artist_synced,
    mark_artists_synced,
    mark_followers_read,
    mark_setlists_read,
    save_history_mark,
    save_history_marks,
)
from models.write_gate import sqlite_write_gate
from tasks.mapping import attraction_candidate, setlist_record, show_record

__all__ = [
    "ArtistSync",
    "NotBatchable",
    "Writer",
    "finish_master_sync",
    "import_artists",
    "link_found_ids",
    "record_artist_failure",
    "shows_to_confirm",
    "store_artist_sync",
    "store_artist_syncs",
    "store_confirmations",
    "store_events",
    "store_history_page",
    "store_setlist_check",
]


@dataclass
class Writer:
    """The transactions of one run.

    A real run commits each ``transaction()`` on its own. A dry run executes each one the same
    way and rolls it back at its end: every write runs for real (its counts are the database's
    own), and the write lock is held only for that one transaction, never for the whole run
    (SQLite has one writer: the monitor's activity intake and the rate leases go on meanwhile).
    The price: a step of a dry run sees the stored data, not what its earlier steps would have
    written (a dry ``full`` discovery then sync counts the shows of the artists already stored).
    """

    engine: AsyncEngine
    dry_run: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.lock, sqlite_write_gate(self.engine):
            if not self.dry_run:
                async with self.engine.begin() as conn:
                    yield conn
                return
            async with self.engine.connect() as conn:
                trans = await conn.begin()
                try:
                    if conn.dialect.name == "sqlite":
                        # pysqlite defers BEGIN to the first write: open the transaction now, so
                        # that everything (staging tables too) is rolled back; IMMEDIATE, as a
                        # deferred one that read first could not take the write lock once
                        # another writer committed (SQLITE_BUSY at once, no busy wait).
                        await conn.exec_driver_sql("BEGIN IMMEDIATE")
                    yield conn
                finally:
                    await trans.rollback()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (outside any write transaction)."""
        async with self.engine.connect() as conn:
            yield conn


async def _store_events(
    conn: AsyncConnection,
    events: Sequence[TmEvent],
    *,
    today: date,
    now: datetime,
    listing: Listing | None = None,
    owners: Mapping[str, int] | None = None,
    listings: Sequence[Listing] = (),
) -> tuple[StoreCounts, ResolveResult]:
    """Link every attraction of the events (headliners and supporting acts) to the artists we
    know, by their ids, and store the shows whose headliner is known. Unknown attractions are
    left to discovery, which alone adds artists (within its ``limit``). ``listing``
    (``listings``, for several artists): the events are that artist's listing (reconciled against
    its stored shows when complete). ``owners`` (event id -> artist id): the artist each event is
    stored for, whose counts (``by_artist``) its show and its skip go to."""
    counts = StoreCounts()
    attractions = {a.id: a for event in events for a in event.attractions}
    ordered = list(attractions.values())
    # By id only: an attraction's name alone never links it to a row (a supporting act named
    # like one of our artists is not that artist); discovery alone links new ids by name.
    resolved = await resolve_artists(
        conn, [attraction_candidate(a) for a in ordered], create=False, now=now, by_name=False
    )
    artist_ids = {
        a.id: artist_id for a, artist_id in zip(ordered, resolved.artist_ids, strict=True)
    }
    records = []
    for event in events:
        record = show_record(event, artist_ids=artist_ids, today=today)
        if record is not None:
            records.append(record)
        else:
            counts.add("events_skipped", 1, artist=owners.get(event.id) if owners else None)
    every = [*listings, *([listing] if listing else [])]
    await store_shows(conn, records, counts=counts, listings=every, owners=owners)
    counts.add("artists_linked", resolved.linked)
    counts.add("artists_merged", resolved.merged)
    return counts, resolved


async def import_artists(
    writer: Writer, candidates: Sequence[ArtistCandidate], *, create: bool, now: datetime
) -> ResolveResult:
    """Resolve candidates onto artist rows (linking ids, merging duplicates, adding new ones).
    The rows given Spotify followers are stamped read at ``now`` (``followers_read_at``)."""
    async with writer.transaction() as conn:
        resolved = await resolve_artists(conn, candidates, create=create, now=now)
        read = sorted(
            {
                artist_id
                for candidate, artist_id in zip(candidates, resolved.artist_ids, strict=True)
                if artist_id and candidate.spotify_id and candidate.followers is not None
            }
        )
        await mark_followers_read(conn, read, now=now)
        return resolved


async def link_found_ids(
    writer: Writer, found: Sequence[tuple[int, ArtistCandidate]], *, now: datetime
) -> tuple[LinkResult, list[tuple[str, str]]]:
    """Ids (and metadata) a name search found for each of these rows, linked to that row only
    (``link_artist_ids``), in one transaction: all at once when they share no row and no id
    (``link_artists_ids``), else one by one in order. Returns the totals and the conflicts (the
    key of their error row, why)."""
    total, conflicts = LinkResult(), list[tuple[str, str]]()
    async with writer.transaction() as conn:
        together: list[LinkResult] | None = None
        distinct = len({artist_id for artist_id, _ in found}) == len(found)
        if distinct and not _shares_ids([candidate for _, candidate in found]):
            try:  # all at once: the same outcome in a few statements (``link_artists_ids``)
                together = await link_artists_ids(
                    conn, [(artist_id, c, frozenset()) for artist_id, c in found], now=now
                )
            except LookupError:  # a row merged away meanwhile: one by one, which skips it
                together = None
        for index, (artist_id, candidate) in enumerate(found):
            if together is not None:
                linked = together[index]
            else:
                try:
                    linked = await link_artist_ids(conn, artist_id, candidate, now=now)
                except LookupError:  # merged away by another run meanwhile: nothing to link to
                    continue
            total.linked += linked.linked
            total.updated += linked.updated
            total.merged += linked.merged
            conflicts.extend(
                (f"artist:{artist_id}:{name}", why) for name, why in linked.refused.items()
            )
    return total, conflicts


async def store_events(
    writer: Writer, events: Sequence[TmEvent], *, today: date, now: datetime
) -> dict[str, int]:
    """Store Ticketmaster events (shows, venues, supporting acts) in one transaction."""
    async with writer.transaction() as conn:
        counts, _ = await _store_events(conn, events, today=today, now=now)
    return dict(counts.values)


async def store_artist_sync(
    writer: Writer,
    *,
    artist_id: int,
    identity: ArtistCandidate | None,
    events: Sequence[TmEvent] | None,
    setlists: Sequence[SfmSetlist] | None,
    sources: Sequence[str],
    today: date,
    now: datetime,
    next_sync_at: datetime | None,
    exact_ids: frozenset[str] = frozenset(),
    conflicts: list[tuple[str, str]] | None = None,
    listing_window: tuple[date, date] | None = None,
    events_complete: bool = False,
    history: HistoryMark | None = None,
) -> dict[str, int]:
    """Everything one artist's sync found, and its success mark, in ONE transaction: either the
    data and the fresh ``last_synced_at`` land together, or neither does.

    ``identity``: ids the sync found for this artist (``exact_ids``: those found exactly, see
    ``link_artist_ids``). They are linked to *this* row only. One another row holds is a
    conflict, appended to ``conflicts`` (the key of its error row, why) for the caller to
    record; what was read by that id (the setlists by a MusicBrainz id, the events by a
    Ticketmaster id) is not stored. The artist is still marked synced, so it is not searched
    again before its pause.

    ``events`` are the artist's Ticketmaster listing over ``listing_window`` (first and last
    day); with ``events_complete`` (every page read), its stored shows no longer listed there
    are delisted (``models.catalog.store_shows``). ``history``: how far a read from page 1 went
    in the artist's setlist history (the backfill's cursor starts after it)."""
    counts = StoreCounts()
    async with writer.transaction() as conn:
        if identity is not None:
            linked = await link_artist_ids(conn, artist_id, identity, now=now, exact=exact_ids)
            counts.add("artists_linked", linked.linked)
            counts.add("artists_merged", linked.merged)
            counts.add("identity_conflicts", len(linked.refused))
            if conflicts is not None:
                conflicts.extend(
                    (f"artist:{artist_id}:{name}", why) for name, why in linked.refused.items()
                )
            if "mbid" in linked.refused:
                setlists = None
            if "ticketmaster_id" in linked.refused:
                events = None
        if events is not None:
            listing = None
            if listing_window is not None:
                listing = Listing(
                    artist_id=artist_id,
                    event_ids=frozenset(event.id for event in events),
                    first_day=listing_window[0],
                    last_day=listing_window[1],
                    complete=events_complete,
                )
            event_counts, _ = await _store_events(
                conn, events, today=today, now=now, listing=listing
            )
            counts.merge(event_counts)
        if setlists is not None:
            records = [setlist_record(s) for s in setlists]
            await store_setlists(conn, artist_id, records, today=today, counts=counts)
            if history is not None:
                await save_history_mark(conn, artist_id, history, now=now)
        await mark_artist_synced(
            conn, artist_id, sources=sources, now=now, next_sync_at=next_sync_at
        )
    return dict(counts.values)


async def store_history_page(
    writer: Writer,
    *,
    artist_id: int,
    setlists: Sequence[SfmSetlist],
    mark: HistoryMark,
    today: date,
    now: datetime,
) -> dict[str, int]:
    """One page of an artist's older setlists and the history cursor past it, in one
    transaction: a crash resumes at the first page not stored."""
    counts = StoreCounts()
    async with writer.transaction() as conn:
        records = [setlist_record(s) for s in setlists]
        await store_setlists(conn, artist_id, records, today=today, counts=counts)
        await save_history_mark(conn, artist_id, mark, now=now)
    return dict(counts.values)


async def store_setlist_check(
    writer: Writer,
    *,
    artist_id: int,
    setlists: Sequence[SfmSetlist],
    history: HistoryMark | None,
    today: date,
    now: datetime,
) -> dict[str, int]:
    """What a check of an artist's new setlists read (``flows.autonomous_sync.watch_setlists``)
    and its setlist.fm cursor moved to ``now``, in one transaction; its other marks untouched."""
    counts = StoreCounts()
    async with writer.transaction() as conn:
        records = [setlist_record(s) for s in setlists]
        await store_setlists(conn, artist_id, records, today=today, counts=counts)
        if history is not None:
            await save_history_mark(conn, artist_id, history, now=now)
        await mark_setlists_read(conn, artist_id, now=now)
    return dict(counts.values)


@dataclass(frozen=True)
class ArtistSync:
    """What one artist's sync read, to be stored with its success mark (``store_artist_sync``
    alone, ``store_artist_syncs`` with others). ``None`` events or setlists: not read."""

    artist_id: int
    identity: ArtistCandidate | None
    events: Sequence[TmEvent] | None
    setlists: Sequence[SfmSetlist] | None
    sources: Sequence[str]
    next_sync_at: datetime | None
    exact_ids: frozenset[str] = frozenset()
    #: The window ``events`` list the artist's shows over, and whether every page was read.
    listing_window: tuple[date, date] | None = None
    events_complete: bool = False
    #: How far a read from page 1 went in the artist's setlist history (the backfill's cursor).
    history: HistoryMark | None = None
    #: Filled by the store that succeeded: ids another row holds (error key, why).
    conflicts: list[tuple[str, str]] = field(default_factory=list)

    def listing(self) -> Listing | None:
        """The artist's listing (``store_artist_sync``), when its events were read."""
        if self.events is None or self.listing_window is None:
            return None
        return Listing(
            artist_id=self.artist_id,
            event_ids=frozenset(event.id for event in self.events),
            first_day=self.listing_window[0],
            last_day=self.listing_window[1],
            complete=self.events_complete,
        )

    async def store(self, writer: Writer, *, today: date, now: datetime) -> dict[str, int]:
        """This artist alone, in its own transaction."""
        self.conflicts.clear()
        return await store_artist_sync(
            writer,
            artist_id=self.artist_id,
            identity=self.identity,
            events=self.events,
            setlists=self.setlists,
            sources=self.sources,
            today=today,
            now=now,
            next_sync_at=self.next_sync_at,
            exact_ids=self.exact_ids,
            conflicts=self.conflicts,
            listing_window=self.listing_window,
            events_complete=self.events_complete,
            history=self.history,
        )


class NotBatchable(Exception):
    """The artists of a batch touch one another (ids shared, one row merged into another): the
    caller stores each one alone, in order, instead."""


def _shares_ids(identities: Sequence[ArtistCandidate]) -> bool:
    seen: set[tuple[str, str]] = set()
    for candidate in identities:
        keys = set(candidate.ids.items())
        if keys & seen:
            return True
        seen |= keys
    return False


async def store_artist_syncs(
    writer: Writer, syncs: Sequence[ArtistSync], *, today: date, now: datetime
) -> tuple[list[dict[str, int]], dict[str, int]]:
    """Many artists' syncs and their success marks in ONE transaction, set-based: one statement
    per table written for the whole batch (the artists' ids linked, their shows, venues, songs,
    setlists and entries, their marks), whatever the number of artists. Either every artist's
    data and fresh ``last_synced_at`` land, or none does: when this raises, the caller stores
    each artist alone (``ArtistSync.store``), so one artist's bad data fails that artist only.

    Returns each artist's counts (what is attributed to it) and the shared rest (venues,
    support acts, artist links), which add up to what was written. Raises ``NotBatchable``
    before writing when the artists touch one another."""
    identities = [s.identity for s in syncs if s.identity is not None]
    if _shares_ids(identities) or len({s.artist_id for s in syncs}) != len(syncs):
        raise NotBatchable("artists of the batch share ids")
    counts = StoreCounts()
    artist_ids = [s.artist_id for s in syncs]
    events_of = {s.artist_id: s.events for s in syncs}
    setlists_of = {s.artist_id: s.setlists for s in syncs}
    conflicts: dict[int, list[tuple[str, str]]] = {}
    # Mapped before the transaction: on SQLite, the write lock is held for less time.
    records_of = {
        s.artist_id: [setlist_record(setlist) for setlist in s.setlists]
        for s in syncs
        if s.setlists is not None
    }
    async with writer.transaction() as conn:
        # Ids found for an artist go to its row only (``store_artist_sync``), all in one go.
        to_link = [(s.artist_id, s.identity, s.exact_ids) for s in syncs if s.identity is not None]
        links = await link_artists_ids(conn, to_link, now=now) if to_link else []
        if links is None:
            raise NotBatchable("an artist of the batch would take over another row")
        for (artist_id, _, _), linked in zip(to_link, links, strict=True):
            counts.add("artists_linked", linked.linked, artist=artist_id)
            counts.add("identity_conflicts", len(linked.refused), artist=artist_id)
            conflicts[artist_id] = [
                (f"artist:{artist_id}:{name}", why) for name, why in linked.refused.items()
            ]
            if "mbid" in linked.refused:
                setlists_of[artist_id] = None
            if "ticketmaster_id" in linked.refused:
                events_of[artist_id] = None
        owners: dict[str, int] = {}
        events: list[TmEvent] = []
        for artist_id in artist_ids:
            for event in events_of[artist_id] or ():
                if owners.setdefault(event.id, artist_id) == artist_id:
                    events.append(event)
        if any(events_of[artist_id] is not None for artist_id in artist_ids):
            listings = [
                listing
                for sync in syncs
                if events_of[sync.artist_id] is not None and (listing := sync.listing())
            ]
            event_counts, _ = await _store_events(
                conn, events, today=today, now=now, owners=owners, listings=listings
            )
            counts.merge(event_counts)
            if event_counts.values.get("artists_merged"):
                raise NotBatchable("an attraction merged two artists")
        by_artist = {
            artist_id: records_of[artist_id]
            for artist_id in artist_ids
            if setlists_of[artist_id] is not None
        }
        if by_artist:
            await store_setlists_of(conn, by_artist, today=today, counts=counts)
        await mark_artists_synced(
            conn,
            [
                (artist_id, sync.sources, sync.next_sync_at)
                for sync, artist_id in zip(syncs, artist_ids, strict=True)
            ],
            now=now,
        )
        marks = [(s.artist_id, s.history) for s in syncs if s.history is not None]
        if marks:
            await save_history_marks(conn, marks, now=now)
    for sync in syncs:
        sync.conflicts[:] = conflicts.get(sync.artist_id, [])
    return [dict(counts.of(a).values) for a in artist_ids], counts.unattributed()


async def record_artist_failure(
    writer: Writer, *, artist_id: int, error: str, now: datetime, base_minutes: float
) -> datetime | None:
    """A failed artist keeps its old ``last_synced_at``; it gets a retry time instead."""
    if writer.dry_run:
        return None
    async with writer.transaction() as conn:
        return await mark_artist_failed(
            conn, artist_id, error=error, now=now, base_minutes=base_minutes
        )


async def shows_to_confirm(writer: Writer, *, today: date, limit: int) -> list[tuple[int, str]]:
    """(show id, Ticketmaster event id) of the past shows Ticketmaster must confirm before they
    are completed (``models.catalog.past_shows_to_confirm``)."""
    if limit <= 0:
        return []
    async with writer.read() as conn:
        return await past_shows_to_confirm(conn, today=today, limit=limit)


async def store_confirmations(
    writer: Writer,
    events: Sequence[TmEvent],
    gone: Sequence[int],
    *,
    today: date,
    now: datetime,
) -> dict[str, int]:
    """What Ticketmaster said of past shows, in one transaction: the events it still has are
    stored as any event is (completed once their date has passed, cancelled, postponed, or moved
    to their new date and venue); the shows whose event it no longer has are delisted."""
    async with writer.transaction() as conn:
        counts, _ = await _store_events(conn, events, today=today, now=now)
        delisted = await delist_shows(conn, gone)
    stored = dict(counts.values)
    stored["past_shows_delisted"] = delisted
    return stored


async def finish_master_sync(writer: Writer, *, today: date, snapshot: bool) -> dict[str, int]:
    """Past shows become completed; with ``snapshot``, today's artist snapshots are taken."""
    async with writer.transaction() as conn:
        completed = await complete_past_shows(conn, today=today)
        snapshots = await snapshot_artists(conn, day=today) if snapshot else 0
    return {"shows_completed": completed, "snapshots_written": snapshots}
