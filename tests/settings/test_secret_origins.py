"""Secrets from Prefect Secret blocks, and where each secret came from (issue 14.6)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

import settings.prefect_secrets as prefect_secrets
from settings import Settings, secret_origins
from settings.prefect_secrets import SecretBlockError, block_name

ALL_MISSING = {
    "SPOTIFY_CLIENT_ID": "missing",
    "SPOTIFY_CLIENT_SECRET": "missing",
    "TICKETMASTER_API_KEY": "missing",
    "SETLISTFM_API_KEY": "missing",
    "CRON_SECRET": "missing",
    "ALERT_WEBHOOK_URL": "missing",
}


@pytest.fixture(autouse=True)
def _in_an_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in ("SECRET_BLOCK_PREFIX", "ALERT_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)


def test_without_a_prefix_prefect_is_never_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(names: list[str]) -> dict[str, str]:
        raise AssertionError(f"asked Prefect for {names}")

    monkeypatch.setattr(prefect_secrets, "read_secret_blocks", refuse)

    assert secret_origins(Settings()) == ALL_MISSING


def test_each_secret_names_its_origin_never_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETMASTER_API_KEY", "tm-from-env")
    monkeypatch.setenv("SETLISTFM_API_KEY", "   ")  # blank: not given
    (tmp_path / ".env").write_text("SETLISTFM_API_KEY=fm-from-dotenv\nCRON_SECRET=cron-dotenv\n")
    monkeypatch.setenv("CRON_SECRET", "cron-from-env")  # the environment wins over .env

    settings = Settings(spotify_client_id="id-given")
    origins = secret_origins(settings)

    assert origins == ALL_MISSING | {
        "SPOTIFY_CLIENT_ID": "given",
        "TICKETMASTER_API_KEY": "environment",
        "SETLISTFM_API_KEY": ".env",
        "CRON_SECRET": "environment",
    }
    text = repr(origins) + repr(settings) + str(settings)
    for value in ("tm-from-env", "fm-from-dotenv", "cron-from-env", "id-given"):
        assert value not in text


def test_a_prefix_fills_only_the_missing_secrets_from_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[list[str]] = []

    def blocks(names: list[str]) -> dict[str, str]:
        asked.append(names)
        return {"acme-setlistfm-api-key": "fm-from-block", "acme-cron-secret": "cron-block"}

    monkeypatch.setattr(prefect_secrets, "read_secret_blocks", blocks)
    monkeypatch.setenv("SECRET_BLOCK_PREFIX", "acme")
    monkeypatch.setenv("TICKETMASTER_API_KEY", "tm-from-env")

    settings = Settings()

    assert asked == [
        [
            "acme-spotify-client-id",
            "acme-spotify-client-secret",
            "acme-setlistfm-api-key",
            "acme-cron-secret",
            "acme-alert-webhook-url",
        ]
    ]
    assert settings.setlistfm_api_key is not None
    assert settings.setlistfm_api_key.get_secret_value() == "fm-from-block"
    assert settings.ticketmaster_api_key is not None
    assert settings.ticketmaster_api_key.get_secret_value() == "tm-from-env"
    assert secret_origins(settings) == ALL_MISSING | {
        "TICKETMASTER_API_KEY": "environment",
        "SETLISTFM_API_KEY": "prefect block acme-setlistfm-api-key",
        "CRON_SECRET": "prefect block acme-cron-secret",
    }
    assert "fm-from-block" in settings.secret_values()
    assert "fm-from-block" not in repr(settings)


def test_block_names_are_the_setting_in_dashes_after_the_prefix() -> None:
    assert block_name("mysetlist", "ticketmaster_api_key") == "mysetlist-ticketmaster-api-key"


@pytest.mark.parametrize("prefix", ["MySetlist", "-x", "a b", "a_b", ""])
def test_a_prefix_that_cannot_name_a_block_is_refused(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_BLOCK_PREFIX", prefix)

    with pytest.raises(ValidationError, match="secret_block_prefix"):
        Settings()


def test_a_heartbeat_slower_than_half_the_staleness_is_refused() -> None:
    with pytest.raises(ValidationError, match="RUN_HEARTBEAT_SECONDS must be at most half"):
        Settings(run_heartbeat_seconds=301, run_heartbeat_stale_minutes=10)
    assert (
        Settings(run_heartbeat_seconds=300, run_heartbeat_stale_minutes=10).run_heartbeat_seconds
        == 300
    )


def test_an_unreachable_prefect_server_is_named_without_any_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SECRET_BLOCK_PREFIX", "acme")
    monkeypatch.setenv("TICKETMASTER_API_KEY", "tm-from-env")
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    with (
        temporary_settings(
            {PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_CLIENT_MAX_RETRIES: 0}
        ),
        pytest.raises(SecretBlockError) as caught,
    ):
        Settings()

    message = str(caught.value)
    assert message.startswith("could not read the Prefect Secret blocks acme-spotify-client-id,")
    assert "Unset SECRET_BLOCK_PREFIX to use the environment only" in message
    assert "tm-from-env" not in message


# --- against the session's Prefect server ----------------------------------------------------


@pytest.fixture
def secret_blocks(prefect_harness: str) -> Iterator[str]:
    """Two Secret blocks under a fresh prefix on the session's server; deleted after."""
    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client

    prefix = f"t{uuid.uuid4().hex[:8]}"
    names = [block_name(prefix, "ticketmaster_api_key"), block_name(prefix, "cron_secret")]
    Secret(value="tm-block-value").save(names[0], overwrite=True)
    Secret(value="cron-block-value").save(names[1], overwrite=True)
    yield prefix
    with get_client(sync_client=True) as client:
        for name in names:
            document = client.read_block_document_by_name(name, block_type_slug="secret")
            client.delete_block_document(document.id)


@pytest.mark.prefect
def test_secrets_load_from_real_secret_blocks(
    secret_blocks: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_BLOCK_PREFIX", secret_blocks)
    monkeypatch.setenv("CRON_SECRET", "cron-from-env")

    settings = Settings()

    assert settings.ticketmaster_api_key is not None
    assert settings.ticketmaster_api_key.get_secret_value() == "tm-block-value"
    assert settings.cron_secret is not None
    assert settings.cron_secret.get_secret_value() == "cron-from-env"
    assert secret_origins(settings) == ALL_MISSING | {
        "TICKETMASTER_API_KEY": f"prefect block {secret_blocks}-ticketmaster-api-key",
        "CRON_SECRET": "environment",
    }


@pytest.mark.parametrize("name", ["RUN_HEARTBEAT_STALE_MINUTES", "ALERT_LATE_AFTER_MINUTES"])
def test_windows_shorter_than_prefects_ten_seconds_are_refused(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, "0.1")
    monkeypatch.setenv("RUN_HEARTBEAT_SECONDS", "1")

    with pytest.raises(ValidationError, match=name.lower()):
        Settings()
