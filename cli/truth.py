"""What the sandbox's world really is, for the simulation's scorecard (``cli/scorecard.py``).

A thin adapter over the sandbox catalogue with the shape of the world's truth API: the artists
with their true ids, the artists the sources expose, the listed and upcoming events, the
published setlists (publication instant, edits, true content per version) and the changes
between two instants. The scorecard reads only this and our database, never what the flows
believe. The catalogue's events do not change during a run (its only changes are setlists
published and edited); when the sandbox's world grows changes of its own, this adapter is where
they are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal

from sandbox.catalog import Artist, Catalog, Event, Performance

__all__ = ["CHANGE_KINDS", "Change", "ChangeKind", "SetlistTruth", "Truth", "truth_status"]

ChangeKind = Literal[
    "event_new",
    "event_canceled",
    "event_postponed",
    "event_rescheduled",
    "event_moved",
    "event_dropped",
    "setlist_published",
    "setlist_edited",
]
CHANGE_KINDS: Final[tuple[ChangeKind, ...]] = (
    "event_new",
    "event_canceled",
    "event_postponed",
    "event_rescheduled",
    "event_moved",
    "event_dropped",
    "setlist_published",
    "setlist_edited",
)

#: One entry of a set as the database keeps it: (set index from 1, encore, title, tape, cover).
Entry = tuple[int, int, str, bool, str | None]


@dataclass(frozen=True, slots=True)
class Change:
    """One upstream change: its kind, when it happened, whose it is and what it touches (an
    event id or a setlist id), and the version it made (setlists)."""

    kind: ChangeKind
    at: datetime
    artist: Artist
    key: str
    version: int = 0


def truth_status(event: Event) -> str:
    """The status our database should hold for ``event`` while it is upcoming."""
    code = event.status.lower()
    if code in ("canceled", "cancelled"):
        return "cancelled"
    if code == "postponed":
        return "postponed"
    return "upcoming"


class SetlistTruth:
    """One published setlist: its versions' instants and true content."""

    __slots__ = ("catalog", "performance")

    def __init__(self, catalog: Catalog, performance: Performance) -> None:
        self.catalog = catalog
        self.performance = performance

    @property
    def setlist_id(self) -> str:
        return self.performance.setlist_id

    @property
    def published_at(self) -> datetime:
        return self.performance.versions[0]

    def version_at(self, at: datetime) -> int:
        return self.performance.version_at(at)

    def version_of(self, version_id: str) -> int | None:
        """The version a stored ``version_id`` names (None: no version of this setlist)."""
        for version in range(len(self.performance.versions)):
            if self.catalog.version_id(self.performance, version) == version_id:
                return version
        return None

    def entries(self, version: int) -> list[Entry]:
        """The setlist's songs at ``version``, as the database keeps them."""
        out: list[Entry] = []
        for set_index, content in enumerate(self.catalog.sets(self.performance, version), 1):
            for song in content.songs:
                if song.name:
                    cover = song.cover.name if song.cover is not None else None
                    out.append((set_index, content.encore, song.name, song.tape, cover))
        return out


class Truth:
    """The sandbox world's truth over a simulated period starting at ``start``."""

    def __init__(
        self,
        catalog: Catalog,
        start: datetime,
        *,
        markets: Iterable[int],
        window_days: int,
        playlists: Iterable[str] = (),
    ) -> None:
        self.catalog = catalog
        self.start = start
        self.markets = frozenset(markets)
        self.window_days = window_days
        self.playlists = frozenset(playlists)
        self.by_spotify_id = catalog.artist_by_spotify_id
        self.by_ticketmaster_id = {
            a.ticketmaster_id: a for a in catalog.artists if a.ticketmaster_id
        }
        self.by_mbid = catalog.artist_by_mbid
        self._headlined: dict[int, list[Event]] = {}
        for event in catalog.events:
            self._headlined.setdefault(event.headliner.index, []).append(event)

    def artists(self) -> tuple[Artist, ...]:
        return self.catalog.artists

    def exposed_artists(self, until: datetime) -> set[int]:
        """Indexes of the artists the sources exposed to discovery between ``start`` and
        ``until``: every attraction of an event Ticketmaster listed in a discovery market within
        the discovery window of some day of the period, every artist of a discovery playlist's
        track added by then."""
        horizon = until + timedelta(days=self.window_days)
        exposed = {
            artist.index
            for event in self.catalog.events
            if event.venue.market.id in self.markets and self.start <= event.sort_instant <= horizon
            for artist in event.attractions
        }
        for playlist in self.catalog.playlists:
            if playlist.id not in self.playlists:
                continue
            for track, added in playlist.tracks:
                if added <= until:
                    exposed.update(artist.index for artist in track.artists)
        return exposed

    def upcoming_events(self, artist: Artist, at: datetime) -> list[Event]:
        """The events ``artist`` headlines that Ticketmaster lists as upcoming at ``at``."""
        return [e for e in self._headlined.get(artist.index, []) if e.sort_instant >= at]

    def event(self, event_id: str) -> Event | None:
        return self.catalog.event_by_id.get(event_id)

    def listed(self, event: Event, at: datetime) -> bool:
        """Whether Ticketmaster still lists ``event`` at ``at`` (the catalogue drops none)."""
        del at
        return True

    def setlists(self, artist: Artist, at: datetime) -> list[SetlistTruth]:
        """``artist``'s setlists published by ``at``."""
        return [SetlistTruth(self.catalog, p) for p in self.catalog.setlists(artist, at)]

    def setlist(self, setlist_id: str) -> SetlistTruth | None:
        performance = self.catalog.performance_by_setlist_id(setlist_id)
        return SetlistTruth(self.catalog, performance) if performance is not None else None

    def changes(
        self, since: datetime, until: datetime, artists: Iterable[Artist]
    ) -> Iterator[Change]:
        """The changes of ``artists`` in ``(since, until]``: setlists published and edited."""
        for artist in artists:
            for performance in self.catalog.performances(artist):
                for version, at in enumerate(performance.versions):
                    if since < at <= until:
                        kind: ChangeKind = "setlist_published" if version == 0 else "setlist_edited"
                        yield Change(kind, at, artist, performance.setlist_id, version)

    def day(self, at: datetime) -> date:
        return at.date()
