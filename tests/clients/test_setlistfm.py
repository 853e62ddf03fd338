from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import httpx
import pytest
import respx

from clients.clock import VirtualClock
from clients.errors import AuthError, UpstreamError
from clients.setlistfm import (
    SetlistFmClient,
    SetlistPage,
    SfmArtist,
    SfmArtistRef,
    SfmSet,
    SfmSetlist,
    SfmSong,
    SfmVenue,
    format_last_updated,
    parse_event_date,
)
from settings import Settings
from tests.clients.conftest import (
    SETLISTFM_API,
    SETLISTFM_KEY,
    MaxJitter,
    assert_no_secret,
    load,
)

MBID = "a74b1b7f-71a5-4011-9441-d0b5e4122711"
SETLISTS_URL = f"{SETLISTFM_API}/artist/{MBID}/setlists"

RADIOHEAD = SfmArtist(
    mbid=MBID,
    tmid=763468,
    name="Radiohead",
    sort_name="Radiohead",
    url="https://www.setlist.fm/setlists/radiohead-bd6bd12.html",
)
MSG = SfmVenue(
    id="6bd6ca6e",
    name="Madison Square Garden",
    city_id="5128581",
    city="New York",
    state="New York",
    state_code="NY",
    country_code="US",
    country_name="United States",
    city_latitude=40.7142691,
    city_longitude=-74.0059729,
)
FULL_SETLIST = SfmSetlist(
    id="63de4613",
    version_id="7be1aaa0",
    event_date=date(2025, 8, 5),
    last_updated=datetime(2025, 8, 7, 10, 21, 33, tzinfo=UTC),
    url="https://www.setlist.fm/setlist/radiohead/2025/madison-square-garden-new-york-ny-63de4613.html",
    info="Opening night",
    tour_name="In Rainbows Tour",
    artist=RADIOHEAD,
    venue=MSG,
    sets=[
        SfmSet(
            name=None,
            encore=0,
            songs=[
                SfmSong(name="15 Step"),
                SfmSong(name="Airbag", info="First time since 2018"),
                SfmSong(
                    name="Nude",
                    with_artist=SfmArtistRef(
                        mbid="8bfac288-ccc5-448d-9573-c33ea2aa5c30", name="Red Hot Chili Peppers"
                    ),
                ),
            ],
        ),
        SfmSet(
            name=None,
            encore=1,
            songs=[
                SfmSong(name="Intro", tape=True),
                SfmSong(
                    name="Gimme Shelter",
                    cover=SfmArtistRef(
                        mbid="b071f9fa-14b0-4217-8e97-eb41da73f598", name="The Rolling Stones"
                    ),
                ),
            ],
        ),
        SfmSet(name="Second encore", encore=2, songs=[SfmSong(name="Karma Police")]),
    ],
)


def make_client(
    http: httpx.AsyncClient, clock: VirtualClock, *, max_retries: int = 4
) -> SetlistFmClient:
    return SetlistFmClient(
        api_key=SETLISTFM_KEY,
        api_url=SETLISTFM_API,
        http=http,
        clock=clock,
        max_retries=max_retries,
        rng=MaxJitter(),
    )


def setlists_page(number: int, total: int) -> httpx.Response:
    body = load("sfm_artist_setlists_last.json")
    body.update({"page": number, "total": total})
    return httpx.Response(200, json=body)


async def test_artist_setlists_sends_key_and_json_accept_and_parses_sets(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(SETLISTS_URL).respond(200, json=load("sfm_artist_setlists.json"))
    client = make_client(http, clock)

    page = await client.artist_setlists(MBID)

    request = route.calls.last.request
    assert request.method == "GET"
    assert str(request.url) == (
        "https://api.setlist.fm/rest/1.0/artist/a74b1b7f-71a5-4011-9441-d0b5e4122711/setlists?p=1"
    )
    assert request.headers["x-api-key"] == SETLISTFM_KEY
    assert request.headers["Accept"] == "application/json"
    assert (page.page, page.total, page.items_per_page, page.is_last) == (1, 43, 20, False)
    full, empty = page.setlists
    assert full == FULL_SETLIST
    assert empty.id == "3bd6c4f0"
    assert empty.event_date == date(2025, 8, 1)
    assert empty.sets == []
    assert empty.tour_name is None


async def test_a_setlist_with_a_bad_date_is_isolated_as_malformed(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
) -> None:
    router.get(SETLISTS_URL).respond(200, json=load("sfm_artist_setlists.json"))
    client = make_client(http, clock)

    page = await client.artist_setlists(MBID)

    assert [s.id for s in page.setlists] == ["63de4613", "3bd6c4f0"]
    [bad] = page.errors
    assert (bad.api, bad.kind, bad.key) == ("setlistfm", "setlist", "2bad1234")
    assert bad.errors == ["eventDate: Value error, expected a dd-MM-yyyy date, got '2025-07-30'"]
    assert str(bad) == (
        "setlistfm setlist 2bad1234: malformed record: "
        "eventDate: Value error, expected a dd-MM-yyyy date, got '2025-07-30'"
    )
    assert [r.getMessage() for r in client_logs.records if r.levelname == "WARNING"] == [str(bad)]
    assert_no_secret(client_logs)


async def test_404_means_no_setlists_an_empty_last_page(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(SETLISTS_URL).respond(404, json=load("sfm_error_404.json"))
    client = make_client(http, clock)
    page = await client.artist_setlists(MBID, page=2)
    assert page == SetlistPage(setlists=[], errors=[], page=2, total=0, items_per_page=20)
    assert page.is_last
    assert route.call_count == 1
    assert clock.sleeps == []


async def test_iter_artist_setlists_walks_pages_until_the_last(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(SETLISTS_URL).mock(
        side_effect=lambda request: setlists_page(int(request.url.params["p"]), total=43)
    )
    client = make_client(http, clock)
    pages = [page async for page in client.iter_artist_setlists(MBID)]
    assert [p.page for p in pages] == [1, 2, 3]
    assert [call.request.url.params["p"] for call in route.calls] == ["1", "2", "3"]


async def test_iter_artist_setlists_honours_max_pages_and_early_break(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(SETLISTS_URL).mock(
        side_effect=lambda request: setlists_page(int(request.url.params["p"]), total=500)
    )
    client = make_client(http, clock)
    assert [p.page async for p in client.iter_artist_setlists(MBID, max_pages=2)] == [1, 2]
    assert route.call_count == 2
    async for page in client.iter_artist_setlists(MBID):
        if page.page == 3:
            break
    assert route.call_count == 5


async def test_setlists_updated_since_sends_last_updated_in_utc(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(f"{SETLISTFM_API}/search/setlists").respond(
        200, json=load("sfm_artist_setlists_last.json")
    )
    client = make_client(http, clock)
    since = datetime(2025, 11, 1, 9, 30, 5, tzinfo=timezone(timedelta(hours=1)))

    page = await client.setlists_updated_since(MBID, since, page=3)

    assert route.calls.last.request.url.params.multi_items() == [
        ("artistMbid", MBID),
        ("lastUpdated", "20251101083005"),
        ("p", "3"),
    ]
    assert (page.page, page.total, page.is_last) == (3, 43, True)
    with pytest.raises(ValueError, match="timezone-aware"):
        await client.setlists_updated_since(MBID, datetime(2025, 11, 1))
    assert route.call_count == 1


async def test_recently_updated_asks_for_every_artist_s_setlists_since_an_instant(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(f"{SETLISTFM_API}/search/setlists").respond(
        200, json=load("sfm_artist_setlists_last.json")
    )
    client = make_client(http, clock)

    page = await client.recently_updated(datetime(2026, 3, 1, 22, 0, tzinfo=UTC), page=3)

    sent = route.calls.last.request
    assert str(sent.url) == f"{SETLISTFM_API}/search/setlists?lastUpdated=20260301220000&p=3"
    assert sent.headers["x-api-key"] == SETLISTFM_KEY
    assert sent.headers["Accept"] == "application/json"
    assert (page.page, page.total, page.is_last) == (3, 43, True)
    assert [s.id for s in page.setlists] == [
        s["id"] for s in load("sfm_artist_setlists_last.json")["setlist"]
    ]
    with pytest.raises(ValueError, match="timezone-aware"):
        await client.recently_updated(datetime(2026, 3, 1))
    assert route.call_count == 1


async def test_search_artists_by_ticketmaster_id_isolates_an_artist_without_mbid(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(f"{SETLISTFM_API}/search/artists").respond(
        200, json=load("sfm_search_artists.json")
    )
    client = make_client(http, clock)

    assert await client.search_artists(tmid="K8vZ9171o-f") == [RADIOHEAD]

    assert route.calls.last.request.url.params.multi_items() == [
        ("artistTmid", "K8vZ9171o-f"),
        ("p", "1"),
        ("sort", "relevance"),
    ]
    [bad] = client.malformed_records
    assert (bad.kind, bad.key, bad.errors) == ("artist", 1, ["mbid: Field required"])


async def test_search_artists_sends_name_and_mbid_and_maps_404_to_no_results(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(f"{SETLISTFM_API}/search/artists").respond(
        404, json=load("sfm_error_404.json")
    )
    client = make_client(http, clock)
    assert await client.search_artists(name="Nobody At All", mbid=MBID, page=2) == []
    assert route.calls.last.request.url.params.multi_items() == [
        ("artistName", "Nobody At All"),
        ("artistMbid", MBID),
        ("p", "2"),
        ("sort", "relevance"),
    ]
    with pytest.raises(ValueError, match="needs a name, an mbid or a tmid"):
        await client.search_artists()
    with pytest.raises(ValueError, match="pages start at 1"):
        await client.search_artists(name="x", page=0)


async def test_get_setlist_tolerates_the_swagger_top_level_set_and_404(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.get(f"{SETLISTFM_API}/setlist/63de4613").respond(
        200, json=load("sfm_setlist_swagger_shape.json")
    )
    router.get(f"{SETLISTFM_API}/setlist/missing").respond(404, json=load("sfm_error_404.json"))
    client = make_client(http, clock)

    found = await client.get_setlist("63de4613")

    assert found is not None
    assert found.sets == FULL_SETLIST.sets[:1]
    assert await client.get_setlist("missing") is None


async def test_get_setlist_parses_the_documented_shape(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.get(f"{SETLISTFM_API}/setlist/63de4613").respond(200, json=load("sfm_setlist.json"))
    client = make_client(http, clock)
    assert await client.get_setlist("63de4613") == FULL_SETLIST


async def test_429_with_retry_after_waits_exactly_that_long(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(SETLISTS_URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}, json={"code": 429}),
            httpx.Response(200, json=load("sfm_artist_setlists_last.json")),
        ]
    )
    client = make_client(http, clock)
    page = await client.artist_setlists(MBID, page=3)
    assert (page.page, page.trusted) == (3, True)
    assert route.call_count == 2
    assert clock.sleeps == [3.0]


async def test_429_without_retry_after_backs_off_exponentially(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(SETLISTS_URL).mock(
        side_effect=[
            httpx.Response(429, text="Too Many Requests"),
            httpx.Response(429, text="Too Many Requests"),
            httpx.Response(429, text="Too Many Requests"),
            httpx.Response(200, json=load("sfm_artist_setlists_last.json")),
        ]
    )
    client = make_client(http, clock)
    await client.artist_setlists(MBID, page=3)
    assert route.call_count == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_key_is_an_auth_error_without_the_key(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
    status: int,
) -> None:
    route = router.get(SETLISTS_URL).respond(status, json=load("sfm_error_403.json"))
    client = make_client(http, clock)
    with pytest.raises(AuthError) as caught:
        await client.artist_setlists(MBID)
    assert caught.value.status == status
    assert route.call_count == 1
    assert_no_secret(client_logs, caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("05-08-2025", date(2025, 8, 5)), ("31-12-1999", date(1999, 12, 31))],
)
def test_event_dates_are_day_month_year(text: str, expected: date) -> None:
    assert parse_event_date(text) == expected


@pytest.mark.parametrize("text", ["2025-08-05", "5-8-2025", "31-02-2025", ""])
def test_event_dates_in_other_forms_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"dd-MM-yyyy|day is out of range"):
        parse_event_date(text)


def test_last_updated_is_formatted_in_utc_seconds() -> None:
    assert format_last_updated(datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)) == (
        "20260102030405"
    )


def test_from_settings_needs_the_key() -> None:
    with pytest.raises(AuthError, match="SETLISTFM_API_KEY is not configured"):
        SetlistFmClient.from_settings(Settings())


# --- answers that cannot be trusted ------------------------------------------------------------


def figures(page: int, total: int, per_page: int = 20) -> dict[str, int]:
    return {"page": page, "total": total, "itemsPerPage": per_page}


@pytest.mark.parametrize(
    ("asked", "served", "claimed", "recorded"),
    [
        (1, 1, figures(3, 43), ["page: 3 where page 1 was asked for"]),
        (1, 25, figures(1, 200), ["setlist: 25 setlists where itemsPerPage is 20"]),
        (2, 20, figures(2, 30), ["total: 30 is fewer than the 40 setlists up to page 2"]),
        (1, 1, figures(1, -4), ["total: not a count"]),
        (1, 1, {"page": 1, "total": "43", "itemsPerPage": 20}, ["total: not a count"]),
    ],
    ids=["another page", "more than itemsPerPage", "total too small", "negative", "text"],
)
async def test_a_setlist_page_that_contradicts_itself_is_recorded_and_is_the_last(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    asked: int,
    served: int,
    claimed: dict[str, object],
    recorded: list[str],
) -> None:
    setlist = load("sfm_artist_setlists_last.json")["setlist"][0]
    body = {"type": "setlists", **claimed, "setlist": [setlist] * served}
    route = router.get(SETLISTS_URL).respond(200, json=body)
    client = make_client(http, clock)

    pages = (
        [p async for p in client.iter_artist_setlists(MBID)]
        if asked == 1
        else [await client.artist_setlists(MBID, page=asked)]
    )

    assert route.call_count == 1
    [page] = pages
    assert (page.trusted, page.is_last, len(page.setlists)) == (False, True, served)
    [record] = page.errors
    assert (record.api, record.kind, record.key) == (
        "setlistfm",
        "setlists page",
        f"artist={MBID}#p{asked}",
    )
    assert record.errors == recorded


async def test_a_200_carrying_the_error_object_is_an_error_not_an_empty_page(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    error = {"code": 403, "status": "Forbidden", "message": "Forbidden", "timestamp": "x"}
    route = router.get(SETLISTS_URL).respond(200, json=error)
    client = make_client(http, clock)
    with pytest.raises(UpstreamError) as caught:
        await client.artist_setlists(MBID)
    assert str(caught.value) == (
        f"setlistfm: HTTP 200 carrying an error object from GET {SETLISTS_URL}?p=1: Forbidden"
    )
    assert route.call_count == 1
