from __future__ import annotations

import logging
import pickle
import random
from datetime import UTC, datetime

import httpx
import pytest
import respx

from clients._transport import (
    ErrorInfo,
    RequestStats,
    Transport,
    backoff_ceiling,
    join_url,
    parse_rate_limit_headers,
    parse_retry_after,
)
from clients.clock import VirtualClock
from clients.errors import (
    AuthError,
    BadRequest,
    MalformedRecord,
    NotFound,
    QuotaExhausted,
    RetriesExhausted,
    UpstreamError,
    redact,
)
from clients.setlistfm import SetlistFmClient
from settings import Settings
from tests.clients.conftest import (
    SETLISTFM_API,
    SETLISTFM_KEY,
    TICKETMASTER_KEY,
    MaxJitter,
    RecordingLimiter,
    assert_no_secret,
    load,
)

URL = f"{SETLISTFM_API}/setlist/63de4613"


def make_client(
    http: httpx.AsyncClient,
    clock: VirtualClock,
    limiter: RecordingLimiter | None = None,
    *,
    max_retries: int = 4,
    retry_after_cap: float = 60.0,
) -> SetlistFmClient:
    return SetlistFmClient(
        api_key=SETLISTFM_KEY,
        api_url=SETLISTFM_API,
        http=http,
        limiter=limiter,
        clock=clock,
        max_retries=max_retries,
        retry_after_cap=retry_after_cap,
        rng=MaxJitter(),
    )


def ok() -> httpx.Response:
    return httpx.Response(200, json=load("sfm_setlist.json"))


# --- retries -----------------------------------------------------------------------------------


async def test_5xx_is_retried_with_backoff_then_succeeds(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(URL).mock(
        side_effect=[httpx.Response(500), httpx.Response(503, text="<html>busy</html>"), ok()]
    )
    client = make_client(http, clock)
    found = await client.get_setlist("63de4613")
    assert found is not None
    assert route.call_count == 3
    assert clock.sleeps == [0.5, 1.0]
    assert client.stats.as_dict() == {
        "api": "setlistfm",
        "attempts": 3,
        "by_status": {"200": 1, "500": 1, "503": 1},
        "transport_errors": 0,
        "invalid_bodies": 0,
        "error_bodies": 0,
        "retries": 2,
        "retry_wait_seconds": 1.5,
        "malformed_records": 0,
    }


async def test_retries_exhausted_after_max_retries_plus_one_attempts(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
) -> None:
    route = router.get(URL).respond(502)
    client = make_client(http, clock, max_retries=2)
    with pytest.raises(RetriesExhausted) as caught:
        await client.get_setlist("63de4613")
    assert (caught.value.attempts, caught.value.status, caught.value.api) == (3, 502, "setlistfm")
    assert str(caught.value) == (
        f"setlistfm: GET {URL} failed after 3 attempts: HTTP 502 (HTTP 502)"
    )
    assert caught.value.__cause__ is None
    assert route.call_count == 3
    assert clock.sleeps == [0.5, 1.0]
    retry_logs = [r.getMessage() for r in client_logs.records if r.levelname == "WARNING"]
    assert retry_logs == [
        f"setlistfm: HTTP 502 (HTTP 502) from GET {URL}; retry 1/2 in 0.500 s",
        f"setlistfm: HTTP 502 (HTTP 502) from GET {URL}; retry 2/2 in 1.000 s",
    ]


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    ],
    ids=["connect", "timeout", "truncated"],
)
async def test_transport_errors_are_retried(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock, failure: Exception
) -> None:
    route = router.get(URL).mock(side_effect=[failure, ok()])
    client = make_client(http, clock)
    assert await client.get_setlist("63de4613") is not None
    assert route.call_count == 2
    assert clock.sleeps == [0.5]
    assert client.stats.transport_errors == 1
    assert client.stats.by_status == {200: 1}


async def test_transport_errors_exhausted_raise_without_chaining_the_httpx_error(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.get(URL).mock(side_effect=httpx.ConnectTimeout("timed out"))
    client = make_client(http, clock, max_retries=1)
    with pytest.raises(RetriesExhausted) as caught:
        await client.get_setlist("63de4613")
    assert caught.value.status is None
    assert str(caught.value).endswith("failed after 2 attempts: ConnectTimeout: timed out")
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None  # raised outside the handler: nothing to leak


async def test_truncated_json_on_a_200_counts_as_transient(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(URL).mock(
        side_effect=[httpx.Response(200, content=b'{"id": "63de4613", "sets": {"se'), ok()]
    )
    client = make_client(http, clock)
    assert await client.get_setlist("63de4613") is not None
    assert route.call_count == 2
    assert client.stats.invalid_bodies == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequest), (401, AuthError), (403, UpstreamError), (404, NotFound)],
)
async def test_client_errors_are_never_retried(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    limiter: RecordingLimiter,
    status: int,
    error: type[UpstreamError],
) -> None:
    route = router.get("https://api.test/thing").respond(status, json={"message": "no"})
    transport = Transport(api="setlistfm", http=http, clock=clock, limiter=limiter)
    with pytest.raises(error) as caught:
        await transport.request("GET", "https://api.test/thing")
    assert type(caught.value) is error
    assert caught.value.status == status
    assert route.call_count == 1
    assert len(limiter.calls) == 1
    assert clock.sleeps == []


async def test_retry_after_above_the_cap_stops_the_client_without_waiting(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
) -> None:
    """Issue 12: a Retry-After above the cap was waited for the cap and retried early."""
    route = router.get(URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3600"}), ok()]
    )
    client = make_client(http, clock, retry_after_cap=60.0)
    with pytest.raises(QuotaExhausted, match="Retry-After 3600 s exceeds the cap") as caught:
        await client.get_setlist("63de4613")
    assert (caught.value.api, caught.value.status) == ("setlistfm", 429)
    assert clock.sleeps == []
    assert route.call_count == 1
    with pytest.raises(QuotaExhausted):  # latched: nothing more is sent this run
        await client.get_setlist("63de4613")
    assert route.call_count == 1
    assert (
        "setlistfm: refused beyond the retry policy (HTTP 429 (HTTP 429); Retry-After "
        "3600 s exceeds the cap http_retry_after_cap_seconds=60 s); no further requests from "
        "this client"
    ) in [r.getMessage() for r in client_logs.records]


async def test_a_429_that_outlasts_every_retry_stops_the_client(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    """setlist.fm documents no quota answer: its spent day is a 429 that does not go away."""
    refused = httpx.Response(429, json={"code": 429, "status": "Too Many Requests", "message": "x"})
    route = router.get(URL).mock(return_value=refused)
    client = make_client(http, clock, max_retries=2)
    with pytest.raises(QuotaExhausted, match="still refused after 3 attempts"):
        await client.get_setlist("63de4613")
    assert route.call_count == 3
    with pytest.raises(QuotaExhausted):
        await client.get_setlist("63de4613")
    assert route.call_count == 3


async def test_retry_after_as_an_http_date_is_measured_from_the_server_date(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.get(URL).mock(
        side_effect=[
            httpx.Response(
                503,
                headers={
                    "Date": "Sat, 28 Nov 2026 13:00:00 GMT",
                    "Retry-After": "Sat, 28 Nov 2026 13:00:30 GMT",
                },
            ),
            ok(),
        ]
    )
    client = make_client(http, clock)
    await client.get_setlist("63de4613")
    assert clock.sleeps == [30.0]


async def test_the_limiter_is_acquired_before_every_attempt(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    limiter: RecordingLimiter,
) -> None:
    router.get(URL).mock(side_effect=[httpx.Response(500), httpx.ConnectError("reset"), ok()])
    client = make_client(http, clock, limiter)
    await client.get_setlist("63de4613")
    assert limiter.calls == [("setlistfm", 1000.0), ("setlistfm", 1000.5), ("setlistfm", 1001.5)]


async def test_from_settings_applies_timeout_retries_and_the_product_rate_caps(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(URL).respond(200, json=load("sfm_setlist.json"))
    settings = Settings(setlistfm_api_key=SETLISTFM_KEY, http_timeout_seconds=3.5)
    client = SetlistFmClient.from_settings(settings, http=http, clock=clock)
    for _ in range(3):
        await client.get_setlist("63de4613")
    assert route.calls.last.request.extensions["timeout"] == {
        "connect": 3.5,
        "read": 3.5,
        "write": 3.5,
        "pool": 3.5,
    }
    # 2 requests per second: the third waits half a second for a token.
    assert clock.sleeps == [0.5]


async def test_a_client_closes_only_the_http_client_it_created(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.get(URL).respond(200, json=load("sfm_setlist.json"))
    async with make_client(http, clock) as borrowed:
        await borrowed.get_setlist("63de4613")
    assert not http.is_closed

    owned = SetlistFmClient(api_key=SETLISTFM_KEY, api_url=SETLISTFM_API, clock=clock)
    async with owned:
        assert await owned.get_setlist("63de4613") is not None
    with pytest.raises(RuntimeError, match="closed"):
        await owned.get_setlist("63de4613")


def quota_info(status: int, body: object) -> ErrorInfo:
    return ErrorInfo(QuotaExhausted, "daily quota", "policies.ratelimit.QuotaViolation")


async def test_quota_latch_refuses_without_acquiring_or_sending(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    limiter: RecordingLimiter,
) -> None:
    route = router.get("https://api.test/thing").respond(429)
    transport = Transport(
        api="ticketmaster", http=http, clock=clock, limiter=limiter, error_mapper=quota_info
    )
    with pytest.raises(QuotaExhausted) as first:
        await transport.request("GET", "https://api.test/thing")
    with pytest.raises(QuotaExhausted) as second:
        await transport.request("GET", "https://api.test/other")
    assert (
        str(second.value)
        == str(first.value)
        == (
            "ticketmaster: daily quota exhausted (daily quota); "
            "no further requests from this client"
        )
    )
    assert second.value is not first.value
    assert route.call_count == 1
    assert len(limiter.calls) == 1


# --- pure policy -------------------------------------------------------------------------------


NOW = datetime(2026, 11, 28, 13, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        ("1.5", 1.5),
        (" 0 ", 0.0),
        ("-5", 0.0),
        ("Sat, 28 Nov 2026 13:02:00 GMT", 120.0),
        ("Sat, 28 Nov 2026 12:00:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after_reads_seconds_or_http_dates(
    value: str | None, expected: float | None
) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_backoff_ceiling_doubles_from_the_base_up_to_the_cap() -> None:
    ceilings = [backoff_ceiling(n, base=0.5, cap=60.0) for n in range(9)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


async def test_the_wait_is_a_jittered_share_of_the_ceiling_drawn_from_the_injected_rng(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.get(URL).mock(side_effect=[httpx.Response(500), httpx.Response(500), ok()])
    client = SetlistFmClient(
        api_key=SETLISTFM_KEY, api_url=SETLISTFM_API, http=http, clock=clock, rng=random.Random(7)
    )
    await client.get_setlist("63de4613")
    draws = random.Random(7)
    expected = []
    for attempt in range(2):
        expected.append(draws.uniform(0.0, 1.0) * backoff_ceiling(attempt, base=0.5, cap=60.0))
    assert clock.sleeps == expected
    assert all(0.0 < wait < 1.0 for wait in clock.sleeps)


def test_rate_limit_headers_absent_give_none() -> None:
    assert parse_rate_limit_headers(httpx.Headers({"Content-Type": "application/json"})) is None
    partial = parse_rate_limit_headers(httpx.Headers({"Rate-Limit-Available": "12"}))
    assert partial is not None
    assert (partial.limit, partial.available, partial.over, partial.reset_at) == (
        None,
        12,
        None,
        None,
    )


def test_join_url_never_drops_or_doubles_path_segments() -> None:
    assert join_url("https://api.setlist.fm/rest/1.0", "search/artists") == (
        "https://api.setlist.fm/rest/1.0/search/artists"
    )
    assert join_url("https://api.setlist.fm/rest/1.0/", "/search/artists") == (
        "https://api.setlist.fm/rest/1.0/search/artists"
    )


def test_request_stats_start_empty() -> None:
    assert RequestStats(api="spotify").as_dict()["by_status"] == {}


# --- redaction and errors ----------------------------------------------------------------------


def test_redact_removes_secrets_raw_and_url_encoded_and_any_apikey_value() -> None:
    text = (
        f"GET https://app.ticketmaster.com/discovery/v2/events.json?apikey={TICKETMASTER_KEY}&page=1"
        " key=a/b+c= encoded=a%2Fb%2Bc%3D other?apikey=unknownKey#frag"
    )
    assert redact(text, ["a/b+c=", ""]) == (
        "GET https://app.ticketmaster.com/discovery/v2/events.json?apikey=***&page=1"
        " key=*** encoded=*** other?apikey=***#frag"
    )


def test_errors_redact_on_construction_and_survive_pickling() -> None:
    error = RetriesExhausted(
        f"failed for {SETLISTFM_KEY}",
        api="setlistfm",
        attempts=3,
        status=503,
        url=f"https://x.test/?apikey={TICKETMASTER_KEY}",
        secrets=[SETLISTFM_KEY],
    )
    assert str(error) == "failed for ***"
    assert error.url == "https://x.test/?apikey=***"
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is RetriesExhausted
    assert (str(clone), clone.attempts, clone.status, clone.url) == (
        "failed for ***",
        3,
        503,
        "https://x.test/?apikey=***",
    )
    record = MalformedRecord(
        api="ticketmaster",
        kind="event",
        key="e1",
        errors=["name: Field required"],
        excerpt='{"id": "e1"}',
    )
    assert str(pickle.loads(pickle.dumps(record))) == (
        "ticketmaster event e1: malformed record: name: Field required"
    )


async def test_no_log_line_carries_the_key_even_at_debug(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
) -> None:
    router.get(URL).mock(side_effect=[httpx.Response(500), ok()])
    client = make_client(http, clock)
    await client.get_setlist("63de4613")
    assert any(r.levelno == logging.DEBUG for r in client_logs.records)
    assert_no_secret(client_logs)
