"""The upstream clients a flow run talks through, built from the settings.

Every request of every client takes the run's rate limiter first (leased from our database
in flows, ``tasks/leases.py``). Tests and the demo can hand in an ``httpx.AsyncClient``
factory (for instance one wired to the in-process sandbox) with ``use_http_factory``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass

import httpx

from clients.errors import MalformedRecord, redact
from clients.ratelimit import RateLimiter
from clients.setlistfm import SetlistFmClient
from clients.spotify import SpotifyClient
from clients.ticketmaster import TicketmasterClient
from settings import Settings

__all__ = [
    "MissingCredentials",
    "Upstream",
    "check_credentials",
    "has_credentials",
    "open_upstream",
    "use_http_factory",
]

HttpFactory = Callable[[], httpx.AsyncClient]
_http_factory: list[HttpFactory] = []

_REQUIRED = {
    "spotify": ("spotify_client_id", "spotify_client_secret"),
    "ticketmaster": ("ticketmaster_api_key",),
    "setlistfm": ("setlistfm_api_key",),
}


class MissingCredentials(RuntimeError):
    """A flow needs an API whose credentials are not configured."""


@contextmanager
def use_http_factory(factory: HttpFactory) -> Iterator[None]:
    """Within the block, clients send through ``factory()``'s client instead of their own."""
    _http_factory.append(factory)
    try:
        yield
    finally:
        _http_factory.remove(factory)


@dataclass
class Upstream:
    spotify: SpotifyClient | None = None
    ticketmaster: TicketmasterClient | None = None
    setlistfm: SetlistFmClient | None = None
    scope: str = ""
    secrets: tuple[str, ...] = ()

    def redact(self, text: str) -> str:
        """``text`` without the run's secrets and without any ``apikey=`` value."""
        return redact(text, self.secrets)

    def require_spotify(self) -> SpotifyClient:
        if self.spotify is None:
            raise MissingCredentials("Spotify is not configured for this run")
        return self.spotify

    def require_ticketmaster(self) -> TicketmasterClient:
        if self.ticketmaster is None:
            raise MissingCredentials("Ticketmaster is not configured for this run")
        return self.ticketmaster

    def require_setlistfm(self) -> SetlistFmClient:
        if self.setlistfm is None:
            raise MissingCredentials("setlist.fm is not configured for this run")
        return self.setlistfm

    def take_malformed(self) -> list[MalformedRecord]:
        """Every record the clients refused since the last call (validation failed), oldest
        first; the clients forget them, so each is handed out once."""
        taken: list[MalformedRecord] = []
        for client in (self.spotify, self.ticketmaster, self.setlistfm):
            if client is not None:
                taken.extend(client.malformed_records)
                client.malformed_records.clear()
        return taken

    def request_counts(self) -> dict[str, int]:
        """Requests sent per API in this run (for the run's counts)."""
        counts: dict[str, int] = {}
        for name, client in (
            ("spotify", self.spotify),
            ("ticketmaster", self.ticketmaster),
            ("setlistfm", self.setlistfm),
        ):
            if client is not None:
                counts[f"requests_{name}"] = client.stats.attempts
        return counts


def has_credentials(settings: Settings, api: str) -> bool:
    """Whether every credential ``api`` needs is set (not empty)."""
    return all(
        (secret := getattr(settings, field)) and secret.get_secret_value()
        for field in _REQUIRED[api]
    )


def check_credentials(settings: Settings, apis: Iterable[str]) -> None:
    """Fail before any work when an API the flow needs has no credentials, naming the variable."""
    missing = [
        field.upper()
        for api in apis
        for field in _REQUIRED[api]
        if not (secret := getattr(settings, field)) or not secret.get_secret_value()
    ]
    if missing:
        raise MissingCredentials(
            f"missing settings: {', '.join(missing)} (set them in the environment or .env; "
            "`make run` uses the offline sandbox when no API keys are set)"
        )


@asynccontextmanager
async def open_upstream(
    settings: Settings, *, apis: Iterable[str], limiter: RateLimiter
) -> AsyncIterator[Upstream]:
    """Clients for ``apis``, closed when the block ends."""
    wanted = set(apis)
    check_credentials(settings, wanted)
    factory = _http_factory[-1] if _http_factory else None
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(factory()) if factory is not None else None
        upstream = Upstream(
            scope="|".join(
                (
                    settings.spotify_api_url,
                    settings.ticketmaster_api_url,
                    settings.setlistfm_api_url,
                )
            ),
            secrets=tuple(settings.secret_values()),
        )
        if "spotify" in wanted:
            upstream.spotify = await stack.enter_async_context(
                SpotifyClient.from_settings(settings, http=http, limiter=limiter)
            )
        if "ticketmaster" in wanted:
            upstream.ticketmaster = await stack.enter_async_context(
                TicketmasterClient.from_settings(settings, http=http, limiter=limiter)
            )
        if "setlistfm" in wanted:
            upstream.setlistfm = await stack.enter_async_context(
                SetlistFmClient.from_settings(settings, http=http, limiter=limiter)
            )
        yield upstream
