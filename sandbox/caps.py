"""The real APIs' rate caps, written from their documentation (docs/upstream-apis.md).

These are the sandbox's own figures, never derived from the clients' settings or from
``clients.ratelimit.rate_caps``: the sandbox checks the clients, so a wrong cap in the clients
must be refused here, not copied (tests/sandbox/test_caps.py proves the clients' defaults equal
these). Short caps (per second, per minute) are token buckets whose burst is one period's worth;
daily quotas are counted per calendar day (UTC, on the sandbox's calendar) and reset at
midnight, as a quota is, not refilled continuously (a refilling bucket lets through up to twice
the quota in 24 hours).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final

from clients.ratelimit import Bucket

__all__ = ["API_CAPS", "ApiCaps", "scaled_caps"]


@dataclass(frozen=True, slots=True)
class ApiCaps:
    """One API's caps: requests per second, per minute, per calendar day (None: no such cap)."""

    per_second: float | None = None
    per_minute: float | None = None
    per_day: int | None = None

    def __post_init__(self) -> None:
        for name in ("per_second", "per_minute", "per_day"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")

    def buckets(self) -> list[Bucket]:
        """The short caps as token buckets: a full period's worth, refilled continuously."""
        out = []
        if self.per_second is not None:
            out.append(Bucket(self.per_second, self.per_second))
        if self.per_minute is not None:
            out.append(Bucket(self.per_minute, self.per_minute / 60.0))
        return out

    def scaled(self, factor: float) -> ApiCaps:
        """The short caps ``factor`` times faster; the daily quota unchanged (for tests that
        prove pacing without waiting minutes)."""
        return replace(
            self,
            per_second=self.per_second * factor if self.per_second is not None else None,
            per_minute=self.per_minute * factor if self.per_minute is not None else None,
        )


#: Spotify: the product's own cap (Spotify's rolling 30 s window is not published).
#: Ticketmaster: 5 requests a second and 5,000 a day. setlist.fm (standard key): 2 a second and
#: 1,440 a day.
API_CAPS: Final[Mapping[str, ApiCaps]] = MappingProxyType(
    {
        "spotify": ApiCaps(per_minute=180),
        "ticketmaster": ApiCaps(per_second=5, per_day=5000),
        "setlistfm": ApiCaps(per_second=2, per_day=1440),
    }
)


def scaled_caps(factor: float) -> dict[str, ApiCaps]:
    """Every API's caps with the short ones ``factor`` times faster (daily quotas unchanged)."""
    return {api: caps.scaled(factor) for api, caps in API_CAPS.items()}
