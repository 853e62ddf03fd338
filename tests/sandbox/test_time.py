"""Sandbox time: the calendar moves with the clock and ``advance``; data follows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.catalog import Performance
from tests.sandbox.conftest import TODAY, Harness, HarnessFactory

MIDNIGHT = datetime.combine(TODAY, datetime.min.time(), UTC)
WEEK = timedelta(days=7)


def _appearing(harness: Harness) -> Performance:
    catalog = harness.catalog
    return next(
        p
        for a in catalog.artists
        for p in catalog.performances(a)
        if MIDNIGHT < p.versions[0] <= MIDNIGHT + WEEK
    )


def _edited(harness: Harness) -> Performance:
    catalog = harness.catalog
    return next(
        p
        for a in catalog.artists
        for p in catalog.performances(a)
        if p.published(MIDNIGHT) and any(MIDNIGHT < v <= MIDNIGHT + WEEK for v in p.versions)
    )


async def test_the_calendar_starts_at_midnight_utc_of_today(harness: Harness) -> None:
    assert harness.sandbox.now() == MIDNIGHT
    assert harness.sandbox.today() == TODAY


async def test_advance_moves_the_calendar_but_not_the_clock(harness: Harness) -> None:
    assert harness.sandbox.advance(days=2, hours=3) == MIDNIGHT + timedelta(days=2, hours=3)
    assert harness.clock.now() == 0.0


async def test_the_calendar_follows_the_monotonic_clock(harness: Harness) -> None:
    harness.clock.advance(90.5)
    assert harness.sandbox.now() == MIDNIGHT + timedelta(seconds=90.5)


async def test_the_calendar_cannot_go_backwards(harness: Harness) -> None:
    with pytest.raises(ValueError, match="cannot go backwards"):
        harness.sandbox.advance(days=-1)


async def test_advancing_a_week_makes_new_setlists_appear(harness: Harness) -> None:
    fresh = _appearing(harness)
    mbid = fresh.artist.mbid
    before = await harness.sfm(f"/artist/{mbid}/setlists")
    assert fresh.setlist_id not in [s["id"] for s in before.json().get("setlist", [])]
    assert (await harness.sfm(f"/setlist/{fresh.setlist_id}")).status_code == 404
    harness.sandbox.advance(days=7)
    after = (await harness.sfm(f"/artist/{mbid}/setlists")).json()
    assert after["total"] == before.json().get("total", 0) + sum(
        1
        for p in harness.catalog.performances(fresh.artist)
        if MIDNIGHT < p.versions[0] <= MIDNIGHT + WEEK
    )
    assert (await harness.sfm(f"/setlist/{fresh.setlist_id}")).status_code == 200


async def test_advancing_a_week_edits_some_setlists_with_a_new_version(harness: Harness) -> None:
    edited = _edited(harness)
    old = (await harness.sfm(f"/setlist/{edited.setlist_id}")).json()
    harness.sandbox.advance(days=7)
    new = (await harness.sfm(f"/setlist/{edited.setlist_id}")).json()
    assert new["versionId"] != old["versionId"]
    assert new["lastUpdated"] > old["lastUpdated"]
    assert new["sets"] != old["sets"]
    assert (new["id"], new["eventDate"]) == (old["id"], old["eventDate"])


async def test_last_updated_search_returns_what_changed_since_the_previous_sync(
    harness: Harness,
) -> None:
    edited = _edited(harness)
    mbid = edited.artist.mbid
    since = harness.sandbox.now().strftime("%Y%m%d%H%M%S")
    params = {"artistMbid": mbid, "lastUpdated": since}
    assert (await harness.sfm("/search/setlists", params=params)).status_code == 404
    harness.sandbox.advance(days=7)
    changed = (await harness.sfm("/search/setlists", params=params)).json()
    expected = {
        p.setlist_id
        for p in harness.catalog.performances(edited.artist)
        if any(MIDNIGHT < v <= MIDNIGHT + WEEK for v in p.versions)
    }
    assert {s["id"] for s in changed["setlist"]} == expected
    assert edited.setlist_id in expected


async def test_moving_the_clock_a_week_has_the_same_effect_as_advance(harness: Harness) -> None:
    fresh = _appearing(harness)
    harness.clock.advance(WEEK.total_seconds())
    assert (await harness.sfm(f"/setlist/{fresh.setlist_id}")).status_code == 200


async def test_events_that_have_started_leave_the_upcoming_listing(harness: Harness) -> None:
    event = next(e for e in harness.catalog.events if e.starts_at and e.starts_at > MIDNIGHT)
    listing = {"attractionId": event.headliner.ticketmaster_id, "size": 200}
    before = (await harness.tm("/events.json", **listing)).json()
    assert event.id in [e["id"] for e in before["_embedded"]["events"]]
    assert event.starts_at is not None
    harness.sandbox.advance(seconds=(event.starts_at - MIDNIGHT).total_seconds() + 1)
    after = (await harness.tm("/events.json", **listing)).json()
    assert event.id not in [e["id"] for e in after.get("_embedded", {}).get("events", [])]
    assert (await harness.tm(f"/events/{event.id}.json")).status_code == 200


async def test_a_calendar_detached_from_the_clock_moves_only_with_advance(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(caps=False, calendar_follows_clock=False)
    harness.clock.advance(86400.0)
    assert harness.sandbox.now() == MIDNIGHT
    assert harness.sandbox.advance(hours=1) == MIDNIGHT + timedelta(hours=1)
