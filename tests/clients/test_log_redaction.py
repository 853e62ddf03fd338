"""Secrets at every log level: httpx's and httpcore's own request lines are redacted too."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from clients import SetlistFmClient, SpotifyClient, TicketmasterClient
from clients._logging import HTTP_LOGGERS, RedactingFilter, install_http_log_redaction
from clients.ratelimit import NoLimiter
from sandbox import SandboxConfig, SandboxServer, demo_settings_overrides, start_in_thread
from settings import Settings

CANARIES = {
    "ticketmaster_api_key": "CanaryTmKey0001",
    "setlistfm_api_key": "canary-sfm-key-0002",
    "spotify_client_id": "canary-spotify-id-0003",
    "spotify_client_secret": "canary-spotify-secret-0004",
}


@pytest.fixture(scope="module")
def loopback() -> Iterator[SandboxServer]:
    """A real HTTP server, so httpcore does real I/O and logs it."""
    config = SandboxConfig(
        artists=10,
        caps=False,
        today=datetime(2026, 3, 1).date(),
        ticketmaster_api_key=CANARIES["ticketmaster_api_key"],
        setlistfm_api_key=CANARIES["setlistfm_api_key"],
        spotify_client_id=CANARIES["spotify_client_id"],
        spotify_client_secret=CANARIES["spotify_client_secret"],
    )
    with start_in_thread(config) as server:
        yield server


async def test_no_secret_in_any_record_at_debug_from_any_logger(
    loopback: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root: every logger, httpx and httpcore included
    settings = Settings.model_validate({**demo_settings_overrides(loopback.url), **CANARIES})
    start = datetime(2026, 3, 1, tzinfo=UTC)
    async with TicketmasterClient.from_settings(settings, limiter=NoLimiter()) as tm:
        await tm.events_page(market_id=27, start=start, end=start + timedelta(days=30), size=5)
    async with SpotifyClient.from_settings(settings, limiter=NoLimiter()) as spotify:
        artists = await spotify.search_artists("the", limit=2)
    async with SetlistFmClient.from_settings(settings, limiter=NoLimiter()) as sfm:
        await sfm.search_artists(name="the")

    assert artists
    names = {record.name for record in caplog.records}
    assert {"httpx", "httpcore.http11", "httpcore.connection"} <= names
    request_lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "httpx" and "events.json" in r.getMessage()
    ]
    assert len(request_lines) == 1
    assert "?apikey=***&classificationName=music" in request_lines[0]
    shown = caplog.text + "".join(repr(r.args) + str(r.msg) for r in caplog.records)
    for canary in CANARIES.values():
        assert canary not in shown
    tokens = [token for token in _issued_tokens(loopback)]
    assert tokens
    for token in tokens:
        assert token not in shown


def _issued_tokens(server: SandboxServer) -> list[str]:
    return [token for token in server.sandbox._tokens]  # the access tokens it handed out


def test_the_filter_rewrites_records_built_from_arguments() -> None:
    redactor = RedactingFilter()
    redactor.add(["s3cret-value"])
    url = httpx.URL("https://api.test/x?apikey=unknownKey&q=s3cret-value")
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s", ("GET", url), None
    )
    assert redactor.filter(record) is True
    assert record.getMessage() == "HTTP Request: GET https://api.test/x?apikey=***&q=***"


def test_the_filter_sits_on_every_http_library_logger() -> None:
    redactor = install_http_log_redaction()
    for name in HTTP_LOGGERS:
        assert redactor in logging.getLogger(name).filters
