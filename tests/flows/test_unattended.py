"""A run tells the truth with no one watching: crashed rows closed, refused and failed runs
recorded as failed, partial runs named in Prefect, workers taking disjoint artists, a seed that
resumes instead of adding more."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from uuid import uuid4

import pytest
from prefect import flow
from prefect.context import FlowRunContext
from sqlalchemy import func, insert, select

from flows._runs import RunFailed, close_ledger_on_crash
from flows.autonomous_sync import autonomous_sync
from flows.seed import seed_comprehensive
from models.tables import Artist, SyncRun
from models.types import utcnow
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld, failing_when, ledger

pytestmark = pytest.mark.prefect

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
RUNS = SyncRun.__table__  # type: ignore[attr-defined]
StartSandbox = Callable[..., Sandbox]


async def _running_row(world: SyncWorld, *, minutes_ago: float, flow_run_id: str | None) -> int:
    at = utcnow() - timedelta(minutes=minutes_ago)
    async with world.engine.begin() as conn:
        result = await conn.execute(
            insert(RUNS)
            .values(
                job="master-sync",
                mode="daily",
                parameters={},
                dry_run=False,
                started_at=at,
                heartbeat_at=at,
                status="running",
                counts={},
                flow_run_id=flow_run_id,
            )
            .returning(RUNS.c.id)
        )
        return int(result.scalar_one())


async def test_a_run_closes_the_crashed_runs_it_finds_before_it_starts(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    use_sandbox()
    dead = await _running_row(world, minutes_ago=60, flow_run_id=None)
    alive = await _running_row(world, minutes_ago=1, flow_run_id=None)
    await autonomous_sync(mode="discovery", limit=3)
    rows = {row["id"]: row for row in await ledger(world.engine)}
    assert rows[dead]["status"] == "crashed"
    assert rows[dead]["error_summary"].startswith("crashed: no heartbeat since")
    assert rows[alive]["status"] == "running"
    assert [r["status"] for r in rows.values() if r["id"] not in (dead, alive)] == ["success"]


async def test_a_run_closes_a_fresh_row_whose_prefect_flow_run_has_ended(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    @flow(name="ended-elsewhere")
    async def ended() -> str:
        context = FlowRunContext.get()
        assert context is not None
        assert context.flow_run is not None
        return str(context.flow_run.id)

    use_sandbox()
    ended_id = await ended()
    orphan = await _running_row(world, minutes_ago=0, flow_run_id=ended_id)
    await autonomous_sync(mode="discovery", limit=3)
    [closed] = [r for r in await ledger(world.engine) if r["id"] == orphan]
    assert closed["status"] == "crashed"
    assert closed["error_summary"] == f"crashed: Prefect flow run {ended_id} is no longer running"


async def test_the_crash_hook_closes_the_row_of_its_flow_run(world: SyncWorld) -> None:
    flow_run_id = str(uuid4())
    row = await _running_row(world, minutes_ago=0, flow_run_id=flow_run_id)
    crashed = SimpleNamespace(message="worker died", name="Crashed", is_cancelled=lambda: False)
    await close_ledger_on_crash(None, SimpleNamespace(id=flow_run_id), crashed)
    [closed] = [r for r in await ledger(world.engine) if r["id"] == row]
    assert (closed["status"], closed["error_summary"]) == ("crashed", "crashed: worker died")


async def test_a_run_where_every_request_failed_is_failed_and_raises(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    world.configure(HTTP_MAX_RETRIES="0")
    use_sandbox(wrap=failing_when(lambda request: "events.json" in request.url.path, status=503))
    with pytest.raises(RunFailed, match="autonomous-sync: nothing went through"):
        await autonomous_sync(mode="discovery", limit=5)
    [run] = await ledger(world.engine)
    assert run["status"] == "failed"
    assert run["counts"]["markets_failed"] == 21
    assert run["counts"]["markets_scanned"] == 0


async def test_a_partial_run_is_a_completed_state_named_partial(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    world.configure(HTTP_MAX_RETRIES="0")
    use_sandbox(
        wrap=failing_when(lambda request: request.url.params.get("marketId") == "3", status=503)
    )
    state = await autonomous_sync(mode="discovery", limit=5, return_state=True)
    assert (state.type.value, state.name) == ("COMPLETED", "Partial")
    counts = await state.aresult()
    assert (counts["markets_scanned"], counts["markets_failed"]) == (20, 1)
    assert [r["status"] for r in await ledger(world.engine)] == ["partial"]


async def test_two_concurrent_runs_sync_disjoint_artists(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    use_sandbox(artists=200)
    await autonomous_sync(mode="discovery", limit=40)
    first, second = await asyncio.gather(
        autonomous_sync(mode="sync", limit=20), autonomous_sync(mode="sync", limit=20)
    )
    async with world.engine.connect() as conn:
        synced = (
            await conn.execute(
                select(func.count()).where(ARTISTS.c.ticketmaster_synced_at.is_not(None))
            )
        ).scalar_one()
        claimed = (
            await conn.execute(select(func.count()).where(ARTISTS.c.claimed_by_run.is_not(None)))
        ).scalar_one()
    assert (first["artists_synced"], second["artists_synced"]) == (20, 20)
    assert synced == 40  # 40 different artists: no artist twice
    assert claimed == 0  # every claim released at the end of its run


async def test_a_seed_rerun_resumes_to_its_limit_instead_of_adding_more(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    use_sandbox()
    await seed_comprehensive(limit=6)
    again = await seed_comprehensive(limit=6)
    async with world.engine.connect() as conn:
        artists = (await conn.execute(select(func.count()).select_from(ARTISTS))).scalar_one()
    assert artists == 6
    assert again["discovered_artists_added"] == 0
    assert [r["job"] for r in await ledger(world.engine)].count("autonomous-sync") == 3
