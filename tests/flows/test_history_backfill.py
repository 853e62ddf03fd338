"""Issue 12 defect: a first sync reads at most ``SETLIST_FIRST_SYNC_MAX_PAGES`` pages of an
artist's setlists and nothing ever read the rest. The history backfill reads the rest over the
days, with its own page budget per run, from a cursor stored per artist: it resumes where it
stopped (after a quota stop too) and never reads a page of a completed history again."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import httpx
import pytest
from sqlalchemy import func, select

from flows.master_sync import master_sync
from flows.sync_artist import sync_artist
from models.tables import Setlist, SetlistHistory
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld

pytestmark = pytest.mark.prefect

SETLISTS = Setlist.__table__  # type: ignore[attr-defined]
HISTORY = SetlistHistory.__table__  # type: ignore[attr-defined]
ARTIST = "Blue Kings"  # 97 published setlists in this sandbox: 5 pages of 20


class Pages(httpx.AsyncBaseTransport):
    """Records the pages of ``artist/{mbid}/setlists`` read; refuses the pages in ``refuse`` with
    setlist.fm's spent day (a 429 whose Retry-After is hours away)."""

    read: ClassVar[list[int]] = []
    refuse: ClassVar[set[int]] = set()

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if "/rest/1.0/artist/" in path and path.endswith("/setlists"):
            page = int(request.url.params.get("p", "1"))
            if page in Pages.refuse:
                return httpx.Response(
                    429,
                    headers={"Retry-After": "36000"},
                    json={"code": 429, "status": "Too Many Requests", "message": "slow down"},
                    request=request,
                )
            Pages.read.append(page)
        return await self.inner.handle_async_request(request)


async def _stored(world: SyncWorld) -> tuple[int, tuple[int, bool] | None]:
    async with world.engine.connect() as conn:
        setlists = (await conn.execute(select(func.count()).select_from(SETLISTS))).scalar_one()
        cursor = (await conn.execute(select(HISTORY.c.pages_read, HISTORY.c.complete))).first()
    return int(setlists), (int(cursor[0]), bool(cursor[1])) if cursor else None


async def _pages_of(run: Callable[[], object]) -> list[int]:
    Pages.read = []
    await run()  # type: ignore[misc]
    return Pages.read


async def test_a_long_history_is_complete_after_enough_runs_resuming_where_it_stopped(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    # The fixed plan's pages a run (the daily plan's are its setlist.fm grant: tests/flows/
    # test_request_plan.py); resuming where it stopped is the same.
    world.configure(
        SETLIST_FIRST_SYNC_MAX_PAGES="1", SETLIST_HISTORY_PAGES_PER_RUN="2", REQUEST_PLAN="fixed"
    )
    sandbox = use_sandbox(wrap=Pages)
    [artist] = [a for a in sandbox.catalog.artists if a.name == ARTIST]
    published = len(sandbox.catalog.setlists(artist, sandbox.now()))
    assert published == 97
    Pages.refuse = set()

    # The first sync: page 1 only; the cursor says so.
    assert await _pages_of(lambda: sync_artist(ref=ARTIST)) == [1]
    assert await _stored(world) == (20, (1, False))
    # Each daily run: the fresh (incremental) read, then 2 pages of history.
    assert await _pages_of(lambda: master_sync(mode="daily", limit=5)) == [2, 3]
    assert await _stored(world) == (60, (3, False))
    # setlist.fm's day is spent at page 5: the backfill stops there, page 4 kept.
    Pages.refuse = {5}
    counts = await master_sync(mode="daily", limit=5)
    assert counts["history_pages_read"] == 1
    assert "artists_failed" not in counts
    assert await _stored(world) == (80, (4, False))
    Pages.refuse = set()
    # The next run resumes at page 5, the last: the history is complete.
    assert await _pages_of(lambda: master_sync(mode="daily", limit=5)) == [5]
    assert await _stored(world) == (published, (5, True))
    # A complete history is never read again (new setlists come by the incremental read).
    assert await _pages_of(lambda: master_sync(mode="daily", limit=5)) == []
    assert await _stored(world) == (published, (5, True))


async def test_a_first_sync_that_reads_the_whole_history_marks_it_complete(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    world.configure(SETLIST_FIRST_SYNC_MAX_PAGES="10", SETLIST_HISTORY_PAGES_PER_RUN="2")
    use_sandbox(wrap=Pages)
    Pages.refuse = set()
    assert await _pages_of(lambda: sync_artist(ref=ARTIST)) == [1, 2, 3, 4, 5]
    assert await _stored(world) == (97, (5, True))
    assert await _pages_of(lambda: master_sync(mode="daily", limit=5)) == []
