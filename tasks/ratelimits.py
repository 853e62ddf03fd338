"""The API rate caps as Prefect global concurrency limits, and the set-up that creates them.

``limit_specs`` derives one limit per bucket of ``clients.ratelimit.rate_caps``;
``ensure_limits`` creates or updates them (``mysetlist setup``); flows call ``require_limits``
first and then hand a ``PrefectRateLimiter`` to the clients, so every request takes a slot from
every limit of its API (per day, then per second).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from clients.clock import Clock, SystemClock
from clients.ratelimit import SECONDS_PER_DAY, Bucket, TokenBucketLimiter, rate_caps

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

    from settings import Settings

__all__ = [
    "LIMIT_PREFIX",
    "LimitSpec",
    "MissingRateLimits",
    "PrefectRateLimiter",
    "client_or_default",
    "ensure_limits",
    "ensure_work_pool",
    "limit_names",
    "limit_specs",
    "missing_limits",
    "require_limits",
]

LIMIT_PREFIX: Final = "mysetlist"
Outcome = Literal["created", "updated", "unchanged"]

_PERIOD_WORDS: Final[dict[float, str]] = {
    1.0: "second",
    60.0: "minute",
    3600.0: "hour",
    SECONDS_PER_DAY: "day",
}
# Relative tolerance when comparing decay rates read back from the server (stored as floats).
_DECAY_TOLERANCE: Final = 1e-9


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """One Prefect global concurrency limit: ``limit`` slots, ``slot_decay_per_second`` refill."""

    name: str
    api: str
    limit: int
    slot_decay_per_second: float


def _period_word(period_seconds: float) -> str:
    for seconds, word in _PERIOD_WORDS.items():
        if abs(period_seconds - seconds) <= seconds * 1e-9:
            return word
    return f"{period_seconds:g}-seconds"


def limit_specs(settings: Settings) -> list[LimitSpec]:
    """One limit per bucket of ``rate_caps(settings)``, named ``mysetlist-<api>-per-<period>``.

    The period is the time a full bucket takes to refill (capacity / refill rate).
    """
    specs: list[LimitSpec] = []
    for api, buckets in rate_caps(settings).items():
        for bucket in buckets:
            period = _period_word(bucket.capacity / bucket.refill_per_second)
            specs.append(
                LimitSpec(
                    name=f"{LIMIT_PREFIX}-{api}-per-{period}",
                    api=api,
                    limit=max(1, int(bucket.capacity)),
                    slot_decay_per_second=bucket.refill_per_second,
                )
            )
    return specs


def limit_names(settings: Settings, api: str) -> list[str]:
    """The names of every limit of ``api`` (raises ``ValueError`` for an unknown api)."""
    names = [spec.name for spec in limit_specs(settings) if spec.api == api]
    if not names:
        raise ValueError(f"no rate cap configured for api {api!r}")
    return names


class MissingRateLimits(RuntimeError):
    """The Prefect server lacks some of the rate-limit definitions (run ``mysetlist setup``)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(names)
        super().__init__(
            "missing or inactive Prefect global concurrency limits: "
            f"{', '.join(self.names)}; run `mysetlist setup` to create them"
        )


class PrefectRateLimiter:
    """``clients.ratelimit.RateLimiter`` backed by Prefect global concurrency limits.

    ``acquire(api)`` takes one slot from every limit of ``api`` (``strict=True``), one limit at a
    time, the longest period first (per day, then per second). One ``rate_limit`` call with the
    whole list would be atomic, but Prefect 3.9 records a denial on every listed limit and
    computes the 423 ``Retry-After`` from the one with the most denials, so a per-second denial
    is retried at the per-day pace (one slot a minute for setlist.fm): measured, 12 setlist.fm
    acquisitions by 4 workers took 303 s in one call and 9 s one limit at a time.

    Before asking Prefect, each process paces its own requests to an api at ``pace_factor``
    (default 0.9) of its fastest limit's rate, without bursts. Prefect's server frees a slot only
    when a whole ``1 / rate`` has passed since the limit's last update, so requests arriving
    closer together are denied and retried after a jittered wait; paced slightly under the rate
    they are not (measured at 2/s, 30 acquisitions by 8 workers, three runs each: 20.5-24.9 s
    unpaced, 16.5-19.1 s paced, 16.1 s the paced ideal).
    The Prefect limits still hold the caps across processes. ``pace_factor=None`` turns pacing
    off.

    Prefect's ``strict`` only raises when *none* of the listed limits exists, so the first
    ``acquire`` of each api also checks that every one of its limits exists and is active
    (``MissingRateLimits`` otherwise).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        timeout_seconds: float | None = None,
        pace_factor: float | None = 0.9,
        clock: Clock | None = None,
    ) -> None:
        if pace_factor is not None and not 0 < pace_factor <= 1:
            raise ValueError(f"pace_factor must be in (0, 1], got {pace_factor}")
        grouped = _group_by_api(limit_specs(settings))
        self._settings = settings
        self._names = {
            api: [
                spec.name
                for spec in sorted(specs, key=lambda spec: spec.slot_decay_per_second / spec.limit)
            ]
            for api, specs in grouped.items()
        }
        self._pace = (
            TokenBucketLimiter(
                {
                    api: [Bucket(1, pace_factor * max(s.slot_decay_per_second for s in specs))]
                    for api, specs in grouped.items()
                },
                clock if clock is not None else SystemClock(),
            )
            if pace_factor is not None
            else None
        )
        self._timeout_seconds = timeout_seconds
        self._verified: set[str] = set()

    def names(self, api: str) -> list[str]:
        """The limit names ``acquire(api)`` takes a slot from, in the order it takes them."""
        try:
            return list(self._names[api])
        except KeyError:
            raise ValueError(f"no rate cap configured for api {api!r}") from None

    async def acquire(self, api: str) -> None:
        from prefect.concurrency.asyncio import rate_limit

        names = self.names(api)
        if api not in self._verified:
            await require_limits(self._settings, [api])
            self._verified.add(api)
        if self._pace is not None:
            await self._pace.acquire(api)
        for name in names:
            await rate_limit(name, timeout_seconds=self._timeout_seconds, strict=True)


def _group_by_api(specs: Iterable[LimitSpec]) -> dict[str, list[LimitSpec]]:
    grouped: dict[str, list[LimitSpec]] = {}
    for spec in specs:
        grouped.setdefault(spec.api, []).append(spec)
    return grouped


@asynccontextmanager
async def client_or_default(client: PrefectClient | None) -> AsyncIterator[PrefectClient]:
    """``client`` itself, or a new ``get_client()`` closed at the end of the block."""
    if client is not None:
        yield client
        return
    from prefect.client.orchestration import get_client

    async with get_client() as owned:
        yield owned


async def _read_limit(client: PrefectClient, name: str) -> Any | None:
    from prefect.exceptions import ObjectNotFound

    try:
        return await client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        return None


def _matches(existing: Any, spec: LimitSpec) -> bool:
    decay = float(existing.slot_decay_per_second or 0.0)
    return (
        bool(existing.active)
        and int(existing.limit) == spec.limit
        and abs(decay - spec.slot_decay_per_second)
        <= _DECAY_TOLERANCE * max(1.0, spec.slot_decay_per_second)
    )


async def ensure_limits(
    settings: Settings, *, client: PrefectClient | None = None
) -> list[tuple[str, Outcome]]:
    """Create or update every rate-limit definition; returns ``(name, outcome)`` per limit."""
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )

    results: list[tuple[str, Outcome]] = []
    async with client_or_default(client) as prefect_client:
        for spec in limit_specs(settings):
            existing = await _read_limit(prefect_client, spec.name)
            if existing is None:
                await prefect_client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(
                        name=spec.name,
                        limit=spec.limit,
                        active=True,
                        slot_decay_per_second=spec.slot_decay_per_second,
                    )
                )
                results.append((spec.name, "created"))
            elif _matches(existing, spec):
                results.append((spec.name, "unchanged"))
            else:
                await prefect_client.update_global_concurrency_limit(
                    spec.name,
                    GlobalConcurrencyLimitUpdate(
                        limit=spec.limit,
                        active=True,
                        slot_decay_per_second=spec.slot_decay_per_second,
                    ),
                )
                results.append((spec.name, "updated"))
    return results


async def ensure_work_pool(name: str, *, client: PrefectClient | None = None) -> str:
    """Create the process work pool ``name`` unless it exists: ``created`` or ``unchanged``.

    An existing pool of another type is an error (a process worker could not run it).
    """
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    async with client_or_default(client) as prefect_client:
        try:
            pool = await prefect_client.read_work_pool(name)
        except ObjectNotFound:
            await prefect_client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type="process",
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                    description="MySetlist sync flows, run by `prefect worker start`.",
                )
            )
            return "created"
    if pool.type != "process":
        raise RuntimeError(f"work pool {name!r} exists with type {pool.type!r}, expected 'process'")
    return "unchanged"


async def missing_limits(
    settings: Settings, apis: Iterable[str], *, client: PrefectClient | None = None
) -> list[str]:
    """Names of the limits of ``apis`` that are absent or inactive on the Prefect server."""
    wanted = [name for api in apis for name in limit_names(settings, api)]
    missing: list[str] = []
    async with client_or_default(client) as prefect_client:
        for name in wanted:
            existing = await _read_limit(prefect_client, name)
            if existing is None or not existing.active:
                missing.append(name)
    return missing


async def require_limits(
    settings: Settings, apis: Iterable[str], *, client: PrefectClient | None = None
) -> None:
    """Raise ``MissingRateLimits`` unless every limit of ``apis`` exists and is active."""
    missing = await missing_limits(settings, apis, client=client)
    if missing:
        raise MissingRateLimits(missing)
