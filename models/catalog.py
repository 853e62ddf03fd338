"""Writing what the sources say about shows, venues and setlists — idempotently, in batches.

The records here are plain dataclasses (the tasks map upstream payloads onto them), so this module
knows nothing of HTTP. Every write is keyed on a natural key; running a store twice with the same
records changes nothing the second time.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from models.identity import normalize_name, normalize_title
from models.tables import (
    Artist,
    ArtistSnapshot,
    Setlist,
    SetlistEntry,
    Show,
    ShowStatus,
    ShowSupportAct,
    Song,
    UserActivity,
    Venue,
)
from models.types import utcnow
from models.upserts import insert_rows, upsert

__all__ = [
    "SetRecord",
    "SetlistRecord",
    "ShowRecord",
    "SongRecord",
    "StoreCounts",
    "VenueRecord",
    "artists_with_news",
    "complete_past_shows",
    "delist_shows",
    "past_shows_to_confirm",
    "setlist_versions",
    "snapshot_artists",
    "store_setlists",
    "store_setlists_of",
    "store_shows",
    "store_venues",
]

venues: Table = Venue.__table__  # type: ignore[attr-defined]
shows: Table = Show.__table__  # type: ignore[attr-defined]
acts: Table = ShowSupportAct.__table__  # type: ignore[attr-defined]
songs: Table = Song.__table__  # type: ignore[attr-defined]
setlists: Table = Setlist.__table__  # type: ignore[attr-defined]
entries: Table = SetlistEntry.__table__  # type: ignore[attr-defined]
artists: Table = Artist.__table__  # type: ignore[attr-defined]
snapshots: Table = ArtistSnapshot.__table__  # type: ignore[attr-defined]
activity: Table = UserActivity.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class VenueRecord:
    name: str
    ticketmaster_id: str | None = None
    setlistfm_id: str | None = None
    city: str | None = None
    state_code: str | None = None
    country_code: str | None = None
    postal_code: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    city_latitude: float | None = None
    city_longitude: float | None = None
    timezone: str | None = None
    url: str | None = None
    market_id: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        if self.ticketmaster_id:
            return ("ticketmaster", self.ticketmaster_id)
        if self.setlistfm_id:
            return ("setlistfm", self.setlistfm_id)
        raise ValueError(f"venue {self.name!r} has no source id")

    def values(self) -> dict[str, Any]:
        """The columns this record knows (``None`` fields are left out, never overwrite)."""
        row = {
            "name": self.name,
            "normalized_name": normalize_name(self.name),
            "city": self.city,
            "state_code": self.state_code,
            "country_code": self.country_code,
            "postal_code": self.postal_code,
            "address": self.address,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "city_latitude": self.city_latitude,
            "city_longitude": self.city_longitude,
            "timezone": self.timezone,
            "url": self.url,
            "market_id": self.market_id,
        }
        return {k: v for k, v in row.items() if v is not None}


@dataclass(frozen=True)
class ShowRecord:
    """An upcoming show as Ticketmaster lists it."""

    ticketmaster_id: str
    artist_id: int
    local_date: date
    status: ShowStatus
    venue: VenueRecord | None = None
    name: str | None = None
    local_time: time | None = None
    starts_at: datetime | None = None
    ticket_url: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    currency: str | None = None
    support_artist_ids: tuple[int, ...] = ()


class SongRecord(NamedTuple):
    """One song of a set. A named tuple, not a frozen dataclass: a sync maps tens of thousands
    of them, and a tuple is built about three times faster (``tasks.mapping.setlist_record``)."""

    title: str
    info: str | None = None
    tape: bool = False
    cover_name: str | None = None
    cover_mbid: str | None = None
    with_name: str | None = None


@dataclass(frozen=True)
class SetRecord:
    name: str | None
    encore: int
    songs: tuple[SongRecord, ...]


@dataclass(frozen=True)
class SetlistRecord:
    setlistfm_id: str
    version_id: str
    event_date: date
    venue: VenueRecord | None = None
    tour_name: str | None = None
    info: str | None = None
    url: str | None = None
    last_updated: datetime | None = None
    sets: tuple[SetRecord, ...] = ()


@dataclass(frozen=True)
class Listing:
    """What Ticketmaster lists of one artist's events in ``[first_day, last_day]``."""

    artist_id: int
    event_ids: frozenset[str]
    first_day: date
    last_day: date
    complete: bool


@dataclass
class StoreCounts:
    """What a store changed, by kind (``shows_added``, ``shows_updated``, ...).

    A store of many artists at once also attributes what it can to the artist it was stored for
    (``by_artist``: a show to the artist whose events listed it, a setlist, its songs, entries and
    show to the setlist's artist); ``values`` is always the whole. Venues, support acts and
    artist links are shared, counted in ``values`` only."""

    values: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_artist: dict[int, StoreCounts] = field(default_factory=dict)

    def add(self, key: str, n: int, *, artist: int | None = None) -> None:
        if n:
            self.values[key] += n
            if artist is not None:
                self.of(artist).add(key, n)

    def add_each(self, key: str, by_artist: Mapping[int, int]) -> None:
        """``add(key, n, artist=artist)`` for each artist's ``n``: a batch's counts summed per
        artist first, then added once each (not once per row)."""
        for artist, n in by_artist.items():
            self.add(key, n, artist=artist)

    def of(self, artist: int) -> StoreCounts:
        """The counts attributed to ``artist``."""
        return self.by_artist.setdefault(artist, StoreCounts())

    def merge(self, other: StoreCounts) -> None:
        for key, n in other.values.items():
            self.add(key, n)
        for artist, counts in other.by_artist.items():
            for key, n in counts.values.items():
                self.of(artist).add(key, n)

    def unattributed(self) -> dict[str, int]:
        """``values`` less what ``by_artist`` holds: the shared writes."""
        left = dict(self.values)
        for counts in self.by_artist.values():
            for key, n in counts.values.items():
                left[key] -= n
        return {key: n for key, n in left.items() if n}


def _record(counts: StoreCounts, kind: str, result: Any) -> None:
    counts.add(f"{kind}_added", result.inserted)
    counts.add(f"{kind}_updated", result.updated)


#: Two positions of one venue, each from a source that knows the venue's own, are this close.
VENUE_MATCH_KM = 1.0
#: A venue lies this close to the centre of its city (setlist.fm knows only the city's).
CITY_MATCH_KM = 30.0

_Link = tuple[str, str]  # ("ticketmaster" | "setlistfm", the venue's id there)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


def _place(name: str | None, city: str | None, country: str | None) -> tuple[str, str, str] | None:
    """The key two sources must share to be one venue: normalised name, normalised city and
    country code, all known (``None``: not enough to match on)."""
    if not name or not city or not country:
        return None
    return (normalize_name(name), normalize_name(city), country.upper())


def _position(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    return (lat, lon) if lat is not None and lon is not None else None


def venues_match(stored: Any, record: VenueRecord) -> bool:
    """Whether a stored venue row (from one source) and a record (from the other) are one venue.

    The rule: the same normalised name, the same normalised city and the same country code, all
    known on both sides; the same state code when both know one; and, where positions are known,
    close enough: the two venues' own positions within ``VENUE_MATCH_KM``, or one venue's own
    position within ``CITY_MATCH_KM`` of the other side's city centre. Anything less is two
    venues (a wrong merge mixes two places; a missed one leaves a second row)."""
    key = _place(record.name, record.city, record.country_code)
    if key is None or key != _place(stored.name, stored.city, stored.country_code):
        return False
    if record.state_code and stored.state_code and record.state_code != stored.state_code:
        return False
    own = _position(record.latitude, record.longitude)
    stored_own = _position(stored.latitude, stored.longitude)
    if own and stored_own:
        return _km(*own, *stored_own) <= VENUE_MATCH_KM
    centre = _position(record.city_latitude, record.city_longitude)
    stored_centre = _position(stored.city_latitude, stored.city_longitude)
    for venue, city in ((own, stored_centre), (stored_own, centre)):
        if venue and city and _km(*venue, *city) > CITY_MATCH_KM:
            return False
    return True


async def _link_venues(
    conn: AsyncConnection, records: Sequence[VenueRecord], source: str, counts: StoreCounts
) -> None:
    """Give the source's id to the stored venue each new record is (``venues_match``), when the
    match is unambiguous: one stored candidate, claimed by one record. Set-based: one SELECT of
    the candidates, one ``executemany`` UPDATE."""
    id_column = venues.c.ticketmaster_id if source == "ticketmaster" else venues.c.setlistfm_id
    new_ids = [r.key[1] for r in records]
    known = set(
        (await conn.execute(select(id_column).where(id_column.in_(new_ids)))).scalars().all()
    )
    unknown = [
        r for r in records if r.key[1] not in known and _place(r.name, r.city, r.country_code)
    ]
    if not unknown:
        return
    names = sorted({normalize_name(r.name) for r in unknown})
    candidates = (
        await conn.execute(
            select(venues)
            .where(venues.c.normalized_name.in_(names), id_column.is_(None))
            .order_by(venues.c.id)
        )
    ).all()
    by_place: dict[tuple[str, str, str] | None, list[Any]] = defaultdict(list)
    for c in candidates:  # only a candidate of the same place can match (venues_match)
        by_place[_place(c.name, c.city, c.country_code)].append(c)
    matches: dict[str, list[int]] = {
        r.key[1]: [
            c.id
            for c in by_place.get(_place(r.name, r.city, r.country_code), ())
            if venues_match(c, r)
        ]
        for r in unknown
    }
    claims: dict[int, int] = defaultdict(int)
    for found in matches.values():
        for venue_id in found:
            claims[venue_id] += 1
    links = [
        (r, found[0])
        for r in unknown
        if len(found := matches[r.key[1]]) == 1 and claims[found[0]] == 1
    ]
    if not links:
        return
    now = utcnow()
    if source == "ticketmaster":
        # Ticketmaster's details then overwrite the row (its upsert follows): they win.
        stmt = (
            update(venues)
            .where(venues.c.id == bindparam("venue_id"), venues.c.ticketmaster_id.is_(None))
            .values(ticketmaster_id=bindparam("source_id"), updated_at=now)
        )
        params: list[dict[str, Any]] = [
            {"venue_id": v, "source_id": r.ticketmaster_id} for r, v in links
        ]
    else:
        # setlist.fm only adds its id and what the row lacks: its city's centre.
        stmt = (
            update(venues)
            .where(venues.c.id == bindparam("venue_id"), venues.c.setlistfm_id.is_(None))
            .values(
                setlistfm_id=bindparam("source_id"),
                city_latitude=func.coalesce(venues.c.city_latitude, bindparam("lat")),
                city_longitude=func.coalesce(venues.c.city_longitude, bindparam("lon")),
                updated_at=now,
            )
        )
        params = [
            {
                "venue_id": v,
                "source_id": r.setlistfm_id,
                "lat": r.city_latitude,
                "lon": r.city_longitude,
            }
            for r, v in links
        ]
    await conn.execute(stmt, params)
    counts.add("venues_linked", len(links))


async def store_venues(
    conn: AsyncConnection, records: Sequence[VenueRecord], *, counts: StoreCounts | None = None
) -> dict[tuple[str, str], int]:
    """Upsert venues. A venue new to one source is first linked to the venue the other source
    brought, when ``venues_match`` says they are one (both directions); Ticketmaster's details
    win on a linked venue, setlist.fm only fills its id and its city's centre.

    Returns the venue id of every record's ``key``.
    """
    counts = counts if counts is not None else StoreCounts()
    by_key: dict[tuple[str, str], VenueRecord] = {}
    for record in records:
        by_key[record.key] = record
    ids: dict[tuple[str, str], int] = {}
    tm = [r for k, r in by_key.items() if k[0] == "ticketmaster"]
    if tm:
        await _link_venues(conn, tm, "ticketmaster", counts)
        rows = [{"ticketmaster_id": r.ticketmaster_id, **r.values()} for r in tm]
        result = await upsert(conn, venues, rows, conflict=["ticketmaster_id"], with_ids=True)
        _record(counts, "venues", result)
        for r in tm:
            ids[r.key] = result.ids[(r.ticketmaster_id,)]
    sfm = [r for k, r in by_key.items() if k[0] == "setlistfm"]
    if sfm:
        await _link_venues(conn, sfm, "setlistfm", counts)
        rows = [{"setlistfm_id": r.setlistfm_id, **r.values()} for r in sfm]
        result = await upsert(
            conn, venues, rows, conflict=["setlistfm_id"], update=(), with_ids=True
        )
        counts.add("venues_added", result.inserted)
        for r in sfm:
            ids[r.key] = result.ids[(r.setlistfm_id,)]
    return ids


def _pick_show(options: Sequence[tuple[int, int | None]], venue_id: int | None) -> int | None:
    """Of the unclaimed shows of one artist on one day, ``(show id, venue id)``, the one a record
    at ``venue_id`` is: the one at the same venue, else the only show that day (an artist plays
    one show a day; a venue the two sources name differently must not make it two)."""
    exact = [s for s, v in options if venue_id is not None and v == venue_id]
    if exact:
        return exact[0]
    return options[0][0] if len(options) == 1 else None


#: Statuses a show Ticketmaster stops listing loses (cancelled stays cancelled).
_DELISTABLE = (ShowStatus.UPCOMING.value, ShowStatus.ONGOING.value, ShowStatus.POSTPONED.value)


async def _reconcile(
    conn: AsyncConnection, listings: Sequence[Listing], counts: StoreCounts
) -> None:
    """Each complete listing against the artist's stored Ticketmaster shows: a show of that
    artist dated strictly inside the listing's window (a day of margin at each end, for time
    zones) that is upcoming, ongoing or postponed and whose event is no longer listed becomes
    ``delisted`` (kept with its history; never completed; listed again, the upsert gives it back
    the listed status). A partial listing (``complete=False``) reconciles nothing. Set-based:
    one SELECT per 500 artists, one ``executemany`` UPDATE."""
    complete = {listing.artist_id: listing for listing in listings if listing.complete}
    if not complete:
        return
    artist_ids = sorted(complete)
    earliest = min(listing.first_day for listing in complete.values())
    found: list[Any] = []
    for start in range(0, len(artist_ids), 500):
        result = await conn.execute(
            select(shows.c.id, shows.c.artist_id, shows.c.ticketmaster_id, shows.c.local_date)
            .where(
                shows.c.artist_id.in_(artist_ids[start : start + 500]),
                shows.c.ticketmaster_id.is_not(None),
                shows.c.status.in_(_DELISTABLE),
                shows.c.local_date > earliest,
            )
            .order_by(shows.c.id)
        )
        found.extend(result.all())
    gone = [
        {"show_id": show_id}
        for show_id, artist_id, tm_id, local_date in found
        if complete[artist_id].first_day < local_date < complete[artist_id].last_day
        and tm_id not in complete[artist_id].event_ids
    ]
    if gone:
        await conn.execute(
            update(shows)
            .where(shows.c.id == bindparam("show_id"))
            .values(status=ShowStatus.DELISTED.value, updated_at=utcnow()),
            gone,
        )
    counts.add("shows_delisted", len(gone))


@dataclass
class _Stored:
    id: int
    artist_id: int
    local_date: date
    venue_id: int | None
    ticketmaster_id: str | None
    status: str

    @property
    def free(self) -> bool:
        """A show a new Ticketmaster event may take over: setlist.fm's (no event yet) or one
        whose event Ticketmaster no longer lists."""
        return self.ticketmaster_id is None or self.status == ShowStatus.DELISTED.value


async def _stored_shows(
    conn: AsyncConnection, tm_ids: Sequence[str], pairs: Sequence[tuple[int, date]]
) -> dict[int, _Stored]:
    """The shows of these events, and every show of these artists on these dates."""
    columns = (
        shows.c.id,
        shows.c.artist_id,
        shows.c.local_date,
        shows.c.venue_id,
        shows.c.ticketmaster_id,
        shows.c.status,
    )
    stored: dict[int, _Stored] = {}
    for start in range(0, max(len(tm_ids), len(pairs)), 500):
        wheres = []
        if tm_ids[start : start + 500]:
            wheres.append(shows.c.ticketmaster_id.in_(tm_ids[start : start + 500]))
        if pairs[start : start + 500]:
            wheres.append(
                tuple_(shows.c.artist_id, shows.c.local_date).in_(pairs[start : start + 500])
            )
        for where in wheres:
            for found in (await conn.execute(select(*columns).where(where))).all():
                stored[found[0]] = _Stored(*found)
    return stored


async def _place_shows(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], counts: StoreCounts
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Where each Ticketmaster show row goes, so that an artist never has two shows on one date
    at one venue (the unique slot ``(artist_id, local_date, venue_id)``):

    * an event we store updates its show (moved or rescheduled: the same row);
    * a new event takes over the free show (``_Stored.free``) of that artist and date (the one
      at its venue, else the only one that day): the show setlist.fm created first, or the one
      of an event Ticketmaster dropped (an event re-listed under a new id);
    * an event whose slot another listed event holds (an early and a late show) is folded into
      that show, not stored apart (``events_folded``); an event of ours that moves into such a
      slot leaves its old show ``delisted`` and without an event id.

    Returns the rows to upsert and the show id of each folded event. Set-based: two SELECTs,
    then one ``executemany`` UPDATE per kind of change."""
    stored = await _stored_shows(
        conn,
        [row["ticketmaster_id"] for row in rows],
        sorted({(row["artist_id"], row["local_date"]) for row in rows}),
    )
    own = {s.ticketmaster_id: s for s in stored.values() if s.ticketmaster_id}
    by_day: dict[tuple[int, date], list[_Stored]] = defaultdict(list)
    for show in sorted(stored.values(), key=lambda s: s.id):
        by_day[(show.artist_id, show.local_date)].append(show)

    def settled(row: dict[str, Any]) -> bool:
        mine = own.get(row["ticketmaster_id"])
        here = (row["local_date"], row["venue_id"])
        return mine is not None and (mine.local_date, mine.venue_id) == here

    claimed: set[int] = set()  # stored shows an event of this batch holds
    slots: dict[tuple[int, date, int], int | None] = {}  # slot -> its show (None: a new row)
    detach: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    keep: list[dict[str, Any]] = []
    folded: dict[str, int] = {}
    # Events already in their slot first: they hold it against newcomers.
    for row in sorted(rows, key=lambda r: (not settled(r), r["ticketmaster_id"])):
        tm_id, venue_id = row["ticketmaster_id"], row["venue_id"]
        day = by_day.get((row["artist_id"], row["local_date"]), [])
        slot = (row["artist_id"], row["local_date"], venue_id) if venue_id is not None else None
        mine = own.get(tm_id)
        occupant = next(
            (s for s in day if venue_id is not None and s.venue_id == venue_id and s is not mine),
            None,
        )
        held = slot is not None and slot in slots
        if not held and occupant is not None:
            held = occupant.id in claimed or not occupant.free
        if held:  # another listed event holds the slot: fold into its show
            if mine is not None:
                detach.append({"show_id": mine.id})
            holder = slots.get(slot) if slot in slots else occupant.id if occupant else None
            if holder is not None:
                folded[tm_id] = holder
            counts.add("events_folded", 1)
            continue
        target: int | None = None
        if mine is not None and occupant is None:
            target = mine.id
        else:
            options = [(s.id, s.venue_id) for s in day if s.free and s.id not in claimed]
            if occupant is not None:  # a free show in our very slot: ours
                options = [(occupant.id, occupant.venue_id)]
            target = _pick_show(options, venue_id)
            if target is not None:
                if mine is not None:
                    detach.append({"show_id": mine.id})
                links.append({"show_id": target, "tm_id": tm_id})
        if target is not None:
            claimed.add(target)
        if slot is not None:
            slots[slot] = target
        keep.append(row)
    now = utcnow()
    if detach:
        await conn.execute(
            update(shows)
            .where(shows.c.id == bindparam("show_id"))
            .values(ticketmaster_id=None, status=ShowStatus.DELISTED.value, updated_at=now),
            detach,
        )
    if links:
        await conn.execute(
            update(shows)
            .where(shows.c.id == bindparam("show_id"))
            .values(ticketmaster_id=bindparam("tm_id"), updated_at=now),
            links,
        )
        counts.add("shows_linked", len(links))
    return keep, folded


async def store_shows(
    conn: AsyncConnection,
    records: Sequence[ShowRecord],
    *,
    counts: StoreCounts | None = None,
    listings: Sequence[Listing] = (),
    owners: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Upsert Ticketmaster shows, their venues and supporting acts; returns tm id -> show id.

    ``listings``: the artists whose events these are, as complete as Ticketmaster gave them;
    complete ones are reconciled first (``_reconcile``), then each event is placed
    (``_place_shows``) and upserted. ``owners`` (tm id -> artist id): each show added or updated
    is also counted for its owner (the artist whose sync listed it) in ``counts.by_artist``."""
    counts = counts if counts is not None else StoreCounts()
    # First what the listings no longer hold: a new event may then take over its show.
    await _reconcile(conn, listings, counts)
    if not records:
        return {}
    latest = {r.ticketmaster_id: r for r in records}
    venue_ids = await store_venues(
        conn, [r.venue for r in latest.values() if r.venue is not None], counts=counts
    )
    rows = []
    for r in latest.values():
        row: dict[str, Any] = {
            "ticketmaster_id": r.ticketmaster_id,
            "artist_id": r.artist_id,
            "venue_id": venue_ids[r.venue.key] if r.venue is not None else None,
            "name": r.name,
            "local_date": r.local_date,
            "local_time": r.local_time,
            "starts_at": r.starts_at,
            "status": r.status.value,
            "ticket_url": r.ticket_url,
            "min_price": r.min_price,
            "max_price": r.max_price,
            "currency": r.currency,
        }
        rows.append(row)
    rows, folded = await _place_shows(conn, rows, counts)
    show_ids: dict[str, int] = {}
    if rows:
        rows.sort(key=itemgetter("ticketmaster_id"))  # one lock order for concurrent writers
        result = await upsert(
            conn,
            shows,
            rows,
            conflict=["ticketmaster_id"],
            with_ids=True,
            with_outcomes=owners is not None,
        )
        if owners is None:
            _record(counts, "shows", result)
        else:
            for (tm_id,), inserted in result.outcomes.items():
                kind = "shows_added" if inserted else "shows_updated"
                counts.add(kind, 1, artist=owners.get(tm_id))
        show_ids = {row["ticketmaster_id"]: result.ids[(row["ticketmaster_id"],)] for row in rows}

    act_rows = [
        {"show_id": show_ids[r.ticketmaster_id], "artist_id": artist_id, "position": position}
        for r in latest.values()
        if r.ticketmaster_id in show_ids
        for position, artist_id in enumerate(dict.fromkeys(r.support_artist_ids), start=1)
        if artist_id != r.artist_id
    ]
    wanted = {(row["show_id"], row["artist_id"]) for row in act_rows}
    present = (
        await conn.execute(
            select(acts.c.show_id, acts.c.artist_id).where(
                acts.c.show_id.in_(list(show_ids.values()))
            )
        )
    ).all()
    stale = [{"s": s, "a": a} for s, a in present if (s, a) not in wanted]
    if stale:
        await conn.execute(
            delete(acts).where(
                acts.c.show_id == bindparam("s"), acts.c.artist_id == bindparam("a")
            ),
            stale,
        )
    counts.add("support_acts_removed", len(stale))
    if act_rows:
        acts_result = await upsert(conn, acts, act_rows, conflict=["show_id", "artist_id"])
        _record(counts, "support_acts", acts_result)
    return {**folded, **show_ids}


_IN_CHUNK = 2000  # values per IN list: far below either database's bound-parameter limit


async def _rows_in(
    conn: AsyncConnection, query: Callable[[list[Any]], Any], values: Sequence[Any]
) -> list[Any]:
    """The rows of ``query(chunk)`` for every chunk of ``values`` (one statement per 2,000)."""
    found: list[Any] = []
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _IN_CHUNK):
        found.extend((await conn.execute(query(ordered[start : start + _IN_CHUNK]))).all())
    return found


async def _match_shows(
    conn: AsyncConnection,
    records: Sequence[tuple[int, SetlistRecord]],
    venue_ids: dict[tuple[str, str], int],
) -> tuple[dict[str, int | None], set[str]]:
    """The existing show each (artist, setlist) belongs to: the same setlist.fm id, else a show
    of the same artist on the same date without a setlist yet (``_pick_show``), else the show
    already in its slot (same artist, date and venue: a second setlist of one show joins it).
    Also returns the setlists whose show is to take their setlist.fm id (it has none yet). Two
    lookups for any number of artists."""
    found: dict[str, int | None] = {}
    linkable: set[str] = set()
    by_sfm = dict(
        await _rows_in(
            conn,
            lambda chunk: select(shows.c.setlistfm_id, shows.c.id).where(
                shows.c.setlistfm_id.in_(chunk)
            ),
            [r.setlistfm_id for _, r in records],
        )
    )
    wanted = {(artist_id, r.event_date) for artist_id, r in records}
    same_day = await _rows_in(
        conn,
        lambda chunk: (
            select(
                shows.c.id,
                shows.c.artist_id,
                shows.c.local_date,
                shows.c.venue_id,
                shows.c.setlistfm_id,
            )
            .where(
                shows.c.artist_id.in_(chunk),
                shows.c.local_date.in_(sorted({day for _, day in wanted})),
            )
            .order_by(shows.c.id)
        ),
        [artist_id for artist_id, _ in wanted],
    )
    day_index: dict[tuple[int, date], list[tuple[int, int | None]]] = defaultdict(list)
    slot_index: dict[tuple[int, date, int], int] = {}
    for show_id, artist_id, local_date, venue_id, sfm_id in sorted(same_day):
        if sfm_id is None:
            day_index[(artist_id, local_date)].append((show_id, venue_id))
        if venue_id is not None:
            slot_index.setdefault((artist_id, local_date, venue_id), show_id)
    claimed: set[int] = set()
    for artist_id, r in records:
        if r.setlistfm_id in by_sfm:
            found[r.setlistfm_id] = by_sfm[r.setlistfm_id]
            continue
        venue_id = venue_ids.get(r.venue.key) if r.venue is not None else None
        options = [
            (s, v) for s, v in day_index.get((artist_id, r.event_date), []) if s not in claimed
        ]
        choice = _pick_show(options, venue_id)
        if choice is not None:
            claimed.add(choice)
            linkable.add(r.setlistfm_id)
        elif venue_id is not None:
            choice = slot_index.get((artist_id, r.event_date, venue_id))
        found[r.setlistfm_id] = choice
    return found, linkable


async def store_setlists(
    conn: AsyncConnection,
    artist_id: int,
    records: Sequence[SetlistRecord],
    *,
    today: date,
    counts: StoreCounts | None = None,
) -> int:
    """Store an artist's setlists with their set structure. A setlist whose ``versionId`` is
    already stored is skipped untouched. Returns how many setlists were new or changed."""
    return await store_setlists_of(conn, {artist_id: records}, today=today, counts=counts)


_ENTRY_COLUMNS = (
    "setlist_id",
    "position",
    "set_index",
    "set_name",
    "encore",
    "song_id",
    "tape",
    "cover_artist_name",
    "cover_mbid",
    "with_artist_name",
    "info",
)


async def store_setlists_of(
    conn: AsyncConnection,
    by_artist: Mapping[int, Sequence[SetlistRecord]],
    *,
    today: date,
    counts: StoreCounts | None = None,
) -> int:
    """``store_setlists`` for many artists at once, in a fixed number of statements: one per
    table written (venues, shows, songs, setlists, entries) and a few lookups, whatever the
    number of artists and setlists. What changed is also counted per artist
    (``counts.by_artist``). A setlist listed for two artists is the first one's."""
    counts = counts if counts is not None else StoreCounts()
    owner: dict[str, int] = {}
    latest: dict[str, SetlistRecord] = {}
    for artist_id, records in by_artist.items():
        for r in records:
            if owner.setdefault(r.setlistfm_id, artist_id) == artist_id:
                latest[r.setlistfm_id] = r
    if not latest:
        return 0
    stored = dict(
        await _rows_in(
            conn,
            lambda chunk: select(setlists.c.setlistfm_id, setlists.c.version_id).where(
                setlists.c.setlistfm_id.in_(chunk)
            ),
            list(latest),
        )
    )
    changed: list[tuple[int, SetlistRecord]] = []
    for sfm_id, r in latest.items():
        if stored.get(sfm_id) == r.version_id:
            counts.add("setlists_unchanged", 1, artist=owner[sfm_id])
        else:
            changed.append((owner[sfm_id], r))
    if not changed:
        return 0
    venue_ids = await store_venues(
        conn, [r.venue for _, r in changed if r.venue is not None], counts=counts
    )
    show_for, linkable = await _match_shows(conn, changed, venue_ids)

    # Shows: link the matched ones (one executemany), create the ones nobody listed.
    links = [
        {"show_id": show_for[r.setlistfm_id], "sfm_id": r.setlistfm_id}
        for _, r in changed
        if r.setlistfm_id in linkable
    ]
    if links:
        await conn.execute(
            update(shows)
            .where(shows.c.id == bindparam("show_id"), shows.c.setlistfm_id.is_(None))
            .values(setlistfm_id=bindparam("sfm_id"), updated_at=utcnow()),
            links,
        )
        for link in links:
            counts.add("shows_linked", 1, artist=owner[str(link["sfm_id"])])
    # One new show per slot: a second new setlist of the same artist, date and venue joins it.
    new_shows: list[dict[str, Any]] = []
    joins: dict[str, str] = {}
    slot_first: dict[tuple[int, date, int], str] = {}
    for artist_id, r in changed:
        if show_for[r.setlistfm_id] is not None:
            continue
        venue_id = venue_ids.get(r.venue.key) if r.venue is not None else None
        if venue_id is not None:
            first = slot_first.setdefault((artist_id, r.event_date, venue_id), r.setlistfm_id)
            if first != r.setlistfm_id:
                joins[r.setlistfm_id] = first
                continue
        past = r.event_date < today
        new_shows.append(
            {
                "setlistfm_id": r.setlistfm_id,
                "artist_id": artist_id,
                "venue_id": venue_id,
                "name": r.tour_name,
                "local_date": r.event_date,
                "status": (ShowStatus.COMPLETED if past else ShowStatus.UPCOMING).value,
            }
        )
    if new_shows:
        result = await upsert(
            conn,
            shows,
            new_shows,
            conflict=["setlistfm_id"],
            update=(),
            with_ids=True,
            with_outcomes=True,
        )
        counts.add_each(
            "shows_added",
            Counter(owner[sfm_id] for (sfm_id,), new in result.outcomes.items() if new),
        )
        for row in new_shows:
            sfm_id = str(row["setlistfm_id"])
            show_for[sfm_id] = result.ids[(sfm_id,)]
    for sfm_id, first in joins.items():
        show_for[sfm_id] = show_for[first]

    # Songs, keyed per artist on the normalised title. Each distinct title of an artist is
    # normalised once (``key_of``); its entries below find their song by that title.
    titles: dict[tuple[int, str], str] = {}  # key -> its first spelling
    key_of: dict[int, dict[str, tuple[int, str]]] = {}  # artist -> title -> key
    for artist_id, r in changed:
        keys = key_of.setdefault(artist_id, {})
        for set_record in r.sets:
            for song in set_record.songs:
                title = song.title
                if title not in keys:
                    key = keys[title] = (artist_id, normalize_title(title))
                    titles.setdefault(key, title)
    song_ids: dict[tuple[int, str], int] = {}
    if titles:
        song_rows = [
            {"artist_id": artist_id, "title": title, "normalized_title": normalized}
            for (artist_id, normalized), title in titles.items()
        ]
        result = await upsert(
            conn,
            songs,
            song_rows,
            conflict=["artist_id", "normalized_title"],
            update=(),
            with_ids=True,
            with_outcomes=True,
        )
        counts.add_each(
            "songs_added",
            Counter(artist_id for (artist_id, _), new in result.outcomes.items() if new),
        )
        song_ids = {key: result.ids[key] for key in titles}

    setlist_rows = [
        {
            "setlistfm_id": r.setlistfm_id,
            "version_id": r.version_id,
            "artist_id": artist_id,
            "show_id": show_for[r.setlistfm_id],
            "event_date": r.event_date,
            "tour_name": r.tour_name,
            "info": r.info,
            "url": r.url,
            "last_updated_at": r.last_updated,
        }
        for artist_id, r in changed
    ]
    result = await upsert(
        conn,
        setlists,
        setlist_rows,
        conflict=["setlistfm_id"],
        with_ids=True,
        with_outcomes=True,
    )
    added, updated = Counter[int](), Counter[int]()
    for (sfm_id,), inserted in result.outcomes.items():
        (added if inserted else updated)[owner[sfm_id]] += 1
    counts.add_each("setlists_added", added)
    counts.add_each("setlists_updated", updated)
    setlist_ids = [result.ids[(r.setlistfm_id,)] for _, r in changed]
    rewritten = [
        result.ids[key] for key, inserted in result.outcomes.items() if not inserted
    ]  # a new setlist has no entries yet
    for start in range(0, len(rewritten), _IN_CHUNK):
        chunk = rewritten[start : start + _IN_CHUNK]
        await conn.execute(delete(entries).where(entries.c.setlist_id.in_(chunk)))
    # Each artist's songs by title (one lookup per entry), then the entries (a hot loop:
    # tens of thousands of rows per batch).
    song_of = {
        artist_id: {title: song_ids[key] for title, key in keys.items()}
        for artist_id, keys in key_of.items()
    }
    entry_rows: list[tuple[Any, ...]] = []
    append = entry_rows.append
    written = Counter[int]()
    for (artist_id, r), setlist_id in zip(changed, setlist_ids, strict=True):
        id_of = song_of[artist_id]
        position = 0
        for set_index, set_record in enumerate(r.sets, start=1):
            name, encore = set_record.name, set_record.encore
            for title, info, tape, cover_name, cover_mbid, with_name in set_record.songs:
                position += 1
                append(
                    (
                        setlist_id,
                        position,
                        set_index,
                        name,
                        encore,
                        id_of[title],
                        tape,
                        cover_name,
                        cover_mbid,
                        with_name,
                        info,
                    )
                )
        written[artist_id] += position
    counts.add_each("setlist_entries_written", written)
    await insert_rows(conn, entries, _ENTRY_COLUMNS, entry_rows)
    return len(changed)


def _past_and_open(today: date) -> Any:
    return and_(
        shows.c.status.in_([ShowStatus.UPCOMING.value, ShowStatus.ONGOING.value]),
        shows.c.local_date < today,
    )


def _confirmed_by_setlist() -> Any:
    return exists().where(setlists.c.show_id == shows.c.id)


async def complete_past_shows(conn: AsyncConnection, *, today: date) -> int:
    """Shows still upcoming or ongoing whose date has passed become completed — those that need
    no word from Ticketmaster: a show with a setlist (it was played), or one Ticketmaster never
    listed (setlist.fm created it from its setlist).

    A Ticketmaster show without a setlist waits for Ticketmaster to confirm it
    (``past_shows_to_confirm``, then ``flows/master_sync.confirm_past_shows``): its event may
    have been dropped, cancelled or moved since it was last read, and completing it then would
    be a phantom completion. Cancelled, postponed and delisted shows keep their status."""
    result = await conn.execute(
        update(shows)
        .where(
            _past_and_open(today),
            or_(shows.c.ticketmaster_id.is_(None), _confirmed_by_setlist()),
        )
        .values(status=ShowStatus.COMPLETED.value, updated_at=utcnow())
    )
    return int(result.rowcount or 0)


async def past_shows_to_confirm(
    conn: AsyncConnection, *, today: date, limit: int
) -> list[tuple[int, str]]:
    """(show id, Ticketmaster event id) of at most ``limit`` shows whose date has passed, still
    upcoming or ongoing, known to Ticketmaster and without a setlist: the ones Ticketmaster must
    confirm before they are completed. Oldest date first."""
    result = await conn.execute(
        select(shows.c.id, shows.c.ticketmaster_id)
        .where(
            _past_and_open(today),
            shows.c.ticketmaster_id.is_not(None),
            ~_confirmed_by_setlist(),
        )
        .order_by(shows.c.local_date, shows.c.id)
        .limit(limit)
    )
    return [(int(show_id), str(event_id)) for show_id, event_id in result.all()]


def _listed_between(first: date, last: date) -> list[ColumnElement[bool]]:
    """Shows a Ticketmaster listing over ``first`` .. ``last`` (inclusive) should hold again:
    known to Ticketmaster, upcoming, ongoing or postponed (the statuses a reconciliation
    delists, ``_DELISTABLE``: each is looked up before it is), dated in the window."""
    return [
        shows.c.ticketmaster_id.is_not(None),
        shows.c.status.in_(_DELISTABLE),
        shows.c.local_date >= first,
        shows.c.local_date <= last,
    ]


async def listed_events_of(
    conn: AsyncConnection, artist_ids: Sequence[int], *, start: date, end: date
) -> dict[int, list[str]]:
    """Per artist, the Ticketmaster event ids of its shows still upcoming, dated from ``start``
    to ``end`` (inclusive): what its listing over that window should hold again."""
    found: dict[int, list[str]] = {}
    ids = sorted(set(artist_ids))
    for first in range(0, len(ids), 2000):
        result = await conn.execute(
            select(shows.c.artist_id, shows.c.ticketmaster_id)
            .where(shows.c.artist_id.in_(ids[first : first + 2000]), *_listed_between(start, end))
            .order_by(shows.c.artist_id, shows.c.local_date, shows.c.id)
        )
        for artist_id, event_id in result.all():
            found.setdefault(int(artist_id), []).append(str(event_id))
    return found


async def listed_shows_in_cities(
    conn: AsyncConnection, *, cities: Collection[tuple[str, str | None]], start: date, end: date
) -> list[tuple[int, str]]:
    """(show id, Ticketmaster event id) of the shows still upcoming, dated from ``start`` to
    before ``end``, at venues in these (city, state code) pairs: what a complete sweep of the
    markets those cities are in must list again."""
    wanted = {(city.casefold(), state) for city, state in cities}
    if not wanted:
        return []
    venue_rows = await conn.execute(
        select(venues.c.id, venues.c.city, venues.c.state_code).where(
            venues.c.city.in_(sorted({city for city, _ in cities}))
        )
    )
    venue_ids = sorted(
        int(row.id)
        for row in venue_rows
        if row.city is not None and (row.city.casefold(), row.state_code) in wanted
    )
    rows: list[tuple[int, str]] = []
    for first in range(0, len(venue_ids), 2000):
        result = await conn.execute(
            select(shows.c.id, shows.c.ticketmaster_id)
            .where(
                shows.c.venue_id.in_(venue_ids[first : first + 2000]),
                *_listed_between(start, end - timedelta(days=1)),
            )
            .order_by(shows.c.local_date, shows.c.id)
        )
        rows.extend((int(show_id), str(event_id)) for show_id, event_id in result.all())
    return rows


async def delist_shows(conn: AsyncConnection, show_ids: Sequence[int]) -> int:
    """These shows' events are gone from Ticketmaster (a lookup by id found nothing): they
    become ``delisted``, never completed. Only shows still upcoming or ongoing change."""
    if not show_ids:
        return 0
    result = await conn.execute(
        update(shows)
        .where(
            shows.c.id.in_(list(show_ids)),
            shows.c.status.in_([ShowStatus.UPCOMING.value, ShowStatus.ONGOING.value]),
        )
        .values(status=ShowStatus.DELISTED.value, updated_at=utcnow())
    )
    return int(result.rowcount or 0)


async def snapshot_artists(conn: AsyncConnection, *, day: date, today: date | None = None) -> int:
    """Record every artist's figures for ``day`` (idempotent per day): popularity, followers,
    net app followers, upcoming and total show counts. One set-based statement.

    Followers are recorded only when they were read from Spotify since the artist's previous
    snapshot (``artists.followers_read_at`` later than that snapshot's), with the instant they
    were read; otherwise followers and their instant stay NULL. A value not read again is not
    copied forward: growth is measured between real reads (docs/trending.md)."""
    today = today or day
    follows = (
        select(
            activity.c.artist_id.label("artist_id"),
            func.sum(case((activity.c.kind == "follow", 1), else_=-1)).label("net"),
        )
        .where(activity.c.kind.in_(["follow", "unfollow"]), activity.c.artist_id.is_not(None))
        .group_by(activity.c.artist_id)
        .subquery()
    )
    is_upcoming = and_(
        shows.c.status.in_([ShowStatus.UPCOMING.value, ShowStatus.ONGOING.value]),
        shows.c.local_date >= today,
    )
    counts = (
        select(
            shows.c.artist_id.label("artist_id"),
            func.count().label("total"),
            func.sum(case((is_upcoming, 1), else_=0)).label("upcoming"),
        )
        .group_by(shows.c.artist_id)
        .subquery()
    )
    earlier = snapshots.alias("earlier_snapshot")
    previous_read = (
        select(func.max(earlier.c.followers_read_at))
        .where(earlier.c.artist_id == artists.c.id, earlier.c.day < day)
        .scalar_subquery()
    )
    rows = (
        await conn.execute(
            select(
                artists.c.id,
                artists.c.popularity,
                artists.c.followers,
                artists.c.followers_read_at,
                previous_read,
                func.coalesce(follows.c.net, 0),
                func.coalesce(counts.c.upcoming, 0),
                func.coalesce(counts.c.total, 0),
            )
            .outerjoin(follows, follows.c.artist_id == artists.c.id)
            .outerjoin(counts, counts.c.artist_id == artists.c.id)
        )
    ).all()
    snapshot_rows = [
        {
            "artist_id": artist_id,
            "day": day,
            "popularity": popularity,
            "followers": followers if fresh else None,
            "followers_read_at": read_at if fresh else None,
            "app_followers": max(int(net), 0),
            "upcoming_shows": int(upcoming),
            "total_shows": int(total),
        }
        for artist_id, popularity, followers, read_at, previous, net, upcoming, total in rows
        for fresh in [
            followers is not None
            and read_at is not None
            and (previous is None or read_at > previous)
        ]
    ]
    if not snapshot_rows:
        return 0
    result = await upsert(conn, snapshots, snapshot_rows, conflict=["artist_id", "day"])
    return int(result.inserted + result.updated)


async def setlist_versions(conn: AsyncConnection, artist_id: int) -> dict[str, str]:
    """The stored ``versionId`` of each of an artist's setlists, by setlist.fm id."""
    rows = await conn.execute(
        select(setlists.c.setlistfm_id, setlists.c.version_id).where(
            setlists.c.artist_id == artist_id
        )
    )
    return {sfm_id: version for sfm_id, version in rows.all()}


async def artists_with_news(
    conn: AsyncConnection, published: Mapping[str, tuple[str, str]]
) -> list[str]:
    """The MusicBrainz ids of our artists with news among ``published`` (setlist.fm id ->
    (the artist's MusicBrainz id, the setlist's version)): a setlist we do not hold, or hold in
    another version. Sorted; two statements per 500 setlists."""
    news: set[str] = set()
    ids = sorted(published)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        held = dict(
            (
                await conn.execute(
                    select(setlists.c.setlistfm_id, setlists.c.version_id).where(
                        setlists.c.setlistfm_id.in_(chunk)
                    )
                )
            ).all()
        )
        fresh = {published[i][0] for i in chunk if held.get(i) != published[i][1]}
        if fresh:
            ours = await conn.execute(
                select(artists.c.mbid).where(artists.c.mbid.in_(sorted(fresh)))
            )
            news.update(str(mbid) for mbid in ours.scalars())
    return sorted(news)


async def setlist_versions_of(
    conn: AsyncConnection, artist_ids: Sequence[int]
) -> dict[int, dict[str, str]]:
    """``setlist_versions`` of many artists in one statement per 500 (every asked id has an
    entry, empty when it has no setlist)."""
    found: dict[int, dict[str, str]] = {artist_id: {} for artist_id in artist_ids}
    ids = sorted(found)
    for start in range(0, len(ids), 500):
        rows = await conn.execute(
            select(setlists.c.artist_id, setlists.c.setlistfm_id, setlists.c.version_id).where(
                setlists.c.artist_id.in_(ids[start : start + 500])
            )
        )
        for artist_id, sfm_id, version in rows.all():
            found[artist_id][sfm_id] = version
    return found
