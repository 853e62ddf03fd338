"""One world seen through three APIs: ids, names, venues and dates agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.identity import normalize_name
from tests.sandbox.conftest import TODAY, Harness, HarnessFactory


async def test_every_spotify_link_of_an_attraction_resolves_on_spotify(harness: Harness) -> None:
    token = await harness.token()
    body = (await harness.tm("/attractions.json", size=200)).json()
    resolved = 0
    for attraction in body["_embedded"]["attractions"]:
        for link in attraction["externalLinks"].get("spotify", []):
            spotify_id = link["url"].rsplit("/", 1)[1]
            artist = await harness.spotify(f"/artists/{spotify_id}", token=token)
            assert artist.status_code == 200
            assert normalize_name(artist.json()["name"]) == normalize_name(attraction["name"])
            resolved += 1
    assert resolved == 95


async def test_artist_tmid_search_returns_the_mbid_ticketmaster_links_to(
    harness: Harness,
) -> None:
    body = (await harness.tm("/attractions.json", size=200)).json()
    checked = 0
    for attraction in body["_embedded"]["attractions"]:
        links = attraction["externalLinks"].get("musicbrainz")
        found = await harness.sfm("/search/artists", params={"artistTmid": attraction["id"]})
        if found.status_code == 404:
            continue
        [artist] = found.json()["artist"]
        if links:
            assert artist["mbid"] == links[0]["id"]
            checked += 1
    assert checked == 86


async def test_artists_without_a_musicbrainz_link_are_found_by_tmid_or_name(
    harness: Harness,
) -> None:
    catalog = harness.catalog
    unlinked = [a for a in catalog.artists if a.on_setlistfm and not a.link_musicbrainz]
    by_tmid = by_name = 0
    for artist in unlinked:
        found = await harness.sfm("/search/artists", params={"artistTmid": artist.ticketmaster_id})
        if found.status_code == 200:
            assert found.json()["artist"][0]["mbid"] == artist.mbid
            by_tmid += 1
            continue
        named = await harness.sfm(
            "/search/artists", params={"artistName": artist.ticketmaster_name, "sort": "relevance"}
        )
        candidates = [
            a
            for a in named.json()["artist"]
            if normalize_name(a["name"]) == normalize_name(artist.ticketmaster_name)
        ]
        assert [a["mbid"] for a in candidates] == [artist.mbid]
        by_name += 1
    assert (by_tmid, by_name) == (14, 3)


async def test_a_past_event_has_a_setlist_with_the_same_artist_date_and_venue(
    harness: Harness,
) -> None:
    start = (datetime.combine(TODAY, datetime.min.time(), UTC) - timedelta(days=30)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    end = datetime.combine(TODAY, datetime.min.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = (
        await harness.tm("/events.json", startDateTime=start, endDateTime=end, size=200)
    ).json()
    matched = 0
    for event in events["_embedded"]["events"]:
        if event["dates"]["status"]["code"] in {"canceled", "postponed"}:
            continue
        headliner = event["_embedded"]["attractions"][0]
        venue = event["_embedded"]["venues"][0]
        artist = harness.catalog.artist_by_ticketmaster_id[headliner["id"]]
        if artist.mbid is None:
            continue
        day = datetime.strptime(event["dates"]["start"]["localDate"], "%Y-%m-%d")
        found = await harness.sfm(
            "/search/setlists",
            params={"artistMbid": artist.mbid, "date": day.strftime("%d-%m-%Y")},
        )
        if found.status_code == 404:  # not published yet (the show was last night)
            continue
        [setlist] = found.json()["setlist"]
        assert setlist["venue"]["name"] == venue["name"]
        assert setlist["venue"]["city"]["name"] == venue["city"]["name"]
        assert setlist["venue"]["city"]["stateCode"] == venue["state"]["stateCode"]
        matched += 1
    assert matched == 25


async def test_same_seed_serves_byte_identical_json(make_harness: HarnessFactory) -> None:
    first = await make_harness(caps=False, seed=11, artists=40)
    second = await make_harness(caps=False, seed=11, artists=40)
    artist = first.catalog.artists[0]
    for harness_pair_path in (
        ("tm", "/events.json", {"size": 50}),
        ("tm", "/attractions.json", {"size": 50}),
        ("sfm", f"/artist/{artist.mbid}/setlists", {}),
    ):
        kind, path, params = harness_pair_path
        if kind == "tm":
            one, two = await first.tm(path, **params), await second.tm(path, **params)
        else:
            one, two = await first.sfm(path, params=params), await second.sfm(path, params=params)
        assert one.status_code == 200
        assert one.content == two.content
    one = await first.spotify(f"/artists/{artist.spotify_id}")
    two = await second.spotify(f"/artists/{artist.spotify_id}")
    assert one.content == two.content
