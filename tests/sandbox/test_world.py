"""The world changes after day 0: each kind of Ticketmaster change is served by the HTTP
endpoints from its instant on (not a second before), setlist.fm stays consistent with what was
played, new artists start touring, and the deliberate homonyms exist."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sandbox.catalog import Catalog, Event
from sandbox.timeline import FIRST_CHANGE, EventChangeKind, EventState
from tests.sandbox.conftest import ARTISTS, SEED, TODAY, Harness

MIDNIGHT = datetime.combine(TODAY, datetime.min.time(), UTC)
SECOND = timedelta(seconds=1)


def _first(catalog: Catalog, kind: EventChangeKind) -> tuple[str, EventState]:
    """The first change of that kind (after day 0) in the shared catalogue."""
    return next((event_id, s) for _, event_id, s in catalog.world.changes if s.kind == kind)


async def _at(harness: Harness, instant: datetime) -> None:
    harness.sandbox.advance(seconds=(instant - harness.sandbox.now()).total_seconds())
    assert harness.sandbox.now() == instant


async def _lookup(harness: Harness, event_id: str) -> dict[str, Any] | None:
    response = await harness.tm(f"/events/{event_id}.json")
    if response.status_code == 404:
        assert response.json()["errors"][0]["code"] == "DIS1004"
        return None
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _listed_ids(harness: Harness, **params: Any) -> list[str]:
    body = (await harness.tm("/events.json", size=200, **params)).json()
    return [e["id"] for e in body.get("_embedded", {}).get("events", [])]


def _served(body: dict[str, Any]) -> tuple[str, str, str | None, str]:
    start = body["dates"]["start"]
    return (
        body["dates"]["status"]["code"],
        start["localDate"],
        start.get("localTime"),
        body["_embedded"]["venues"][0]["id"],
    )


def _expected(event: Event) -> tuple[str, str, str | None, str]:
    local_time = event.local_time.strftime("%H:%M:%S") if event.local_time else None
    return (event.status, event.local_date.isoformat(), local_time, event.venue.ticketmaster_id)


# ------------------------------------------------------------------------------------ day 0


def test_nothing_changes_on_day_0_and_the_day_0_listing_is_the_catalogues_events(
    catalog: Catalog,
) -> None:
    first = catalog.world.changes[0][0]
    assert first >= MIDNIGHT + FIRST_CHANGE
    assert catalog.listing(MIDNIGHT).events == catalog.events
    assert catalog.listing(MIDNIGHT + FIRST_CHANGE - SECOND).events == catalog.events
    assert catalog.listing(first).events != catalog.events
    assert all(catalog.event_at(e.id, MIDNIGHT) is e for e in catalog.events)


def test_the_world_is_deterministic_and_another_seed_changes_it(catalog: Catalog) -> None:
    again = Catalog(seed=SEED, artists=ARTISTS, today=TODAY)
    assert again.world.changes == catalog.world.changes
    assert again.homonyms == catalog.homonyms
    other = Catalog(seed=SEED + 1, artists=ARTISTS, today=TODAY)
    assert [c[1] for c in other.world.changes] != [c[1] for c in catalog.world.changes]


def test_a_catalogue_needs_a_horizon_of_a_day() -> None:
    with pytest.raises(ValueError, match="horizon_days must be at least 1, got 0"):
        Catalog(seed=SEED, artists=ARTISTS, today=TODAY, horizon_days=0)


def test_a_sandbox_config_carries_the_horizon_and_checks_a_given_catalogue() -> None:
    from sandbox.config import SandboxConfig
    from sandbox.core import Sandbox

    with pytest.raises(ValueError, match="horizon_days must be at least 1, got 0"):
        SandboxConfig(seed=SEED, artists=ARTISTS, today=TODAY, horizon_days=0)
    config = SandboxConfig(seed=SEED, artists=ARTISTS, today=TODAY, horizon_days=10)
    assert Sandbox(config).catalog.horizon_days == 10
    with pytest.raises(ValueError, match="not built with this config's horizon_days"):
        Sandbox(config, catalog=Catalog(seed=SEED, artists=ARTISTS, today=TODAY))


def test_nothing_changes_after_the_horizon() -> None:
    short = Catalog(seed=SEED, artists=ARTISTS, today=TODAY, horizon_days=10)
    assert short.world.changes[-1][0] < MIDNIGHT + timedelta(days=10)
    assert len(short.all_events) == 399
    assert Counter(s.kind for _, _, s in short.world.changes) == {
        "event_new": 16,
        "event_postponed": 4,
        "event_canceled": 2,
        "event_dropped": 2,
        "event_moved": 1,
    }


# ------------------------------------------------------------------------- proportions


def test_a_month_changes_a_few_percent_of_the_upcoming_events_of_each_kind() -> None:
    world = Catalog(seed=SEED, artists=500, today=TODAY)
    month = [s for at, _, s in world.world.changes if at <= MIDNIGHT + timedelta(days=30)]
    upcoming = sum(1 for e in world.events if e.sort_instant >= MIDNIGHT + FIRST_CHANGE)
    assert upcoming == 1432
    assert Counter(s.kind for s in month) == {
        "event_new": 121,  # 8% more events, some of them by the 13 artists who had none
        "event_rescheduled": 39,  # 2.7% (postponed ones rescheduled included)
        "event_canceled": 35,  # 2.4%
        "event_postponed": 24,  # 1.7%
        "event_dropped": 21,  # 1.5%
        "event_moved": 20,  # 1.4%
    }
    assert len(world.world.new_touring) == 13


# ---------------------------------------------------------------- each change over HTTP


async def test_an_announced_event_appears_at_its_instant_in_every_listing(
    harness: Harness,
) -> None:
    event_id, state = _first(harness.catalog, "event_new")
    event = state.event
    headliner = event.headliner.ticketmaster_id
    market = event.venue.market.id
    await _at(harness, state.at - SECOND)
    assert await _lookup(harness, event_id) is None
    assert event_id not in await _listed_ids(harness, attractionId=headliner)
    assert event_id not in await _listed_ids(harness, marketId=market)
    await _at(harness, state.at)
    served = await _lookup(harness, event_id)
    assert served is not None
    assert _served(served) == _expected(event) == ("onsale", "2026-04-11", "20:00:00",
                                                   event.venue.ticketmaster_id)  # fmt: skip
    assert event_id in await _listed_ids(harness, attractionId=headliner)
    assert event_id in await _listed_ids(harness, marketId=market)
    attraction = (await harness.tm(f"/attractions/{headliner}.json")).json()
    before = len(harness.catalog.events_by_attraction.get(headliner or "", []))
    assert attraction["upcomingEvents"]["_total"] <= before + 1


@pytest.mark.parametrize(
    ("kind", "status_before", "status_after"),
    [
        ("event_canceled", "rescheduled", "canceled"),
        ("event_postponed", "onsale", "postponed"),
        ("event_rescheduled", "onsale", "rescheduled"),
        ("event_moved", "onsale", "onsale"),
    ],
)
async def test_a_changed_event_is_served_in_its_new_state_from_the_change_on(
    harness: Harness, kind: EventChangeKind, status_before: str, status_after: str
) -> None:
    event_id, state = _first(harness.catalog, kind)
    await _at(harness, state.at - SECOND)
    before = await _lookup(harness, event_id)
    assert before is not None
    assert before["dates"]["status"]["code"] == status_before
    await _at(harness, state.at)
    after = await _lookup(harness, event_id)
    assert after is not None
    assert _served(after) == _expected(state.event)
    assert after["dates"]["status"]["code"] == status_after
    previous = harness.catalog.event_at(event_id, state.at - SECOND)
    assert previous is not None
    if kind == "event_postponed":
        assert after["dates"]["start"]["dateTBA"] is True
        assert "dateTime" not in after["dates"]["start"]
    if kind == "event_rescheduled":
        assert state.event.local_date > previous.local_date
    if kind == "event_moved":
        assert state.event.venue != previous.venue
        assert state.event.venue.market == previous.venue.market
        venue = state.event.venue.ticketmaster_id
        assert event_id in await _listed_ids(harness, venueId=venue)
        assert event_id not in await _listed_ids(harness, venueId=previous.venue.ticketmaster_id)
    assert event_id in await _listed_ids(
        harness, attractionId=state.event.headliner.ticketmaster_id
    )


async def test_a_dropped_event_leaves_every_listing_and_its_lookup_while_still_ahead(
    harness: Harness,
) -> None:
    event_id, state = _first(harness.catalog, "event_dropped")
    headliner = state.event.headliner.ticketmaster_id
    assert state.event.sort_instant > state.at + timedelta(days=30)
    await _at(harness, state.at - SECOND)
    assert await _lookup(harness, event_id) is not None
    assert event_id in await _listed_ids(harness, attractionId=headliner)
    await _at(harness, state.at)
    assert await _lookup(harness, event_id) is None
    assert event_id not in await _listed_ids(harness, attractionId=headliner)
    assert event_id not in await _listed_ids(harness, marketId=state.event.venue.market.id)


# ----------------------------------------------------------- setlist.fm follows the shows


def test_only_shows_that_happened_have_a_setlist_where_and_when_they_happened(
    catalog: Catalog,
) -> None:
    by_event = {
        p.event_id: p for a in catalog.artists for p in catalog.performances(a) if p.event_id
    }
    outcomes: Counter[str] = Counter()
    for event in catalog.all_events:
        final = catalog.event_timeline(event.id)[-1]
        performance = by_event.get(event.id)
        played = catalog.played_event(event.id)
        if performance is None:
            assert played is None or not played.headliner.on_setlistfm, event.id
            outcomes["unplayed" if played is None else "not on setlist.fm"] += 1
            continue
        assert played is final.event
        assert final.listed
        assert (performance.event_date, performance.venue) == (played.local_date, played.venue)
        assert performance.artist is played.headliner
        assert timedelta(hours=3) <= performance.versions[0] - played.sort_instant
        assert performance.versions[0] - played.sort_instant < timedelta(hours=41)
        outcomes["changed" if played is not event else "as announced"] += 1
    assert outcomes == {"as announced": 365, "changed": 34, "unplayed": 69, "not on setlist.fm": 18}


async def test_a_moved_shows_setlist_names_the_new_venue_and_a_rescheduled_one_the_new_date(
    harness: Harness,
) -> None:
    catalog = harness.catalog
    moved_id, moved = _first(catalog, "event_moved")
    rescheduled_id, rescheduled = _first(catalog, "event_rescheduled")
    performances = {
        p.event_id: p for a in catalog.artists for p in catalog.performances(a) if p.event_id
    }
    for event_id, state in ((moved_id, moved), (rescheduled_id, rescheduled)):
        played = catalog.played_event(event_id)
        assert played is state.event  # nothing changed after that
        performance = performances[event_id]
        await _at(harness, max(harness.sandbox.now(), performance.versions[0]))
        body = (await harness.sfm(f"/setlist/{performance.setlist_id}")).json()
        assert body["venue"]["id"] == played.venue.setlistfm_id
        assert body["eventDate"] == played.local_date.strftime("%d-%m-%Y")
    canceled_id, _ = _first(catalog, "event_canceled")
    dropped_id, _ = _first(catalog, "event_dropped")
    assert canceled_id not in performances
    assert dropped_id not in performances


def test_every_setlist_is_published_3_to_40_hours_after_its_show(catalog: Catalog) -> None:
    from sandbox.catalog import _utc_start

    for artist in catalog.artists[:40]:
        for performance in catalog.performances(artist):
            if performance.event_id is not None:
                show = catalog.event_by_id[performance.event_id]
                played = catalog.played_event(show.id)
                assert played is not None
                start = played.sort_instant
            else:
                start_at = _utc_start(
                    performance.event_date, datetime.min.time().replace(hour=20),
                    performance.venue.timezone,
                )  # fmt: skip
                assert start_at is not None
                start = start_at
            delay = performance.versions[0] - start
            assert timedelta(hours=3) <= delay < timedelta(hours=41), performance.setlist_id


# ---------------------------------------------------------------- new touring artists


async def test_an_artist_without_events_starts_touring_and_shows_in_market_sweeps(
    harness: Harness,
) -> None:
    catalog = harness.catalog
    # The homonym twin (who starts within ten days) and another artist start touring.
    assert [a.index for a in catalog.world.new_touring] == [39, 48]
    artist = catalog.world.new_touring[0]
    assert artist is catalog.homonyms[0].twin
    attraction = artist.ticketmaster_id
    assert attraction is not None
    assert await _listed_ids(harness, attractionId=attraction) == []
    events = [catalog.event_by_id[i] for i in catalog.event_ids_by_artist[artist.index]]
    tour = [e for e in events if e.headliner is artist]
    announced = min(catalog.event_timeline(e.id)[0].at for e in tour)
    assert MIDNIGHT + FIRST_CHANGE <= announced < MIDNIGHT + timedelta(days=10)
    await _at(harness, announced)
    listed = await _listed_ids(harness, attractionId=attraction)
    assert len(listed) == len(tour) == 4
    market = tour[0].venue.market.id
    assert tour[0].id in await _listed_ids(harness, marketId=market)
    body = (await harness.tm(f"/attractions/{attraction}.json")).json()
    assert body["upcomingEvents"]["_total"] == 4


# --------------------------------------------------------------------------- homonyms


def test_homonyms_are_different_artists_with_one_name_and_different_ids() -> None:
    world = Catalog(seed=SEED, artists=500, today=TODAY)
    kinds = [h.kind for h in world.homonyms]
    assert kinds == ["same_name", "the_prefix", "same_name_ticketmaster_only", "cross_api",
                     "same_name"]  # fmt: skip
    for homonym in world.homonyms:
        original, twin = homonym.original, homonym.twin
        assert original.index != twin.index
        assert world.artists[twin.index] is twin
        assert world.artists[original.index] is original
        for field in ("spotify_id", "ticketmaster_id", "mbid"):
            mine, theirs = getattr(original, field), getattr(twin, field)
            assert mine is None or theirs is None or mine != theirs
        if homonym.kind == "the_prefix":
            assert f"The {original.name}" == twin.name or original.name == f"The {twin.name}"
        else:
            assert original.name == twin.name
        # Twins have no day-0 event and start touring within the first ten days.
        assert not world.events_by_attraction.get(twin.ticketmaster_id or "")
        assert twin in world.world.new_touring
    cross = world.homonyms[3]
    assert cross.original.kind == "spotify_only"
    # A supporting act named like another artist: the first twin opens for someone.
    twin = world.homonyms[0].twin
    supported = [
        e for e in world.all_events if twin in e.support and e.headliner.index != twin.index
    ]
    assert len(supported) == 1
    assert supported[0].headliner.name != twin.name


def test_a_5000_artist_world_has_homonyms_on_one_api_only() -> None:
    world = Catalog(seed=SEED, artists=5000, today=TODAY)
    assert len(world.homonyms) == 41
    kinds = {(h.kind, h.original.kind, h.twin.kind) for h in world.homonyms}
    assert ("same_name_ticketmaster_only", "core", "tm_only") in kinds
    assert ("cross_api", "spotify_only", "tm_only") in kinds


async def test_searching_a_homonyms_name_finds_both_artists(harness: Harness) -> None:
    (homonym,) = harness.catalog.homonyms
    original, twin = homonym.original, homonym.twin
    assert (original.name, original.index, twin.index) == ("The Lonesome Strangers", 58, 39)
    spotify = (
        await harness.spotify("/search", params={"q": original.name, "type": "artist"})
    ).json()
    found = {a["id"] for a in spotify["artists"]["items"] if a["name"] == original.name}
    assert found == {original.spotify_id, twin.spotify_id}
    setlistfm = (await harness.sfm("/search/artists", params={"artistName": original.name})).json()
    assert {a["mbid"] for a in setlistfm["artist"]} == {original.mbid, twin.mbid}
    attractions = (await harness.tm("/attractions.json", keyword=original.name)).json()
    assert {a["id"] for a in attractions["_embedded"]["attractions"]} == {
        original.ticketmaster_id,
        twin.ticketmaster_id,
    }


def test_the_day_0_world_keeps_its_dates(catalog: Catalog) -> None:
    assert catalog.today == date(2026, 3, 1)
    assert min(catalog.event_timeline(e.id)[0].at for e in catalog.events) == MIDNIGHT
