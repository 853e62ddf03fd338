"""A dry run never holds the database's write lock for the whole run (issue 12 defect: it held one
outer transaction, so on SQLite the monitor's activity intake failed with "database is locked"
meanwhile, and a dry run could not lease its rate limits from that database)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from flows.autonomous_sync import autonomous_sync
from flows.master_sync import master_sync
from models.db import make_engine
from models.tables import UserActivity
from models.types import utcnow
from monitor.activity import ActivityBatch, ActivityEvent, store_activity
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld, dump, ledger

pytestmark = pytest.mark.prefect

ACTIVITY = UserActivity.__table__  # type: ignore[attr-defined]


async def test_a_dry_run_with_leased_limits_completes_and_writes_only_its_ledger_row(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    world.configure(RATE_LIMITER="lease")
    use_sandbox()
    would = await autonomous_sync(mode="full", limit=5, dry_run=True)
    assert would["artists_added"] == 5
    assert [(r["dry_run"], r["status"]) for r in await ledger(world.engine)] == [(True, "success")]


async def test_the_activity_intake_works_during_a_dry_run(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox], database_url: str
) -> None:
    world.configure(RATE_LIMITER="lease")  # leased from the same database, as in production
    use_sandbox()
    await autonomous_sync(mode="discovery", limit=6)
    before = await dump(world.engine)
    # The monitor's own engine, with a 10 s busy timeout (30 s in production): a write lock held
    # for the whole dry run (the defect) fails the intake in 10 s instead of half a minute, while
    # the short transactions of a working dry run (a lease, a batch rolled back) never come near
    # it, however loaded the machine (with 1 s, a loaded machine failed it now and then).
    intake = make_engine(database_url, connect_args={"timeout": 10})
    stored: list[int] = []
    failures: list[str] = []

    class PostsActivityMidRun(httpx.AsyncBaseTransport):
        """On every Ticketmaster request of the dry run (after its claims and Spotify writes), a
        user event is posted the way the monitor API stores it."""

        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if "/discovery/" in request.url.path:
                event = ActivityEvent(user_id=f"u{len(stored)}", kind="view", artist_id=1)
                try:
                    stored.append(
                        await store_activity(intake, ActivityBatch(events=[event]), now=utcnow())
                    )
                except Exception as exc:
                    failures.append(f"{type(exc).__name__}: {exc}"[:200])
            return await self.inner.handle_async_request(request)

    use_sandbox(wrap=PostsActivityMidRun)
    try:
        would = await master_sync(mode="full", limit=6, dry_run=True)
    finally:
        await intake.dispose()

    assert failures == []
    assert stored == [1] * 6  # one event per artist's Ticketmaster read, each stored at once
    assert would["artists_synced"] == 6
    async with world.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(ACTIVITY))).scalar_one() == 6
    assert await dump(world.engine) == before  # and the dry run itself wrote nothing
    assert [(r["dry_run"], r["status"]) for r in await ledger(world.engine)][-1] == (
        True,
        "success",
    )
