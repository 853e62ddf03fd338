"""The flows stay inside every cap through the limits leased from the database, reuse cached reads,
and never leak a key into what they record."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from flows._runs import RunFailed
from flows.autonomous_sync import autonomous_sync
from flows.master_sync import master_sync
from models.tables import SyncError, SyncRun
from sandbox.caps import scaled_caps
from sandbox.core import Sandbox
from sandbox.server import DEMO_CREDENTIALS
from tests.flows.conftest import SyncWorld, failing_when, ledger

pytestmark = pytest.mark.prefect

StartSandbox = Callable[..., Sandbox]

# The product caps scaled up tenfold, identically for the leased limits and the sandbox, so the
# test proves the mechanism without waiting minutes for 2 requests a second.
SCALED_CAPS = {
    "RATE_LIMITER": "lease",
    "SPOTIFY_REQUESTS_PER_MINUTE": "1800",
    "TICKETMASTER_REQUESTS_PER_SECOND": "50",
    "TICKETMASTER_REQUESTS_PER_DAY": "5000",
    "SETLISTFM_REQUESTS_PER_SECOND": "20",
    "SETLISTFM_REQUESTS_PER_DAY": "1440",
}


async def test_a_sync_of_100_artists_never_exceeds_a_cap(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    world.configure(**SCALED_CAPS)
    sandbox = use_sandbox(artists=300, caps=scaled_caps(10))

    discovered = await autonomous_sync(mode="discovery", limit=100)
    synced = await autonomous_sync(mode="sync", limit=100)
    mastered = await master_sync(mode="daily", limit=30)

    stats = sandbox.stats.as_dict()
    assert discovered["artists_added"] == 100
    assert synced["artists_synced"] == 100
    assert mastered["artists_synced"] == 30
    assert stats["totals"]["ticketmaster"] >= 151  # 21 markets + 100 + 30 artists
    assert stats["totals"]["setlistfm"] >= 30
    assert stats["totals"]["spotify"] >= 1
    assert stats["over_cap"] == {}
    assert stats["refusals"] == {}


async def test_a_second_run_within_the_cache_expiry_reads_nothing_again(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    world.configure(CACHE_TTL_TICKETMASTER_MINUTES="30")
    sandbox = use_sandbox()
    first = await autonomous_sync(mode="discovery", limit=5)
    sent = sandbox.stats.total("ticketmaster")
    second = await autonomous_sync(mode="discovery", limit=5)
    assert sent == first["requests_ticketmaster"] == 21
    assert sandbox.stats.total("ticketmaster") == sent
    assert second.get("requests_ticketmaster", 0) == 0
    assert second["artists_added"] == 5


async def test_no_key_reaches_the_ledger_or_the_error_table(
    world: SyncWorld, use_sandbox: StartSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    world.configure(HTTP_MAX_RETRIES="0")
    use_sandbox()
    await autonomous_sync(mode="discovery", limit=500)
    engine: AsyncEngine = world.engine
    use_sandbox(wrap=failing_when(lambda request: "attractionId" in request.url.params, status=503))
    with pytest.raises(RunFailed, match="nothing went through"):  # every artist failed
        await autonomous_sync(mode="sync", limit=500)
    assert (await ledger(engine))[-1]["counts"]["artists_failed"] > 0
    async with engine.connect() as conn:
        errors = (await conn.execute(select(SyncError.__table__))).all()  # type: ignore[attr-defined]
        runs = (await conn.execute(select(SyncRun.__table__))).all()  # type: ignore[attr-defined]
    recorded = repr(errors) + repr(runs) + caplog.text
    assert "apikey=***" in recorded
    for secret in DEMO_CREDENTIALS.values():
        assert secret not in recorded
