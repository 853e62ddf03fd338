"""The one settings class: defaults, the environment, an optional ``.env``, secrets kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from settings import DEFAULT_MARKETS, Settings

API_KEYS = (
    "SPOTIFY_CLIENT_ID",
    "SPOTIFY_CLIENT_SECRET",
    "TICKETMASTER_API_KEY",
    "SETLISTFM_API_KEY",
)


@pytest.fixture(autouse=True)
def _in_an_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's; the default SQLite file lands here


def test_defaults_are_the_embedded_database_and_the_real_apis(tmp_path: Path) -> None:
    settings = Settings()

    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'mysetlist.db'}"
    assert settings.spotify_api_url == "https://api.spotify.com/v1"
    assert settings.spotify_accounts_url == "https://accounts.spotify.com"
    assert settings.ticketmaster_api_url == "https://app.ticketmaster.com/discovery/v2"
    assert settings.setlistfm_api_url == "https://api.setlist.fm/rest/1.0"
    assert settings.discovery_markets == list(DEFAULT_MARKETS)
    assert settings.discovery_playlists == []
    assert (settings.ticketmaster_requests_per_second, settings.ticketmaster_requests_per_day) == (
        5.0,
        5000,
    )
    assert (settings.setlistfm_requests_per_second, settings.setlistfm_requests_per_day) == (
        2.0,
        1440,
    )
    assert settings.spotify_requests_per_minute == 180
    assert settings.has_api_keys() is False
    assert settings.secret_values() == []


def test_the_environment_overrides_and_lists_are_comma_separated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://sync@db.internal/mysetlist")
    monkeypatch.setenv("DISCOVERY_MARKETS", "27, 35,,7")
    monkeypatch.setenv("DISCOVERY_PLAYLISTS", "37i9dQZF1DXcBWIGoYBM5M")
    monkeypatch.setenv("TRENDING_SHOW_HALF_LIFE_DAYS", "3.5")

    settings = Settings()

    assert settings.database_url == "postgresql+asyncpg://sync@db.internal/mysetlist"
    assert settings.discovery_markets == [27, 35, 7]
    assert settings.discovery_playlists == ["37i9dQZF1DXcBWIGoYBM5M"]
    assert settings.trending_show_half_life_days == 3.5


def test_a_dotenv_file_is_read_and_the_environment_wins_over_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "SETLISTFM_API_KEY=from-dotenv\nSETLISTFM_API_URL=http://127.0.0.1:9/sfm\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SETLISTFM_API_URL", "http://127.0.0.1:8/sfm")

    settings = Settings()

    assert settings.setlistfm_api_key is not None
    assert settings.setlistfm_api_key.get_secret_value() == "from-dotenv"
    assert settings.setlistfm_api_url == "http://127.0.0.1:8/sfm"


def test_secrets_never_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    for number, name in enumerate(API_KEYS):
        monkeypatch.setenv(name, f"very-secret-{number}")
    monkeypatch.setenv("CRON_SECRET", "cron-secret-value")

    settings = Settings()

    shown = f"{settings!r} {settings} {settings.model_dump()}"
    assert "very-secret" not in shown
    assert "cron-secret-value" not in shown
    assert settings.has_api_keys() is True
    assert settings.secret_values() == [
        "very-secret-0",
        "very-secret-1",
        "very-secret-2",
        "very-secret-3",
        "cron-secret-value",
    ]


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("HTTP_MAX_RETRIES", "11", "http_max_retries"),
        ("SETLISTFM_REQUESTS_PER_DAY", "0", "setlistfm_requests_per_day"),
        ("RATE_LIMITER", "redis", "rate_limiter"),
        ("DISCOVERY_MARKETS", "27,new-york", "discovery_markets"),
    ],
)
def test_an_invalid_value_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError) as refused:
        Settings()

    assert [error["loc"][0] for error in refused.value.errors()] == [field]
