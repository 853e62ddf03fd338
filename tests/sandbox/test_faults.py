"""Injected faults and latency: real transient errors for httpx, never different data."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.stats import DROPPED
from tests.sandbox.conftest import HarnessFactory


async def test_500_and_503_use_each_apis_error_body(make_harness: HarnessFactory) -> None:
    for status in (500, 503):
        harness = await make_harness(caps=False, fault_rate=1.0, fault_kinds=(str(status),))
        artist = harness.catalog.artists[0]
        spotify = await harness.spotify(f"/artists/{artist.spotify_id}")
        tm = await harness.tm("/events.json")
        sfm = await harness.sfm(f"/artist/{artist.mbid}")
        assert (spotify.status_code, tm.status_code, sfm.status_code) == (status, status, status)
        assert spotify.json()["error"]["status"] == status
        assert "faultstring" in tm.json()["fault"]
        assert "Rate-Limit" in tm.headers
        assert sfm.json()["code"] == status
        assert harness.sandbox.stats.faults[("setlistfm", str(status))] == 1


async def test_timeout_fault_raises_httpx_read_timeout_in_process(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(caps=False, fault_rate=1.0, fault_kinds=("timeout",))
    with pytest.raises(httpx.ReadTimeout):
        await harness.tm("/events.json")
    stats = harness.sandbox.stats
    assert stats.count("ticketmaster", "/discovery/v2/events.json", DROPPED) == 1
    assert stats.faults == {("ticketmaster", "timeout"): 1}


async def test_truncated_body_fault_raises_remote_protocol_error_in_process(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(caps=False, fault_rate=1.0, fault_kinds=("truncated_body",))
    with pytest.raises(httpx.RemoteProtocolError):
        await harness.sfm(f"/artist/{harness.catalog.artists[0].mbid}")


async def test_malformed_json_fault_sends_half_a_body_that_does_not_parse(
    make_harness: HarnessFactory,
) -> None:
    clean = await make_harness(caps=False)
    broken = await make_harness(caps=False, fault_rate=1.0, fault_kinds=("malformed_json",))
    good = await clean.tm("/attractions.json")
    bad = await broken.tm("/attractions.json")
    assert bad.status_code == 200
    assert bad.content == good.content[: len(good.content) // 2]
    assert int(bad.headers["content-length"]) == len(bad.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad.content)


async def test_the_token_endpoint_is_spared_unless_configured(make_harness: HarnessFactory) -> None:
    spared = await make_harness(caps=False, fault_rate=1.0, fault_kinds=("500",))
    await spared.token()  # asserts 200
    hit = await make_harness(caps=False, fault_rate=1.0, fault_kinds=("500",), faults_on_token=True)
    response = await hit.http.post("/api/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 500


async def test_fault_draws_are_seeded(make_harness: HarnessFactory) -> None:
    async def statuses(fault_seed: int) -> list[int]:
        harness = await make_harness(
            caps=False, fault_rate=0.5, fault_kinds=("500", "503"), fault_seed=fault_seed
        )
        return [(await harness.tm("/events.json", size=1)).status_code for _ in range(40)]

    first, again, other = await statuses(1), await statuses(1), await statuses(2)
    assert first == again
    assert first != other
    assert set(first) == {200, 500, 503}


async def test_a_retried_request_returns_the_same_data(make_harness: HarnessFactory) -> None:
    clean = await make_harness(caps=False)
    flaky = await make_harness(caps=False, fault_rate=0.5, fault_kinds=("500", "malformed_json"))
    artist = clean.catalog.artists[0]
    expected = (await clean.sfm(f"/artist/{artist.mbid}/setlists")).content
    answers = [(await flaky.sfm(f"/artist/{artist.mbid}/setlists")) for _ in range(12)]
    good = [a.content for a in answers if a.status_code == 200 and a.content == expected]
    assert 0 < len(good) < 12
    assert all(
        a.content == expected or a.status_code == 500 or a.content == expected[: len(expected) // 2]
        for a in answers
    )


async def test_a_faulted_request_still_spends_a_token(make_harness: HarnessFactory) -> None:
    harness = await make_harness(fault_rate=1.0, fault_kinds=("503",))
    artist = harness.catalog.artists[0]
    first = await harness.sfm(f"/artist/{artist.mbid}")
    second = await harness.sfm(f"/artist/{artist.mbid}")
    third = await harness.sfm(f"/artist/{artist.mbid}")
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 429]


async def test_fixed_latency_is_slept_on_the_sandbox_clock(make_harness: HarnessFactory) -> None:
    harness = await make_harness(caps=False, latency_seconds=0.25)
    await harness.tm("/events.json", size=1)
    await harness.tm("/events.json", size=1)
    assert harness.clock.sleeps == [0.25, 0.25]
    assert harness.clock.now() == 0.5


async def test_latency_range_draws_within_the_range(make_harness: HarnessFactory) -> None:
    harness = await make_harness(caps=False, latency_seconds=(0.1, 0.3))
    for _ in range(20):
        await harness.tm("/events.json", size=1)
    assert len(harness.clock.sleeps) == 20
    assert all(0.1 <= s <= 0.3 for s in harness.clock.sleeps)
    assert len(set(harness.clock.sleeps)) == 20


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fault_rate": 1.5}, "fault_rate must be between 0 and 1, got 1.5"),
        ({"fault_kinds": ("teapot",)}, "unknown fault kinds: ['teapot']"),
        ({"fault_rate": 0.1, "fault_kinds": ()}, "fault_rate > 0 needs at least one fault kind"),
        ({"latency_seconds": (0.5, 0.1)}, "latency_seconds must be >= 0"),
        ({"artists": 3}, "a sandbox needs at least 10 artists, got 3"),
        ({"spotify_daily_quota": -1}, "spotify_daily_quota must not be negative"),
    ],
)
def test_invalid_config_is_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        SandboxConfig(today=date(2026, 3, 1), **overrides)  # type: ignore[arg-type]
