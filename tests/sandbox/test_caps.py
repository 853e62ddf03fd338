"""Rate caps: the real APIs' own, refused the way each API says so, counted over cap; daily
quotas per calendar day; and the clients' default caps equal to the sandbox's."""

from __future__ import annotations

import re
from pathlib import Path

from clients.ratelimit import SECONDS_PER_DAY, Bucket, rate_caps
from sandbox.caps import API_CAPS, ApiCaps, scaled_caps
from settings import Settings
from tests.sandbox.conftest import Harness, HarnessFactory

UPSTREAM_APIS = Path(__file__).parents[2] / "docs" / "upstream-apis.md"


async def test_spotify_burst_above_180_a_minute_answers_429_with_retry_after(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness()
    artist = harness.catalog.artists[0]
    token = await harness.token()
    statuses = [
        (await harness.spotify(f"/artists/{artist.spotify_id}", token=token)).status_code
        for _ in range(180)
    ]
    refused = await harness.spotify(f"/artists/{artist.spotify_id}", token=token)
    assert statuses == [200] * 180
    assert refused.status_code == 429
    assert refused.json() == {"error": {"status": 429, "message": "API rate limit exceeded"}}
    assert refused.headers["retry-after"] == "1"  # one token refills in 1/3 s
    stats = harness.sandbox.stats
    assert stats.over_cap == {"spotify": 1}
    assert stats.refusals == {("spotify", "per_minute"): 1}
    assert stats.count("spotify", "/v1/artists/{id}", 429) == 1
    harness.clock.advance(1 / 3)
    again = await harness.spotify(f"/artists/{artist.spotify_id}", token=token)
    assert again.status_code == 200


async def test_the_token_endpoint_is_never_capped(make_harness: HarnessFactory) -> None:
    harness = await make_harness(caps={"spotify": ApiCaps(per_second=1)})
    for _ in range(5):
        await harness.token()
    assert harness.sandbox.stats.over_cap == {}


async def test_ticketmaster_spike_answers_429_spike_arrest_without_retry_after(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness()
    statuses = [(await harness.tm("/events.json", size=1)).status_code for _ in range(5)]
    refused = await harness.tm("/events.json", size=1)
    assert statuses == [200] * 5
    assert refused.status_code == 429
    fault = refused.json()["fault"]
    assert fault["detail"] == {"errorcode": "policies.ratelimit.SpikeArrestViolation"}
    assert fault["faultstring"].startswith("Spike arrest violation. Allowed rate : MessageRate")
    assert "retry-after" not in refused.headers
    assert refused.headers["Rate-Limit-Available"] == "4995"
    assert harness.sandbox.stats.refusals == {("ticketmaster", "per_second"): 1}
    harness.clock.advance(0.2)
    assert (await harness.tm("/events.json", size=1)).status_code == 200


async def test_ticketmaster_daily_quota_answers_429_quota_violation(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(caps={"ticketmaster": ApiCaps(per_second=5, per_day=10)})
    for _ in range(10):
        assert (await harness.tm("/events.json", size=1)).status_code == 200
        harness.clock.advance(1)
    refused = await harness.tm("/events.json", size=1)
    assert refused.status_code == 429
    assert refused.json() == {
        "fault": {
            "faultstring": "Rate limit quota violation. Quota limit exceeded. "
            "Identifier : _default",
            "detail": {"errorcode": "policies.ratelimit.QuotaViolation"},
        }
    }
    assert refused.headers["Rate-Limit"] == "10"
    assert refused.headers["Rate-Limit-Available"] == "0"
    assert refused.headers["Rate-Limit-Over"] == "1"
    assert harness.sandbox.stats.over_cap == {"ticketmaster": 1}


async def test_setlistfm_over_2_a_second_answers_429_with_retry_after(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness()
    artist = harness.catalog.artists[0]
    ok = [(await harness.sfm(f"/artist/{artist.mbid}")).status_code for _ in range(2)]
    refused = await harness.sfm(f"/artist/{artist.mbid}")
    assert ok == [200, 200]
    assert refused.status_code == 429
    assert refused.json() == {
        "code": 429,
        "status": "Too Many Requests",
        "message": "Too Many Requests",
        "timestamp": "2026-03-01T00:00:00.000+0000",
    }
    assert refused.headers["retry-after"] == "1"
    assert harness.sandbox.stats.over_cap == {"setlistfm": 1}


async def test_bad_credentials_are_refused_before_the_caps_and_spend_nothing(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness()
    for _ in range(10):
        response = await harness.http.get("/discovery/v2/events.json", params={"apikey": "bad"})
        assert response.status_code == 401
    assert [(await harness.tm("/events.json", size=1)).status_code for _ in range(5)] == [200] * 5
    assert harness.sandbox.stats.over_cap == {}


async def test_caps_false_lifts_every_cap(make_harness: HarnessFactory) -> None:
    harness: Harness = await make_harness(caps=False)
    artist = harness.catalog.artists[0]
    statuses = {(await harness.sfm(f"/artist/{artist.mbid}")).status_code for _ in range(50)}
    assert statuses == {200}
    assert harness.sandbox.stats.over_cap == {}


async def test_a_caps_mapping_replaces_the_caps_and_leaves_other_apis_uncapped(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(caps={"setlistfm": ApiCaps(per_second=1)})
    artist = harness.catalog.artists[0]
    first = await harness.sfm(f"/artist/{artist.mbid}")
    second = await harness.sfm(f"/artist/{artist.mbid}")
    assert (first.status_code, second.status_code) == (200, 429)
    assert second.headers["retry-after"] == "1"
    tm = {(await harness.tm("/events.json", size=1)).status_code for _ in range(20)}
    assert tm == {200}


async def test_spotify_daily_quota_mode_answers_quota_exceeded(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(spotify_daily_quota=2)
    artist = harness.catalog.artists[0]
    token = await harness.token()
    for _ in range(2):
        assert (
            await harness.spotify(f"/artists/{artist.spotify_id}", token=token)
        ).status_code == 200
    refused = await harness.spotify(f"/artists/{artist.spotify_id}", token=token)
    assert refused.status_code == 429
    assert refused.json() == {
        "error": {"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}
    }
    assert refused.headers["retry-after"] == "86400"  # until midnight of the sandbox calendar
    assert harness.sandbox.stats.refusals == {("spotify", "quota"): 1}
    harness.sandbox.advance(days=1)
    assert (await harness.spotify(f"/artists/{artist.spotify_id}", token=token)).status_code == 200


# --- daily quotas per calendar day -------------------------------------------------------------


async def test_a_daily_quota_is_counted_per_calendar_day_not_refilled(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(caps={"ticketmaster": ApiCaps(per_second=5, per_day=10)})
    for _ in range(10):
        assert (await harness.tm("/events.json", size=1)).status_code == 200
        harness.clock.advance(1)
    # Twelve hours on: a bucket refilled at 10/day would hold 5 tokens; the day's quota is spent.
    harness.clock.advance(12 * 3600)
    refused = await harness.tm("/events.json", size=1)
    assert refused.status_code == 429
    assert refused.json()["fault"]["detail"] == {"errorcode": "policies.ratelimit.QuotaViolation"}
    # At midnight (UTC, on the sandbox's calendar) the quota is whole again.
    harness.clock.advance(harness.sandbox.seconds_to_midnight())
    again = await harness.tm("/events.json", size=1)
    assert again.status_code == 200
    assert again.headers["Rate-Limit-Available"] == "9"
    assert harness.sandbox.stats.refusals == {("ticketmaster", "per_day"): 1}


async def test_the_real_quota_allows_5000_ticketmaster_requests_in_a_calendar_day(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness()
    sandbox = harness.sandbox
    for _ in range(5000):
        assert sandbox.admit("ticketmaster") is None
        harness.clock.advance(0.2)
    harness.clock.advance(3600)
    refusal = sandbox.admit("ticketmaster")
    assert refusal is not None
    assert (refusal.reason, refusal.quota) == ("per_day", True)
    assert refusal.retry_after == sandbox.seconds_to_midnight()


# --- the sandbox's caps are its own ------------------------------------------------------------


def _described(buckets: list[Bucket]) -> ApiCaps:
    """Clients' buckets as caps: a bucket refilling its capacity in 1 s is per second, in 60 s
    per minute, in a day per day."""
    fields: dict[str, float] = {}
    for bucket in buckets:
        horizon = round(bucket.capacity / bucket.refill_per_second)
        name = {1: "per_second", 60: "per_minute", int(SECONDS_PER_DAY): "per_day"}[horizon]
        fields[name] = bucket.capacity
    if "per_day" in fields:
        fields["per_day"] = int(fields["per_day"])
    return ApiCaps(**fields)  # type: ignore[arg-type]


def test_the_clients_default_caps_equal_the_sandboxs_own() -> None:
    defaults = rate_caps(Settings.model_construct())
    assert {api: _described(buckets) for api, buckets in defaults.items()} == dict(API_CAPS)


def test_the_sandboxs_caps_are_those_of_the_api_documentation() -> None:
    text = " ".join(UPSTREAM_APIS.read_text(encoding="utf-8").split())
    assert "The product's own cap is 180 requests/minute." in text
    assert "Limits: 5,000 calls/day and 5 requests/second" in text
    assert "standard key 2 requests/second and 1,440/day" in text
    figures = [int(n.replace(",", "")) for n in re.findall(r"(\d[\d,]*) ?(?:calls/day|/day)", text)]
    assert figures[:2] == [API_CAPS["ticketmaster"].per_day, API_CAPS["setlistfm"].per_day]
    assert {
        "spotify": ApiCaps(per_minute=180),
        "ticketmaster": ApiCaps(per_second=5, per_day=5000),
        "setlistfm": ApiCaps(per_second=2, per_day=1440),
    } == API_CAPS


def test_the_sandbox_never_takes_its_caps_from_the_settings() -> None:
    settings = Settings.model_construct(ticketmaster_requests_per_second=50.0)
    assert rate_caps(settings)["ticketmaster"][0] == Bucket(50.0, 50.0)
    from sandbox.config import SandboxConfig
    from sandbox.core import Sandbox

    sandbox = Sandbox(SandboxConfig(artists=10, settings=settings))
    assert sandbox.caps["ticketmaster"] == ApiCaps(per_second=5, per_day=5000)
    assert [sandbox.admit("ticketmaster") for _ in range(6)][-1] is not None


def test_scaled_caps_speed_up_the_short_caps_only() -> None:
    assert scaled_caps(10)["ticketmaster"] == ApiCaps(per_second=50, per_day=5000)
    assert scaled_caps(10)["spotify"] == ApiCaps(per_minute=1800)
