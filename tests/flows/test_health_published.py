"""After every run of a deployed job, the health report is a Markdown artifact with one key
(the Prefect UI keeps its history) — published by the operations layer's hook."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from cli import jobs
from monitor.publish import HEALTH_ARTIFACT_KEY
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld, failing_when

pytestmark = pytest.mark.prefect


async def _health_artifacts(after: object = None) -> list[str]:
    """The health reports, newest first; with ``after`` (a report's id), only those published
    after it (the session's server holds every earlier test's reports too)."""
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[HEALTH_ARTIFACT_KEY])),
            sort="CREATED_DESC",
            limit=50,
        )
    reports = []
    for artifact in found:
        if after is not None and artifact.id == after:
            break
        reports.append(str(artifact.data))
    return reports


async def _latest_health_id() -> object:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[HEALTH_ARTIFACT_KEY])),
            sort="CREATED_DESC",
            limit=1,
        )
    return found[0].id if found else None


async def test_every_deployed_run_publishes_the_health_report_completed_or_failed(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    use_sandbox()
    before = await _latest_health_id()
    await jobs.autonomous_sync(mode="discovery", limit=4)
    world.configure(HTTP_MAX_RETRIES="0")
    use_sandbox(wrap=failing_when(lambda request: "events.json" in request.url.path, status=503))
    with pytest.raises(Exception, match="nothing went through"):
        await jobs.autonomous_sync(mode="discovery", limit=4)

    published = await _health_artifacts(after=before)
    assert len(published) == 2
    latest = published[0]
    assert latest.startswith("# MySetlist sync health — last 24 h")
    assert "| autonomous-sync | 2 | 1 | 0 | 1 | 0 | failed at " in latest
    assert "Artists 4, shows " in latest
