"""Rate caps: the clients' exact buckets, refused the way each API says so, counted over cap."""

from __future__ import annotations

from clients.ratelimit import Bucket
from tests.sandbox.conftest import Harness, HarnessFactory


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
    harness = await make_harness(caps={"spotify": [Bucket(1, 1)]})
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
    harness = await make_harness(caps={"ticketmaster": [Bucket(5, 5), Bucket(10, 10 / 86400)]})
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
    harness = await make_harness(caps={"setlistfm": [Bucket(1, 0.5)]})
    artist = harness.catalog.artists[0]
    first = await harness.sfm(f"/artist/{artist.mbid}")
    second = await harness.sfm(f"/artist/{artist.mbid}")
    assert (first.status_code, second.status_code) == (200, 429)
    assert second.headers["retry-after"] == "2"
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
