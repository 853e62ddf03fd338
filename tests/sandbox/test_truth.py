"""The Truth API equals what the sandbox's HTTP endpoints serve at the same instants."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.catalog import Catalog, SetContent
from sandbox.truth import Truth
from tests.sandbox.conftest import TODAY, Harness

MIDNIGHT = datetime.combine(TODAY, datetime.min.time(), UTC)
DAY = timedelta(days=1)
INSTANTS = (MIDNIGHT, MIDNIGHT + 10 * DAY + timedelta(hours=7), MIDNIGHT + 30 * DAY)


@pytest.fixture(scope="module")
def truth(catalog: Catalog) -> Truth:
    return Truth(catalog)


async def _at(harness: Harness, instant: datetime) -> None:
    harness.sandbox.advance(seconds=(instant - harness.sandbox.now()).total_seconds())


async def _all_events(harness: Harness, **params: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    page = 0
    while True:
        body = (await harness.tm("/events.json", size=200, page=page, **params)).json()
        events += body.get("_embedded", {}).get("events", [])
        page += 1
        if page >= body["page"]["totalPages"]:
            return events


def _state(body: dict[str, Any]) -> tuple[str, str, str, str, list[str]]:
    return (
        body["id"],
        body["dates"]["status"]["code"],
        body["dates"]["start"]["localDate"],
        body["_embedded"]["venues"][0]["id"],
        [a["id"] for a in body["_embedded"].get("attractions", [])],
    )


# ------------------------------------------------------------------------------------ artists


def test_artists_carry_their_true_ids(truth: Truth, catalog: Catalog) -> None:
    assert truth.artists() == catalog.artists
    artist = truth.artist(57)
    assert (artist.name, artist.index) == ("Amara Marlowe", 57)
    assert truth.artist_by(spotify_id=artist.spotify_id) is artist
    assert truth.artist_by(ticketmaster_id=artist.ticketmaster_id) is artist
    assert truth.artist_by(mbid=artist.mbid) is artist
    assert truth.artist_by(spotify_id="unknown", mbid=artist.mbid) is artist
    assert truth.artist_by(spotify_id="nope") is None
    assert truth.homonyms() == catalog.homonyms


def test_exposed_artists_grow_with_time_and_depend_on_the_sources(truth: Truth) -> None:
    everything = truth.exposed_artists(MIDNIGHT + 30 * DAY)
    assert len(truth.exposed_artists(MIDNIGHT)) == len(everything) == 120  # playlists
    ticketmaster = {"playlists": ()}
    day0 = truth.exposed_artists(MIDNIGHT, **ticketmaster)
    month = truth.exposed_artists(MIDNIGHT + 30 * DAY, **ticketmaster)
    assert (len(day0), len(month)) == (114, 115)
    assert month[: len(day0)] == day0
    newcomers = [a.index for a in month[len(day0) :]]
    assert newcomers == [39]  # the homonym twin, who starts touring
    twin = truth.homonyms()[0].twin
    first = truth.first_exposed(twin, **ticketmaster)
    assert first is not None
    assert MIDNIGHT + DAY <= first < MIDNIGHT + 10 * DAY
    assert twin not in truth.exposed_artists(first - timedelta(seconds=1), **ticketmaster)
    assert twin in truth.exposed_artists(first, **ticketmaster)
    assert truth.exposed_artists(MIDNIGHT + 30 * DAY, markets=(), playlists=()) == ()
    new_york = truth.exposed_artists(MIDNIGHT, markets=(35,), playlists=())
    assert 0 < len(new_york) < len(day0)
    headliners = truth.exposed_artists(MIDNIGHT, playlists=(), supporting_acts=False)
    assert len(headliners) == 107
    assert set(headliners) < set(day0)
    opener = next(a for a in day0 if a not in headliners)
    assert all(e.headliner is not opener for e in truth.listed_events(MIDNIGHT))
    assert any(opener in e.support for e in truth.listed_events(MIDNIGHT))


def test_an_artist_only_on_a_playlist_is_exposed_from_day_0(truth: Truth, catalog: Catalog) -> None:
    playlist = catalog.playlists[0]
    only = next(a for t, _ in playlist.tracks for a in t.artists if a.kind == "spotify_only")
    assert truth.first_exposed(only) == MIDNIGHT
    assert truth.first_exposed(only, playlists=()) is None
    assert truth.first_exposed(only, playlists=(playlist.id,)) == MIDNIGHT


@pytest.mark.parametrize("window_days", [None, 90, 7])
def test_exposure_equals_a_brute_force_over_every_instant_the_listing_changes(
    truth: Truth, catalog: Catalog, window_days: int | None
) -> None:
    """Ticketmaster exposure only begins when the listing changes or a day begins (the sweep's
    window moves): reading the listing at each such instant finds every first exposure."""
    until = MIDNIGHT + 30 * DAY
    instants = sorted(
        {MIDNIGHT + n * DAY for n in range(31)}
        | {at for at in catalog.change_instants if at <= until}
    )
    first: dict[int, datetime] = {}
    for instant in instants:
        day = datetime.combine(instant.date(), datetime.min.time(), UTC)
        for event in catalog.listing(instant).events:
            start = event.sort_instant
            if window_days is None:
                shown = start >= instant
            else:
                shown = day <= start < day + timedelta(days=window_days)
            if shown:
                for artist in event.attractions:
                    first.setdefault(artist.index, instant)
    exposed = truth.exposed_artists(until, playlists=(), window_days=window_days)
    assert {a.index: truth.first_exposed(a, playlists=(), window_days=window_days)
            for a in exposed} == first  # fmt: skip
    assert len(first) == {None: 115, 90: 85, 7: 55}[window_days]


def test_a_window_of_no_day_is_refused(truth: Truth) -> None:
    with pytest.raises(ValueError, match="window_days must be at least 1, got 0"):
        truth.exposed_artists(MIDNIGHT, window_days=0)


# ------------------------------------------------------------------------------------ events


async def test_listed_events_are_what_the_default_listing_serves(
    harness: Harness, truth: Truth
) -> None:
    for instant in INSTANTS:
        await _at(harness, instant)
        served = [_state(e) for e in await _all_events(harness)]
        expected = [
            (e.id, e.status, e.local_date.isoformat(), e.venue.ticketmaster_id,
             [a.ticketmaster_id for a in e.attractions])
            for e in truth.listed_events(instant)
        ]  # fmt: skip
        assert served == expected
        assert all(e.sort_instant >= instant for e in truth.listed_events(instant))
    assert len(truth.listed_events(MIDNIGHT)) == 358
    assert len(truth.listed_events(MIDNIGHT + 30 * DAY)) == 353


@pytest.mark.parametrize("markets", ["35", "35,10", "10,35,7"])
async def test_a_market_sweep_serves_the_listed_events_of_those_markets(
    harness: Harness, truth: Truth, markets: str
) -> None:
    wanted = {int(m) for m in markets.split(",")}
    for instant in INSTANTS:
        await _at(harness, instant)
        served = [e["id"] for e in await _all_events(harness, marketId=markets)]
        expected = [e.id for e in truth.listed_events(instant) if e.venue.market.id in wanted]
        assert served == expected
        assert expected


async def test_upcoming_events_of_an_artist_are_its_attraction_listing(
    harness: Harness, truth: Truth, catalog: Catalog
) -> None:
    changed = sorted({c.artist.index for c in truth.changes(MIDNIGHT, MIDNIGHT + 30 * DAY)})
    artists = [catalog.artists[i] for i in changed if catalog.artists[i].ticketmaster_id][:12]
    for instant in INSTANTS:
        await _at(harness, instant)
        for artist in artists:
            served = await _all_events(harness, attractionId=artist.ticketmaster_id)
            expected = truth.upcoming_events(artist, instant)
            assert [e["id"] for e in served] == [e.id for e in expected]
            headlined = truth.upcoming_events(artist.index, instant, headlined_only=True)
            assert all(e.headliner is artist for e in headlined)
            assert set(headlined) <= set(expected)


def test_event_at_and_played_follow_the_timeline(truth: Truth) -> None:
    (canceled,) = truth.changes(MIDNIGHT, MIDNIGHT + 30 * DAY, kinds=("event_canceled",))[:1]
    assert canceled.event is not None
    assert canceled.event_id is not None
    before = truth.event_at(canceled.event_id, canceled.at - timedelta(seconds=1))
    assert before is not None
    assert before.status == "rescheduled"
    after = truth.event_at(canceled.event_id, canceled.at)
    assert after is canceled.event
    assert after.status == "canceled"
    assert truth.played(canceled.event_id) is None
    assert truth.event_at("vvG1unknown000", MIDNIGHT) is None
    assert canceled.event_id in truth.events_of(canceled.artist)


def test_every_event_has_one_outcome_and_only_played_ones_have_a_played_state(
    truth: Truth, catalog: Catalog
) -> None:
    outcomes = Counter(truth.outcome(e.id) for e in catalog.all_events)
    assert outcomes == {"played": 417, "canceled": 38, "postponed": 12, "dropped": 10, "tba": 9}
    for event in catalog.all_events:
        assert (truth.outcome(event.id) == "played") == (truth.played(event.id) is not None)
    assert truth.horizon_end == MIDNIGHT + timedelta(days=100)


# ------------------------------------------------------------------------------------ changes


def test_changes_are_ordered_partition_time_and_filter_by_kind(truth: Truth) -> None:
    start, middle, end = MIDNIGHT, MIDNIGHT + 12 * DAY, MIDNIGHT + 30 * DAY
    month = truth.changes(start, end)
    assert truth.changes(start, middle) + truth.changes(middle, end) == month
    assert [c.at for c in month] == sorted(c.at for c in month)
    assert all(start < c.at <= end for c in month)
    assert Counter(c.kind for c in month) == {
        "setlist_edited": 44,
        "setlist_published": 28,
        "event_new": 29,
        "event_postponed": 11,
        "event_canceled": 8,
        "event_moved": 5,
        "event_dropped": 3,
        "event_rescheduled": 3,
    }
    published = truth.changes(start, end, kinds=("setlist_published",))
    assert published == tuple(c for c in month if c.kind == "setlist_published")
    assert all(c.version == 0 and c.setlist_id for c in published)
    edits = truth.changes(start, end, kinds=("setlist_edited",))
    assert all(c.version is not None and c.version >= 1 for c in edits)
    for change in month:
        assert change.artist_index == change.artist.index
        if change.kind.startswith("event_"):
            assert change.event is not None
            assert change.event_id == change.event.id
            assert change.artist is change.event.headliner


async def test_every_change_is_served_from_its_instant_and_not_a_millisecond_before(
    harness: Harness, truth: Truth
) -> None:
    month = truth.changes(MIDNIGHT, MIDNIGHT + 30 * DAY)
    checked: Counter[str] = Counter()
    for change in month:
        if checked[change.kind] >= 2:
            continue
        checked[change.kind] += 1
        just_before = change.at - timedelta(milliseconds=1)
        await _at(harness, just_before)
        before = await _observe(harness, change.event_id, change.setlist_id)
        await _at(harness, change.at)
        after = await _observe(harness, change.event_id, change.setlist_id)
        assert before != after, change
    assert checked == dict.fromkeys(checked, 2)
    assert len(checked) == 8


async def _observe(harness: Harness, event_id: str | None, setlist_id: str | None) -> Any:
    if setlist_id is not None:
        response = await harness.sfm(f"/setlist/{setlist_id}")
        return (response.status_code, response.json().get("versionId"))
    response = await harness.tm(f"/events/{event_id}.json")
    return (response.status_code, _state(response.json()) if response.status_code == 200 else 0)


# ------------------------------------------------------------------------------------ setlists


def _sets_json(sets: tuple[SetContent, ...]) -> list[dict[str, Any]]:
    out = []
    for content in sets:
        body: dict[str, Any] = {}
        if content.name is not None:
            body["name"] = content.name
        if content.encore:
            body["encore"] = content.encore
        songs = []
        for song in content.songs:
            entry: dict[str, Any] = {"name": song.name}
            if song.with_artist is not None:
                entry["with"] = song.with_artist.mbid
            if song.cover is not None:
                entry["cover"] = song.cover.mbid
            if song.info is not None:
                entry["info"] = song.info
            if song.tape:
                entry["tape"] = True
            songs.append(entry)
        body["song"] = songs
        out.append(body)
    return out


def _served_sets(body: dict[str, Any]) -> list[dict[str, Any]]:
    sets = body["sets"]["set"]
    for content in sets:
        for song in content["song"]:
            for key in ("with", "cover"):
                if key in song:
                    song[key] = song[key]["mbid"]
    return list(sets)


async def test_published_setlists_are_what_setlist_fm_serves_with_their_true_content(
    harness: Harness, truth: Truth
) -> None:
    instant = MIDNIGHT + 30 * DAY
    await _at(harness, instant)
    changed = {
        c.artist.index for c in truth.changes(MIDNIGHT, instant, kinds=("setlist_published",))
    }
    compared = 0
    for index in sorted(changed)[:6]:
        artist = truth.artist(index)
        expected = truth.setlists(artist, instant)
        served: list[dict[str, Any]] = []
        page = 1
        while True:
            response = await harness.sfm(f"/artist/{artist.mbid}/setlists", params={"p": page})
            if response.status_code == 404:
                break
            served += response.json()["setlist"]
            page += 1
        assert [s["id"] for s in served] == [t.setlist_id for t in expected]
        for body, true in zip(served, expected, strict=True):
            assert body["versionId"] == true.version_id
            assert body["eventDate"] == true.event_date.strftime("%d-%m-%Y")
            assert body["venue"]["id"] == true.venue.setlistfm_id
            assert _served_sets(body) == _sets_json(true.sets)
            assert true.published_at <= instant
            assert true.last_updated <= instant
            assert true.published_at <= true.last_updated
            compared += 1
    assert compared == 174
    one = truth.setlists(truth.artist(sorted(changed)[0]), instant)[0]
    assert truth.setlist(one.setlist_id, instant) == one
    assert truth.setlist(one.setlist_id, one.published_at - timedelta(milliseconds=1)) is None
    assert truth.setlist("zzzzzzzz", instant) is None


def test_a_setlist_belongs_to_the_event_it_was_played_at(truth: Truth) -> None:
    instant = MIDNIGHT + 30 * DAY
    published = truth.changes(MIDNIGHT, instant, kinds=("setlist_published",))
    linked = [c for c in published if c.event_id is not None]
    assert len(linked) == len(published) == 28  # a month's new setlists are of listed shows
    for change in linked:
        assert change.setlist_id is not None
        assert change.event_id is not None
        setlist = truth.setlist(change.setlist_id, instant)
        played = truth.played(change.event_id)
        assert setlist is not None
        assert played is not None
        assert (setlist.event_date, setlist.venue) == (played.local_date, played.venue)
        assert setlist.artist is played.headliner


def test_the_truth_knows_each_artists_scene(truth: Truth, catalog: Catalog) -> None:
    artist = truth.artist(57)
    scene = truth.scene(artist)
    assert scene == truth.scene(57) == catalog.scenes[artist.scene]
    assert artist in scene
    assert {a.genre.name for a in scene} == {artist.genre.name}
    assert truth.scenes() == catalog.scenes
    assert sum(len(s) for s in truth.scenes()) == len(truth.artists())
