"""Upstream API clients (Spotify, Ticketmaster, setlist.fm) over one shared transport.

No Prefect and no database here: httpx and pydantic only.
"""

from __future__ import annotations

from clients._transport import RateLimitStatus, RequestStats, parse_retry_after
from clients.clock import Clock, SystemClock, VirtualClock
from clients.errors import (
    AuthError,
    BadRequest,
    EndpointUnavailable,
    MalformedRecord,
    NotFound,
    QuotaExhausted,
    RetriesExhausted,
    UpstreamError,
    redact,
)
from clients.ratelimit import (
    API_NAMES,
    Bucket,
    NoLimiter,
    RateLimiter,
    TokenBucketLimiter,
    rate_caps,
)
from clients.setlistfm import SetlistFmClient, SetlistPage
from clients.spotify import SpotifyCapabilities, SpotifyClient
from clients.ticketmaster import EventPage, TicketmasterClient

__all__ = [
    "API_NAMES",
    "AuthError",
    "BadRequest",
    "Bucket",
    "Clock",
    "EndpointUnavailable",
    "EventPage",
    "MalformedRecord",
    "NoLimiter",
    "NotFound",
    "QuotaExhausted",
    "RateLimitStatus",
    "RateLimiter",
    "RequestStats",
    "RetriesExhausted",
    "SetlistFmClient",
    "SetlistPage",
    "SpotifyCapabilities",
    "SpotifyClient",
    "SystemClock",
    "TicketmasterClient",
    "TokenBucketLimiter",
    "UpstreamError",
    "VirtualClock",
    "parse_retry_after",
    "rate_caps",
    "redact",
]
