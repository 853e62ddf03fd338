"""``mysetlist check env`` against the loopback sandbox: one real call per API, no secret shown."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from cli.main import app
from sandbox.config import DEMO_CREDENTIALS, SandboxConfig
from sandbox.server import demo_settings_overrides, start_in_thread

runner = CliRunner()
CRON = "check-env-cron-secret"
WRONG_TM_KEY = "wrong-ticketmaster-key-0042"


def _serve(**config: object) -> Iterator[str]:
    with start_in_thread(SandboxConfig(artists=30, caps=False, **config)) as server:  # type: ignore[arg-type]
        yield server.url


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    yield from _serve()


@pytest.fixture(scope="module")
def development_sandbox_url() -> Iterator[str]:
    yield from _serve(spotify_tier="development")


def _point_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name, value in demo_settings_overrides(url).items():
        monkeypatch.setenv(name.upper(), value)
    monkeypatch.setenv("CRON_SECRET", CRON)
    monkeypatch.setenv("HTTP_BACKOFF_BASE_SECONDS", "0")
    monkeypatch.setenv("COLUMNS", "200")


def _secrets() -> list[str]:
    return [*DEMO_CREDENTIALS.values(), CRON, WRONG_TM_KEY]


def test_check_env_passes_against_the_sandbox(
    sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(monkeypatch, sandbox_url)

    result = runner.invoke(app, ["check", "env"])

    assert result.exit_code == 0, result.output
    assert "environment OK" in result.output
    for part in ("Spotify", "Ticketmaster", "setlist.fm"):
        assert part in result.output
    assert result.output.count(" OK ") == 3
    for secret in _secrets():
        assert secret not in result.output


def test_a_wrong_ticketmaster_key_fails_naming_ticketmaster_and_never_shows_the_key(
    sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(monkeypatch, sandbox_url)
    monkeypatch.setenv("TICKETMASTER_API_KEY", WRONG_TM_KEY)

    result = runner.invoke(app, ["check", "env"])

    assert result.exit_code == 1
    assert "failed: Ticketmaster (bad key)" in " ".join(result.output.split())
    assert "Spotify" in result.output
    for secret in _secrets():
        assert secret not in result.output


def test_spotify_development_mode_is_reported_as_tier_limits(
    development_sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(monkeypatch, development_sandbox_url)

    result = runner.invoke(app, ["check", "env"])

    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "OK (tier limits)" in text
    assert "development mode" in text


def test_an_unreachable_api_is_named(sandbox_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _point_at(monkeypatch, sandbox_url)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    monkeypatch.setenv("SETLISTFM_API_URL", f"http://127.0.0.1:{closed_port}/rest/1.0")

    result = runner.invoke(app, ["check", "env"])

    assert result.exit_code == 1
    assert "failed: setlist.fm (unreachable)" in " ".join(result.output.split())


def test_missing_settings_are_listed_and_no_api_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    # Unroutable base URLs: a call would fail as "unreachable", not "not configured".
    for name in ("SPOTIFY_API_URL", "SPOTIFY_ACCOUNTS_URL", "TICKETMASTER_API_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/none")
    monkeypatch.setenv("SETLISTFM_API_URL", "http://127.0.0.1:9/none")

    result = runner.invoke(app, ["check", "env"])

    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert (
        "failed: SPOTIFY_CLIENT_ID (missing), SPOTIFY_CLIENT_SECRET (missing), "
        "TICKETMASTER_API_KEY (missing), SETLISTFM_API_KEY (missing), CRON_SECRET (missing), "
        "Spotify (not configured), Ticketmaster (not configured), setlist.fm (not configured)"
    ) in text
