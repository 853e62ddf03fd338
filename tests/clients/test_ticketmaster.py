from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from clients._transport import RateLimitStatus
from clients.clock import VirtualClock
from clients.errors import AuthError, BadRequest, QuotaExhausted, UpstreamError
from clients.ticketmaster import (
    MAX_REPORTED_TOTAL,
    EventPage,
    Image,
    PriceRange,
    TicketmasterClient,
    TmAttraction,
    TmVenue,
    format_tm_datetime,
    reachable_elements,
    spotify_id_from_url,
)
from settings import Settings
from tests.clients.conftest import (
    TICKETMASTER_API,
    TICKETMASTER_KEY,
    MaxJitter,
    RecordingLimiter,
    assert_no_secret,
    load,
)

EVENTS_URL = f"{TICKETMASTER_API}/events.json"
DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)
DEC_31 = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)

VENUE = TmVenue(
    id="KovZpZAEdntA",
    name="Crypto.com Arena",
    url="https://www.ticketmaster.com/cryptocom-arena-tickets-los-angeles/venue/360457",
    city="Los Angeles",
    state_code="CA",
    state_name="California",
    country_code="US",
    postal_code="90015",
    address="1111 S. Figueroa St",
    latitude=34.043003,
    longitude=-118.267097,
    timezone="America/Los_Angeles",
    market_ids=[27, 41],
)
ATTRACTION = TmAttraction(
    id="K8vZ9171o-f",
    name="Radiohead",
    url="https://www.ticketmaster.com/radiohead-tickets/artist/763468",
    images=[
        Image(
            url="https://s1.ticketm.net/dam/a/4c1/radiohead_RETINA_PORTRAIT_16_9.jpg",
            height=360,
            width=640,
        )
    ],
    genres=["Rock", "Alternative Rock"],
    spotify_id="4Z8W4fKeB5YxbusRsdQVPb",
    mbid="a74b1b7f-71a5-4011-9441-d0b5e4122711",
)


def make_client(
    http: httpx.AsyncClient,
    clock: VirtualClock,
    limiter: RecordingLimiter | None = None,
    *,
    max_retries: int = 4,
) -> TicketmasterClient:
    return TicketmasterClient(
        api_key=TICKETMASTER_KEY,
        api_url=TICKETMASTER_API,
        http=http,
        limiter=limiter,
        clock=clock,
        max_retries=max_retries,
        rng=MaxJitter(),
    )


def event(event_id: str) -> dict[str, Any]:
    return {"id": event_id, "name": f"Show {event_id}", "dates": {"start": {}}}


def page_of(events: list[dict[str, Any]], *, number: int, total: int, size: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "page": {
            "size": size,
            "totalElements": total,
            "totalPages": -(-total // size),
            "number": number,
        }
    }
    if events:
        body["_embedded"] = {"events": events}
    return body


def sent_params(route: respx.Route, index: int = -1) -> dict[str, str]:
    return dict(route.calls[index].request.url.params)


# --- events.json -------------------------------------------------------------------------------


async def test_events_page_sends_exact_filters_and_parses_real_shaped_events(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(EVENTS_URL).respond(200, json=load("tm_events_page.json"))
    client = make_client(http, clock)
    pacific = timezone(timedelta(hours=-8))

    page = await client.events_page(
        market_id=27,
        start=datetime(2026, 11, 30, 16, 0, 0, 123456, tzinfo=pacific),
        end=DEC_31,
    )

    request = route.calls.last.request
    assert request.method == "GET"
    assert request.url.copy_with(query=None) == httpx.URL(
        "https://app.ticketmaster.com/discovery/v2/events.json"
    )
    assert request.url.params.multi_items() == [
        ("apikey", TICKETMASTER_KEY),
        ("classificationName", "music"),
        ("marketId", "27"),
        ("startDateTime", "2026-12-01T00:00:00Z"),
        ("endDateTime", "2026-12-31T23:59:59Z"),
        ("size", "200"),
        ("page", "0"),
        ("sort", "date,asc"),
    ]
    assert (page.page, page.total_pages, page.total_elements) == (0, 1, 3)
    assert (page.trusted, page.is_last) == (True, True)
    first, second = page.events
    assert first.id == "vvG1zZ9K5Qb7fA"
    assert first.name == "Radiohead: In Rainbows Tour"
    assert first.url == "https://www.ticketmaster.com/event/vvG1zZ9K5Qb7fA"
    assert first.local_date == date(2026, 12, 5)
    assert first.local_time == time(19, 30)
    assert first.start_utc == datetime(2026, 12, 6, 3, 30, tzinfo=UTC)
    assert (first.date_tbd, first.date_tba, first.time_tba) == (False, False, False)
    assert first.timezone == "America/Los_Angeles"
    assert first.status_code == "onsale"
    assert first.price_ranges == [
        PriceRange(type="standard", currency="USD", min=Decimal("49.5"), max=Decimal("189.99"))
    ]
    assert first.venues == [VENUE]
    assert first.attractions[0] == ATTRACTION
    assert first.attractions[1] == TmAttraction(
        id="K8vZ917Kew0",
        name="Support Act",
        url="https://www.ticketmaster.com/support-act-tickets/artist/1",
    )
    assert first.genre == "Rock"
    assert second.id == "vvG1zZ9K5Qb7fB"
    assert second.status_code == "rescheduled"
    assert (second.local_date, second.local_time, second.start_utc) == (
        date(2027, 1, 10),
        None,
        None,
    )
    assert second.time_tba is True
    assert second.price_ranges == []


async def test_a_malformed_event_is_isolated_and_the_rest_of_the_page_kept(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
) -> None:
    router.get(EVENTS_URL).respond(200, json=load("tm_events_page.json"))
    client = make_client(http, clock)

    page = await client.events_page(city="Los Angeles", start=DEC_1, end=DEC_31)

    assert [e.id for e in page.events] == ["vvG1zZ9K5Qb7fA", "vvG1zZ9K5Qb7fB"]
    [bad] = page.errors
    assert (bad.api, bad.kind, bad.key) == ("ticketmaster", "event", "vvG1zZ9K5QbBAD")
    assert bad.errors == ["dates.start.localDate: Value error, month must be in 1..12"]
    assert len(bad.excerpt) == 500
    assert bad.excerpt.startswith('{"name": "Broken date", "type": "event"')
    assert client.malformed_records == [bad]
    malformed_logs = [r for r in client_logs.records if "malformed" in r.getMessage()]
    assert len(malformed_logs) == 1
    assert "vvG1zZ9K5QbBAD" in malformed_logs[0].getMessage()
    assert_no_secret(client_logs)


async def test_filters_are_sent_by_their_api_names(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(EVENTS_URL).respond(200, json=load("tm_events_empty.json"))
    client = make_client(http, clock)
    await client.events_page(
        city="Austin",
        attraction_id="K8vZ9171o-f",
        keyword="radio head",
        start=DEC_1,
        end=DEC_31,
        page=3,
        size=50,
        sort="relevance,desc",
    )
    assert sent_params(route) == {
        "apikey": TICKETMASTER_KEY,
        "classificationName": "music",
        "city": "Austin",
        "attractionId": "K8vZ9171o-f",
        "keyword": "radio head",
        "startDateTime": "2026-12-01T00:00:00Z",
        "endDateTime": "2026-12-31T23:59:59Z",
        "size": "50",
        "page": "3",
        "sort": "relevance,desc",
    }


async def test_empty_result_without_embedded_is_an_empty_last_page(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.get(EVENTS_URL).respond(200, json=load("tm_events_empty.json"))
    client = make_client(http, clock)
    page = await client.events_page(market_id=27, start=DEC_1, end=DEC_31)
    assert page == EventPage(events=[], errors=[], page=0, total_pages=0, total_elements=0)
    assert page.is_last


async def test_dis1035_past_deep_paging_is_an_empty_last_page_not_an_error(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(EVENTS_URL).respond(400, json=load("tm_error_dis1035.json"))
    client = make_client(http, clock)
    page = await client.events_page(market_id=27, start=DEC_1, end=DEC_31, page=5)
    assert page == EventPage(
        events=[], errors=[], page=5, total_pages=5, total_elements=0, deep_paging_end=True
    )
    assert page.is_last
    assert route.call_count == 1


async def test_dis1015_bad_date_is_a_bad_request_never_retried(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(EVENTS_URL).respond(400, json=load("tm_error_dis1015.json"))
    client = make_client(http, clock)
    with pytest.raises(BadRequest) as caught:
        await client.events_page(market_id=27, start=DEC_1, end=DEC_31)
    assert (caught.value.status, caught.value.code) == (400, "DIS1015")
    assert route.call_count == 1
    assert clock.sleeps == []
    assert TICKETMASTER_KEY not in str(caught.value)
    assert "apikey=***" in str(caught.value)


async def test_naive_datetimes_and_oversized_pages_are_refused_before_sending(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(EVENTS_URL).respond(200, json=load("tm_events_empty.json"))
    client = make_client(http, clock)
    with pytest.raises(ValueError, match="timezone-aware"):
        await client.events_page(start=datetime(2026, 12, 1), end=DEC_31)
    with pytest.raises(ValueError, match="size must be between 1 and 200, got 201"):
        await client.events_page(start=DEC_1, end=DEC_31, size=201)
    with pytest.raises(ValueError, match="end must not be before start"):
        await client.events_page(start=DEC_31, end=DEC_1)
    with pytest.raises(ValueError, match="timezone-aware"):
        async for _ in client.iter_events(start=DEC_1, end=datetime(2026, 12, 31)):
            pass
    assert route.call_count == 0


def test_tm_datetime_format_is_exactly_seconds_and_z() -> None:
    assert format_tm_datetime(datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC)) == (
        "2026-01-02T03:04:05Z"
    )
    assert format_tm_datetime(datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))) == (
        "2025-12-31T23:00:00Z"
    )


# --- paging and window splitting ---------------------------------------------------------------


def events_of_page(prefix: str, *, number: int, total: int, size: int) -> list[dict[str, Any]]:
    """The events a real page holds: ``size`` of them, fewer on the last page only."""
    count = max(0, min(size, total - number * size))
    return [event(f"{prefix}{number}-{i}") for i in range(count)]


async def test_iter_events_pages_until_the_last_page(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        events = events_of_page("e", number=number, total=5, size=2)
        return httpx.Response(200, json=page_of(events, number=number, total=5, size=2))

    route = router.get(EVENTS_URL).mock(side_effect=answer)
    client = make_client(http, clock)

    pages = [
        page async for page in client.iter_events(market_id=27, start=DEC_1, end=DEC_31, size=2)
    ]

    assert [sent_params(route, i)["page"] for i in range(route.call_count)] == ["0", "1", "2"]
    assert [p.page for p in pages] == [0, 1, 2]
    assert [e.id for p in pages for e in p.events] == ["e0-0", "e0-1", "e1-0", "e1-1", "e2-0"]
    assert [p.errors for p in pages] == [[], [], []]


async def test_a_total_exactly_within_deep_paging_is_paged_without_splitting(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        number, size = int(request.url.params["page"]), int(request.url.params["size"])
        events = events_of_page("p", number=number, total=1050, size=size)
        return httpx.Response(200, json=page_of(events, number=number, total=1050, size=size))

    route = router.get(EVENTS_URL).mock(side_effect=answer)
    client = make_client(http, clock)
    # size 150: pages 0..6 satisfy size * page < 1000 (6 * 150 = 900), so 1050 are reachable.
    assert reachable_elements(150) == 1050
    assert reachable_elements(200) == 1000

    pages = [
        page async for page in client.iter_events(market_id=27, start=DEC_1, end=DEC_31, size=150)
    ]

    assert [p.page for p in pages] == [0, 1, 2, 3, 4, 5, 6]
    assert sum(len(p.events) for p in pages) == 1050
    assert {sent_params(route, i)["startDateTime"] for i in range(7)} == {"2026-12-01T00:00:00Z"}
    assert route.call_count == 7
    assert client.splits == 0


async def test_iter_events_ends_quietly_on_dis1035(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(EVENTS_URL).mock(
        side_effect=[
            httpx.Response(200, json=page_of([event("a")], number=0, total=2, size=1)),
            httpx.Response(400, json=load("tm_error_dis1035.json")),
        ]
    )
    client = make_client(http, clock)
    pages = [
        page async for page in client.iter_events(market_id=27, start=DEC_1, end=DEC_31, size=1)
    ]
    assert [(p.page, p.deep_paging_end) for p in pages] == [(0, False), (1, True)]
    assert route.call_count == 2


async def test_window_beyond_deep_paging_is_split_in_halves_and_events_deduplicated(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
) -> None:
    totals = {
        ("2026-12-01T00:00:00Z", "2026-12-03T00:00:00Z"): 1500,
        ("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"): 700,
        ("2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z"): 300,
    }

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        window = (params["startDateTime"], params["endDateTime"])
        number = int(params["page"])
        total = totals[window]
        events = events_of_page(window[0][:10] + "-p", number=number, total=total, size=200)
        if number == 0:
            events[0] = event("midnight")  # on the boundary: both halves return it
        return httpx.Response(200, json=page_of(events, number=number, total=total, size=200))

    route = router.get(EVENTS_URL).mock(side_effect=answer)
    client = make_client(http, clock)

    pages = [
        page
        async for page in client.iter_events(
            market_id=27, start=DEC_1, end=datetime(2026, 12, 3, tzinfo=UTC)
        )
    ]

    requested = [
        (p["startDateTime"][:10], p["endDateTime"][:10], p["page"])
        for p in (sent_params(route, i) for i in range(route.call_count))
    ]
    assert requested == [
        ("2026-12-01", "2026-12-03", "0"),
        ("2026-12-01", "2026-12-02", "0"),
        ("2026-12-01", "2026-12-02", "1"),
        ("2026-12-01", "2026-12-02", "2"),
        ("2026-12-01", "2026-12-02", "3"),
        ("2026-12-02", "2026-12-03", "0"),
        ("2026-12-02", "2026-12-03", "1"),
    ]
    ids = [e.id for p in pages for e in p.events]
    assert len(ids) == len(set(ids)) == 700 + 300 - 1
    assert ids[:2] == ["midnight", "2026-12-01-p0-1"]
    assert ids[-1] == "2026-12-02-p1-99"
    assert client.splits == 1
    assert all(p.errors == [] for p in pages)
    assert any(
        "splitting the window at 2026-12-02T00:00:00Z" in r.getMessage()
        for r in client_logs.records
    )


async def test_a_window_too_short_to_split_is_paged_as_far_as_reachable_with_a_warning(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        events = events_of_page("p", number=number, total=10000, size=200)
        return httpx.Response(200, json=page_of(events, number=number, total=10000, size=200))

    route = router.get(EVENTS_URL).mock(side_effect=answer)
    client = make_client(http, clock)
    start = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)

    pages = [
        page
        async for page in client.iter_events(
            market_id=27, start=start, end=start + timedelta(seconds=90)
        )
    ]

    assert route.call_count == 5
    assert [p.page for p in pages] == [0, 1, 2, 3, 4]
    assert any(
        "window cannot be split further; 9000 are out of reach" in r.getMessage()
        for r in client_logs.records
    )


# --- answers that cannot be trusted ------------------------------------------------------------


def inflated(request: httpx.Request) -> httpx.Response:
    """Full pages, every one claiming 1,000,000 events."""
    number, size = int(request.url.params["page"]), int(request.url.params["size"])
    window = request.url.params["startDateTime"]
    events = [event(f"{window[:16]}-{number}-{i}".replace(":", "")) for i in range(size)]
    return httpx.Response(200, json=page_of(events, number=number, total=1_000_000, size=size))


async def test_an_inflated_total_splits_within_the_budget_per_search(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(EVENTS_URL).mock(side_effect=inflated)
    client = TicketmasterClient(
        api_key=TICKETMASTER_KEY,
        api_url=TICKETMASTER_API,
        http=http,
        clock=clock,
        max_splits_per_query=3,
        max_splits_per_run=100,
    )

    pages = [page async for page in client.iter_events(market_id=27, start=DEC_1, end=DEC_31)]

    # 3 splits: 3 windows probed and halved, 4 windows paged to the deep-paging limit
    # (1,000 / 200 = 5 pages each, the probe being the first).
    assert client.splits == 3
    assert route.call_count == 3 + 4 * 5
    assert client.split_budget_spent == 4
    capped = [r for p in pages for r in p.errors]
    # every page claimed 1,000,000; a probe split in halves is not used, nor its figures
    assert len(capped) == route.call_count - client.splits
    assert {r.kind for r in capped} == {"events page"}
    assert capped[0].errors == [
        "page.totalElements: 1000000 is more than the API reports (10000); capped"
    ]
    assert {p.total_elements for p in pages} == {MAX_REPORTED_TOTAL}


async def test_the_split_budget_per_run_holds_across_searches(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(EVENTS_URL).mock(side_effect=inflated)
    client = TicketmasterClient(
        api_key=TICKETMASTER_KEY,
        api_url=TICKETMASTER_API,
        http=http,
        clock=clock,
        max_splits_per_query=15,
        max_splits_per_run=2,
    )
    for market in (27, 35):
        async for _ in client.iter_events(market_id=market, start=DEC_1, end=DEC_31, size=200):
            pass

    markets = [sent_params(route, i)["marketId"] for i in range(route.call_count)]
    assert client.splits == 2
    # market 27: 2 splits (2 probes) + 3 windows x 5 pages; market 35: 1 window x 5 pages.
    assert markets.count("27") == 2 + 3 * 5
    assert markets.count("35") == 5


async def test_the_budgets_come_from_the_settings() -> None:
    settings = Settings(
        ticketmaster_api_key=TICKETMASTER_KEY,
        ticketmaster_max_splits_per_query=4,
        ticketmaster_max_splits_per_run=9,
    )
    client = TicketmasterClient.from_settings(settings)
    assert (client.max_splits_per_query, client.max_splits_per_run) == (4, 9)
    defaults = TicketmasterClient.from_settings(Settings(ticketmaster_api_key=TICKETMASTER_KEY))
    assert (defaults.max_splits_per_query, defaults.max_splits_per_run) == (15, 200)
    await client.aclose()
    await defaults.aclose()


CONTRADICTIONS: list[tuple[str, int, int, int, int, list[str]]] = [
    # (case, items served, page.number, totalPages, totalElements, what is recorded)
    ("page beyond totalPages", 3, 7, 2, 6, [
        "page.number: 7 where page 0 was asked for",
        "page.number: 7 is beyond totalPages 2",
    ]),
    ("more items than size", 9, 0, 2, 9, [
        "page: 9 events where size is 5",
    ]),
    ("totalPages against totalElements", 5, 0, 9, 10, [
        "page.totalPages: 9 does not follow from totalElements 10 at size 5",
    ]),
    ("a short page before the last", 2, 0, 200000, 1_000_000, [
        "page: 2 events on page 0 of 200000 (totalElements 1000000, size 5)",
    ]),
    ("an empty page claiming events", 0, 0, 3, 12, [
        "page: 0 events on page 0 of 3 (totalElements 12, size 5)",
    ]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("items", "number", "total_pages", "total_elements", "recorded"),
    [row[1:] for row in CONTRADICTIONS],
    ids=[row[0] for row in CONTRADICTIONS],
)
async def test_a_page_that_contradicts_itself_is_recorded_and_ends_its_window(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    items: int,
    number: int,
    total_pages: int,
    total_elements: int,
    recorded: list[str],
) -> None:
    body: dict[str, Any] = {
        "page": {
            "size": 5,
            "totalElements": total_elements,
            "totalPages": total_pages,
            "number": number,
        }
    }
    if items:
        body["_embedded"] = {"events": [event(f"c{i}") for i in range(items)]}
    route = router.get(EVENTS_URL).respond(200, json=body)
    client = make_client(http, clock)

    pages = [
        page async for page in client.iter_events(market_id=27, start=DEC_1, end=DEC_31, size=5)
    ]

    assert route.call_count == 1  # neither paged further nor split
    [page] = pages
    assert (page.trusted, page.is_last, len(page.events)) == (False, True, items)
    [record] = page.errors
    assert (record.api, record.kind) == ("ticketmaster", "events page")
    assert record.key == "market=27@2026-12-01T00:00:00Z/2026-12-31T23:59:59Z#p0"
    assert record.errors == recorded


@pytest.mark.parametrize(
    ("status", "payload", "error", "message"),
    [
        (200, "tm_error_invalid_key.json", AuthError, "Invalid ApiKey"),
        (200, "tm_error_dis1004.json", UpstreamError, "Resource not found"),
        (200, "tm_error_quota.json", QuotaExhausted, "daily quota exhausted"),
    ],
)
async def test_a_200_carrying_an_error_object_is_that_error_not_an_empty_page(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    status: int,
    payload: str,
    error: type[UpstreamError],
    message: str,
) -> None:
    route = router.get(EVENTS_URL).respond(status, json=load(payload))
    client = make_client(http, clock)
    with pytest.raises(error, match=message) as caught:
        await client.events_page(market_id=27, start=DEC_1, end=DEC_31)
    assert caught.value.status == 200
    assert route.call_count == 1  # never retried
    assert client.stats.error_bodies == 1


# --- lookups -----------------------------------------------------------------------------------


async def test_get_attraction_parses_external_links_and_sends_the_key_as_query(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(f"{TICKETMASTER_API}/attractions/K8vZ9171o-f.json").respond(
        200, json=load("tm_attraction.json")
    )
    client = make_client(http, clock)
    assert await client.get_attraction("K8vZ9171o-f") == ATTRACTION
    assert str(route.calls.last.request.url) == (
        f"https://app.ticketmaster.com/discovery/v2/attractions/K8vZ9171o-f.json"
        f"?apikey={TICKETMASTER_KEY}"
    )


@pytest.mark.parametrize("method", ["get_attraction", "get_venue", "get_event"])
async def test_lookups_return_none_for_dis1004_not_found(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock, method: str
) -> None:
    route = router.get(url__regex=rf"^{TICKETMASTER_API}/\w+/Z7r9jZ1AdXXXX\.json").respond(
        404, json=load("tm_error_dis1004.json")
    )
    client = make_client(http, clock)
    assert await getattr(client, method)("Z7r9jZ1AdXXXX") is None
    assert route.call_count == 1


async def test_get_venue_and_get_event_parse_single_records(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.get(f"{TICKETMASTER_API}/venues/KovZpZAEdntA.json").respond(
        200, json=load("tm_venue.json")
    )
    router.get(f"{TICKETMASTER_API}/events/vvG1zZ9K5Qb7fA.json").respond(
        200, json=load("tm_event.json")
    )
    client = make_client(http, clock)
    assert await client.get_venue("KovZpZAEdntA") == VENUE
    found = await client.get_event("vvG1zZ9K5Qb7fA")
    assert found is not None
    assert (found.id, found.venues, found.attractions[0]) == ("vvG1zZ9K5Qb7fA", [VENUE], ATTRACTION)


async def test_search_attractions_filters_music(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(f"{TICKETMASTER_API}/attractions.json").respond(
        200,
        json={
            "_embedded": {"attractions": [load("tm_attraction.json")]},
            "page": {"size": 20, "totalElements": 1, "totalPages": 1, "number": 0},
        },
    )
    client = make_client(http, clock)
    assert await client.search_attractions("radiohead") == [ATTRACTION]
    assert sent_params(route) == {
        "apikey": TICKETMASTER_KEY,
        "keyword": "radiohead",
        "classificationName": "music",
        "size": "20",
        "page": "0",
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://open.spotify.com/artist/4Z8W4fKeB5YxbusRsdQVPb", "4Z8W4fKeB5YxbusRsdQVPb"),
        ("https://open.spotify.com/artist/4Z8W4fKeB5YxbusRsdQVPb?si=x1", "4Z8W4fKeB5YxbusRsdQVPb"),
        (
            "https://open.spotify.com/intl-de/artist/4Z8W4fKeB5YxbusRsdQVPb",
            "4Z8W4fKeB5YxbusRsdQVPb",
        ),
        ("https://open.spotify.com/album/1oW3v5Har9mvXnGk0x4fHm", None),
        ("https://example.com/artist/4Z8W4fKeB5YxbusRsdQVPb", None),
    ],
)
def test_spotify_id_is_read_from_artist_urls_only(url: str, expected: str | None) -> None:
    assert spotify_id_from_url(url) == expected


# --- errors and limits -------------------------------------------------------------------------


async def test_invalid_api_key_is_an_auth_error_that_never_shows_the_key(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
) -> None:
    route = router.get(EVENTS_URL).respond(401, json=load("tm_error_invalid_key.json"))
    client = make_client(http, clock)
    with pytest.raises(AuthError) as caught:
        await client.events_page(market_id=27, start=DEC_1, end=DEC_31)
    assert caught.value.code == "oauth.v2.InvalidApiKey"
    assert caught.value.url is not None
    assert caught.value.url.startswith(f"{EVENTS_URL}?apikey=***&classificationName=music")
    assert str(caught.value).endswith(": Invalid ApiKey")
    assert route.call_count == 1
    assert_no_secret(client_logs, caught.value, caught.value.url)


async def test_quota_violation_stops_the_client_and_the_next_call_sends_nothing(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    limiter: RecordingLimiter,
) -> None:
    route = router.get(EVENTS_URL).respond(429, json=load("tm_error_quota.json"))
    lookup = router.get(f"{TICKETMASTER_API}/venues/KovZpZAEdntA.json").respond(
        200, json=load("tm_venue.json")
    )
    client = make_client(http, clock, limiter)
    with pytest.raises(QuotaExhausted) as caught:
        await client.events_page(market_id=27, start=DEC_1, end=DEC_31)
    assert caught.value.code == "policies.ratelimit.QuotaViolation"
    with pytest.raises(QuotaExhausted):
        await client.get_venue("KovZpZAEdntA")
    assert route.call_count == 1
    assert lookup.call_count == 0
    assert limiter.calls == [("ticketmaster", 1000.0)]
    assert clock.sleeps == []


async def test_spike_arrest_is_retried_with_backoff_since_no_retry_after_exists(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    limiter: RecordingLimiter,
) -> None:
    route = router.get(EVENTS_URL).mock(
        side_effect=[
            httpx.Response(429, json=load("tm_error_spike_arrest.json")),
            httpx.Response(429, json=load("tm_error_spike_arrest.json")),
            httpx.Response(200, json=load("tm_events_empty.json")),
        ]
    )
    client = make_client(http, clock, limiter)
    page = await client.events_page(market_id=27, start=DEC_1, end=DEC_31)
    assert page.total_elements == 0
    assert route.call_count == 3
    assert clock.sleeps == [0.5, 1.0]
    assert limiter.calls == [
        ("ticketmaster", 1000.0),
        ("ticketmaster", 1000.5),
        ("ticketmaster", 1001.5),
    ]
    assert client.stats.retries == 2


async def test_rate_limit_headers_are_kept_on_the_client(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.get(EVENTS_URL).respond(
        200,
        json=load("tm_events_empty.json"),
        headers={
            "Rate-Limit": "5000",
            "Rate-Limit-Available": "4321",
            "Rate-Limit-Over": "0",
            "Rate-Limit-Reset": "1796083200000",
        },
    )
    client = make_client(http, clock)
    assert client.rate_limit_status is None
    await client.events_page(market_id=27, start=DEC_1, end=DEC_31)
    assert client.rate_limit_status == RateLimitStatus(
        limit=5000,
        available=4321,
        over=0,
        reset_at=datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
    )


def test_from_settings_needs_the_key_and_uses_the_configured_url() -> None:
    with pytest.raises(AuthError, match="TICKETMASTER_API_KEY is not configured"):
        TicketmasterClient.from_settings(Settings())
