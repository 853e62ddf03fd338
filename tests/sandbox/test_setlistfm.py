"""The fake setlist.fm: key check, JSON only on request, 404 as "no results", paging, shapes."""

from __future__ import annotations

import json

from sandbox.catalog import Artist, Catalog
from tests.sandbox.conftest import SFM_KEY, Harness


def _artist_with_pages(catalog: Catalog, pages: int) -> Artist:
    return next(
        a
        for a in catalog.artists
        if a.on_setlistfm and len(catalog.setlists(a, catalog.origin)) > 20 * (pages - 1) + 5
    )


async def test_wrong_api_key_answers_403_with_the_error_shape(harness: Harness) -> None:
    response = await harness.http.get(
        "/rest/1.0/search/artists",
        params={"artistName": "a"},
        headers={"x-api-key": "wrong", "Accept": "application/json"},
    )
    assert response.status_code == 403
    assert response.json() == {
        "code": 403,
        "status": "Forbidden",
        "message": "Forbidden",
        "timestamp": "2026-03-01T00:00:00.000+0000",
    }


async def test_without_accept_json_the_answer_is_xml(harness: Harness) -> None:
    artist = harness.catalog.artists[0]
    response = await harness.sfm(f"/artist/{artist.mbid}", json=False)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    assert f'mbid="{artist.mbid}"' in response.text
    try:
        json.loads(response.content)
    except ValueError:
        pass
    else:  # pragma: no cover - the point of the test
        raise AssertionError("XML answer parsed as JSON")


async def test_artist_setlists_are_20_a_page_newest_first(harness: Harness) -> None:
    catalog = harness.catalog
    artist = _artist_with_pages(catalog, 2)
    expected = catalog.setlists(artist, catalog.origin)
    first = (await harness.sfm(f"/artist/{artist.mbid}/setlists")).json()
    second = (await harness.sfm(f"/artist/{artist.mbid}/setlists", params={"p": 2})).json()
    assert (first["itemsPerPage"], first["page"], first["total"]) == (20, 1, len(expected))
    assert [s["id"] for s in first["setlist"]] == [p.setlist_id for p in expected[:20]]
    assert [s["id"] for s in second["setlist"]] == [p.setlist_id for p in expected[20:40]]
    dates = [p.event_date for p in expected]
    assert dates == sorted(dates, reverse=True)


async def test_a_page_past_the_end_answers_404_not_found(harness: Harness) -> None:
    artist = _artist_with_pages(harness.catalog, 1)
    response = await harness.sfm(f"/artist/{artist.mbid}/setlists", params={"p": 99})
    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "status": "Not Found",
        "message": "not found",
        "timestamp": "2026-03-01T00:00:00.000+0000",
    }


async def test_an_artist_without_setlists_answers_404(harness: Harness) -> None:
    silent = harness.catalog.artists[9]
    response = await harness.sfm(f"/artist/{silent.mbid}/setlists")
    assert response.status_code == 404


async def test_setlist_shape_event_date_sets_and_version(harness: Harness) -> None:
    catalog = harness.catalog
    performance = catalog.setlists(catalog.artists[0], catalog.origin)[0]
    body = (await harness.sfm(f"/setlist/{performance.setlist_id}")).json()
    version = performance.version_at(catalog.origin)
    assert body["id"] == performance.setlist_id
    assert body["versionId"] == catalog.version_id(performance, version)
    assert body["eventDate"] == performance.event_date.strftime("%d-%m-%Y")
    assert body["lastUpdated"].endswith("+0000")
    assert body["artist"]["mbid"] == performance.artist.mbid
    assert body["venue"]["id"] == performance.venue.setlistfm_id
    assert body["venue"]["city"]["coords"] == {
        "lat": performance.venue.city.latitude,
        "long": performance.venue.city.longitude,
    }
    assert list(body["sets"]) == ["set"]
    assert "set" not in body


async def test_sets_carry_names_encores_covers_tapes_guests_and_infos(harness: Harness) -> None:
    catalog = harness.catalog
    seen: set[str] = set()
    empty = 0
    for artist in catalog.artists[:30]:
        if not artist.on_setlistfm:
            continue
        pages = 1
        page = 1
        while page <= pages:
            response = await harness.sfm(f"/artist/{artist.mbid}/setlists", params={"p": page})
            if response.status_code == 404:
                break
            body = response.json()
            pages = -(-body["total"] // 20)
            page += 1
            for setlist in body["setlist"]:
                sets = setlist["sets"]["set"]
                empty += not sets
                for one in sets:
                    seen.update(k for k in ("name", "encore") if k in one)
                    if one.get("encore") == 2:
                        seen.add("encore 2")
                    for song in one["song"]:
                        seen.update(k for k in ("cover", "tape", "with", "info") if k in song)
                        assert song.get("tape", True) is True
                if "tour" in setlist:
                    seen.add("tour")
    assert seen == {"name", "encore", "encore 2", "cover", "tape", "with", "info", "tour"}
    assert empty > 0


async def test_search_artists_by_tmid_name_and_mbid(harness: Harness) -> None:
    artist = next(a for a in harness.catalog.artists if a.setlistfm_tmid)
    by_tmid = (
        await harness.sfm("/search/artists", params={"artistTmid": artist.setlistfm_tmid})
    ).json()
    assert [a["mbid"] for a in by_tmid["artist"]] == [artist.mbid]
    by_name = (
        await harness.sfm(
            "/search/artists", params={"artistName": artist.name, "sort": "relevance"}
        )
    ).json()
    assert by_name["artist"][0]["mbid"] == artist.mbid
    by_mbid = (await harness.sfm("/search/artists", params={"artistMbid": artist.mbid})).json()
    assert by_mbid["artist"] == [
        {
            "mbid": artist.mbid,
            "tmid": artist.ticketmaster_id,
            "name": artist.name,
            "sortName": artist.sort_name,
            "disambiguation": "",
            "url": by_mbid["artist"][0]["url"],
        }
    ]


async def test_search_artists_without_results_answers_404(harness: Harness) -> None:
    response = await harness.sfm("/search/artists", params={"artistName": "no such band"})
    assert response.status_code == 404
    assert response.json()["message"] == "not found"


async def test_search_artists_without_any_criterion_answers_400(harness: Harness) -> None:
    response = await harness.sfm("/search/artists", params={"p": 1})
    assert response.status_code == 400
    assert response.json()["status"] == "Bad Request"


async def test_search_setlists_by_last_updated_returns_edits_on_or_after(harness: Harness) -> None:
    catalog = harness.catalog
    artist = _artist_with_pages(catalog, 1)
    setlists = catalog.setlists(artist, catalog.origin)
    pivot = sorted(p.versions[p.version_at(catalog.origin)] for p in setlists)[len(setlists) // 2]
    since = pivot.replace(microsecond=0)
    body = (
        await harness.sfm(
            "/search/setlists",
            params={"artistMbid": artist.mbid, "lastUpdated": since.strftime("%Y%m%d%H%M%S")},
        )
    ).json()
    expected = [p.setlist_id for p in setlists if p.versions[p.version_at(catalog.origin)] >= since]
    assert body["total"] == len(expected)
    assert [s["id"] for s in body["setlist"]] == expected[:20]


async def test_search_setlists_with_a_bad_last_updated_answers_400(harness: Harness) -> None:
    artist = harness.catalog.artists[0]
    response = await harness.sfm(
        "/search/setlists", params={"artistMbid": artist.mbid, "lastUpdated": "2026-03-01"}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "lastUpdated must be formatted yyyyMMddHHmmss"


async def test_unknown_or_unpublished_setlist_answers_404(harness: Harness) -> None:
    catalog = harness.catalog
    future = next(
        p
        for a in catalog.artists
        for p in catalog.performances(a)
        if not p.published(catalog.origin)
    )
    assert (await harness.sfm("/setlist/00000000")).status_code == 404
    assert (await harness.sfm(f"/setlist/{future.setlist_id}")).status_code == 404


async def test_api_key_header_is_required(harness: Harness) -> None:
    response = await harness.http.get(
        "/rest/1.0/search/artists",
        params={"artistName": "a"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 403
    ok = await harness.http.get(
        "/rest/1.0/search/artists",
        params={"artistName": "a"},
        headers={"Accept": "application/json", "x-api-key": SFM_KEY},
    )
    assert ok.status_code == 200
