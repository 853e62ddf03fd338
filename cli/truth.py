"""The sandbox world's truth as the simulation's scorecard reads it (``cli/scorecard.py``).

A thin layer over ``sandbox.truth.Truth`` (the world's own answers: artists and their real ids,
exposure, listed and upcoming events at an instant, every change, published setlists with their
true content): the exposure of the discovery flow's markets, window and playlists; a setlist's
content in the shape our database keeps it; the status our database should hold for an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sandbox.catalog import Artist, Catalog, Event, Performance
from sandbox.timeline import CHANGE_KINDS, EVENT_CHANGE_KINDS, ChangeKind
from sandbox.truth import Change, Truth

__all__ = [
    "CHANGE_KINDS",
    "EVENT_CHANGE_KINDS",
    "Change",
    "ChangeKind",
    "Entry",
    "SimTruth",
    "entries",
    "truth_status",
]

#: One song of a setlist as the database keeps it: (set index from 1, encore, title, tape, cover).
Entry = tuple[int, int, str, bool, str | None]


def truth_status(event: Event) -> str:
    """The status our database should hold for ``event`` while it is upcoming."""
    code = event.status.lower()
    if code in ("canceled", "cancelled"):
        return "cancelled"
    if code == "postponed":
        return "postponed"
    return "upcoming"


def entries(catalog: Catalog, performance: Performance, version: int) -> list[Entry]:
    """The setlist's songs at ``version`` as the database keeps them (songs without a title are
    not songs: the sync skips them, and so does this)."""
    out: list[Entry] = []
    for set_index, content in enumerate(catalog.sets(performance, version), 1):
        for song in content.songs:
            if song.name:
                cover = song.cover.name if song.cover is not None else None
                out.append((set_index, content.encore, song.name, song.tape, cover))
    return out


class SimTruth:
    """``Truth`` over a simulated period from ``start``, with the discovery flow's sources."""

    def __init__(
        self,
        truth: Truth,
        start: datetime,
        *,
        markets: Iterable[int],
        window_days: int,
        playlists: Iterable[str] = (),
    ) -> None:
        catalog = truth.catalog
        self.catalog = catalog
        self.truth = truth
        self.start = start
        self.markets = tuple(markets)
        self.window_days = window_days
        self.playlists = tuple(playlists)
        self.by_spotify_id = catalog.artist_by_spotify_id
        self.by_ticketmaster_id = catalog.artist_by_ticketmaster_id
        self.by_mbid = catalog.artist_by_mbid

    def exposed_artists(self, until: datetime) -> set[int]:
        """Indexes of the artists the discovery flow's sources exposed by ``until``: an
        attraction of an event listed in a discovery market within the discovery window, an
        artist of a discovery playlist."""
        return {
            artist.index
            for artist in self.truth.exposed_artists(
                until,
                markets=self.markets,
                playlists=self.playlists,
                window_days=self.window_days,
            )
        }

    def upcoming_events(self, artist: Artist, at: datetime) -> tuple[Event, ...]:
        """The events ``artist`` headlines that Ticketmaster lists as upcoming at ``at``."""
        return self.truth.upcoming_events(artist, at, headlined_only=True)

    def event_at(self, event_id: str, at: datetime) -> Event | None:
        """The event as Ticketmaster serves it at ``at`` (None: unknown or dropped)."""
        return self.truth.event_at(event_id, at)

    def performance(self, setlist_id: str) -> Performance | None:
        return self.catalog.performance_by_setlist_id(setlist_id)

    def published(self, artist: Artist, at: datetime) -> list[Performance]:
        """``artist``'s setlists published by ``at``."""
        return [s.performance for s in self.truth.setlists(artist, at)]

    def version_of(self, performance: Performance, version_id: str) -> int | None:
        """The version a stored ``version_id`` names (None: no version of this setlist)."""
        for version in range(len(performance.versions)):
            if self.catalog.version_id(performance, version) == version_id:
                return version
        return None

    def changes(self, since: datetime, until: datetime) -> tuple[Change, ...]:
        return self.truth.changes(since, until)
