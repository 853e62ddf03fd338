"""What is true in a sandbox world at any instant, to score a database against (no HTTP).

``Truth(catalog)`` is a read-only view over a ``Catalog``: the artists and their real ids, which
artists the sources expose by an instant, the events Ticketmaster lists at an instant, every
upstream change with its instant, and the setlists setlist.fm has published by an instant, with
their true content. Everything is precomputed once per catalogue (or on first use) so that
scoring thousands of artists every simulated day stays cheap: per-artist questions cost the
artist's own events or setlists, not the catalogue.

Instants are UTC ``datetime``s. The world starts at ``catalog.origin`` (midnight of ``today``):
asked about an earlier instant, the Ticketmaster answers are those of ``origin``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal, NamedTuple

from sandbox.catalog import Artist, Catalog, Event, Performance, SetContent, Venue
from sandbox.timeline import CHANGE_KINDS, ChangeKind, Homonym

__all__ = ["Change", "EventOutcome", "TrueSetlist", "Truth"]

EventOutcome = Literal["played", "canceled", "dropped", "postponed", "tba"]
_KIND_ORDER: Final = {kind: number for number, kind in enumerate(CHANGE_KINDS)}


@dataclass(frozen=True, slots=True)
class Change:
    """One upstream change.

    Event kinds: ``event`` is the event from ``at`` on (for ``event_dropped``: as last listed;
    it is gone from Ticketmaster from ``at``) and ``artist`` its headliner. Setlist kinds:
    ``setlist_id``, ``version`` (0 published, n the n-th edit) and the event it belongs to
    (``event_id``, ``None`` for a show Ticketmaster never listed in the catalogue's window).
    """

    at: datetime
    kind: ChangeKind
    artist: Artist
    event_id: str | None
    setlist_id: str | None = None
    version: int | None = None
    event: Event | None = None

    @property
    def artist_index(self) -> int:
        return self.artist.index


class TrueSetlist(NamedTuple):
    """A setlist as setlist.fm serves it at an instant (cheap: details are computed on access);
    ``sets`` is its true content then."""

    performance: Performance
    version: int  # edits made by the instant asked about (0: as published)
    catalog: Catalog

    @property
    def setlist_id(self) -> str:
        return self.performance.setlist_id

    @property
    def artist(self) -> Artist:
        return self.performance.artist

    @property
    def event_id(self) -> str | None:
        """The Ticketmaster event it belongs to (``None``: a show outside the listing)."""
        return self.performance.event_id

    @property
    def event_date(self) -> date:
        """The date it was played (a rescheduled event's new date)."""
        return self.performance.event_date

    @property
    def venue(self) -> Venue:
        """Where it was played (a moved event's new venue)."""
        return self.performance.venue

    @property
    def tour(self) -> str | None:
        return self.performance.tour

    @property
    def info(self) -> str | None:
        return self.performance.info

    @property
    def published_at(self) -> datetime:
        return self.performance.versions[0]

    @property
    def last_updated(self) -> datetime:
        return self.performance.versions[self.version]

    @property
    def version_id(self) -> str:
        return self.catalog.version_id(self.performance, self.version)

    @property
    def sets(self) -> tuple[SetContent, ...]:
        """Sets in order (main sets, then encores 1, 2), each with its songs in order; a song
        carries ``tape``, ``cover`` (the covered catalogue artist), ``with_artist``, ``info``."""
        return self.catalog.sets(self.performance, self.version)


ArtistRef = int | Artist


def _index(artist: ArtistRef) -> int:
    return artist if isinstance(artist, int) else artist.index


class Truth:
    """The sandbox world's truth (see the module docstring and docs/sandbox.md)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.origin = catalog.origin
        self.horizon_end = catalog.origin + timedelta(days=catalog.horizon_days)
        self._event_changes = catalog.world.changes
        self._exposure: dict[
            tuple[frozenset[int] | None, frozenset[str] | None, int | None, bool], _Exposure
        ] = {}
        self._first_listed: dict[int | None, dict[str, tuple[datetime, int]]] = {}
        self._setlist_changes: list[Change] | None = None
        self._setlist_change_instants: list[datetime] = []

    # artists ------------------------------------------------------------------------------------

    def artists(self) -> tuple[Artist, ...]:
        """Every artist of the world with its true ids (``spotify_id``, ``ticketmaster_id``,
        ``mbid``; ``None`` where that API does not know it), ``name`` and ``index``."""
        return self.catalog.artists

    def artist(self, index: int) -> Artist:
        return self.catalog.artists[index]

    def artist_by(
        self,
        *,
        spotify_id: str | None = None,
        ticketmaster_id: str | None = None,
        mbid: str | None = None,
    ) -> Artist | None:
        """The artist an id belongs to (the first id given that is known), or ``None``."""
        catalog = self.catalog
        for found in (
            catalog.artist_by_spotify_id.get(spotify_id or ""),
            catalog.artist_by_ticketmaster_id.get(ticketmaster_id or ""),
            catalog.artist_by_mbid.get(mbid or ""),
        ):
            if found is not None:
                return found
        return None

    def scene(self, artist: ArtistRef) -> tuple[Artist, ...]:
        """The artist's scene: its co-touring group inside its genre, the artist included
        (supporting acts come mostly from the headliner's scene, covers from its scene or
        genre; ``sandbox/catalog.py``)."""
        return self.catalog.scenes[self.catalog.artists[_index(artist)].scene]

    def scenes(self) -> tuple[tuple[Artist, ...], ...]:
        """Every scene, numbered as ``Artist.scene``; each inside one genre."""
        return self.catalog.scenes

    def homonyms(self) -> tuple[Homonym, ...]:
        """The deliberate homonym pairs (``kind``, ``original``, ``twin``)."""
        return self.catalog.homonyms

    # exposure -----------------------------------------------------------------------------------

    def exposed_artists(
        self,
        until: datetime,
        *,
        markets: Iterable[int] | None = None,
        playlists: Iterable[str] | None = None,
        window_days: int | None = None,
        supporting_acts: bool = True,
    ) -> tuple[Artist, ...]:
        """The artists some source exposes at an instant in ``[origin, until]``, first exposed
        first (then by index).

        Exposed: an attraction (headliner or supporting act) of an event Ticketmaster lists at
        that instant in one of ``markets`` (Ticketmaster market ids; ``None``: all 21), or an
        artist (or featured artist) of a track on one of ``playlists`` (Spotify ids; ``None``:
        every playlist the sandbox serves), from ``origin``. ``window_days`` ``None``: the event
        is in the default listing then (start not passed); a number N: a market sweep's window
        then holds it (its start in ``[midnight UTC of that day, + N days)``, as the discovery
        flow's ``day_window`` asks). ``supporting_acts=False``: only headliners are exposed by
        Ticketmaster.
        """
        exposure = self._exposure_for(markets, playlists, window_days, supporting_acts)
        position = bisect.bisect_right(exposure.instants, max(until, self.origin))
        return tuple(self.catalog.artists[i] for i in exposure.order[:position])

    def first_exposed(
        self,
        artist: ArtistRef,
        *,
        markets: Iterable[int] | None = None,
        playlists: Iterable[str] | None = None,
        window_days: int | None = None,
        supporting_acts: bool = True,
    ) -> datetime | None:
        """When ``exposed_artists`` first includes the artist (``None``: never, in the horizon)."""
        exposure = self._exposure_for(markets, playlists, window_days, supporting_acts)
        return exposure.first.get(_index(artist))

    def _exposure_for(
        self,
        markets: Iterable[int] | None,
        playlists: Iterable[str] | None,
        window_days: int | None,
        supporting_acts: bool,
    ) -> _Exposure:
        if window_days is not None and window_days < 1:
            raise ValueError(f"window_days must be at least 1, got {window_days}")
        key = (
            frozenset(markets) if markets is not None else None,
            frozenset(playlists) if playlists is not None else None,
            window_days,
            supporting_acts,
        )
        cached = self._exposure.get(key)
        if cached is None:
            cached = self._exposure[key] = self._build_exposure(*key)
        return cached

    def _first_listed_instants(self, window_days: int | None) -> dict[str, tuple[datetime, int]]:
        """Per event: the first instant from ``origin`` at which it is exposed (see
        ``exposed_artists``), and its market then."""
        cached = self._first_listed.get(window_days)
        if cached is not None:
            return cached
        first: dict[str, tuple[datetime, int]] = {}
        origin = self.origin
        window = timedelta(days=window_days or 0)
        for event_id, states in self.catalog.world.timelines.items():
            for number, state in enumerate(states):
                if not state.listed:
                    continue
                begins = max(state.at, origin)
                ends = states[number + 1].at if number + 1 < len(states) else None
                start = state.event.sort_instant
                if window_days is None:
                    exposed: datetime | None = begins if begins <= start else None
                else:
                    day = _midnight(begins)
                    if day > start:
                        exposed = None
                    elif start < day + window:
                        exposed = begins
                    else:
                        exposed = _midnight(start - window) + timedelta(days=1)
                if exposed is not None and (ends is None or exposed < ends):
                    first[event_id] = (exposed, state.event.venue.market.id)
                    break
        self._first_listed[window_days] = first
        return first

    def _build_exposure(
        self,
        markets: frozenset[int] | None,
        playlists: frozenset[str] | None,
        window_days: int | None,
        supporting_acts: bool,
    ) -> _Exposure:
        catalog = self.catalog
        listed_first = self._first_listed_instants(window_days)
        first: dict[int, datetime] = {}
        for event in catalog.all_events:
            listed = listed_first.get(event.id)
            if listed is None or (markets is not None and listed[1] not in markets):
                continue
            for artist in event.attractions if supporting_acts else (event.headliner,):
                known = first.get(artist.index)
                if known is None or listed[0] < known:
                    first[artist.index] = listed[0]
        for playlist in catalog.playlists:
            if playlists is not None and playlist.id not in playlists:
                continue
            for track, _ in playlist.tracks:
                for artist in track.artists:
                    first[artist.index] = self.origin
        order = sorted(first, key=lambda i: (first[i], i))
        return _Exposure(first=first, order=order, instants=[first[i] for i in order])

    # events -------------------------------------------------------------------------------------

    def event_at(self, event_id: str, at: datetime) -> Event | None:
        """The event as Ticketmaster serves it at ``at`` (its lookup; past ones included), or
        ``None``: unknown, not announced yet, or dropped."""
        return self.catalog.event_at(event_id, at)

    def listed_events(self, at: datetime) -> tuple[Event, ...]:
        """What the default Ticketmaster listing serves at ``at``: announced, not dropped, start
        (or the tentative date's local noon) not passed; by start, then id. Each in its state
        at ``at``: ``id``, ``status``, ``local_date``, ``local_time``, ``date_tba``, ``venue``,
        ``attractions`` (headliner first)."""
        events = self.catalog.listing(at).events
        position = bisect.bisect_left(events, at, key=lambda e: e.sort_instant)
        return events[position:]

    def upcoming_events(
        self, artist: ArtistRef, at: datetime, *, headlined_only: bool = False
    ) -> tuple[Event, ...]:
        """The artist's events (headlined, and supported unless ``headlined_only``) that the
        default listing serves at ``at``, in their state then; by start, then id."""
        index = _index(artist)
        catalog = self.catalog
        found = []
        for event_id in catalog.event_ids_by_artist.get(index, ()):
            event = catalog.event_at(event_id, at)
            if event is None or event.sort_instant < at:
                continue
            if headlined_only and event.headliner.index != index:
                continue
            found.append(event)
        found.sort(key=lambda e: (e.sort_instant, e.id))
        return tuple(found)

    def events_of(self, artist: ArtistRef) -> tuple[str, ...]:
        """The ids of every event the artist is ever an attraction of (any state, any time)."""
        return self.catalog.event_ids_by_artist.get(_index(artist), ())

    def played(self, event_id: str) -> Event | None:
        """The event as it was (or will be) played: date and venue where it happened. ``None``
        if it never is played: canceled, dropped, or still postponed / TBA at the horizon."""
        return self.catalog.played_event(event_id)

    def outcome(self, event_id: str) -> EventOutcome:
        """How the event ends (or will): ``played``, ``canceled``, ``dropped``, ``postponed``
        (never rescheduled within the horizon) or ``tba`` (its date never announced)."""
        final = self.catalog.event_timeline(event_id)[-1]
        if self.catalog.played_event(event_id) is not None:
            return "played"
        if not final.listed:
            return "dropped"
        if final.event.status in ("canceled", "postponed"):
            return "canceled" if final.event.status == "canceled" else "postponed"
        return "tba"

    # changes ------------------------------------------------------------------------------------

    def changes(
        self,
        since: datetime,
        until: datetime,
        *,
        kinds: Iterable[ChangeKind] | None = None,
    ) -> tuple[Change, ...]:
        """Every upstream change at an instant in ``(since, until]``, in order of instant (then
        kind, then ids). Nothing happens to Ticketmaster events on day 0 or after the horizon;
        setlists are published and edited at any time."""
        wanted = frozenset(kinds) if kinds is not None else None
        out: list[Change] = []
        if wanted is None or any(k.startswith("event_") for k in wanted):
            instants = self.catalog.change_instants
            low = bisect.bisect_right(instants, since)
            high = bisect.bisect_right(instants, until)
            for at, event_id, state in self._event_changes[low:high]:
                if wanted is None or state.kind in wanted:
                    out.append(
                        Change(
                            at=at,
                            kind=state.kind,
                            artist=state.event.headliner,
                            event_id=event_id,
                            event=state.event,
                        )
                    )
        if wanted is None or any(k.startswith("setlist_") for k in wanted):
            changes = self._setlists_changes()
            low = bisect.bisect_right(self._setlist_change_instants, since)
            high = bisect.bisect_right(self._setlist_change_instants, until)
            out.extend(c for c in changes[low:high] if wanted is None or c.kind in wanted)
        out.sort(key=_change_order)
        return tuple(out)

    def _setlists_changes(self) -> list[Change]:
        """Every publication and edit after ``origin`` (built on first use: it reads every
        artist's performances)."""
        if self._setlist_changes is None:
            found: list[Change] = []
            origin = self.origin
            for artist in self.catalog.artists:
                for performance in self.catalog.performances(artist):
                    if performance.versions[-1] <= origin:
                        continue
                    for version, at in enumerate(performance.versions):
                        if at > origin:
                            found.append(
                                Change(
                                    at=at,
                                    kind="setlist_edited" if version else "setlist_published",
                                    artist=artist,
                                    event_id=performance.event_id,
                                    setlist_id=performance.setlist_id,
                                    version=version,
                                )
                            )
            found.sort(key=_change_order)
            self._setlist_changes = found
            self._setlist_change_instants = [c.at for c in found]
        return self._setlist_changes

    # setlists -----------------------------------------------------------------------------------

    def setlists(self, artist: ArtistRef, at: datetime) -> tuple[TrueSetlist, ...]:
        """The artist's setlists published by ``at``, newest show first, as served then."""
        catalog = self.catalog
        return tuple(
            self._true_setlist(p, at)
            for p in catalog.performances(catalog.artists[_index(artist)])
            if p.published(at)
        )

    def setlist(self, setlist_id: str, at: datetime) -> TrueSetlist | None:
        """One setlist as served at ``at`` (``None``: unknown or not published yet)."""
        performance = self.catalog.performance_by_setlist_id(setlist_id)
        if performance is None or not performance.published(at):
            return None
        return self._true_setlist(performance, at)

    def _true_setlist(self, performance: Performance, at: datetime) -> TrueSetlist:
        return TrueSetlist(performance, performance.version_at(at), self.catalog)


@dataclass(frozen=True, slots=True)
class _Exposure:
    first: dict[int, datetime]
    order: list[int]
    instants: list[datetime]


def _midnight(instant: datetime) -> datetime:
    return datetime.combine(instant.astimezone(UTC).date(), time(0, 0), UTC)


def _change_order(change: Change) -> tuple[datetime, int, str, str]:
    return (change.at, _KIND_ORDER[change.kind], change.event_id or "", change.setlist_id or "")
