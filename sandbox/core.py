"""The sandbox's state: catalogue, calendar, clock, rate caps, access tokens, faults, stats."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Final, Literal

from clients.clock import Clock, SystemClock
from sandbox.caps import API_CAPS, ApiCaps
from sandbox.catalog import Catalog, base62, stable_hash
from sandbox.config import FaultKind, SandboxConfig
from sandbox.hostile import Hostility
from sandbox.limits import CalendarQuota, DailyQuota, RateGate, Refusal
from sandbox.stats import SandboxStats

if TYPE_CHECKING:
    from sandbox.truth import Truth

__all__ = ["SPOTIFY_ACCOUNTS", "Sandbox", "TokenState"]

SPOTIFY_ACCOUNTS: Final = "spotify_accounts"  # the token endpoint, counted apart from the API
TokenState = Literal["valid", "expired", "unknown"]


class Sandbox:
    """Everything the sandbox app serves from, on ``app.state.sandbox``.

    Two notions of time: the monotonic ``clock`` (rate caps, token expiry, latency) and the
    calendar instant ``now()`` (which setlists are published, which events are upcoming).
    ``now()`` starts at midnight UTC of ``config.today``, moves with the clock (unless
    ``config.calendar_follows_clock`` is off), and jumps forward with ``advance()``.
    """

    def __init__(self, config: SandboxConfig, *, catalog: Catalog | None = None) -> None:
        self.config = config
        self.clock: Clock = config.clock if config.clock is not None else SystemClock()
        if catalog is not None and (catalog.seed, catalog.size, catalog.today) != (
            config.seed,
            config.artists,
            config.today,
        ):
            raise ValueError("the catalogue was not built from this config's seed, size and date")
        if (
            catalog is not None
            and config.horizon_days is not None
            and catalog.horizon_days != config.horizon_days
        ):
            raise ValueError("the catalogue was not built with this config's horizon_days")
        self.catalog = (
            catalog
            if catalog is not None
            else Catalog(
                seed=config.seed,
                artists=config.artists,
                today=config.today,
                horizon_days=config.horizon_days,
            )
        )
        self.settings = config.effective_settings()
        self.stats = SandboxStats()
        self.caps, enforced = self._caps()
        self.gate = RateGate(
            {api: caps.buckets() for api, caps in self.caps.items()},
            enforced=enforced,
            clock=self.clock,
        )
        self.quotas = {
            api: CalendarQuota(caps.per_day, enforced=api in enforced)
            for api, caps in self.caps.items()
            if caps.per_day is not None
        }
        self._truth: Truth | None = None
        self._clock_origin = self.clock.now()
        self._calendar_offset = timedelta(0)
        self._tokens: dict[str, float] = {}
        self._issued = 0
        fault_seed = config.fault_seed if config.fault_seed is not None else config.seed
        self._fault_rng = random.Random(stable_hash(fault_seed, "faults"))
        self._latency_rng = random.Random(stable_hash(config.seed, "latency"))
        self._spotify_served: Counter[date] = Counter()
        hostile_seed = config.hostile_seed if config.hostile_seed is not None else config.seed
        self.hostility = Hostility(
            rate=config.hostile_rate,
            answer_rate=config.hostile_answer_rate,
            kinds=config.hostile_kinds,
            seed=hostile_seed,
        )

    def _caps(self) -> tuple[dict[str, ApiCaps], frozenset[str]]:
        """The caps of every API and the APIs they are enforced on: the sandbox's own
        (``API_CAPS``), lifted (``caps=False``: counted for Ticketmaster's headers, never
        refused) or replaced per API (a mapping; APIs missing from it are uncapped)."""
        chosen = self.config.caps
        caps = dict(API_CAPS)
        if chosen is True:
            return caps, frozenset(caps)
        if chosen is False:
            return caps, frozenset()
        caps.update(chosen)
        return caps, frozenset(chosen)

    @property
    def truth(self) -> Truth:
        """The world's truth (``sandbox.truth.Truth`` over this catalogue), made on first use."""
        if self._truth is None:
            from sandbox.truth import Truth

            self._truth = Truth(self.catalog)
        return self._truth

    # calendar -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The calendar instant (UTC)."""
        if not self.config.calendar_follows_clock:
            return self.catalog.origin + self._calendar_offset
        elapsed = timedelta(seconds=self.clock.now() - self._clock_origin)
        return self.catalog.origin + self._calendar_offset + elapsed

    def today(self) -> date:
        return self.now().date()

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        """Move the calendar forward (new and edited setlists appear); returns the new ``now()``.

        The monotonic clock (rate caps, token expiry) is not touched.
        """
        step = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if step < timedelta(0):
            raise ValueError("the sandbox calendar cannot go backwards")
        self._calendar_offset += step
        return self.now()

    def seconds_to_midnight(self) -> float:
        now = self.now()
        midnight = datetime.combine(now.date() + timedelta(days=1), time(0, 0), now.tzinfo)
        return (midnight - now).total_seconds()

    # caps ---------------------------------------------------------------------------------------

    def admit(self, api: str) -> Refusal | None:
        """Count one request to ``api`` against its caps, or refuse it (counting nothing)."""
        day = self.today()
        quota = self.config.spotify_daily_quota
        if api == "spotify" and quota is not None and self._spotify_served[day] >= quota:
            return Refusal(api=api, reason="quota", retry_after=self.seconds_to_midnight())
        daily = self.quotas.get(api)
        if daily is not None and daily.spent(day):
            return Refusal(api=api, reason="per_day", retry_after=self.seconds_to_midnight())
        refusal = self.gate.admit(api)
        if refusal is not None:
            return refusal
        if daily is not None:
            daily.count(day)
        if api == "spotify":
            self._spotify_served[day] += 1
        return None

    def daily_quota(self, api: str) -> DailyQuota | None:
        """``api``'s quota today: its limit and what is left of it."""
        daily = self.quotas.get(api)
        return daily.today(self.today()) if daily is not None else None

    # Spotify access tokens ------------------------------------------------------------------------

    def issue_token(self) -> str:
        """A new access token, valid for ``config.token_ttl_seconds`` of the clock."""
        self._issued += 1
        token = (
            "BQ"
            + base62(stable_hash(self.config.seed, "token", self._issued), 22)
            + base62(stable_hash(self.config.seed, "token-tail", self._issued), 22)
        )
        self._tokens[token] = self.clock.now() + self.config.token_ttl_seconds
        return token

    def token_state(self, token: str) -> TokenState:
        expires = self._tokens.get(token)
        if expires is None:
            return "unknown"
        return "valid" if self.clock.now() < expires else "expired"

    @property
    def tokens_issued(self) -> int:
        return self._issued

    # faults and latency ---------------------------------------------------------------------------

    def decide_fault(self) -> FaultKind | None:
        """One draw per request: a fault kind with probability ``fault_rate``, else None."""
        rate = self.config.fault_rate
        if rate <= 0.0:
            return None
        if self._fault_rng.random() >= rate:
            return None
        return self._fault_rng.choice(self.config.fault_kinds)

    async def delay(self) -> None:
        """Sleep the configured latency on the sandbox clock."""
        low, high = self.config.latency_range
        if high <= 0.0:
            return
        seconds = low if low == high else self._latency_rng.uniform(low, high)
        await self.clock.sleep(seconds)
