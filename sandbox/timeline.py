"""How the sandbox's Ticketmaster world changes after day 0: announcements, cancellations,
postponements, reschedulings, venue moves, drops, new touring artists and deliberate homonyms.

Everything is derived from the catalogue's seed, each part from its own random stream, so the
day-0 world (``Catalog.events`` and what it serves at ``origin``) is exactly what it was before
the world started to change; every change happens from ``origin + 1 day`` on (``FIRST_CHANGE``)
and before ``origin + horizon_days`` (after that the Ticketmaster world is still).

An event's *timeline* is the sequence of its states: the first one when it is announced (day-0
events at ``origin``), then one per change. A state holds the event as Ticketmaster lists it
from that instant (status, date, time, venue) and whether it is listed at all (a dropped event
is not). Changes happen before the show starts (at least ``LAST_CHANGE_BEFORE_SHOW`` before);
a postponed event may be rescheduled or canceled later, even after its original date passed.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Final, Literal

from sandbox.catalog import (
    PLAYABLE_STATUSES,
    Artist,
    Event,
    SupportDraw,
    Venue,
    _Affine62,
    _rng,
    _utc_noon,
    _utc_start,
    stable_hash,
)

if TYPE_CHECKING:
    from sandbox.catalog import Catalog

__all__ = [
    "CHANGE_KINDS",
    "EVENT_CHANGE_KINDS",
    "FIRST_CHANGE",
    "HORIZON_DAYS",
    "ChangeKind",
    "EventChangeKind",
    "EventState",
    "Homonym",
    "HomonymKind",
    "Listing",
    "World",
    "build_world",
]

EventChangeKind = Literal[
    "event_new",
    "event_canceled",
    "event_postponed",
    "event_rescheduled",
    "event_moved",
    "event_dropped",
]
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
EVENT_CHANGE_KINDS: Final[tuple[EventChangeKind, ...]] = (
    "event_new",
    "event_canceled",
    "event_postponed",
    "event_rescheduled",
    "event_moved",
    "event_dropped",
)
CHANGE_KINDS: Final[tuple[ChangeKind, ...]] = (
    *EVENT_CHANGE_KINDS,
    "setlist_published",
    "setlist_edited",
)
HomonymKind = Literal["same_name", "the_prefix", "same_name_ticketmaster_only", "cross_api"]

HORIZON_DAYS: Final = 100  # the Ticketmaster world changes during this many days after origin
FIRST_CHANGE: Final = timedelta(days=1)  # nothing changes on day 0
LAST_CHANGE_BEFORE_SHOW: Final = timedelta(hours=2)
# Per upcoming event, the chance of each change in 30 days (exponential waiting times).
MONTHLY_CHANGE_RATES: Final[tuple[tuple[EventChangeKind, float], ...]] = (
    ("event_canceled", 0.02),
    ("event_postponed", 0.02),
    ("event_rescheduled", 0.02),
    ("event_moved", 0.015),
    ("event_dropped", 0.015),
)
# After a postponement: rescheduled (60%), canceled (15%) or left postponed, 5-40 days later.
POSTPONED_RESCHEDULED: Final = 0.60
POSTPONED_CANCELED: Final = 0.15
NEW_TOUR_SHARE: Final = 0.5  # artists without any event who start touring within the horizon
_TOTAL_RATE_PER_DAY: Final = sum(rate for _, rate in MONTHLY_CHANGE_RATES) / 30
_SHOW_TIMES: Final = (time(19, 0), time(19, 30), time(20, 0), time(20, 30), time(21, 0))


@dataclass(frozen=True, slots=True)
class EventState:
    """An event from ``at`` on: as listed (``event``), or not listed at all (dropped)."""

    at: datetime
    kind: EventChangeKind  # what made this state (the first state: ``event_new``)
    event: Event  # the event's fields from ``at`` (for a drop: as last listed)
    listed: bool


@dataclass(frozen=True, slots=True)
class Homonym:
    """Two different artists (different ids everywhere) with the same or a near name.

    ``twin`` has no event on day 0 and starts touring during the first ten days.
    """

    kind: HomonymKind
    original: Artist
    twin: Artist


class Listing:
    """Ticketmaster's events at one instant: every announced, not dropped event in its state
    then (past ones included, as the event lookup serves them), with lazily built indexes."""

    def __init__(self, events: Sequence[Event]) -> None:
        self.events: tuple[Event, ...] = tuple(events)  # by (sort_instant, id)

    @cached_property
    def by_id(self) -> dict[str, Event]:
        return {e.id: e for e in self.events}

    @cached_property
    def by_venue(self) -> dict[str, list[Event]]:
        out: dict[str, list[Event]] = {}
        for event in self.events:
            out.setdefault(event.venue.ticketmaster_id, []).append(event)
        return out

    @cached_property
    def by_market(self) -> dict[int, list[Event]]:
        out: dict[int, list[Event]] = {}
        for event in self.events:
            out.setdefault(event.venue.market.id, []).append(event)
        return out


@dataclass(frozen=True, slots=True)
class World:
    """Everything ``build_world`` derives: the events of the whole horizon and their timelines."""

    all_events: tuple[Event, ...]  # first state of every event (day 0, then announced later)
    timelines: dict[str, tuple[EventState, ...]]
    changes: tuple[tuple[datetime, str, EventState], ...]  # every state after origin, in order
    played: dict[str, Event]  # event id -> the state it was played in
    homonyms: tuple[Homonym, ...]
    new_touring: tuple[Artist, ...]  # artists without an event on day 0 who start touring
    artists: tuple[Artist, ...]  # the catalogue's artists with the twins renamed


# ----------------------------------------------------------------------------------- homonyms


def make_homonyms(
    catalog: Catalog, artists: tuple[Artist, ...], day0: Sequence[Event]
) -> tuple[tuple[Artist, ...], tuple[Homonym, ...]]:
    """Rename a few artists that have no day-0 event so that they share a name with another.

    Pairs, in turn: the same name (both on every API), ``The X`` / ``X``, the same name with the
    twin on Ticketmaster only, and a Spotify-only artist whose name a Ticketmaster-only twin
    takes. One pair per 125 artists (at least one). The twins are drawn among Ticketmaster
    artists that appear in no day-0 event, so the day-0 listing is unchanged.
    """
    rng = _rng(catalog.seed, "homonyms")
    in_events = {a.index for e in day0 for a in e.attractions}
    candidates = [a for a in artists if a.on_ticketmaster and a.index not in in_events]
    wanted = 1 + len(artists) // 125
    plan: tuple[HomonymKind, ...] = ("same_name", "the_prefix", "same_name_ticketmaster_only",
                                     "cross_api")  # fmt: skip
    renamed = list(artists)
    used: set[int] = set()
    homonyms: list[Homonym] = []
    for number in range(wanted):
        kind = plan[number % len(plan)]
        twin_kind = "tm_only" if kind in ("same_name_ticketmaster_only", "cross_api") else "core"
        twins = [a for a in candidates if a.kind == twin_kind and a.index not in used]
        if not twins:
            twins = [a for a in candidates if a.index not in used]
        if not twins:
            break
        twin = rng.choice(twins)
        used.add(twin.index)
        if kind == "cross_api":
            originals = [a for a in artists if a.kind == "spotify_only" and a.index not in used]
        else:
            originals = [
                a for a in artists if a.index in in_events and a.index not in used and a.on_spotify
            ]
        if not originals:
            originals = [a for a in artists if a.index not in used]
        original = rng.choice(originals)
        used.add(original.index)
        if kind == "the_prefix":
            name = original.name[4:] if original.name.startswith("The ") else f"The {original.name}"
            sort_name = f"{name[4:]}, The" if name.startswith("The ") else name
        else:
            name, sort_name = original.name, original.sort_name
        twin = replace(twin, name=name, ticketmaster_name=name, sort_name=sort_name)
        renamed[twin.index] = twin
        homonyms.append(Homonym(kind=kind, original=renamed[original.index], twin=twin))
    return tuple(renamed), tuple(homonyms)


# ------------------------------------------------------------------------------------ the world


class _Builder:
    def __init__(self, catalog: Catalog, artists: tuple[Artist, ...], day0: Sequence[Event]):
        self.catalog = catalog
        self.seed = catalog.seed
        self.artists = artists
        self.day0 = day0
        self.origin = catalog.origin
        self.start = catalog.origin + FIRST_CHANGE
        self.end = catalog.origin + timedelta(days=catalog.horizon_days)
        self.ids = _Affine62(stable_hash(self.seed, "tm-event-ids"), 10)
        self.venues_by_market: dict[int, list[Venue]] = {}
        for venue in catalog.venues:
            self.venues_by_market.setdefault(venue.market.id, []).append(venue)
        on_tm = [a for a in artists if a.on_ticketmaster]
        by_popularity = sorted(on_tm, key=lambda a: a.base_popularity)
        self.support = SupportDraw(by_popularity[: max(1, len(by_popularity) * 2 // 3)])
        self.new_events: list[tuple[datetime, Event]] = []

    def _instant(self, rng: random.Random, low: datetime, high: datetime) -> datetime:
        seconds = max(0, int((high - low).total_seconds()))
        return low + timedelta(seconds=rng.randint(0, seconds))

    def new_event(
        self,
        rng: random.Random,
        headliner: Artist,
        announced: datetime,
        *,
        support: tuple[Artist, ...] | None = None,
    ) -> Event:
        number = len(self.day0) + len(self.new_events)
        local_date = announced.date() + timedelta(days=rng.randint(21, 300))
        venue = rng.choice(self.catalog.venues)
        time_tba = rng.random() < 0.04
        local_time = None if time_tba else rng.choice(_SHOW_TIMES)
        if support is None:
            roll = rng.random()
            wanted = 2 if roll < 0.10 else 1 if roll < 0.40 else 0
            support = self.support.draw(rng, _rng(self.seed, "support", number), headliner, wanted)
        price: tuple[Decimal, Decimal] | None = None
        if rng.random() < 0.7:
            low = Decimal(rng.randint(25, 95)) + Decimal(rng.choice(("0", "0.5", "0.95")))
            factor = Decimal(str(round(rng.uniform(1.5, 4.0), 1)))
            price = (low, (low * factor).quantize(Decimal("0.01")))
        name = headliner.ticketmaster_name
        if support:
            name = f"{name} with {support[0].ticketmaster_name}"
        starts_at = _utc_start(local_date, local_time, venue.timezone)
        onsale = max(announced + timedelta(days=rng.randint(1, 10)), announced)
        event = Event(
            index=number,
            id="vvG1" + self.ids.code(number),
            name=name,
            headliner=headliner,
            support=support,
            venue=venue,
            local_date=local_date,
            local_time=local_time,
            date_tba=False,
            time_tba=time_tba,
            status="onsale",
            price_range=price,
            onsale_placeholder=rng.random() < 0.18,
            onsale_start=onsale.replace(hour=15, minute=0, second=0, microsecond=0),
            tour=None,
            url_key=f"{stable_hash(self.seed, 'event-url', number) % 16**16:016X}",
            starts_at=starts_at,
            sort_instant=starts_at or _utc_noon(local_date, venue.timezone),
        )
        self.new_events.append((announced, event))
        return event

    def announce(self, homonyms: tuple[Homonym, ...]) -> tuple[Artist, ...]:
        """New events: touring artists announce more shows, artists without any start touring,
        the homonym twins start touring within ten days (the first one also as a support act)."""
        rng = _rng(self.seed, "new-events")
        twins = {h.twin.index for h in homonyms}
        in_events = {a.index for e in self.day0 for a in e.attractions}
        touring = sorted({e.headliner.index for e in self.day0})
        upcoming = sum(1 for e in self.day0 if e.sort_instant >= self.start)
        span = self.end - self.start
        count = round(upcoming * (span.total_seconds() / 86400) / 365)
        for _ in range(count if touring else 0):
            headliner = self.artists[rng.choice(touring)]
            self.new_event(rng, headliner, self._instant(rng, self.start, self.end))
        new_touring: list[Artist] = []
        for artist in self.artists:
            if not artist.on_ticketmaster or artist.index in in_events:
                continue
            tour_rng = _rng(self.seed, "new-tour", artist.index)
            if artist.index in twins:
                begins = self._instant(tour_rng, self.start, self.start + timedelta(days=9))
            elif tour_rng.random() < NEW_TOUR_SHARE:
                begins = self._instant(tour_rng, self.start, self.end)
            else:
                continue
            new_touring.append(artist)
            for _ in range(tour_rng.randint(1, 5)):
                self.new_event(tour_rng, artist, begins)
        if homonyms:
            first = homonyms[0].twin
            support_rng = _rng(self.seed, "homonym-support")
            headliners = [self.artists[i] for i in touring if i != first.index]
            if headliners:
                begins = self._instant(support_rng, self.start, self.start + timedelta(days=9))
                self.new_event(
                    support_rng, support_rng.choice(headliners), begins, support=(first,)
                )
        return tuple(new_touring)

    # timelines ----------------------------------------------------------------------------------

    def timeline(self, announced: datetime, event: Event) -> tuple[EventState, ...]:
        states = [EventState(at=announced, kind="event_new", event=event, listed=True)]
        if event.status == "canceled":
            return tuple(states)
        rng = _rng(self.seed, "timeline", event.id)
        now = max(announced, self.start)
        current = event
        if current.status == "postponed":
            self._after_postponement(rng, states, current, now)
            return tuple(states)
        while True:
            now += timedelta(days=rng.expovariate(_TOTAL_RATE_PER_DAY))
            if now >= self.end or now >= current.sort_instant - LAST_CHANGE_BEFORE_SHOW:
                return tuple(states)
            roll = rng.random() * _TOTAL_RATE_PER_DAY * 30
            kind: EventChangeKind = MONTHLY_CHANGE_RATES[-1][0]
            for candidate, rate in MONTHLY_CHANGE_RATES:
                if roll < rate:
                    kind = candidate
                    break
                roll -= rate
            now = now.replace(microsecond=0)
            if kind == "event_canceled":
                states.append(EventState(now, kind, replace(current, status="canceled"), True))
                return tuple(states)
            if kind == "event_dropped":
                states.append(EventState(now, kind, current, False))
                return tuple(states)
            if kind == "event_postponed":
                current = replace(
                    current,
                    status="postponed",
                    date_tba=True,
                    time_tba=True,
                    local_time=None,
                    starts_at=None,
                    sort_instant=_utc_noon(current.local_date, current.venue.timezone),
                )
                states.append(EventState(now, kind, current, True))
                self._after_postponement(rng, states, current, now)
                return tuple(states)
            if kind == "event_rescheduled":
                current = self._rescheduled(current, rng.randint(7, 120))
            else:
                current = self._moved(rng, current)
            states.append(EventState(now, kind, current, True))

    def _after_postponement(
        self, rng: random.Random, states: list[EventState], current: Event, now: datetime
    ) -> None:
        roll = rng.random()
        later = (now + timedelta(seconds=rng.randint(5 * 86400, 40 * 86400))).replace(microsecond=0)
        if later >= self.end or roll >= POSTPONED_RESCHEDULED + POSTPONED_CANCELED:
            return
        if roll < POSTPONED_RESCHEDULED:
            shifted = self._rescheduled(current, rng.randint(30, 200), time_of=rng)
            if shifted.sort_instant - LAST_CHANGE_BEFORE_SHOW > later:
                states.append(EventState(later, "event_rescheduled", shifted, True))
            return
        states.append(
            EventState(later, "event_canceled", replace(current, status="canceled"), True)
        )

    def _rescheduled(
        self, event: Event, days: int, *, time_of: random.Random | None = None
    ) -> Event:
        local_date = event.local_date + timedelta(days=days)
        local_time = event.local_time
        if local_time is None and time_of is not None:
            local_time = time_of.choice(_SHOW_TIMES)
        starts_at = _utc_start(local_date, local_time, event.venue.timezone)
        return replace(
            event,
            status="rescheduled",
            local_date=local_date,
            local_time=local_time,
            date_tba=False,
            time_tba=local_time is None,
            starts_at=starts_at,
            sort_instant=starts_at or _utc_noon(local_date, event.venue.timezone),
        )

    def _moved(self, rng: random.Random, event: Event) -> Event:
        others = [v for v in self.venues_by_market[event.venue.market.id] if v != event.venue]
        venue = rng.choice(others or [v for v in self.catalog.venues if v != event.venue])
        starts_at = _utc_start(event.local_date, event.local_time, venue.timezone)
        return replace(
            event,
            venue=venue,
            starts_at=starts_at,
            sort_instant=starts_at or _utc_noon(event.local_date, venue.timezone),
        )


def build_world(
    catalog: Catalog,
    artists: tuple[Artist, ...],
    day0: Sequence[Event],
    homonyms: tuple[Homonym, ...],
) -> World:
    builder = _Builder(catalog, artists, day0)
    new_touring = builder.announce(homonyms)
    announced = [(catalog.origin, e) for e in day0] + builder.new_events
    timelines: dict[str, tuple[EventState, ...]] = {}
    changes: list[tuple[datetime, str, EventState]] = []
    played: dict[str, Event] = {}
    for instant, event in announced:
        states = builder.timeline(instant, event)
        timelines[event.id] = states
        changes.extend((s.at, event.id, s) for s in states if s.at > catalog.origin)
        final = states[-1]
        if final.listed and final.event.status in PLAYABLE_STATUSES and not final.event.date_tba:
            played[event.id] = final.event
    changes.sort(key=lambda row: (row[0], row[1]))
    return World(
        all_events=tuple(e for _, e in announced),
        timelines=timelines,
        changes=tuple(changes),
        played=played,
        homonyms=homonyms,
        new_touring=new_touring,
        artists=artists,
    )


def state_at(timeline: tuple[EventState, ...], at: datetime) -> EventState | None:
    """The state in force at ``at`` (``None`` before the announcement)."""
    if at < timeline[0].at:
        return None
    if len(timeline) == 1:
        return timeline[0]
    position = bisect.bisect_right(timeline, at, key=lambda s: s.at)
    return timeline[position - 1]
