"""The transport's decision as a table of rules: ``classify`` (what came back) and ``decide``
(what to do next), pure functions of the answer, the attempt number and the time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from clients._transport import (
    Decision,
    Deliver,
    ErrorInfo,
    GiveUp,
    Outcome,
    RenewAuth,
    Retry,
    RetryPolicy,
    StopForQuota,
    classify,
    decide,
    default_error_info,
)
from clients.errors import (
    AuthError,
    BadRequest,
    NotFound,
    QuotaExhausted,
    RetriesExhausted,
    UpstreamError,
)
from clients.setlistfm import setlistfm_error_in_body, setlistfm_error_info
from clients.spotify import spotify_error_in_body, spotify_error_info, token_error_info
from clients.ticketmaster import ticketmaster_error_in_body, ticketmaster_error_info
from tests.clients.conftest import load

NOW = datetime(2026, 11, 28, 13, 0, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_retries=3, backoff_base=0.5, retry_after_cap=60.0)

OK = Outcome(200, body={"id": "x"})
HTTP_500 = Outcome(500, error=ErrorInfo(UpstreamError, "HTTP 500"))
HTTP_400 = Outcome(400, error=ErrorInfo(BadRequest, "bad date", "DIS1015"))
HTTP_401 = Outcome(401, error=ErrorInfo(AuthError, "Invalid access token"))
HTTP_404 = Outcome(404, error=ErrorInfo(NotFound, "not found"))
QUOTA = Outcome(429, error=ErrorInfo(QuotaExhausted, "quota violation", "QuotaViolation"))
SPIKE_ON_200 = Outcome(200, error=ErrorInfo(UpstreamError, "spike", "Spike", retryable=True))
FAULT_ON_200 = Outcome(200, error=ErrorInfo(UpstreamError, "Invalid ApiKey"))
TIMEOUT = Outcome(None, failure="ReadTimeout: timed out")
NOT_JSON = Outcome(200, failure="invalid JSON body with HTTP 200")


def with_retry_after(outcome: Outcome, value: str, date: str | None = None) -> Outcome:
    return Outcome(
        outcome.status, outcome.body, outcome.failure, outcome.error, value, server_date=date
    )


HTTP_429 = Outcome(429, error=ErrorInfo(UpstreamError, "API rate limit exceeded"))

# (outcome, attempt number (0-based), the credentials renewable, the decision)
RULES: list[tuple[str, Outcome, int, bool, Decision]] = [
    ("a 2xx without error is delivered", OK, 0, False, Deliver()),
    ("a 2xx is delivered on the last attempt too", OK, 3, False, Deliver()),
    ("5xx: backoff from the base", HTTP_500, 0, False, Retry(0.5, "HTTP 500 (HTTP 500)")),
    ("5xx: the ceiling doubles", HTTP_500, 2, False, Retry(2.0, "HTTP 500 (HTTP 500)")),
    ("5xx: retries spent", HTTP_500, 3, False,
     GiveUp(RetriesExhausted, "HTTP 500 (HTTP 500)", exhausted=True)),
    ("a transport error is retried", TIMEOUT, 1, False, Retry(1.0, "ReadTimeout: timed out")),
    ("a transport error after the last retry", TIMEOUT, 3, False,
     GiveUp(RetriesExhausted, "ReadTimeout: timed out", exhausted=True)),
    ("a 2xx that is not JSON is retried", NOT_JSON, 0, False,
     Retry(0.5, "invalid JSON body with HTTP 200")),
    ("429 waits its Retry-After", with_retry_after(HTTP_429, "7"), 0, False,
     Retry(7.0, "HTTP 429 (API rate limit exceeded)")),
    ("Retry-After above the cap stops: never retried before the time it names",
     with_retry_after(HTTP_429, "3600"), 0, False,
     StopForQuota("HTTP 429 (API rate limit exceeded); Retry-After 3600 s exceeds the cap "
                  "http_retry_after_cap_seconds=60 s", asked=3600.0)),
    ("Retry-After above the cap stops a 5xx too", with_retry_after(HTTP_500, "61"), 1, False,
     StopForQuota("HTTP 500 (HTTP 500); Retry-After 61 s exceeds the cap "
                  "http_retry_after_cap_seconds=60 s", asked=61.0)),
    ("Retry-After at the cap is waited", with_retry_after(HTTP_429, "60"), 0, False,
     Retry(60.0, "HTTP 429 (API rate limit exceeded)")),
    ("a long Retry-After on the last attempt stops", with_retry_after(HTTP_429, "90000"), 3,
     False, StopForQuota("HTTP 429 (API rate limit exceeded); Retry-After 90000 s exceeds the "
                         "cap http_retry_after_cap_seconds=60 s", asked=90000.0)),
    ("a 429 that outlasted the retries stops (setlist.fm's spent day)", HTTP_429, 3, False,
     StopForQuota("HTTP 429 (API rate limit exceeded); still refused after 4 attempts")),
    ("a 429 with retries left is retried", HTTP_429, 2, False,
     Retry(2.0, "HTTP 429 (API rate limit exceeded)")),
    ("Retry-After as a date, from the server's Date",
     with_retry_after(HTTP_429, "Sat, 28 Nov 2026 13:00:30 GMT", "Sat, 28 Nov 2026 13:00:00 GMT"),
     0, False, Retry(30.0, "HTTP 429 (API rate limit exceeded)")),
    ("Retry-After as a date, from now without a Date",
     with_retry_after(HTTP_429, "Sat, 28 Nov 2026 13:00:45 GMT"), 0, False,
     Retry(45.0, "HTTP 429 (API rate limit exceeded)")),
    ("an unusable Retry-After falls back to backoff", with_retry_after(HTTP_429, "soon"), 1,
     False, Retry(1.0, "HTTP 429 (API rate limit exceeded)", unusable="soon")),
    ("400 is never retried", HTTP_400, 0, False, GiveUp(BadRequest, "bad date")),
    ("404 is never retried", HTTP_404, 0, False, GiveUp(NotFound, "not found")),
    ("401 renews renewable credentials", HTTP_401, 0, True,
     RenewAuth("HTTP 401 (Invalid access token)")),
    ("401 renews on the last attempt too", HTTP_401, 3, True,
     RenewAuth("HTTP 401 (Invalid access token)")),
    ("401 twice is an auth error", HTTP_401, 0, False, GiveUp(AuthError, "Invalid access token")),
    ("a spent quota stops at once", QUOTA, 0, False, StopForQuota("quota violation")),
    ("a spent quota stops even with retries left and Retry-After",
     with_retry_after(QUOTA, "1"), 0, True, StopForQuota("quota violation")),
    ("a 200 carrying an error object is that error", FAULT_ON_200, 0, False,
     GiveUp(UpstreamError, "Invalid ApiKey")),
    ("a 200 carrying a transient error is retried", SPIKE_ON_200, 0, False,
     Retry(0.5, "HTTP 200 (spike)")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "attempt", "renewable", "expected"),
    [row[1:] for row in RULES],
    ids=[row[0] for row in RULES],
)
def test_decide(outcome: Outcome, attempt: int, renewable: bool, expected: Decision) -> None:
    decision = decide(
        outcome, attempt=attempt, policy=POLICY, now=NOW, jitter=1.0, can_renew_auth=renewable
    )
    assert decision == expected


def test_decide_draws_the_backoff_as_a_share_of_the_ceiling() -> None:
    assert decide(HTTP_500, attempt=2, policy=POLICY, now=NOW, jitter=0.25) == Retry(
        0.5, "HTTP 500 (HTTP 500)"
    )
    assert decide(HTTP_500, attempt=9, policy=RetryPolicy(max_retries=10), now=NOW) == Retry(
        60.0, "HTTP 500 (HTTP 500)"
    )


def test_decide_with_no_retries_gives_up_after_one_attempt() -> None:
    assert decide(TIMEOUT, attempt=0, policy=RetryPolicy(max_retries=0), now=NOW) == GiveUp(
        RetriesExhausted, "ReadTimeout: timed out", exhausted=True
    )


# --- classify ----------------------------------------------------------------------------------


def body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


CLASSIFIED: list[tuple[str, int, bytes, Any, Any, Outcome]] = [
    ("a 2xx JSON body", 200, body({"a": 1}), default_error_info, None, Outcome(200, {"a": 1})),
    ("a 2xx that is not JSON", 200, b'{"a": ', default_error_info, None,
     Outcome(200, failure="invalid JSON body with HTTP 200")),
    ("a 2xx nested too deep to parse", 200, b"[" * 100_000 + b"]" * 100_000,
     default_error_info, None, Outcome(200, failure="invalid JSON body with HTTP 200")),
    ("an error status is mapped", 404, body({"message": "not found"}), setlistfm_error_info,
     setlistfm_error_in_body,
     Outcome(404, {"message": "not found"}, error=ErrorInfo(NotFound, "not found"))),
    ("an error status without JSON is mapped by status", 503, b"<html>", default_error_info,
     None, Outcome(503, error=ErrorInfo(UpstreamError, "HTTP 503"))),
    ("a Ticketmaster fault on a 200", 200, body(load("tm_error_invalid_key.json")),
     ticketmaster_error_info, ticketmaster_error_in_body,
     Outcome(200, load("tm_error_invalid_key.json"), error=ErrorInfo(
         AuthError, "Invalid ApiKey", "oauth.v2.InvalidApiKey", retryable=False))),
    ("a Ticketmaster quota fault on a 200", 200, body(load("tm_error_quota.json")),
     ticketmaster_error_info, ticketmaster_error_in_body,
     Outcome(200, load("tm_error_quota.json"), error=ErrorInfo(
         QuotaExhausted, load("tm_error_quota.json")["fault"]["faultstring"],
         "policies.ratelimit.QuotaViolation"))),
    ("Ticketmaster errors[] on a 200", 200, body(load("tm_error_dis1004.json")),
     ticketmaster_error_info, ticketmaster_error_in_body,
     Outcome(200, load("tm_error_dis1004.json"), error=ErrorInfo(
         UpstreamError, load("tm_error_dis1004.json")["errors"][0]["detail"], "DIS1004"))),
    ("a setlist.fm error object on a 200", 200, body(load("sfm_error_404.json")),
     setlistfm_error_info, setlistfm_error_in_body,
     Outcome(200, load("sfm_error_404.json"), error=ErrorInfo(UpstreamError, "not found"))),
    ("a Spotify error object on a 200", 200, body(load("spotify_error_401.json")),
     spotify_error_info, spotify_error_in_body,
     Outcome(200, load("spotify_error_401.json"), error=ErrorInfo(
         UpstreamError, "The access token expired"))),
    ("a token endpoint error on a 200", 200, body(load("spotify_token_error.json")),
     token_error_info, spotify_error_in_body,
     Outcome(200, load("spotify_token_error.json"), error=ErrorInfo(
         AuthError, "token request refused: Invalid client secret", "invalid_client",
         retryable=False))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "content", "mapper", "in_body", "expected"),
    [row[1:] for row in CLASSIFIED],
    ids=[row[0] for row in CLASSIFIED],
)
def test_classify(
    status: int, content: bytes, mapper: Any, in_body: Any, expected: Outcome
) -> None:
    kwargs = {"body_error": in_body} if in_body is not None else {}
    assert classify(status, content, mapper=mapper, **kwargs) == expected


@pytest.mark.parametrize(
    ("check", "payload"),
    [
        (ticketmaster_error_in_body, load("tm_events_page.json")),
        (ticketmaster_error_in_body, load("tm_events_empty.json")),
        (ticketmaster_error_in_body, load("tm_event.json")),
        (setlistfm_error_in_body, load("sfm_setlist.json")),
        (setlistfm_error_in_body, load("sfm_artist_setlists.json")),
        (setlistfm_error_in_body, load("sfm_search_artists.json")),
        (spotify_error_in_body, load("spotify_artist.json")),
        (spotify_error_in_body, load("spotify_token.json")),
        (spotify_error_in_body, load("spotify_search_artists.json")),
    ],
)
def test_a_payload_is_not_mistaken_for_an_error_object(check: Any, payload: Any) -> None:
    assert check(payload) is False
