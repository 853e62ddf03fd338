"""What a run shows in the Prefect UI, and which failures its tasks retry."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import httpx
import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from clients.errors import AuthError, QuotaExhausted, RetriesExhausted
from flows.autonomous_sync import autonomous_sync
from sandbox.core import Sandbox
from tasks.upstream import is_transient
from tests.flows.conftest import SyncWorld

pytestmark = pytest.mark.prefect


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


def _failed(error: BaseException) -> SimpleNamespace:
    return SimpleNamespace(data=error)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (RetriesExhausted("ticketmaster: failed", api="ticketmaster", attempts=5), True),
        (httpx.ConnectError("refused"), True),
        (AuthError("ticketmaster: Invalid ApiKey", api="ticketmaster", status=401), False),
        (QuotaExhausted("ticketmaster: quota", api="ticketmaster", status=429), False),
        (ValueError("a bug"), False),
    ],
)
def test_tasks_retry_transient_errors_only(error: BaseException, retried: bool) -> None:
    assert is_transient(None, None, _failed(error)) is retried


@pytest.mark.parametrize(
    ("error", "calls"),
    [
        (RetriesExhausted("ticketmaster: failed", api="ticketmaster", attempts=5), 2),
        (AuthError("ticketmaster: Invalid ApiKey", api="ticketmaster", status=401), 1),
    ],
)
async def test_a_read_task_is_retried_by_prefect_only_for_transient_failures(
    prefect_harness: str, error: BaseException, calls: int
) -> None:
    del prefect_harness
    attempts: list[int] = []

    @task(retries=1, retry_delay_seconds=0, retry_condition_fn=is_transient, cache_policy=NO_CACHE)
    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise error
        return "read"

    @flow
    async def reader() -> str:
        return await flaky()

    if calls == 2:
        assert await reader() == "read"
    else:
        with pytest.raises(type(error)):
            await reader()
    assert len(attempts) == calls
