"""The loopback server: real TCP, settings overrides, faults as transport errors, stats."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from clients.clock import VirtualClock
from sandbox import DEMO_CREDENTIALS, SandboxConfig, create_app, start_in_thread
from sandbox.catalog import Catalog
from sandbox.server import SandboxServer, demo_settings_overrides, sandbox_settings_overrides
from settings import Settings
from tests.sandbox.conftest import ARTISTS, SEED, TODAY

TM_KEY = DEMO_CREDENTIALS["ticketmaster_api_key"]


@pytest.fixture
def server(catalog: Catalog) -> Iterator[SandboxServer]:
    config = SandboxConfig(seed=SEED, artists=ARTISTS, today=TODAY, clock=VirtualClock())
    with start_in_thread(config, catalog=catalog) as running:
        yield running


def test_settings_overrides_point_every_client_at_the_sandbox() -> None:
    assert sandbox_settings_overrides("http://127.0.0.1:8010/") == {
        "spotify_api_url": "http://127.0.0.1:8010/v1",
        "spotify_accounts_url": "http://127.0.0.1:8010",
        "ticketmaster_api_url": "http://127.0.0.1:8010/discovery/v2",
        "setlistfm_api_url": "http://127.0.0.1:8010/rest/1.0",
    }
    settings = Settings.model_validate(demo_settings_overrides("http://127.0.0.1:8010"))
    assert settings.has_api_keys()
    assert settings.ticketmaster_api_key is not None
    assert settings.ticketmaster_api_key.get_secret_value() == TM_KEY


def test_the_server_answers_over_loopback_on_a_free_port(server: SandboxServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert not server.url.endswith(":0")
    response = httpx.get(f"{server.url}/discovery/v2/events.json", params={"apikey": TM_KEY})
    assert response.status_code == 200
    assert response.headers["Rate-Limit"] == "5000"
    assert server.sandbox.stats.count("ticketmaster", "/discovery/v2/events.json", 200) == 1


def test_stop_closes_the_port(catalog: Catalog) -> None:
    config = SandboxConfig(seed=SEED, artists=ARTISTS, today=TODAY)
    running = start_in_thread(config, catalog=catalog)
    url = running.url
    running.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/discovery/v2/events.json", params={"apikey": TM_KEY})


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("kind", ["timeout", "truncated_body"])
def test_dropped_answers_reach_the_client_as_transport_errors_and_stay_out_of_the_log(
    catalog: Catalog, kind: str
) -> None:
    config = SandboxConfig(
        seed=SEED,
        artists=ARTISTS,
        today=TODAY,
        caps=False,
        fault_rate=1.0,
        fault_kinds=(kind,),  # type: ignore[arg-type]
    )
    collect = _Collect()
    server_log = logging.getLogger("uvicorn.error")
    with start_in_thread(config, catalog=catalog) as running:
        server_log.addHandler(collect)  # after uvicorn configured its logging
        try:
            with pytest.raises(httpx.RemoteProtocolError):
                httpx.get(f"{running.url}/discovery/v2/events.json", params={"apikey": TM_KEY})
        finally:
            server_log.removeHandler(collect)
    assert collect.records == []
    assert running.sandbox.stats.faults == {("ticketmaster", kind): 1}


def test_a_catalogue_from_another_config_is_refused(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="not built from this config"):
        create_app(SandboxConfig(seed=SEED + 1, artists=ARTISTS, today=TODAY), catalog=catalog)
