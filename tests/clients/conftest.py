"""Fixtures for the client tests: respx routing, a virtual clock, payload fixtures, secrets."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from clients.clock import VirtualClock

FIXTURES = Path(__file__).parent / "fixtures"

SPOTIFY_CLIENT_ID = "spotify-client-id-S3CR3T"
SPOTIFY_CLIENT_SECRET = "spotify-client-secret/S3CR3T+="
TICKETMASTER_KEY = "tmKeyS3CR3TzZ"
SETLISTFM_KEY = "sfm-key-S3CR3T-0000"
ALL_SECRETS = (SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET, TICKETMASTER_KEY, SETLISTFM_KEY)

SPOTIFY_API = "https://api.spotify.com/v1"
SPOTIFY_ACCOUNTS = "https://accounts.spotify.com"
TICKETMASTER_API = "https://app.ticketmaster.com/discovery/v2"
SETLISTFM_API = "https://api.setlist.fm/rest/1.0"


def load(name: str) -> Any:
    """A JSON payload from ``tests/clients/fixtures``."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class MaxJitter(random.Random):
    """Full jitter pinned to its upper bound, so backoff waits are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


class RecordingLimiter:
    """Records every ``acquire`` with the virtual time it happened at."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.calls: list[tuple[str, float]] = []

    async def acquire(self, api: str) -> None:
        self.calls.append((api, self.clock.now()))


def assert_no_secret(caplog: pytest.LogCaptureFixture, *texts: object) -> None:
    """No secret in any captured log record, nor in ``texts`` (exceptions, reprs, ...)."""
    assert caplog.records, "expected log records to inspect"
    shown = [record.getMessage() for record in caplog.records]
    shown += [str(text) for text in texts] + [repr(text) for text in texts]
    for secret in ALL_SECRETS:
        for line in shown:
            assert secret not in line


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=1000.0)


@pytest.fixture
def limiter(clock: VirtualClock) -> RecordingLimiter:
    return RecordingLimiter(clock)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def client_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="mysetlist.clients")
    return caplog
