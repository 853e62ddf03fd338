"""How a sandbox is set up: catalogue size and seed, credentials, tier, caps, faults, latency."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Final, Literal

from clients.clock import Clock
from sandbox.hostile import ALL_HOSTILE_KINDS, HostileKind

if TYPE_CHECKING:
    from sandbox.caps import ApiCaps
    from settings import Settings

__all__ = [
    "ALL_FAULT_KINDS",
    "DEMO_CREDENTIALS",
    "FaultKind",
    "SandboxConfig",
    "SpotifyTier",
]

FaultKind = Literal["500", "503", "timeout", "malformed_json", "truncated_body"]
SpotifyTier = Literal["extended", "development"]
ALL_FAULT_KINDS: Final[tuple[FaultKind, ...]] = (
    "500",
    "503",
    "timeout",
    "malformed_json",
    "truncated_body",
)

# Fixed, non-secret keys the demo uses when no real keys are configured.
DEMO_CREDENTIALS: Final[Mapping[str, str]] = {
    "spotify_client_id": "sandbox-spotify-client-id",
    "spotify_client_secret": "sandbox-spotify-client-secret",
    "ticketmaster_api_key": "sandbox-ticketmaster-api-key",
    "setlistfm_api_key": "sandbox-setlistfm-api-key",
}


def _utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True, kw_only=True)
class SandboxConfig:
    """Everything a sandbox needs; every field has a sensible default.

    Credentials left ``None`` come from ``settings`` when it carries them, else from
    ``DEMO_CREDENTIALS``. ``caps``: ``True`` enforces the real APIs' caps, the sandbox's own
    (``sandbox.caps.API_CAPS``; never the settings'), ``False`` lifts every cap, a mapping of
    ``ApiCaps`` enforces those instead (APIs missing from it are uncapped;
    ``sandbox.caps.scaled_caps`` gives the real ones faster). ``settings`` left ``None`` means
    the defaults of ``Settings`` (the environment is not read); the sandbox reads only
    credentials from it.
    """

    seed: int = 7
    artists: int = 500
    today: date = field(default_factory=_utc_today)
    settings: Settings | None = None
    spotify_client_id: str | None = None
    spotify_client_secret: str | None = None
    ticketmaster_api_key: str | None = None
    setlistfm_api_key: str | None = None
    spotify_tier: SpotifyTier = "extended"
    spotify_daily_quota: int | None = None  # Spotify requests served per day before QUOTA_EXCEEDED
    caps: bool | Mapping[str, ApiCaps] = True
    fault_rate: float = 0.0
    fault_kinds: tuple[FaultKind, ...] = ALL_FAULT_KINDS
    fault_seed: int | None = None  # None: derived from ``seed``
    faults_on_token: bool = False
    latency_seconds: float | tuple[float, float] = 0.0
    token_ttl_seconds: float = 3600.0
    clock: Clock | None = None  # None: the system monotonic clock
    calendar_follows_clock: bool = True  # False: the calendar moves only with ``advance()``
    hostile_rate: float = 0.0  # share of records (and of answers) served hostile
    hostile_answer_rate: float | None = None  # share of answers; None: ``hostile_rate``
    hostile_kinds: tuple[HostileKind, ...] = ALL_HOSTILE_KINDS
    hostile_seed: int | None = None  # None: derived from ``seed``
    horizon_days: int | None = None  # the world changes this long (None: timeline.HORIZON_DAYS)

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {self.fault_rate}")
        if self.fault_rate > 0 and not self.fault_kinds:
            raise ValueError("fault_rate > 0 needs at least one fault kind")
        unknown = set(self.fault_kinds) - set(ALL_FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        low, high = self.latency_range
        if low < 0 or high < low:
            raise ValueError(f"latency_seconds must be >= 0 (low <= high), got {low}, {high}")
        if self.horizon_days is not None and self.horizon_days < 1:
            raise ValueError(f"horizon_days must be at least 1, got {self.horizon_days}")
        if self.artists < 10:
            raise ValueError(f"a sandbox needs at least 10 artists, got {self.artists}")
        if self.spotify_daily_quota is not None and self.spotify_daily_quota < 0:
            raise ValueError("spotify_daily_quota must not be negative")
        if self.token_ttl_seconds <= 0:
            raise ValueError("token_ttl_seconds must be positive")
        for name in ("hostile_rate", "hostile_answer_rate"):
            rate = getattr(self, name)
            if rate is not None and not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        unknown_hostile = set(self.hostile_kinds) - set(ALL_HOSTILE_KINDS)
        if unknown_hostile:
            raise ValueError(f"unknown hostile kinds: {sorted(unknown_hostile)}")

    @property
    def latency_range(self) -> tuple[float, float]:
        if isinstance(self.latency_seconds, tuple):
            return (float(self.latency_seconds[0]), float(self.latency_seconds[1]))
        return (float(self.latency_seconds), float(self.latency_seconds))

    def effective_settings(self) -> Settings:
        """``settings``, or the defaults of ``Settings`` without reading the environment."""
        from settings import Settings

        if self.settings is not None:
            return self.settings
        return Settings.model_construct()

    def credential(self, name: str) -> str:
        """The credential the sandbox accepts for ``name`` (a ``DEMO_CREDENTIALS`` key)."""
        if name not in DEMO_CREDENTIALS:
            raise KeyError(name)
        explicit: str | None = getattr(self, name)
        if explicit:
            return explicit
        if self.settings is not None:
            secret = getattr(self.settings, name)
            if secret is not None and secret.get_secret_value():
                return str(secret.get_secret_value())
        return DEMO_CREDENTIALS[name]
