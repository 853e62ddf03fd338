"""The sandbox's world: a deterministic catalogue of artists, venues, events, setlists, playlists.

Everything is derived from ``seed``, the number of ``artists`` and the base date ``today``; the
same three inputs give the same catalogue, byte for byte. Construction is eager for what the
listing endpoints need (artists, venues, Ticketmaster events, playlists) and lazy, cached, per
artist for the bulky part (song repertoires, setlist.fm performances and their contents).

Structure: every artist has a genre and belongs to a **scene**, a co-touring group of
``SCENE_MIN``-``SCENE_MAX`` artists inside its genre (``Artist.scene``, ``Catalog.scenes``).
Supporting acts come mostly from the headliner's scene, covers and guests mostly from the
artist's scene or genre, so who plays with whom follows the scenes (what similar artists are
scored against: ``benchmarks/similarity_precision.py``).

Time: the catalogue itself is immutable. Whatever depends on time takes ``now`` (a UTC instant):
a setlist is visible once published, its version is the number of edits made by ``now``, and an
artist's followers and popularity drift day by day from ``today``.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Final, Literal
from zoneinfo import ZoneInfo

from sandbox.geo import MARKETS, City, Market
from sandbox.names import GENRES, Genre, artist_name, song_title, tour_name, venue_name

if TYPE_CHECKING:
    from sandbox.timeline import EventState, Listing

__all__ = [
    "Artist",
    "ArtistKind",
    "Catalog",
    "Event",
    "Performance",
    "Playlist",
    "PlaylistOwner",
    "SetContent",
    "SongEntry",
    "SupportDraw",
    "Track",
    "Venue",
    "base62",
    "slug",
    "stable_hash",
]

ArtistKind = Literal["core", "spotify_only", "tm_only"]
PlaylistOwner = Literal["developer", "user", "spotify"]

BASE62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HISTORY_DAYS: Final = 4 * 365
TM_PAST_DAYS: Final = 30
TM_FUTURE_DAYS: Final = 365
PLAYABLE_STATUSES: Final = frozenset({"onsale", "offsale", "rescheduled"})
_MASK32: Final = 0xFFFFFFFF
_SLOTS_PER_ARTIST: Final = 4096
_TM_SLOT_BASE: Final = 2048
_LATE_SLOT_BASE: Final = 3072  # events played that were not playable on day 0
_LISTINGS_KEPT: Final = 8
_SHOW_TIME: Final = time(20, 0)  # when a show without a Ticketmaster event starts (venue time)
_SETS_CACHE_SIZE: Final = 100_000
#: Scenes: co-touring groups of SCENE_MIN..SCENE_MAX artists inside a genre (``Artist.scene``).
SCENE_MIN: Final = 8
SCENE_MAX: Final = 20
#: The share of supporting acts drawn from the headliner's scene (the rest: any supporter).
SUPPORT_SCENE_SHARE: Final = 0.8
#: Cover songs (and guests): from the artist's scene, else its genre, else anyone.
COVER_SCENE_SHARE: Final = 0.6
COVER_GENRE_SHARE: Final = 0.25
_STATUS_WEIGHTS: Final = (
    ("onsale", 85),
    ("offsale", 5),
    ("canceled", 4),
    ("postponed", 3),
    ("rescheduled", 3),
)
_SHOW_TIMES: Final = (time(19, 0), time(19, 30), time(20, 0), time(20, 30), time(21, 0))
_SONG_INFOS: Final = (
    "acoustic",
    "Live debut",
    "extended intro",
    "snippet",
    "first time since 2019",
    "with string section",
    "dedicated to the crew",
    "solo piano",
)
_SETLIST_INFOS: Final = (
    "Opening night of the tour",
    "Festival set",
    "Shortened set due to curfew",
    "Rescheduled from an earlier date",
    "Final show of the tour",
)
_EDIT_INFOS: Final = ("crowd singalong", "restarted", "request", "extended outro", "tease")


# --------------------------------------------------------------------------- deterministic helpers


def stable_hash(seed: int, *parts: object) -> int:
    """A 128-bit hash of ``seed`` and ``parts``, the same on every run and machine."""
    text = "|".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=16).digest(), "big")


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(stable_hash(seed, *parts))


def base62(number: int, width: int) -> str:
    """``number`` as exactly ``width`` base62 digits (high digits dropped)."""
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        chars.append(BASE62[digit])
    return "".join(reversed(chars))


def _hex8(number: int) -> str:
    return f"{number & _MASK32:08x}"


class _Mixer32:
    """A seeded bijection on 32-bit integers: distinct inputs give distinct ids, and it inverts."""

    def __init__(self, key: int) -> None:
        self._xor = key & _MASK32
        self._a = ((key >> 32) & _MASK32) | 1
        self._b = ((key >> 64) & _MASK32) | 1
        self._a_inv = pow(self._a, -1, 1 << 32)
        self._b_inv = pow(self._b, -1, 1 << 32)

    def forward(self, value: int) -> int:
        x = ((value ^ self._xor) * self._a) & _MASK32
        x ^= x >> 16
        x = (x * self._b) & _MASK32
        return x ^ (x >> 16)

    def inverse(self, value: int) -> int:
        x = value ^ (value >> 16)
        x = (x * self._b_inv) & _MASK32
        x ^= x >> 16
        x = (x * self._a_inv) & _MASK32
        return x ^ self._xor


class _Affine62:
    """A seeded bijection on ``range(62**width)``, rendered as ``width`` base62 characters."""

    def __init__(self, key: int, width: int) -> None:
        self._space = 62**width
        self._width = width
        a = (key % self._space) | 1
        while a % 31 == 0:
            a += 2
        self._a = a
        self._b = (key >> 64) % self._space

    def code(self, value: int) -> str:
        if not 0 <= value < self._space:
            raise ValueError(f"{value} is outside the id space")
        return base62((self._a * value + self._b) % self._space, self._width)


def _sort_name(name: str, person: bool) -> str:
    if name.startswith("The "):
        return f"{name[4:]}, The"
    if person:
        first, last = name.rsplit(" ", 1)
        return f"{last}, {first}"
    return name


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _ticketmaster_variant(name: str, rng: random.Random) -> str:
    """How Ticketmaster spells a few names: case, accents, ``&``/``and``, a dropped ``The``."""
    options = []
    if _strip_accents(name) != name:
        options.append(_strip_accents(name))
    if " & " in name:
        options.append(name.replace(" & ", " and "))
    if name.startswith("The "):
        options.append(name[4:])
    title_case = " ".join(word[:1].upper() + word[1:] for word in name.split(" "))
    options.append(title_case if title_case != name else name.upper())
    return rng.choice(options)


@lru_cache(maxsize=65536)
def slug(text: str) -> str:
    """A lowercase ASCII dash-separated slug (for URLs the APIs would give)."""
    out = []
    for ch in _strip_accents(text).lower():
        out.append(ch if ch.isalnum() else "-")
    return "-".join(part for part in "".join(out).split("-") if part) or "x"


def _weighted(rng: random.Random, table: Iterable[tuple[str, int]]) -> str:
    items = list(table)
    return rng.choices([k for k, _ in items], weights=[w for _, w in items])[0]


def _scene_sizes(rng: random.Random, count: int) -> list[int]:
    """Split ``count`` artists into scenes of SCENE_MIN..SCENE_MAX (one smaller scene if the
    genre has fewer than SCENE_MIN artists)."""
    sizes: list[int] = []
    remaining = count
    while remaining > SCENE_MAX:
        size = rng.randint(SCENE_MIN, min(SCENE_MAX, remaining - SCENE_MIN))
        sizes.append(size)
        remaining -= size
    if remaining:
        sizes.append(remaining)
    return sizes


def _assign_scenes(seed: int, artists: list[Artist]) -> tuple[Artist, ...]:
    """Give every artist its scene: each genre's artists, shuffled by their own random stream
    (the artists' draws are untouched), cut into scenes of SCENE_MIN..SCENE_MAX; scenes are
    numbered genre by genre in ``GENRES`` order."""
    rng = _rng(seed, "scenes")
    scene_of: dict[int, int] = {}
    number = 0
    for genre in GENRES:
        members = [a.index for a in artists if a.genre is genre]
        rng.shuffle(members)
        start = 0
        for size in _scene_sizes(rng, len(members)):
            for index in members[start : start + size]:
                scene_of[index] = number
            start += size
            number += 1
    return tuple(replace(a, scene=scene_of[a.index]) for a in artists)


class SupportDraw:
    """Supporting acts: mostly (SUPPORT_SCENE_SHARE) from the headliner's scene, else from
    anywhere; always among ``supporters`` (the less popular two thirds on Ticketmaster).

    The acts drawn from anywhere are the uniform draws the catalogue always made, from the
    event's own stream (so every other draw of that stream, and so every event's date, venue and
    status, is what it was before scenes); which slots go to the scene, and who, comes from
    ``scene_rng``.
    """

    def __init__(self, supporters: list[Artist]) -> None:
        self.supporters = supporters
        self.by_scene: dict[int, list[Artist]] = {}
        for artist in supporters:
            self.by_scene.setdefault(artist.scene, []).append(artist)

    def draw(
        self, rng: random.Random, scene_rng: random.Random, headliner: Artist, wanted: int
    ) -> tuple[Artist, ...]:
        uniform: list[Artist] = []
        while len(uniform) < wanted:
            candidate = rng.choice(self.supporters)
            if candidate.index != headliner.index and candidate not in uniform:
                uniform.append(candidate)
        chosen: list[Artist] = []
        for drawn in uniform:
            in_scene = scene_rng.random() < SUPPORT_SCENE_SHARE
            if not in_scene and drawn not in chosen:
                chosen.append(drawn)
                continue
            pool = [
                a
                for a in self.by_scene.get(headliner.scene, ())
                if a.index != headliner.index and a not in chosen
            ]
            if not pool:  # a scene without (other) supporters: anyone not on the bill yet
                pool = [a for a in self.supporters if a.index != headliner.index]
                pool = [a for a in pool if a not in chosen] or pool
            chosen.append(scene_rng.choice(pool))
        return tuple(chosen)


# --------------------------------------------------------------------------------- the entities


@dataclass(frozen=True, slots=True)
class Artist:
    """One real-world artist and how each API knows it (``None``: unknown to that API)."""

    index: int
    kind: ArtistKind
    name: str
    ticketmaster_name: str
    sort_name: str
    spotify_id: str | None
    ticketmaster_id: str | None
    mbid: str | None
    setlistfm_tmid: str | None  # what setlist.fm knows as ``tmid`` (mostly the attraction id)
    setlistfm_url_id: str
    genre: Genre
    sub_genre: tuple[str, str]
    spotify_genres: tuple[str, ...]
    base_popularity: int
    base_followers: int
    daily_growth: float
    link_spotify: bool  # Ticketmaster externalLinks.spotify present
    link_musicbrainz: bool  # Ticketmaster externalLinks.musicbrainz present
    image_key: str
    activity: int  # how many past shows setlist.fm knows (before the Ticketmaster window)
    scene: int  # its co-touring group (``Catalog.scenes``), inside its genre

    @property
    def on_spotify(self) -> bool:
        return self.spotify_id is not None

    @property
    def on_ticketmaster(self) -> bool:
        return self.ticketmaster_id is not None

    @property
    def on_setlistfm(self) -> bool:
        return self.mbid is not None

    def followers_on(self, day_offset: int) -> int:
        """Spotify followers ``day_offset`` days after the catalogue's ``today``."""
        factor = (1.0 + self.daily_growth) ** max(day_offset, -HISTORY_DAYS)
        return max(0, round(self.base_followers * factor))

    def popularity_on(self, day_offset: int) -> int:
        """Spotify popularity (0-100) ``day_offset`` days after the catalogue's ``today``."""
        drift = round(self.daily_growth * 100 * day_offset / 7)
        return max(0, min(100, self.base_popularity + drift))


@dataclass(frozen=True, slots=True)
class Venue:
    """A venue; Ticketmaster and setlist.fm each have it under their own id, same name and city."""

    index: int
    name: str
    market: Market
    city: City
    ticketmaster_id: str
    setlistfm_id: str
    postal_code: str
    address: str
    latitude: float
    longitude: float
    geonames_id: str

    @property
    def timezone(self) -> str:
        return self.city.timezone


@dataclass(frozen=True, slots=True)
class Event:
    """A Ticketmaster event: headliner first, supporting acts after."""

    index: int
    id: str
    name: str
    headliner: Artist
    support: tuple[Artist, ...]
    venue: Venue
    local_date: date
    local_time: time | None
    date_tba: bool
    time_tba: bool
    status: str
    price_range: tuple[Decimal, Decimal] | None
    onsale_placeholder: bool
    onsale_start: datetime
    tour: str | None
    url_key: str
    starts_at: datetime | None  # the UTC start, when date and time are known
    sort_instant: datetime  # the UTC start, or local noon of the (tentative) date

    @property
    def attractions(self) -> tuple[Artist, ...]:
        return (self.headliner, *self.support)


def _utc_start(local_date: date, local_time: time | None, timezone: str) -> datetime | None:
    if local_time is None:
        return None
    return datetime.combine(local_date, local_time, _zone(timezone)).astimezone(UTC)


def _utc_noon(local_date: date, timezone: str) -> datetime:
    return datetime.combine(local_date, time(12, 0), _zone(timezone)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SongEntry:
    name: str
    tape: bool = False
    cover: Artist | None = None
    with_artist: Artist | None = None
    info: str | None = None


@dataclass(frozen=True, slots=True)
class SetContent:
    name: str | None
    encore: int
    songs: tuple[SongEntry, ...]


@dataclass(frozen=True, slots=True)
class Performance:
    """A show as setlist.fm records it: published after the show, edited now and then."""

    setlist_id: str
    artist: Artist
    venue: Venue
    event_date: date
    tour: str | None
    info: str | None
    versions: tuple[datetime, ...]  # publication, then each edit (ascending, UTC)
    event_id: str | None  # the Ticketmaster event it was, if any
    empty_at_first: bool

    def version_at(self, now: datetime) -> int:
        """How many edits were made by ``now`` (0 = as published); -1 if not yet published."""
        return bisect.bisect_right(self.versions, now) - 1

    def published(self, now: datetime) -> bool:
        return self.versions[0] <= now


@dataclass(frozen=True, slots=True)
class Track:
    id: str
    title: str
    artists: tuple[Artist, ...]
    song_index: int
    album_id: str
    album_name: str
    album_year: int
    duration_ms: int
    popularity: int
    explicit: bool


@dataclass(frozen=True, slots=True)
class Playlist:
    id: str
    name: str
    description: str
    owner: PlaylistOwner
    tracks: tuple[tuple[Track, datetime], ...]  # (track, added_at)


def _event_order(event: Event) -> tuple[datetime, str]:
    return (event.sort_instant, event.id)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@cache
def _cumulative_weights(size: int) -> tuple[float, ...]:
    """Song popularity weights (the first songs are the hits), cumulated for ``choices``."""
    return tuple(itertools.accumulate(1.0 / (1 + i / 6) for i in range(size)))


# --------------------------------------------------------------------------------- the catalogue


class Catalog:
    """The deterministic world the sandbox serves."""

    def __init__(
        self, *, seed: int, artists: int, today: date, horizon_days: int | None = None
    ) -> None:
        from sandbox import timeline

        if artists < 10:
            raise ValueError(f"the catalogue needs at least 10 artists, got {artists}")
        horizon = timeline.HORIZON_DAYS if horizon_days is None else horizon_days
        if horizon < 1:
            raise ValueError(f"horizon_days must be at least 1, got {horizon}")
        self.seed = seed
        self.size = artists
        self.today = today
        self.horizon_days = horizon
        self.origin = datetime.combine(today, time(0, 0), UTC)
        self._setlist_mixer = _Mixer32(stable_hash(seed, "setlist-ids"))
        self._songs: dict[int, tuple[str, ...]] = {}
        self._performances: dict[int, tuple[Performance, ...]] = {}
        self._sets: dict[tuple[str, int], tuple[SetContent, ...]] = {}
        self.venues: tuple[Venue, ...] = self._make_venues()
        self.artists: tuple[Artist, ...] = self._make_artists(artists)
        self.events: tuple[Event, ...] = self._make_events()
        # The world after day 0: homonym twins renamed (they are in no day-0 event), events
        # announced later, every event's timeline (sandbox/timeline.py).
        self.artists, self.homonyms = timeline.make_homonyms(self, self.artists, self.events)
        # Scenes (co-touring groups inside a genre), and the setlist.fm artists a cover or a
        # guest is drawn from.
        scenes: dict[int, list[Artist]] = {}
        for artist in self.artists:
            scenes.setdefault(artist.scene, []).append(artist)
        self.scenes: tuple[tuple[Artist, ...], ...] = tuple(
            tuple(scenes[number]) for number in sorted(scenes)
        )
        self._sfm_by_scene: dict[int, list[Artist]] = {}
        self._sfm_by_genre: dict[str, list[Artist]] = {}
        for artist in self.artists:
            if artist.on_setlistfm:
                self._sfm_by_scene.setdefault(artist.scene, []).append(artist)
                self._sfm_by_genre.setdefault(artist.genre.name, []).append(artist)
        self.world = timeline.build_world(self, self.artists, self.events, self.homonyms)
        self.playlists: tuple[Playlist, ...] = self._make_playlists()

        self.artist_by_spotify_id = {a.spotify_id: a for a in self.artists if a.spotify_id}
        self.artist_by_ticketmaster_id = {
            a.ticketmaster_id: a for a in self.artists if a.ticketmaster_id
        }
        self.artist_by_mbid = {a.mbid: a for a in self.artists if a.mbid}
        self.venue_by_ticketmaster_id = {v.ticketmaster_id: v for v in self.venues}
        self.venue_by_setlistfm_id = {v.setlistfm_id: v for v in self.venues}
        self.playlist_by_id = {p.id: p for p in self.playlists}
        # Day 0: the events listed at ``origin``, by attraction (supporting acts included).
        self.events_by_attraction: dict[str, list[Event]] = {}
        for event in self.events:
            for artist in event.attractions:
                if artist.ticketmaster_id:
                    self.events_by_attraction.setdefault(artist.ticketmaster_id, []).append(event)
        # Every event ever (day 0, then announced later), as first listed.
        self.all_events: tuple[Event, ...] = self.world.all_events
        self.event_by_id = {e.id: e for e in self.all_events}
        self.event_ids_by_artist: dict[int, tuple[str, ...]] = {}
        self._headlined: dict[int, list[Event]] = {}
        by_artist: dict[int, list[str]] = {}
        for event in self.all_events:
            self._headlined.setdefault(event.headliner.index, []).append(event)
            for artist in event.attractions:
                by_artist.setdefault(artist.index, []).append(event.id)
        self.event_ids_by_artist = {k: tuple(v) for k, v in by_artist.items()}
        self.change_instants = [row[0] for row in self.world.changes]
        dynamic = {row[1] for row in self.world.changes}
        self._dynamic_events = tuple(e.id for e in self.all_events if e.id in dynamic)
        self._static_events = tuple(
            sorted(
                (e for e in self.events if e.id not in dynamic),
                key=lambda e: (e.sort_instant, e.id),
            )
        )
        self._listings: dict[int, timeline.Listing] = {}

    # ------------------------------------------------------------------------------ public views

    @property
    def playlist_ids(self) -> list[str]:
        return [p.id for p in self.playlists]

    # the Ticketmaster world over time (sandbox/timeline.py) --------------------------------------

    def event_timeline(self, event_id: str) -> tuple[EventState, ...]:
        """Every state of the event, first (its announcement) to last; KeyError if unknown."""
        return self.world.timelines[event_id]

    def event_at(self, event_id: str, at: datetime) -> Event | None:
        """The event as Ticketmaster serves it at ``at`` (past ones included), or ``None`` if it is
        unknown, not announced yet or dropped. Before ``origin`` the day-0 world is served."""
        states = self.world.timelines.get(event_id)
        if states is None:
            return None
        from sandbox.timeline import state_at

        state = state_at(states, max(at, self.origin))
        return state.event if state is not None and state.listed else None

    def listing(self, at: datetime) -> Listing:
        """Every event Ticketmaster serves at ``at`` (``event_at`` of each), by start then id."""
        at = max(at, self.origin)
        position = bisect.bisect_right(self.change_instants, at)
        cached = self._listings.get(position)
        if cached is not None:
            return cached
        from sandbox.timeline import Listing, state_at

        dynamic: list[Event] = []
        for event_id in self._dynamic_events:
            state = state_at(self.world.timelines[event_id], at)
            if state is not None and state.listed:
                dynamic.append(state.event)
        events = sorted((*self._static_events, *dynamic), key=_event_order)
        if len(self._listings) >= _LISTINGS_KEPT:
            self._listings.pop(next(iter(self._listings)))
        listing = Listing(events)
        self._listings[position] = listing
        return listing

    def played_event(self, event_id: str) -> Event | None:
        """The event as it was (or will be) played, or ``None`` if it never is: canceled,
        dropped, still postponed or TBA at the end of the horizon."""
        return self.world.played.get(event_id)

    def day_offset(self, now: datetime) -> int:
        """Whole days from the catalogue's ``today`` to ``now``."""
        return (now.date() - self.today).days

    def songs(self, artist: Artist) -> tuple[str, ...]:
        """The artist's repertoire, best known first."""
        cached = self._songs.get(artist.index)
        if cached is None:
            rng = _rng(self.seed, "songs", artist.index)
            count = rng.randint(24, 60)
            titles: list[str] = []
            seen: set[str] = set()
            while len(titles) < count:
                title = song_title(rng)
                if title.casefold() not in seen:
                    seen.add(title.casefold())
                    titles.append(title)
            cached = tuple(titles)
            self._songs[artist.index] = cached
        return cached

    def track(self, artist: Artist, song_index: int) -> Track:
        """The studio recording of one of the artist's songs (same id wherever it appears)."""
        songs = self.songs(artist)
        album_number = song_index // 10
        rng = _rng(self.seed, "track", artist.index, song_index)
        features: tuple[Artist, ...] = ()
        if rng.random() < 0.12:
            guest = self.artists[rng.randrange(len(self.artists))]
            if guest.on_spotify and guest.index != artist.index:
                features = (guest,)
        return Track(
            id=base62(stable_hash(self.seed, "track-id", artist.index, song_index), 22),
            title=songs[song_index],
            artists=(artist, *features),
            song_index=song_index,
            album_id=base62(stable_hash(self.seed, "album-id", artist.index, album_number), 22),
            album_name=songs[album_number * 10],
            album_year=self.today.year - 1 - (len(songs) // 10 - album_number),
            duration_ms=rng.randint(150_000, 330_000),
            popularity=max(0, artist.base_popularity - song_index - rng.randint(0, 10)),
            explicit=rng.random() < 0.2,
        )

    def top_tracks(self, artist: Artist) -> list[Track]:
        return [self.track(artist, i) for i in range(min(10, len(self.songs(artist))))]

    def performances(self, artist: Artist) -> tuple[Performance, ...]:
        """Every show setlist.fm will ever know of the artist, newest first (published or not)."""
        cached = self._performances.get(artist.index)
        if cached is None:
            cached = self._make_performances(artist)
            self._performances[artist.index] = cached
        return cached

    def setlists(self, artist: Artist, now: datetime) -> list[Performance]:
        """The artist's setlists published by ``now``, newest event first."""
        return [p for p in self.performances(artist) if p.published(now)]

    def performance_by_setlist_id(self, setlist_id: str) -> Performance | None:
        """The performance with that setlist id (published or not), or ``None``."""
        if len(setlist_id) != 8 or any(ch not in "0123456789abcdef" for ch in setlist_id):
            return None
        number = self._setlist_mixer.inverse(int(setlist_id, 16))
        artist_index = number // _SLOTS_PER_ARTIST
        if artist_index >= len(self.artists):
            return None
        for performance in self.performances(self.artists[artist_index]):
            if performance.setlist_id == setlist_id:
                return performance
        return None

    def sets(self, performance: Performance, version: int) -> tuple[SetContent, ...]:
        """The setlist's sets as of ``version`` (0 = as first published)."""
        key = (performance.setlist_id, version)
        cached = self._sets.get(key)
        if cached is None:
            if len(self._sets) >= _SETS_CACHE_SIZE:
                self._sets.clear()
            cached = tuple(self._make_sets(performance, version))
            self._sets[key] = cached
        return cached

    def _make_sets(self, performance: Performance, version: int) -> list[SetContent]:
        rng = _rng(self.seed, "sets", performance.setlist_id)
        filled = not performance.empty_at_first or version >= 1
        if not filled:
            return []
        sets = self._draw_sets(performance.artist, rng)
        first_edit = 2 if performance.empty_at_first else 1
        for edit in range(first_edit, version + 1):
            sets = self._apply_edit(performance, sets, edit)
        return sets

    def version_id(self, performance: Performance, version: int) -> str:
        return "g" + _hex8(stable_hash(self.seed, "version", performance.setlist_id, version))

    # ------------------------------------------------------------------------------ generation

    def _make_venues(self) -> tuple[Venue, ...]:
        rng = _rng(self.seed, "venues")
        tm_ids = _Affine62(stable_hash(self.seed, "tm-venue-ids"), 5)
        sfm_ids = _Mixer32(stable_hash(self.seed, "sfm-venue-ids"))
        venues: list[Venue] = []
        for market in MARKETS:
            for city_number, city in enumerate(market.cities):
                names: set[str] = set()
                for _ in range(3 if city_number == 0 else 2):
                    name = venue_name(rng, city.name)
                    while name in names:
                        name = venue_name(rng, city.name)
                    names.add(name)
                    index = len(venues)
                    street = rng.randint(100, 2999)
                    road = rng.choice(("Main St", "Broadway", "Market St", "Oak Ave", "Park Blvd"))
                    venues.append(
                        Venue(
                            index=index,
                            name=name,
                            market=market,
                            city=city,
                            ticketmaster_id="KovZpZA" + tm_ids.code(index),
                            setlistfm_id=_hex8(sfm_ids.forward(index)),
                            postal_code=f"{city.postal_prefix}{rng.randint(0, 99):02d}",
                            address=f"{street} {road}",
                            latitude=round(city.latitude + rng.uniform(-0.05, 0.05), 6),
                            longitude=round(city.longitude + rng.uniform(-0.05, 0.05), 6),
                            geonames_id=str(
                                4_000_000 + stable_hash(self.seed, city.name) % 999_999
                            ),
                        )
                    )
        return tuple(venues)

    def _make_artists(self, count: int) -> tuple[Artist, ...]:
        rng = _rng(self.seed, "artists")
        tm_ids = _Affine62(stable_hash(self.seed, "tm-attraction-ids"), 4)
        sfm_ids = _Mixer32(stable_hash(self.seed, "sfm-artist-ids"))
        specials = max(1, round(count * 0.03))
        core: list[ArtistKind] = ["core"]
        spotify_only: list[ArtistKind] = ["spotify_only"]
        tm_only: list[ArtistKind] = ["tm_only"]
        kinds = core * (count - 2 * specials) + spotify_only * specials + tm_only * specials
        rng.shuffle(kinds)
        names: set[str] = set()
        artists: list[Artist] = []
        for index, kind in enumerate(kinds):
            name, person = artist_name(rng)
            attempts = 0
            while name.casefold() in names:
                attempts += 1
                name, person = artist_name(rng)
                if attempts >= 20:
                    name = f"{name} {index}"
            names.add(name.casefold())
            genre = rng.choice(GENRES)
            popularity = max(1, min(95, round(rng.betavariate(2.2, 3.0) * 100)))
            followers = round(10 ** (2.5 + popularity / 20 + rng.uniform(-0.4, 0.4)))
            links = rng.random()
            on_spotify = kind != "tm_only"
            on_tm = kind != "spotify_only"
            on_sfm = kind == "core"
            mbid = str(uuid.UUID(int=stable_hash(self.seed, "mbid", index), version=4))
            tm_id = "K8vZ917" + tm_ids.code(index) if on_tm else None
            spotify_id = (
                base62(stable_hash(self.seed, "spotify", index), 22) if on_spotify else None
            )
            ticketmaster_name = name
            if on_tm and rng.random() < 0.06:
                ticketmaster_name = _ticketmaster_variant(name, rng)
            activity_roll = rng.random()
            activity = (
                0
                if activity_roll < 0.06
                else rng.randint(1, 12)
                if activity_roll < 0.35
                else rng.randint(12, 45)
                if activity_roll < 0.85
                else rng.randint(45, 120)
            )
            artists.append(
                Artist(
                    index=index,
                    kind=kind,
                    name=name,
                    ticketmaster_name=ticketmaster_name,
                    sort_name=_sort_name(name, person),
                    spotify_id=spotify_id,
                    ticketmaster_id=tm_id,
                    mbid=mbid if on_sfm else None,
                    setlistfm_tmid=tm_id if on_sfm and on_tm and rng.random() < 0.9 else None,
                    setlistfm_url_id=_hex8(sfm_ids.forward(index)),
                    genre=genre,
                    sub_genre=rng.choice(genre.sub_genres),
                    spotify_genres=tuple(rng.sample(genre.spotify, rng.randint(1, 3))),
                    base_popularity=popularity,
                    base_followers=followers,
                    daily_growth=round(rng.uniform(-0.001, 0.006), 5),
                    # ~20% of Ticketmaster attractions lack one or both links.
                    link_spotify=on_spotify and not (0.80 <= links < 0.88 or links >= 0.95),
                    link_musicbrainz=on_sfm and links < 0.88,
                    image_key=f"{stable_hash(self.seed, 'image', index):032x}",
                    activity=activity if on_sfm else 0,
                    scene=-1,  # set below, once every genre is known
                )
            )
        return _assign_scenes(self.seed, artists)

    def _make_events(self) -> tuple[Event, ...]:
        rng = _rng(self.seed, "events")
        ids = _Affine62(stable_hash(self.seed, "tm-event-ids"), 10)
        on_tm = [a for a in self.artists if a.on_ticketmaster]
        by_popularity = sorted(on_tm, key=lambda a: a.base_popularity)
        draw = SupportDraw(by_popularity[: max(1, len(by_popularity) * 2 // 3)])
        events: list[Event] = []
        for artist in on_tm:
            roll = rng.random()
            count = (
                0
                if roll < 0.10
                else rng.randint(1, 2)
                if roll < 0.45
                else rng.randint(3, 5)
                if roll < 0.85
                else rng.randint(6, 10)
            )
            tour = (
                tour_name(rng, year=self.today.year, artist=artist.name)
                if count >= 3 and rng.random() < 0.6
                else None
            )
            for _ in range(count):
                offset = rng.randint(-TM_PAST_DAYS, TM_FUTURE_DAYS)
                local_date = self.today + timedelta(days=offset)
                date_tba = offset > 60 and rng.random() < 0.03
                time_tba = date_tba or rng.random() < 0.04
                support_roll = rng.random()
                wanted = 2 if support_roll < 0.10 else 1 if support_roll < 0.40 else 0
                number = len(events)
                support = draw.draw(rng, _rng(self.seed, "support", number), artist, wanted)
                price: tuple[Decimal, Decimal] | None = None
                if rng.random() < 0.7:
                    low = Decimal(rng.randint(25, 95)) + Decimal(rng.choice(("0", "0.5", "0.95")))
                    factor = Decimal(str(round(rng.uniform(1.5, 4.0), 1)))
                    price = (low, (low * factor).quantize(Decimal("0.01")))
                name = artist.ticketmaster_name
                if tour is not None:
                    name = f"{name}: {tour}" if number % 2 else f"{name} - {tour}"
                elif support:
                    name = f"{name} with {support[0].ticketmaster_name}"
                venue = rng.choice(self.venues)
                local_time = None if time_tba else rng.choice(_SHOW_TIMES)
                status = _weighted(rng, _STATUS_WEIGHTS)
                placeholder = rng.random() < 0.18
                onsale = local_date - timedelta(days=rng.randint(30, 120))
                starts_at = _utc_start(local_date, local_time, venue.timezone)
                events.append(
                    Event(
                        index=number,
                        id="vvG1" + ids.code(number),
                        name=name,
                        headliner=artist,
                        support=support,
                        venue=venue,
                        local_date=local_date,
                        local_time=local_time,
                        date_tba=date_tba,
                        time_tba=time_tba,
                        status=status,
                        price_range=price,
                        onsale_placeholder=placeholder,
                        onsale_start=datetime.combine(onsale, time(15, 0), UTC),
                        tour=tour,
                        url_key=f"{stable_hash(self.seed, 'event-url', number) % 16**16:016X}",
                        starts_at=starts_at,
                        sort_instant=starts_at or _utc_noon(local_date, venue.timezone),
                    )
                )
        events.sort(key=lambda e: (e.sort_instant, e.id))
        return tuple(events)

    def _make_playlists(self) -> tuple[Playlist, ...]:
        rng = _rng(self.seed, "playlists")
        on_spotify = [a for a in self.artists if a.on_spotify]
        only_spotify = [a for a in on_spotify if a.kind == "spotify_only"]
        specs: tuple[tuple[str, str, PlaylistOwner], ...] = (
            ("Sandbox Discoveries", "New artists picked by the sandbox developer.", "developer"),
            ("Road Trip Anthems", "A listener's playlist.", "user"),
            ("Today's Top Hits", "The hottest tracks right now.", "spotify"),
            ("Indie Rising", "Fresh indie picks.", "spotify"),
        )
        playlists: list[Playlist] = []
        for number, (name, description, owner) in enumerate(specs):
            count = rng.randint(40, 90)
            chosen = list(only_spotify) if number < 2 else []
            chosen += rng.sample(on_spotify, max(0, min(len(on_spotify), count - len(chosen))))
            rng.shuffle(chosen)
            tracks: list[tuple[Track, datetime]] = []
            for position, artist in enumerate(chosen):
                song_index = rng.randrange(min(10, len(self.songs(artist))))
                added = self.origin - timedelta(days=rng.randint(1, 400), seconds=position)
                tracks.append((self.track(artist, song_index), added))
            playlists.append(
                Playlist(
                    id=base62(stable_hash(self.seed, "playlist", number), 22),
                    name=name,
                    description=description,
                    owner=owner,
                    tracks=tuple(tracks),
                )
            )
        return tuple(playlists)

    def _make_performances(self, artist: Artist) -> tuple[Performance, ...]:
        if not artist.on_setlistfm:
            return ()
        rng = _rng(self.seed, "performances", artist.index)
        earliest = self.today - timedelta(days=HISTORY_DAYS)
        span = HISTORY_DAYS - TM_PAST_DAYS
        days = sorted(rng.sample(range(span), min(artist.activity, span)))
        tours: dict[int, str | None] = {}
        performances: list[Performance] = []
        for slot, day in enumerate(days):
            event_date = earliest + timedelta(days=day)
            if event_date.year not in tours:
                tours[event_date.year] = (
                    tour_name(rng, year=event_date.year, artist=artist.name)
                    if rng.random() < 0.7
                    else None
                )
            # Published 3-40 hours after the show (20:00 at the venue).
            delay = timedelta(hours=rng.randint(3, 40), minutes=rng.randint(0, 59))
            venue = rng.choice(self.venues)
            tour = tours[event_date.year] if rng.random() < 0.9 else None
            start = _utc_start(event_date, _SHOW_TIME, venue.timezone)
            performances.append(
                self._performance(
                    artist,
                    slot,
                    rng,
                    venue=venue,
                    event_date=event_date,
                    tour=tour,
                    published=(start or self.origin) + delay,
                    event_id=None,
                )
            )
        # Ticketmaster events played by the artist as headliner, published 3-40 hours after the
        # show, at the date and venue where the show was finally played (a moved or rescheduled
        # event's setlist names the new venue and date; a canceled or dropped one has none).
        # Those playable on day 0 keep the random stream they always had.
        headlined = [
            e
            for e in self.events_by_attraction.get(artist.ticketmaster_id or "", [])
            if e.headliner.index == artist.index
            and e.status in PLAYABLE_STATUSES
            and not e.date_tba
        ]
        for number, event in enumerate(headlined):
            delay = timedelta(hours=rng.randint(3, 40), minutes=rng.randint(0, 59))
            performance = self._performance(
                artist,
                _TM_SLOT_BASE + number,
                rng,
                venue=event.venue,
                event_date=event.local_date,
                tour=event.tour,
                published=event.sort_instant + delay,
                event_id=event.id,
            )
            played = self.world.played.get(event.id)
            if played is None:
                continue
            if played is not event:
                shift = played.sort_instant - event.sort_instant
                performance = replace(
                    performance,
                    venue=played.venue,
                    event_date=played.local_date,
                    versions=tuple(v + shift for v in performance.versions),
                )
            performances.append(performance)
        done = {e.id for e in headlined}
        late_rng = _rng(self.seed, "late-performances", artist.index)
        late = [
            self.world.played[e.id]
            for e in self._headlined.get(artist.index, [])
            if e.id not in done and e.id in self.world.played
        ]
        for number, event in enumerate(late):
            performances.append(
                self._performance(
                    artist,
                    _LATE_SLOT_BASE + number,
                    late_rng,
                    venue=event.venue,
                    event_date=event.local_date,
                    tour=event.tour,
                    published=event.sort_instant
                    + timedelta(hours=late_rng.randint(3, 40), minutes=late_rng.randint(0, 59)),
                    event_id=event.id,
                )
            )
        performances.sort(key=lambda p: (p.event_date, p.setlist_id), reverse=True)
        return tuple(performances)

    def _performance(
        self,
        artist: Artist,
        slot: int,
        rng: random.Random,
        *,
        venue: Venue,
        event_date: date,
        tour: str | None,
        published: datetime,
        event_id: str | None,
    ) -> Performance:
        published = published.replace(microsecond=rng.randint(0, 999) * 1000)
        versions = [published]
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 3)):
                versions.append(
                    published
                    + timedelta(
                        seconds=rng.randint(3600, 500 * 86400), milliseconds=rng.randint(0, 999)
                    )
                )
        return Performance(
            setlist_id=_hex8(self._setlist_mixer.forward(artist.index * _SLOTS_PER_ARTIST + slot)),
            artist=artist,
            venue=venue,
            event_date=event_date,
            tour=tour,
            info=rng.choice(_SETLIST_INFOS) if rng.random() < 0.1 else None,
            versions=tuple(sorted(versions)),
            event_id=event_id,
            empty_at_first=rng.random() < 0.08,
        )

    def _other_artist(self, rng: random.Random, artist: Artist) -> Artist:
        while True:
            other = self.artists[rng.randrange(len(self.artists))]
            if other.index != artist.index and other.on_setlistfm:
                return other

    def _related_artist(self, rng: random.Random, artist: Artist) -> Artist:
        """A setlist.fm artist other than ``artist``: from its scene (COVER_SCENE_SHARE), else
        from its genre (COVER_GENRE_SHARE), else anyone."""
        roll = rng.random()
        pool: list[Artist] = []
        if roll < COVER_SCENE_SHARE:
            pool = self._sfm_by_scene.get(artist.scene, [])
        elif roll < COVER_SCENE_SHARE + COVER_GENRE_SHARE:
            pool = self._sfm_by_genre.get(artist.genre.name, [])
        if len(pool) > 1 or (pool and pool[0].index != artist.index):
            while True:
                other = pool[rng.randrange(len(pool))]
                if other.index != artist.index:
                    return other
        return self._other_artist(rng, artist)

    def _draw_sets(self, artist: Artist, rng: random.Random) -> list[SetContent]:
        songs = self.songs(artist)
        count = min(len(songs), rng.randint(10, 22))
        cumulative = _cumulative_weights(len(songs))
        picked: list[int] = []
        while len(picked) < count:
            for choice in rng.choices(range(len(songs)), cum_weights=cumulative, k=count):
                if choice not in picked:
                    picked.append(choice)
                    if len(picked) == count:
                        break
        entries: list[SongEntry] = []
        for position, song_index in enumerate(picked):
            info = rng.choice(_SONG_INFOS) if rng.random() < 0.08 else None
            with_artist = self._related_artist(rng, artist) if rng.random() < 0.03 else None
            entries.append(SongEntry(name=songs[song_index], info=info, with_artist=with_artist))
            if position == count // 2 and rng.random() < 0.3:
                covered = self._related_artist(rng, artist)
                cover_songs = self.songs(covered)
                entries.append(
                    SongEntry(
                        name=cover_songs[rng.randrange(min(5, len(cover_songs)))], cover=covered
                    )
                )
        if rng.random() < 0.15:
            entries.insert(0, SongEntry(name="Intro", tape=True))
        if rng.random() < 0.1:
            covered = self._other_artist(rng, artist)
            entries.append(SongEntry(name=self.songs(covered)[0], tape=True, cover=covered))
        encore_roll = rng.random()
        encores = 2 if encore_roll < 0.2 else 1 if encore_roll < 0.75 else 0
        encore_songs = [entries.pop() for _ in range(min(encores * 2, len(entries) - 4))]
        encore_songs.reverse()
        sets: list[SetContent] = []
        if rng.random() < 0.2:
            half = len(entries) // 2
            first, second = rng.choice((("Set 1", "Set 2"), ("Acoustic Set", "Electric Set")))
            sets.append(SetContent(first, 0, tuple(entries[:half])))
            sets.append(SetContent(second, 0, tuple(entries[half:])))
        else:
            sets.append(SetContent(None, 0, tuple(entries)))
        for encore in range(1, encores + 1):
            chunk = tuple(encore_songs[(encore - 1) * 2 : encore * 2])
            if chunk:
                sets.append(SetContent(None, encore, chunk))
        return sets

    def _apply_edit(
        self, performance: Performance, sets: list[SetContent], edit: int
    ) -> list[SetContent]:
        rng = _rng(self.seed, "edit", performance.setlist_id, edit)
        if not sets:
            return self._draw_sets(performance.artist, rng)
        target = rng.randrange(len(sets))
        chosen = sets[target]
        if rng.random() < 0.5 or not chosen.songs:
            songs = self.songs(performance.artist)
            added = SongEntry(name=songs[rng.randrange(len(songs))], info="added in edit")
            replacement = SetContent(chosen.name, chosen.encore, (*chosen.songs, added))
        else:
            position = rng.randrange(len(chosen.songs))
            song = chosen.songs[position]
            edited = SongEntry(
                name=song.name,
                tape=song.tape,
                cover=song.cover,
                with_artist=song.with_artist,
                info=rng.choice(_EDIT_INFOS),
            )
            updated = (*chosen.songs[:position], edited, *chosen.songs[position + 1 :])
            replacement = SetContent(chosen.name, chosen.encore, updated)
        return [*sets[:target], replacement, *sets[target + 1 :]]
