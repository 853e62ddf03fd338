"""What a run shows in the Prefect UI, and how little of Prefect a run costs: a few coarse task
runs, no Prefect retries of a read, its server traffic counted."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from prefect import Task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.sorting import FlowRunSort
from sqlalchemy import func, select

from flows.autonomous_sync import autonomous_sync
from flows.master_sync import master_sync
from models.tables import Artist, Setlist, SetlistEntry
from sandbox.core import Sandbox
from settings import Settings
from tasks.upstream import cached, read_playlists, read_spotify_artists_task, sweep_markets
from tests.flows.conftest import SyncWorld

pytestmark = pytest.mark.prefect

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
SETLISTS = Setlist.__table__  # type: ignore[attr-defined]
ENTRIES = SetlistEntry.__table__  # type: ignore[attr-defined]


async def test_a_run_publishes_its_summary_changes_and_progress(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    del world
    use_sandbox()
    await autonomous_sync(mode="full", limit=12)
    keys = ["autonomous-sync-summary", "autonomous-sync-changes", "autonomous-sync-progress"]
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)),
            sort="CREATED_DESC",
            limit=10,
        )
    latest = {}
    for artifact in artifacts:
        latest.setdefault(artifact.key, artifact)
    assert sorted(latest) == sorted(keys)
    summary = str(latest["autonomous-sync-summary"].data)
    assert summary.startswith("# autonomous-sync (full)")
    assert "| artists_added | 12 |" in summary
    assert "Discovery:" in summary
    assert latest["autonomous-sync-progress"].data == 100.0
    assert latest["autonomous-sync-changes"].type == "table"


async def test_a_master_sync_runs_a_few_coarse_tasks_not_one_per_request(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    world.configure(SYNC_BATCH_SIZE="25")
    use_sandbox(artists=200)
    await autonomous_sync(mode="discovery", limit=60)
    counts = await master_sync(mode="full", limit=60)
    assert counts["artists_synced"] == 60
    async with get_client() as client:
        [flow_run] = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["master-sync"])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
        task_runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])), limit=200
        )
    names = sorted(run.name.rsplit("-", 1)[0] for run in task_runs)
    assert names == ["read-spotify-artists", *["sync-artist-batch"] * 3]
    requests = sum(counts[f"requests_{api}"] for api in ("spotify", "ticketmaster", "setlistfm"))
    assert requests > 100  # the 60 artists' reads, none of them a task run
    assert 0 < counts["prefect_api_calls"] <= 30  # at most 0.5 per artist


@pytest.mark.parametrize(
    "read_task", [sweep_markets, read_playlists, read_spotify_artists_task], ids=lambda t: t.name
)
def test_no_prefect_task_retries_a_read(read_task: Task[..., object]) -> None:
    settings = Settings(_env_file=None)
    assert read_task.retries == 0
    assert cached(read_task, settings, "ticketmaster").retries == 0


async def test_the_changes_table_attributes_each_artists_writes_to_it(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    """Artists are stored a batch at a time; each artist's row of the changes table still holds
    what was written for it, and the rows add up to the run's totals."""
    world.configure(SETLIST_HISTORY_PAGES_PER_RUN="0")  # the backfill's pages are not a sync's
    use_sandbox()
    await autonomous_sync(mode="discovery", limit=500)
    counts = await master_sync(mode="full", limit=500)
    async with get_client() as client:
        [artifact] = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["master-sync-changes"])),
            sort="CREATED_DESC",
            limit=1,
        )
    rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    async with world.engine.connect() as conn:
        stored = dict(
            (
                await conn.execute(
                    select(ARTISTS.c.name, func.count(SETLISTS.c.id))
                    .join(SETLISTS, SETLISTS.c.artist_id == ARTISTS.c.id)
                    .group_by(ARTISTS.c.name)
                )
            ).all()
        )
        entries = dict(
            (
                await conn.execute(
                    select(ARTISTS.c.name, func.count(ENTRIES.c.id))
                    .join(SETLISTS, SETLISTS.c.artist_id == ARTISTS.c.id)
                    .join(ENTRIES, ENTRIES.c.setlist_id == SETLISTS.c.id)
                    .group_by(ARTISTS.c.name)
                )
            ).all()
        )
    by_artist = {row["artist"]: row for row in rows}
    assert len(by_artist) == len(rows)
    assert {a: r.get("setlists_added", 0) for a, r in by_artist.items() if a in stored} == stored
    assert {
        a: r.get("setlist_entries_written", 0) for a, r in by_artist.items() if a in entries
    } == entries
    for key in ("setlists_added", "setlist_entries_written", "shows_added", "songs_added"):
        assert sum(row.get(key, 0) for row in rows) == counts[key], key
