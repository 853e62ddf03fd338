"""The API rate caps as Prefect global concurrency limits, against the session's Prefect server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate, WorkPoolCreate
from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError, rate_limit

from clients.clock import VirtualClock
from clients.ratelimit import RateLimiter
from settings import Settings
from tasks.ratelimits import (
    LimitSpec,
    MissingRateLimits,
    PrefectRateLimiter,
    ensure_limits,
    ensure_work_pool,
    limit_names,
    limit_specs,
    missing_limits,
    require_limits,
)

ALL_NAMES = [
    "mysetlist-spotify-per-minute",
    "mysetlist-ticketmaster-per-second",
    "mysetlist-ticketmaster-per-day",
    "mysetlist-setlistfm-per-second",
    "mysetlist-setlistfm-per-day",
]


# --- pure derivation -------------------------------------------------------------------------


def test_limit_specs_follow_the_default_rate_caps() -> None:
    assert limit_specs(Settings()) == [
        LimitSpec("mysetlist-spotify-per-minute", "spotify", 180, 3.0),
        LimitSpec("mysetlist-ticketmaster-per-second", "ticketmaster", 5, 5.0),
        LimitSpec("mysetlist-ticketmaster-per-day", "ticketmaster", 5000, 5000 / 86400),
        LimitSpec("mysetlist-setlistfm-per-second", "setlistfm", 2, 2.0),
        LimitSpec("mysetlist-setlistfm-per-day", "setlistfm", 1440, 1440 / 86400),
    ]


def test_limit_specs_follow_changed_settings_and_keep_the_period_names() -> None:
    settings = Settings(
        spotify_requests_per_minute=120,
        setlistfm_requests_per_second=16.0,
        setlistfm_requests_per_day=50000,
    )
    specs = {spec.name: spec for spec in limit_specs(settings)}
    assert list(specs) == ALL_NAMES
    assert specs["mysetlist-spotify-per-minute"] == LimitSpec(
        "mysetlist-spotify-per-minute", "spotify", 120, 2.0
    )
    assert specs["mysetlist-setlistfm-per-second"] == LimitSpec(
        "mysetlist-setlistfm-per-second", "setlistfm", 16, 16.0
    )
    assert specs["mysetlist-setlistfm-per-day"] == LimitSpec(
        "mysetlist-setlistfm-per-day", "setlistfm", 50000, 50000 / 86400
    )


def test_limit_names_of_an_api_cover_every_bucket() -> None:
    settings = Settings()
    assert limit_names(settings, "ticketmaster") == [
        "mysetlist-ticketmaster-per-second",
        "mysetlist-ticketmaster-per-day",
    ]
    assert PrefectRateLimiter(settings).names("setlistfm") == [
        "mysetlist-setlistfm-per-day",
        "mysetlist-setlistfm-per-second",
    ]


async def test_acquire_takes_the_limits_one_at_a_time_longest_period_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import prefect.concurrency.asyncio

    import tasks.ratelimits

    calls: list[tuple[object, bool, float | None]] = []
    checked: list[list[str]] = []

    async def fake_rate_limit(
        names: object, occupy: int = 1, timeout_seconds: float | None = None, strict: bool = False
    ) -> None:
        calls.append((names, strict, timeout_seconds))

    async def fake_require(settings: Settings, apis: list[str]) -> None:
        checked.append(list(apis))

    monkeypatch.setattr(prefect.concurrency.asyncio, "rate_limit", fake_rate_limit)
    monkeypatch.setattr(tasks.ratelimits, "require_limits", fake_require)
    limiter = PrefectRateLimiter(Settings(), timeout_seconds=30.0, pace_factor=None)

    await limiter.acquire("ticketmaster")
    await limiter.acquire("ticketmaster")
    await limiter.acquire("spotify")

    assert calls == [
        ("mysetlist-ticketmaster-per-day", True, 30.0),
        ("mysetlist-ticketmaster-per-second", True, 30.0),
        ("mysetlist-ticketmaster-per-day", True, 30.0),
        ("mysetlist-ticketmaster-per-second", True, 30.0),
        ("mysetlist-spotify-per-minute", True, 30.0),
    ]
    assert checked == [["ticketmaster"], ["spotify"]]


async def test_acquire_paces_each_api_just_under_its_fastest_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import prefect.concurrency.asyncio

    import tasks.ratelimits

    clock = VirtualClock()
    taken: list[tuple[float, object]] = []

    async def fake_rate_limit(names: object, **options: object) -> None:
        taken.append((clock.now(), names))

    async def fake_require(settings: Settings, apis: list[str]) -> None:
        return None

    monkeypatch.setattr(prefect.concurrency.asyncio, "rate_limit", fake_rate_limit)
    monkeypatch.setattr(tasks.ratelimits, "require_limits", fake_require)
    limiter = PrefectRateLimiter(Settings(), clock=clock)  # pace_factor 0.9

    for _ in range(3):
        await limiter.acquire("setlistfm")  # 2/s -> one every 1 / 1.8 s, no burst
    await limiter.acquire("spotify")  # another api: its own pace, no wait

    second = 1 / 1.8
    assert taken == [
        (0.0, "mysetlist-setlistfm-per-day"),
        (0.0, "mysetlist-setlistfm-per-second"),
        (pytest.approx(second), "mysetlist-setlistfm-per-day"),
        (pytest.approx(second), "mysetlist-setlistfm-per-second"),
        (pytest.approx(2 * second), "mysetlist-setlistfm-per-day"),
        (pytest.approx(2 * second), "mysetlist-setlistfm-per-second"),
        (pytest.approx(2 * second), "mysetlist-spotify-per-minute"),
    ]


@pytest.mark.parametrize("factor", [0.0, -0.5, 1.5])
def test_pace_factor_must_be_a_fraction_of_the_rate(factor: float) -> None:
    with pytest.raises(ValueError, match="pace_factor must be in"):
        PrefectRateLimiter(Settings(), pace_factor=factor)


def test_unknown_api_is_rejected() -> None:
    with pytest.raises(ValueError, match="no rate cap configured for api 'lastfm'"):
        limit_names(Settings(), "lastfm")
    with pytest.raises(ValueError, match="no rate cap configured for api 'lastfm'"):
        PrefectRateLimiter(Settings()).names("lastfm")


def test_prefect_rate_limiter_is_a_client_rate_limiter() -> None:
    assert isinstance(PrefectRateLimiter(Settings()), RateLimiter)


def test_missing_rate_limits_message_names_the_limits_and_the_setup_command() -> None:
    error = MissingRateLimits(["mysetlist-spotify-per-minute", "mysetlist-setlistfm-per-day"])
    assert error.names == ["mysetlist-spotify-per-minute", "mysetlist-setlistfm-per-day"]
    assert str(error) == (
        "missing or inactive Prefect global concurrency limits: "
        "mysetlist-spotify-per-minute, mysetlist-setlistfm-per-day; "
        "run `mysetlist setup` to create them"
    )


# --- against the Prefect server ----------------------------------------------------------------


@pytest.mark.prefect
@pytest.mark.usefixtures("clean_limits")
async def test_ensure_limits_creates_every_limit_then_leaves_them_unchanged() -> None:
    settings = Settings()
    assert await ensure_limits(settings) == [(name, "created") for name in ALL_NAMES]
    assert await ensure_limits(settings) == [(name, "unchanged") for name in ALL_NAMES]

    async with get_client() as client:
        stored = {
            name: await client.read_global_concurrency_limit_by_name(name) for name in ALL_NAMES
        }
    assert {name: (s.limit, s.active) for name, s in stored.items()} == {
        "mysetlist-spotify-per-minute": (180, True),
        "mysetlist-ticketmaster-per-second": (5, True),
        "mysetlist-ticketmaster-per-day": (5000, True),
        "mysetlist-setlistfm-per-second": (2, True),
        "mysetlist-setlistfm-per-day": (1440, True),
    }
    assert stored["mysetlist-spotify-per-minute"].slot_decay_per_second == 3.0
    assert stored["mysetlist-setlistfm-per-day"].slot_decay_per_second == pytest.approx(
        1440 / 86400, rel=1e-12
    )


@pytest.mark.prefect
@pytest.mark.usefixtures("clean_limits")
async def test_ensure_limits_updates_only_the_limits_whose_setting_changed() -> None:
    await ensure_limits(Settings())
    changed = Settings(setlistfm_requests_per_second=16.0, setlistfm_requests_per_day=50000)

    assert await ensure_limits(changed) == [
        ("mysetlist-spotify-per-minute", "unchanged"),
        ("mysetlist-ticketmaster-per-second", "unchanged"),
        ("mysetlist-ticketmaster-per-day", "unchanged"),
        ("mysetlist-setlistfm-per-second", "updated"),
        ("mysetlist-setlistfm-per-day", "updated"),
    ]
    async with get_client() as client:
        per_second = await client.read_global_concurrency_limit_by_name(
            "mysetlist-setlistfm-per-second"
        )
        per_day = await client.read_global_concurrency_limit_by_name("mysetlist-setlistfm-per-day")
    assert (per_second.limit, per_second.slot_decay_per_second) == (16, 16.0)
    assert per_day.limit == 50000
    assert per_day.slot_decay_per_second == pytest.approx(50000 / 86400, rel=1e-12)


@pytest.mark.prefect
@pytest.mark.usefixtures("clean_limits")
async def test_ensure_limits_reactivates_an_inactive_limit() -> None:
    settings = Settings()
    await ensure_limits(settings)
    async with get_client() as client:
        await client.update_global_concurrency_limit(
            "mysetlist-spotify-per-minute", GlobalConcurrencyLimitUpdate(active=False)
        )
    assert await missing_limits(settings, ["spotify"]) == ["mysetlist-spotify-per-minute"]

    outcome = dict(await ensure_limits(settings))

    assert outcome["mysetlist-spotify-per-minute"] == "updated"
    assert await missing_limits(settings, ["spotify"]) == []


@pytest.mark.prefect
@pytest.mark.usefixtures("clean_limits")
async def test_require_limits_raises_naming_the_missing_limits_and_mysetlist_setup() -> None:
    settings = Settings()
    with pytest.raises(MissingRateLimits, match="run `mysetlist setup`") as caught:
        await require_limits(settings, ["ticketmaster", "setlistfm"])
    assert caught.value.names == [
        "mysetlist-ticketmaster-per-second",
        "mysetlist-ticketmaster-per-day",
        "mysetlist-setlistfm-per-second",
        "mysetlist-setlistfm-per-day",
    ]


@pytest.mark.prefect
@pytest.mark.usefixtures("clean_limits")
async def test_require_limits_passes_once_set_up_and_checks_only_the_named_apis() -> None:
    settings = Settings()
    await ensure_limits(settings)
    await require_limits(settings, ["spotify", "ticketmaster", "setlistfm"])

    async with get_client() as client:
        await client.delete_global_concurrency_limit_by_name("mysetlist-setlistfm-per-day")
    await require_limits(settings, ["spotify", "ticketmaster"])
    with pytest.raises(MissingRateLimits) as caught:
        await require_limits(settings, ["setlistfm"])
    assert caught.value.names == ["mysetlist-setlistfm-per-day"]


async def _slow_down(name: str, *, limit: int | None = None) -> None:
    """Make ``name`` refill one slot every ~11.6 days, so taken slots stay visible."""
    update = GlobalConcurrencyLimitUpdate(slot_decay_per_second=0.000001)
    if limit is not None:
        update.limit = limit
    async with get_client() as client:
        await client.update_global_concurrency_limit(name, update)


async def _active_slots(name: str) -> int:
    async with get_client() as client:
        return int((await client.read_global_concurrency_limit_by_name(name)).active_slots)


@pytest.mark.prefect
@pytest.mark.usefixtures("clean_limits")
async def test_prefect_rate_limiter_takes_one_slot_from_every_limit_of_that_api_only() -> None:
    settings = Settings()
    await ensure_limits(settings)
    for name in ALL_NAMES:
        await _slow_down(name)

    await PrefectRateLimiter(settings).acquire("ticketmaster")

    assert {name: await _active_slots(name) for name in ALL_NAMES} == {
        "mysetlist-spotify-per-minute": 0,
        "mysetlist-ticketmaster-per-second": 1,
        "mysetlist-ticketmaster-per-day": 1,
        "mysetlist-setlistfm-per-second": 0,
        "mysetlist-setlistfm-per-day": 0,
    }


@pytest.mark.prefect
@pytest.mark.usefixtures("clean_limits")
async def test_prefect_rate_limiter_refuses_when_one_limit_of_the_api_is_missing() -> None:
    settings = Settings()
    await ensure_limits(settings)
    async with get_client() as client:
        await client.delete_global_concurrency_limit_by_name("mysetlist-ticketmaster-per-day")

    with pytest.raises(MissingRateLimits) as caught:
        await PrefectRateLimiter(settings).acquire("ticketmaster")
    assert caught.value.names == ["mysetlist-ticketmaster-per-day"]


@pytest.mark.prefect
@pytest.mark.usefixtures("clean_limits")
async def test_prefect_strict_rate_limit_raises_when_no_limit_exists() -> None:
    # The guard below ``PrefectRateLimiter``'s own check: a call with no limit at all fails.
    with pytest.raises(ConcurrencySlotAcquisitionError, match="must be created"):
        await rate_limit(["mysetlist-spotify-per-minute"], strict=True)


@pytest.mark.prefect
@pytest.mark.usefixtures("clean_limits")
async def test_prefect_rate_limiter_waits_instead_of_failing_when_a_limit_is_full() -> None:
    settings = Settings()
    await ensure_limits(settings)
    await _slow_down("mysetlist-spotify-per-minute", limit=1)
    limiter = PrefectRateLimiter(settings, timeout_seconds=1.0, pace_factor=None)
    await limiter.acquire("spotify")

    # The only slot is taken and refills in days: the acquire waits until its timeout.
    with pytest.raises(TimeoutError):
        await limiter.acquire("spotify")
    await limiter.acquire("setlistfm")
    assert await _active_slots("mysetlist-spotify-per-minute") == 1


# --- work pool ----------------------------------------------------------------------------------


@pytest.fixture
async def no_pool(prefect_harness: str) -> AsyncIterator[str]:
    name = "mysetlist-test-pool"
    async with get_client() as client:
        pools = {pool.name for pool in await client.read_work_pools()}
        if name in pools:
            await client.delete_work_pool(name)
    yield name
    async with get_client() as client:
        await client.delete_work_pool(name)


@pytest.mark.prefect
async def test_ensure_work_pool_creates_a_process_pool_once(no_pool: str) -> None:
    assert await ensure_work_pool(no_pool) == "created"
    assert await ensure_work_pool(no_pool) == "unchanged"
    async with get_client() as client:
        pool = await client.read_work_pool(no_pool)
    assert pool.type == "process"
    assert "command" in pool.base_job_template["variables"]["properties"]


@pytest.mark.prefect
async def test_ensure_work_pool_refuses_a_pool_of_another_type(no_pool: str) -> None:
    async with get_client() as client:
        await client.create_work_pool(
            WorkPoolCreate(name=no_pool, type="docker", base_job_template={})
        )
    with pytest.raises(RuntimeError, match="exists with type 'docker', expected 'process'"):
        await ensure_work_pool(no_pool)
