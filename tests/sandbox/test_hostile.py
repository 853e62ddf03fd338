"""Hostile mode: the bad values of a broken upstream, served deterministically and logged; and
the real clients refusing exactly those records while keeping the good ones of the same page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clients.errors import UpstreamError, record_key
from clients.ratelimit import NoLimiter
from clients.setlistfm import SetlistFmClient
from clients.spotify import SpotifyClient
from clients.ticketmaster import TicketmasterClient
from sandbox.config import SandboxConfig
from sandbox.hostile import ALL_HOSTILE_KINDS, RECORD_KINDS, HostileKind
from sandbox.server import demo_settings_overrides
from settings import Settings
from tests.sandbox.conftest import BASE_URL, Harness, HarnessFactory

START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=90)
LA = 27


def _settings() -> Settings:
    return Settings.model_validate(demo_settings_overrides(BASE_URL))


async def test_one_kind_on_every_record_is_served_and_logged(make_harness: HarnessFactory) -> None:
    harness = await make_harness(caps=False, hostile_rate=1.0, hostile_kinds=("nul_byte",))
    body = (await harness.tm("/events.json", marketId=LA, size=5)).json()
    events = body["_embedded"]["events"]
    assert len(events) == 5
    assert all(e["_embedded"]["venues"][0]["name"].endswith("\x00 Hall") for e in events)
    hostility = harness.sandbox.hostility
    assert {k: r.hostile for k, r in hostility.records.items()} == {
        ("ticketmaster", "event", e["id"]): "nul_byte" for e in events
    }
    [page] = hostility.pages
    assert (page.bad, page.good) == (tuple(e["id"] for e in events), ())


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("long_name", lambda e: len(e["_embedded"]["attractions"][0]["name"]) == 5000),
        ("long_id", lambda e: len(e["id"]) == 200),
        ("javascript_url", lambda e: e["url"] == "javascript:alert(document.cookie)"),
        ("year_0001", lambda e: e["dates"]["start"]["localDate"] == "0001-01-01"),
        ("year_9999", lambda e: e["dates"]["start"]["localDate"] == "9999-12-31"),
        ("huge_number", lambda e: e["priceRanges"][0]["min"] == 1e15),
    ],
)
async def test_each_record_kind_has_its_bad_value(
    make_harness: HarnessFactory, kind: HostileKind, check: Any
) -> None:
    harness = await make_harness(caps=False, hostile_rate=1.0, hostile_kinds=(kind,))
    event = (await harness.tm("/events.json", marketId=LA, size=1)).json()["_embedded"]["events"][0]
    assert check(event)


async def test_a_record_is_corrupted_the_same_way_wherever_it_appears(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(caps=False, hostile_rate=0.5, hostile_kinds=RECORD_KINDS)
    listing = (await harness.tm("/events.json", marketId=LA, size=40)).json()["_embedded"]
    served_as = {r.served_id: r.key for r in harness.sandbox.hostility.records.values()}
    for served in listing["events"]:
        key = served_as.get(served["id"], served["id"])
        alone = (await harness.tm(f"/events/{key}.json")).json()
        assert alone == served
    bad = {r.key for r in harness.sandbox.hostility.records.values()}
    assert 5 < len(bad) < 35  # about half of 40


async def test_an_error_body_is_the_apis_own_error_object_on_a_200(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(caps=False, hostile_rate=1.0, hostile_kinds=("error_body",))
    artist = harness.catalog.artists[0]
    tm = await harness.tm("/events.json", marketId=LA)
    sfm = await harness.sfm(f"/artist/{artist.mbid}/setlists")
    spotify = await harness.spotify(f"/artists/{artist.spotify_id}")
    assert (tm.status_code, sfm.status_code, spotify.status_code) == (200, 200, 200)
    assert tm.json()["fault"]["detail"] == {"errorcode": "messaging.runtime.InternalServerError"}
    assert sfm.json()["code"] == 500
    assert spotify.json() == {"error": {"status": 500, "message": "Server error."}}
    assert [a.hostile for a in harness.sandbox.hostility.answers] == ["error_body"] * 3


async def test_an_inflated_total_claims_a_million_over_the_real_records(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(caps=False, hostile_rate=1.0, hostile_kinds=("inflated_total",))
    clean = await make_harness(caps=False)
    inflated = (await harness.tm("/events.json", marketId=LA, size=20)).json()
    real = (await clean.tm("/events.json", marketId=LA, size=20)).json()
    assert inflated["page"] == {**real["page"], "totalElements": 1_000_000, "totalPages": 50_000}
    assert inflated["_embedded"] == real["_embedded"]


def test_hostile_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="hostile_rate must be between 0 and 1"):
        SandboxConfig(hostile_rate=1.5)
    with pytest.raises(ValueError, match="unknown hostile kinds"):
        SandboxConfig(hostile_kinds=("bad",))  # type: ignore[arg-type]
    assert SandboxConfig().hostile_rate == 0.0
    assert set(SandboxConfig().hostile_kinds) == set(ALL_HOSTILE_KINDS)


# --- the real clients against it ---------------------------------------------------------------


def _expected_key(harness: Harness, api: str, kind: str, key: str) -> str | int:
    served = harness.sandbox.hostility.records[(api, kind, key)].served_id
    return record_key(served, index=-1)


async def test_ticketmaster_bad_events_are_refused_and_the_rest_of_the_page_kept(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(caps=False, hostile_rate=0.3, hostile_kinds=RECORD_KINDS)
    clean = await make_harness(caps=False)
    year = START + timedelta(days=365)
    async with TicketmasterClient.from_settings(
        _settings(), http=harness.http, limiter=NoLimiter()
    ) as tm:
        pages = [p async for p in tm.iter_events(start=START, end=year, size=50)]
    async with TicketmasterClient.from_settings(
        _settings(), http=clean.http, limiter=NoLimiter()
    ) as tm:
        every = {e.id for p in [p async for p in tm.iter_events(start=START, end=year, size=50)]
                 for e in p.events}  # fmt: skip
    hostility = harness.sandbox.hostility
    bad = {key for (_, _, key) in hostility.records}
    refused = {record.key for page in pages for record in page.errors}
    assert refused == {_expected_key(harness, "ticketmaster", "event", key) for key in bad}
    kept = {event.id for page in pages for event in page.events}
    assert kept == every - bad
    assert kept >= {key for shared in hostility.pages for key in shared.good}
    assert len(bad) > 30
    assert {r.hostile for r in hostility.records.values()} == set(RECORD_KINDS)
    assert len(hostility.pages) > 3


async def test_setlistfm_and_spotify_bad_records_are_refused_and_the_rest_kept(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(caps=False, hostile_rate=0.3, hostile_kinds=RECORD_KINDS)
    clean = await make_harness(caps=False)
    artists = [a for a in harness.catalog.artists if a.mbid and a.spotify_id][:5]
    async with (
        SetlistFmClient.from_settings(_settings(), http=harness.http, limiter=NoLimiter()) as sfm,
        SpotifyClient.from_settings(_settings(), http=harness.http, limiter=NoLimiter()) as spotify,
    ):
        pages = [await sfm.artist_setlists(a.mbid or "") for a in artists]
        found = await spotify.get_artists([a.spotify_id or "" for a in artists])
    async with SetlistFmClient.from_settings(
        _settings(), http=clean.http, limiter=NoLimiter()
    ) as sfm:
        every = {s.id for a in artists for s in (await sfm.artist_setlists(a.mbid or "")).setlists}
    hostility = harness.sandbox.hostility
    bad_setlists = {k[2] for k in hostility.records if k[:2] == ("setlistfm", "setlist")}
    refused = {record.key for page in pages for record in page.errors}
    assert refused == {_expected_key(harness, "setlistfm", "setlist", k) for k in bad_setlists}
    assert {s.id for page in pages for s in page.setlists} == every - bad_setlists
    bad_artists = {k[2] for k in hostility.records if k[0] == "spotify"}
    assert {a.id for a in found} == {a.spotify_id for a in artists} - bad_artists
    assert {r.key for r in spotify.malformed_records} == {
        _expected_key(harness, "spotify", "artist", k) for k in bad_artists
    }
    assert bad_setlists
    assert bad_artists


async def test_an_error_body_raises_and_an_inflated_count_spends_only_the_split_budget(
    make_harness: HarnessFactory,
) -> None:
    broken = await make_harness(caps=False, hostile_rate=1.0, hostile_kinds=("error_body",))
    async with TicketmasterClient.from_settings(
        _settings(), http=broken.http, limiter=NoLimiter()
    ) as tm:
        with pytest.raises(UpstreamError, match="HTTP 200 carrying an error object"):
            await tm.events_page(market_id=LA, start=START, end=END)

    inflated = await make_harness(caps=False, hostile_rate=1.0, hostile_kinds=("inflated_total",))
    settings = _settings().model_copy(
        update={"ticketmaster_max_splits_per_query": 3, "ticketmaster_max_splits_per_run": 5}
    )
    async with TicketmasterClient.from_settings(
        settings, http=inflated.http, limiter=NoLimiter()
    ) as tm:
        for market in (LA, 35, 7):
            async for _ in tm.iter_events(market_id=market, start=START, end=END, size=2):
                pass
        splits, attempts = tm.splits, tm.stats.attempts
    sent = inflated.sandbox.stats.total("ticketmaster")
    assert sent == attempts
    assert splits <= 5
    # per window at most 5 pages; a split adds one probe and one window
    assert sent <= 3 * 5 + splits * (1 + 5)
    assert sent >= 3


async def test_with_hostile_mode_off_nothing_is_corrupted(make_harness: HarnessFactory) -> None:
    harness = await make_harness(caps=False)
    response = await harness.tm("/events.json", marketId=LA, size=50)
    assert response.status_code == 200
    assert harness.sandbox.hostility.records == {}
    assert harness.sandbox.hostility.enabled is False
