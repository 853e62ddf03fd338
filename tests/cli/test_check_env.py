"""``mysetlist check env`` against the loopback sandbox: one real call per API, no secret shown."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

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


def _row(part: str, status: str, detail: str = "", *, ok: bool = True) -> dict[str, object]:
    return {"part": part, "ok": ok, "status": status, "detail": detail, "required": True}


def test_check_env_json_reports_every_row_and_no_secret(
    sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(monkeypatch, sandbox_url)
    monkeypatch.setenv(
        "DATABASE_URL", f"postgresql+asyncpg://app:db-pass-77@db.test/{tmp_path.name}"
    )

    result = runner.invoke(app, ["check", "env", "--json"])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["settings"] == [
        _row("DATABASE_URL", "set", f"postgresql+asyncpg://app:***@db.test/{tmp_path.name}"),
        _row("SPOTIFY_CLIENT_ID", "set", "environment"),
        _row("SPOTIFY_CLIENT_SECRET", "set", "environment"),
        _row("TICKETMASTER_API_KEY", "set", "environment"),
        _row("SETLISTFM_API_KEY", "set", "environment"),
        _row("CRON_SECRET", "set", "environment"),
        _row("SPOTIFY_API_URL", "overridden", f"{sandbox_url}/v1"),
        _row("SPOTIFY_ACCOUNTS_URL", "overridden", sandbox_url),
        _row("TICKETMASTER_API_URL", "overridden", f"{sandbox_url}/discovery/v2"),
        _row("SETLISTFM_API_URL", "overridden", f"{sandbox_url}/rest/1.0"),
    ]
    assert [(row["part"], row["ok"], row["status"]) for row in payload["apis"]] == [
        ("Spotify", True, "OK"),
        ("Ticketmaster", True, "OK"),
        ("setlist.fm", True, "OK"),
    ]
    assert (payload["ok"], payload["failed"]) == (True, [])
    assert result.stderr == ""
    for secret in [*_secrets(), "db-pass-77"]:
        assert secret not in result.stdout


def test_check_env_json_with_settings_missing_exits_1_with_the_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SPOTIFY_API_URL", "SPOTIFY_ACCOUNTS_URL", "TICKETMASTER_API_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/none")
    monkeypatch.setenv("SETLISTFM_API_URL", "http://127.0.0.1:9/none")

    result = runner.invoke(app, ["check", "env", "--json"])

    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["failed"] == [
        "SPOTIFY_CLIENT_ID",
        "SPOTIFY_CLIENT_SECRET",
        "TICKETMASTER_API_KEY",
        "SETLISTFM_API_KEY",
        "CRON_SECRET",
        "Spotify",
        "Ticketmaster",
        "setlist.fm",
    ]
    assert payload["apis"] == [
        _row(api, "not configured", "credentials missing", ok=False)
        for api in ("Spotify", "Ticketmaster", "setlist.fm")
    ]
    assert result.stderr == ""
