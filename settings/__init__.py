"""The one place that reads configuration: the environment and an optional ``.env`` file."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from settings.prefect_secrets import PREFIX_PATTERN, PrefectSecretBlocks, take_origins

__all__ = [
    "DEFAULT_MARKETS",
    "PREFECT_DEFAULTS",
    "Settings",
    "apply_prefect_defaults",
    "get_settings",
    "secret_origins",
]

# Major US Ticketmaster markets (marketId), see docs/upstream-apis.md.
DEFAULT_MARKETS: tuple[int, ...] = (
    3,
    5,
    6,
    7,
    10,
    11,
    14,
    15,
    16,
    18,
    20,
    22,
    27,
    31,
    35,
    36,
    37,
    40,
    41,
    42,
    47,
)


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{Path.cwd() / 'mysetlist.db'}"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the system. Secrets are ``SecretStr`` and never printed."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Storage
    database_url: str = Field(default_factory=_default_database_url)

    # Upstream credentials
    spotify_client_id: SecretStr | None = None
    spotify_client_secret: SecretStr | None = None
    ticketmaster_api_key: SecretStr | None = None
    setlistfm_api_key: SecretStr | None = None

    # Our own HTTP endpoints
    cron_secret: SecretStr | None = None

    # Upstream base URLs (the sandbox serves all three under one origin)
    spotify_api_url: str = "https://api.spotify.com/v1"
    spotify_accounts_url: str = "https://accounts.spotify.com"
    ticketmaster_api_url: str = "https://app.ticketmaster.com/discovery/v2"
    setlistfm_api_url: str = "https://api.setlist.fm/rest/1.0"

    # HTTP behaviour
    http_timeout_seconds: float = Field(default=20.0, gt=0)
    http_max_retries: int = Field(default=4, ge=0, le=10)
    http_backoff_base_seconds: float = Field(default=0.5, ge=0)
    http_retry_after_cap_seconds: float = Field(default=60.0, gt=0)

    # Rate caps. ``lease``: every worker leases blocks of a shared send schedule per API from our
    # database (tasks/leases.py), which also counts the daily quotas; ``local``: in-process token
    # buckets, for a single process only (tests, benchmarks). ``prefect`` (Prefect global
    # concurrency limits per request) is on its way out.
    rate_limiter: Literal["lease", "local"] = "lease"
    # Seconds of an API's schedule one worker holds at most (what a killed worker can waste).
    rate_lease_window_seconds: float = Field(default=3.0, gt=0, le=60)
    # Share of each per-second (per-minute) cap the shared schedule uses: slack for send jitter.
    rate_lease_pace: float = Field(default=0.98, gt=0, le=1)
    # The daily request plan (flows/_plan.py). ``planned``: each scheduled run is granted a share
    # of what is left of the day's quota (at most REQUEST_PLAN_QUOTA_SHARE of it per API, counted
    # in our database for every worker) and spends it where the new data is; a job's ``limit`` is
    # a ceiling. ``fixed``: each job takes its ``limit`` as it comes (the behaviour before the
    # plan; kept as the benchmark's baseline).
    request_plan: Literal["planned", "fixed"] = "planned"
    request_plan_quota_share: float = Field(default=0.9, gt=0, le=1)
    spotify_requests_per_minute: int = Field(default=180, gt=0)
    ticketmaster_requests_per_second: float = Field(default=5.0, gt=0)
    ticketmaster_requests_per_day: int = Field(default=5000, gt=0)
    setlistfm_requests_per_second: float = Field(default=2.0, gt=0)
    setlistfm_requests_per_day: int = Field(default=1440, gt=0)

    # Discovery
    discovery_markets: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_MARKETS)
    )
    discovery_playlists: Annotated[list[str], NoDecode] = Field(default_factory=list)
    discovery_window_days: int = Field(default=90, gt=0, le=365)
    # Ticketmaster searches beyond deep paging (1,000 events) are split by date window, within
    # budgets: an inflated totalElements must not spend the daily quota on splits.
    ticketmaster_max_splits_per_query: int = Field(default=15, ge=0, le=1000)
    ticketmaster_max_splits_per_run: int = Field(default=200, ge=0, le=100_000)

    # Sync
    sync_stale_after_hours: float = Field(default=24.0, gt=0)
    sync_show_window_days: int = Field(default=365, gt=0, le=730)
    setlist_first_sync_max_pages: int = Field(default=3, ge=1, le=50)
    setlist_cursor_overlap_minutes: float = Field(default=10.0, ge=0)
    # The history backfill's share of setlist.fm's daily quota (1,440 on a standard key): pages
    # of older setlists a daily or full master sync may read after its fresh work (0: none). With
    # the daily plan the backfill reads what is left of a run's setlist.fm grant (0: none still).
    setlist_history_pages_per_run: int = Field(default=360, ge=0, le=50_000)
    setlist_research_after_days: float = Field(default=7.0, gt=0)
    # The setlist watch (autonomous-sync ``sync``, every 2 h): the artists with a show dated in
    # the last SETLIST_WATCH_DAYS days (or today) that has no setlist yet, read again once their
    # setlists were last read SETLIST_WATCH_RECHECK_HOURS ago, at most SETLIST_WATCH_PER_RUN a
    # run (0: no watch). setlist.fm publishes a setlist hours to days after the show.
    setlist_watch_days: int = Field(default=2, ge=0, le=30)
    setlist_watch_recheck_hours: float = Field(default=1.0, gt=0)
    setlist_watch_per_run: int = Field(default=25, ge=0, le=5_000)
    # An artist without a Spotify id is searched by name at most this often (a miss is stamped).
    spotify_research_after_days: float = Field(default=7.0, gt=0)
    # With the daily request plan: the artists among the top SPOTIFY_TRENDING_DAILY of the latest
    # daily trending ranking get their Spotify metadata (popularity, followers) read once a day
    # (20 h after their last read), ahead of the weekly rotation (0: the rotation only).
    spotify_trending_daily: int = Field(default=100, ge=0, le=1000)
    # An artist without a Ticketmaster id (found through Spotify) is searched on Ticketmaster by
    # name at most this often (a miss is stamped).
    ticketmaster_research_after_days: float = Field(default=7.0, gt=0)
    # Ticketmaster lookups a master sync may make to confirm shows whose date has passed before
    # they become completed (a dropped event is delisted instead: no phantom completions).
    past_show_checks_per_run: int = Field(default=250, ge=0, le=5_000)
    sync_retry_base_minutes: float = Field(default=30.0, gt=0)
    sync_concurrency: int = Field(default=8, gt=0, le=64)
    # Artists per Prefect task run (`sync-artist-batch`): Prefect observes batches, not requests.
    sync_batch_size: int = Field(default=50, gt=0, le=1000)
    # At its first flow run, a process freezes what it holds for good (modules, classes, its
    # engine...) out of the garbage collector's full collections, and collects its young
    # generation every GC_YOUNG_THRESHOLD allocations (0: Python's 700) (tasks/heap.py).
    gc_freeze_at_start: bool = True
    gc_young_threshold: int = Field(default=10_000, ge=0, le=1_000_000)

    # Caching of coarse upstream reads by Prefect (minutes; 0 disables caching for that source):
    # Spotify artist batches and playlists, Ticketmaster market sweeps (tasks/policy.py).
    cache_ttl_spotify_minutes: float = Field(default=360.0, ge=0)
    cache_ttl_ticketmaster_minutes: float = Field(default=30.0, ge=0)

    # Trending
    trending_activity_half_life_hours: float = Field(default=72.0, gt=0)
    trending_show_half_life_days: float = Field(default=14.0, gt=0)

    # Deployments
    schedule_timezone: str = "UTC"
    work_pool: str = "mysetlist-process"

    # Unattended operation. A running run beats every run_heartbeat_seconds; one silent for
    # run_heartbeat_stale_minutes is closed as crashed (models.ledger.reconcile_runs). The
    # artists a run claims are held sync_claim_lease_minutes past its last heartbeat.
    run_heartbeat_seconds: float = Field(default=60.0, gt=0)
    # Prefect's proactive triggers (cli/prefect_setup.py) need windows of 10 s or more.
    run_heartbeat_stale_minutes: float = Field(default=15.0, ge=1 / 6)
    sync_claim_lease_minutes: float = Field(default=30.0, gt=0)
    # Failures announced (cli/prefect_setup.py): automations notify this webhook, Slack-style
    # ({"text": ...}) or as generic JSON, of failed or crashed runs, deployments late by more
    # than alert_late_after_minutes and health scores below alert_health_below.
    alert_webhook_url: SecretStr | None = None
    alert_webhook_format: Literal["json", "slack"] = "json"
    alert_late_after_minutes: float = Field(default=15.0, ge=1 / 6)
    alert_health_below: int = Field(default=60, ge=0, le=100)
    # Secrets missing from the environment are read from the Prefect Secret blocks
    # <prefix>-<setting> (settings/prefect_secrets.py); unset, Prefect is never asked.
    secret_block_prefix: str | None = Field(default=None, pattern=PREFIX_PATTERN)

    # Where each secret came from (settings/prefect_secrets.py), for ``check env``.
    _secret_origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            file_secret_settings,
            PrefectSecretBlocks(settings_cls),
        )

    def model_post_init(self, context: object, /) -> None:
        self._secret_origins = take_origins()

    @model_validator(mode="after")
    def _heartbeat_within_staleness(self) -> Settings:
        if self.run_heartbeat_seconds * 2 > self.run_heartbeat_stale_minutes * 60:
            raise ValueError(
                "RUN_HEARTBEAT_SECONDS must be at most half of RUN_HEARTBEAT_STALE_MINUTES "
                "(in seconds), or a live run would be closed as crashed between two beats"
            )
        return self

    @field_validator("discovery_markets", "discovery_playlists", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @property
    def sweep_window_days(self) -> int:
        """How far ahead discovery's market sweeps look: ``DISCOVERY_WINDOW_DAYS``, or with the
        daily request plan as far as an artist's shows are synced (``SYNC_SHOW_WINDOW_DAYS``,
        if longer): an artist whose first announced show is months ahead is found when it is
        announced, not when the show comes within 90 days."""
        if self.request_plan == "planned":
            return max(self.discovery_window_days, self.sync_show_window_days)
        return self.discovery_window_days

    def has_api_keys(self) -> bool:
        """True when every upstream credential is configured."""
        return all(
            secret is not None and secret.get_secret_value()
            for secret in (
                self.spotify_client_id,
                self.spotify_client_secret,
                self.ticketmaster_api_key,
                self.setlistfm_api_key,
            )
        )

    def secret_values(self) -> list[str]:
        """Every configured secret, for redaction."""
        return [
            secret.get_secret_value()
            for secret in (
                self.spotify_client_id,
                self.spotify_client_secret,
                self.ticketmaster_api_key,
                self.setlistfm_api_key,
                self.cron_secret,
                self.alert_webhook_url,
            )
            if secret is not None and secret.get_secret_value()
        ]


def secret_origins(settings: Settings) -> dict[str, str]:
    """Where each secret setting came from, by environment variable name: ``given``,
    ``environment``, ``.env``, ``secrets directory``, ``prefect block <name>`` or ``missing``.
    Never the values."""
    from settings.prefect_secrets import ORIGIN_MISSING, SECRET_SETTINGS

    origins = settings._secret_origins
    return {env: origins.get(env, ORIGIN_MISSING) for env, _ in SECRET_SETTINGS}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cleared in tests with ``get_settings.cache_clear()``)."""
    return Settings()


#: Defaults this project gives Prefect's own settings, each only where the environment leaves it
#: unset. A first start of Prefect's ephemeral server creates and migrates its database: 26.7 s
#: measured on this project's 2-vCPU machine against Prefect's 20 s default, so the first
#: ``mysetlist demo`` on a fresh machine failed with "Timed out while attempting to connect to
#: ephemeral Prefect API server" (later starts take a few seconds).
#: Our loggers (``mysetlist.*``) reach the Prefect UI: Prefect attaches its API log handler to
#: the extra loggers named here, so flow runs show what the clients, models and flows log.
PREFECT_DEFAULTS: Mapping[str, str] = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "mysetlist",
}


def apply_prefect_defaults(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Put :data:`PREFECT_DEFAULTS` into ``environ`` (default: the process environment) where
    unset, and return what was set. Prefect reads its settings when it is imported: call this
    first (the ``mysetlist`` command does, before any command imports Prefect)."""
    target = os.environ if environ is None else environ
    added = {name: value for name, value in PREFECT_DEFAULTS.items() if name not in target}
    target.update(added)
    return added
