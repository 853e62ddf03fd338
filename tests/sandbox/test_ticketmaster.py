"""The fake Ticketmaster Discovery API: filters, paging limits, envelopes, faults, headers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from tests.sandbox.conftest import TODAY, Harness

INVALID_KEY = {
    "fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}
}
MIDNIGHT = datetime.combine(TODAY, datetime.min.time(), UTC)


def _upcoming(harness: Harness) -> list[str]:
    return [e.id for e in harness.catalog.events if e.sort_instant >= harness.sandbox.now()]


@pytest.mark.parametrize("params", [{}, {"apikey": "wrong"}])
async def test_missing_or_wrong_apikey_answers_401_invalid_apikey(
    harness: Harness, params: dict[str, str]
) -> None:
    response = await harness.http.get("/discovery/v2/events.json", params=params)
    assert response.status_code == 401
    assert response.json() == INVALID_KEY


async def test_events_default_to_upcoming_in_date_order_20_a_page(harness: Harness) -> None:
    response = await harness.tm("/events.json")
    body = response.json()
    upcoming = _upcoming(harness)
    assert response.status_code == 200
    assert [e["id"] for e in body["_embedded"]["events"]] == upcoming[:20]
    assert body["page"] == {
        "size": 20,
        "totalElements": len(upcoming),
        "totalPages": math.ceil(len(upcoming) / 20),
        "number": 0,
    }
    assert body["_links"]["next"] == {"href": "/discovery/v2/events.json?page=1&size=20"}


async def test_an_explicit_past_start_reaches_the_last_30_days(harness: Harness) -> None:
    start = (MIDNIGHT - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = (await harness.tm("/events.json", startDateTime=start, size=200)).json()
    assert body["page"]["totalElements"] == len(harness.catalog.events) == 383


async def test_events_of_a_market_are_at_venues_of_that_market(harness: Harness) -> None:
    body = (await harness.tm("/events.json", marketId=35, size=200)).json()
    expected = [e.id for e in harness.catalog.events if e.venue.market.id == 35]
    expected = [i for i in expected if i in set(_upcoming(harness))]
    assert [e["id"] for e in body["_embedded"]["events"]] == expected
    for event in body["_embedded"]["events"]:
        assert event["_embedded"]["venues"][0]["markets"] == [
            {"name": "New York/Tri-State Area", "id": "35"}
        ]


async def test_events_of_an_attraction_include_those_where_it_supports(harness: Harness) -> None:
    supporting = next(e for e in harness.catalog.events if e.support and e.sort_instant > MIDNIGHT)
    artist = supporting.support[0]
    body = (await harness.tm("/events.json", attractionId=artist.ticketmaster_id, size=200)).json()
    ids = [e["id"] for e in body["_embedded"]["events"]]
    assert supporting.id in ids
    for event in body["_embedded"]["events"]:
        names = [a["id"] for a in event["_embedded"]["attractions"]]
        assert artist.ticketmaster_id in names


async def test_headliner_comes_first_in_embedded_attractions(harness: Harness) -> None:
    event = next(e for e in harness.catalog.events if len(e.support) == 2)
    body = (await harness.tm(f"/events/{event.id}.json")).json()
    assert [a["id"] for a in body["_embedded"]["attractions"]] == [
        event.headliner.ticketmaster_id,
        event.support[0].ticketmaster_id,
        event.support[1].ticketmaster_id,
    ]


async def test_keyword_city_and_classification_filters(harness: Harness) -> None:
    event = next(e for e in harness.catalog.events if e.sort_instant > MIDNIGHT)
    headliner = event.headliner
    by_keyword = (
        await harness.tm("/events.json", keyword=headliner.ticketmaster_name.lower())
    ).json()
    assert event.id in [e["id"] for e in by_keyword["_embedded"]["events"]]
    city = event.venue.city.name
    by_city = (await harness.tm("/events.json", city=city.upper(), size=200)).json()
    assert {
        e["_embedded"]["venues"][0]["city"]["name"] for e in by_city["_embedded"]["events"]
    } == {city}
    music = (await harness.tm("/events.json", classificationName="music")).json()
    sports = (await harness.tm("/events.json", classificationName="sports")).json()
    assert music["page"]["totalElements"] == len(_upcoming(harness))
    assert sports["page"]["totalElements"] == 0


async def test_empty_result_has_no_embedded_and_zero_pages(harness: Harness) -> None:
    response = await harness.tm("/events.json", keyword="no such band anywhere")
    body = response.json()
    assert response.status_code == 200
    assert "_embedded" not in body
    assert body["page"] == {"size": 20, "totalElements": 0, "totalPages": 0, "number": 0}
    assert body["_links"] == {
        "self": {"href": "/discovery/v2/events.json?keyword=no+such+band+anywhere&page=0&size=20"}
    }


@pytest.mark.parametrize(
    "value",
    ["2026-03-01T00:00:00.000Z", "2026-03-01T00:00:00", "2026-03-01", "2026-03-01 00:00:00Z"],
)
async def test_dates_not_exactly_yyyy_mm_ddthh_mm_ssz_answer_dis1015(
    harness: Harness, value: str
) -> None:
    response = await harness.tm("/events.json", startDateTime=value)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["code"], error["status"]) == ("DIS1015", "400")
    assert value in error["detail"]


async def test_size_above_200_answers_dis1036(harness: Harness) -> None:
    ok = await harness.tm("/events.json", size=200)
    too_big = await harness.tm("/events.json", size=201)
    assert ok.status_code == 200
    assert too_big.status_code == 400
    assert too_big.json()["errors"][0]["code"] == "DIS1036"


@pytest.mark.parametrize(
    ("size", "page", "status"), [(200, 4, 200), (200, 5, 400), (20, 49, 200), (20, 50, 400)]
)
async def test_deep_paging_stops_at_size_times_page_1000_with_dis1035(
    harness: Harness, size: int, page: int, status: int
) -> None:
    response = await harness.tm("/events.json", size=size, page=page)
    assert response.status_code == status
    if status == 400:
        assert response.json()["errors"][0]["code"] == "DIS1035"
    else:
        assert response.json()["page"]["number"] == page


async def test_every_answer_carries_the_rate_limit_headers(harness: Harness) -> None:
    ok = await harness.tm("/events.json")
    missing = await harness.tm("/events/nope.json")
    refused = await harness.http.get("/discovery/v2/events.json", params={"apikey": "wrong"})
    for response in (ok, missing, refused):
        assert response.headers["Rate-Limit"] == "5000"
        assert response.headers["Rate-Limit-Over"] == "0"
    assert ok.headers["Rate-Limit-Available"] == "4999"
    assert missing.headers["Rate-Limit-Available"] == "4998"
    assert refused.headers["Rate-Limit-Available"] == "4998"  # a bad key is not counted
    reset_ms = int(ok.headers["Rate-Limit-Reset"])
    # The quota is counted per calendar day: it resets at the next midnight (UTC).
    assert reset_ms == int((MIDNIGHT + timedelta(days=1)).timestamp() * 1000)


async def test_unknown_ids_answer_404_dis1004(harness: Harness) -> None:
    for path in ("/events/nope.json", "/attractions/nope.json", "/venues/nope.json"):
        response = await harness.tm(path)
        assert response.status_code == 404
        assert response.json() == {
            "errors": [
                {
                    "code": "DIS1004",
                    "detail": "Resource not found with provided criteria (locale=en-us, id=nope)",
                    "status": "404",
                    "_links": {"about": {"href": "/discovery/v2/errors.html#DIS1004"}},
                }
            ]
        }


async def test_event_quirks_tba_placeholder_onsale_and_price_ranges(harness: Harness) -> None:
    catalog = harness.catalog
    time_tba = next(e for e in catalog.events if e.time_tba and not e.date_tba)
    date_tba = next(e for e in catalog.events if e.date_tba)
    placeholder = next(e for e in catalog.events if e.onsale_placeholder and e.price_range is None)
    priced = next(
        e for e in catalog.events if e.price_range and e.local_time and not e.onsale_placeholder
    )
    tba_start = (await harness.tm(f"/events/{time_tba.id}.json")).json()["dates"]["start"]
    assert tba_start == {
        "localDate": time_tba.local_date.isoformat(),
        "dateTBD": False,
        "dateTBA": False,
        "timeTBA": True,
        "noSpecificTime": False,
    }
    date_start = (await harness.tm(f"/events/{date_tba.id}.json")).json()["dates"]["start"]
    assert (date_start["dateTBA"], date_start["timeTBA"]) == (True, True)
    assert "localTime" not in date_start
    assert "dateTime" not in date_start
    body = (await harness.tm(f"/events/{placeholder.id}.json")).json()
    assert body["sales"]["public"]["startDateTime"] == "1900-01-01T18:00:00Z"
    assert "priceRanges" not in body
    body = (await harness.tm(f"/events/{priced.id}.json")).json()
    low, high = priced.price_range or (0, 0)
    assert body["priceRanges"] == [
        {"type": "standard", "currency": "USD", "min": float(low), "max": float(high)}
    ]
    start = body["dates"]["start"]
    assert start["localTime"] == (
        priced.local_time.strftime("%H:%M:%S") if priced.local_time else ""
    )
    assert start["dateTime"] == (priced.starts_at or MIDNIGHT).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["dates"]["timezone"] == priced.venue.timezone


async def test_venue_sends_coordinates_as_strings(harness: Harness) -> None:
    venue = harness.catalog.venues[0]
    body = (await harness.tm(f"/venues/{venue.ticketmaster_id}.json")).json()
    assert body["location"] == {"longitude": str(venue.longitude), "latitude": str(venue.latitude)}
    assert body["city"] == {"name": venue.city.name}
    assert body["state"]["stateCode"] == venue.city.state_code
    assert body["country"] == {"name": "United States Of America", "countryCode": "US"}
    assert body["postalCode"] == venue.postal_code


async def test_attraction_external_links_follow_the_catalogue(harness: Harness) -> None:
    catalog = harness.catalog
    linked = next(a for a in catalog.artists if a.link_spotify and a.link_musicbrainz)
    unlinked = next(
        a
        for a in catalog.artists
        if a.on_ticketmaster and not a.link_spotify and not a.link_musicbrainz
    )
    body = (await harness.tm(f"/attractions/{linked.ticketmaster_id}.json")).json()
    assert body["externalLinks"]["spotify"] == [
        {"url": f"https://open.spotify.com/artist/{linked.spotify_id}"}
    ]
    assert body["externalLinks"]["musicbrainz"] == [
        {"id": linked.mbid, "url": f"https://musicbrainz.org/artist/{linked.mbid}"}
    ]
    body = (await harness.tm(f"/attractions/{unlinked.ticketmaster_id}.json")).json()
    assert "spotify" not in body["externalLinks"]
    assert "musicbrainz" not in body["externalLinks"]


async def test_attractions_search_by_keyword(harness: Harness) -> None:
    artist = harness.catalog.artists[3]
    body = (await harness.tm("/attractions.json", keyword=artist.ticketmaster_name)).json()
    assert body["_embedded"]["attractions"][0]["id"] == artist.ticketmaster_id
    everything = (await harness.tm("/attractions.json", size=200)).json()
    assert everything["page"]["totalElements"] == 116
