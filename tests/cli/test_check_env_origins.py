"""``mysetlist check env`` says where each secret came from, never its value (issue 14.6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import settings.prefect_secrets as prefect_secrets
from cli.checks import check_settings
from cli.main import app
from settings import Settings

runner = CliRunner()
VALUES = ("tm-env-value-0042", "fm-dotenv-value-0042", "cron-block-value-0042-with-32-chars!")


@pytest.fixture(autouse=True)
def _origins_of_every_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TICKETMASTER_API_KEY from the environment, SETLISTFM_API_KEY from .env, CRON_SECRET from
    the Prefect Secret block ``acme-cron-secret``; the Spotify pair missing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"SETLISTFM_API_KEY={VALUES[1]}\n")
    monkeypatch.setenv("TICKETMASTER_API_KEY", VALUES[0])
    monkeypatch.setenv("SECRET_BLOCK_PREFIX", "acme")
    monkeypatch.setattr(
        prefect_secrets,
        "read_secret_blocks",
        lambda names: {"acme-cron-secret": VALUES[2]} if "acme-cron-secret" in names else {},
    )
    for name in ("SPOTIFY_API_URL", "SPOTIFY_ACCOUNTS_URL", "TICKETMASTER_API_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/none")  # never reached: no API call works
    monkeypatch.setenv("SETLISTFM_API_URL", "http://127.0.0.1:9/none")
    monkeypatch.setenv("HTTP_BACKOFF_BASE_SECONDS", "0")
    monkeypatch.setenv("COLUMNS", "200")


def test_each_secret_row_names_its_origin() -> None:
    rows = {check.part: (check.status, check.detail) for check in check_settings(Settings())}

    assert {name: rows[name] for name in list(rows)[1:6]} == {
        "SPOTIFY_CLIENT_ID": ("missing", "missing"),
        "SPOTIFY_CLIENT_SECRET": ("missing", "missing"),
        "TICKETMASTER_API_KEY": ("set", "environment"),
        "SETLISTFM_API_KEY": ("set", ".env"),
        "CRON_SECRET": ("set", "prefect block acme-cron-secret"),
    }


def test_check_env_json_shows_origins_and_no_value() -> None:
    result = runner.invoke(app, ["check", "env", "--json"])

    assert result.exit_code == 1  # Spotify is missing, the APIs unreachable
    report = json.loads(result.stdout)
    details = {row["part"]: row["detail"] for row in report["settings"]}
    assert details["CRON_SECRET"] == "prefect block acme-cron-secret"
    assert details["SETLISTFM_API_KEY"] == ".env"
    for value in VALUES:
        assert value not in result.output
