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


async def _health_artifacts() -> list[str]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[HEALTH_ARTIFACT_KEY])),
            sort="CREATED_DESC",
            limit=50,
        )
    return [str(artifact.data) for artifact in found]


async def test_every_deployed_run_publishes_the_health_report_completed_or_failed(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    use_sandbox()
    before = len(await _health_artifacts())
    await jobs.autonomous_sync(mode="discovery", limit=4)
    world.configure(HTTP_MAX_RETRIES="0")
    use_sandbox(wrap=failing_when(lambda request: "events.json" in request.url.path, status=503))
    with pytest.raises(Exception, match="nothing went through"):
        await jobs.autonomous_sync(mode="discovery", limit=4)

    published = await _health_artifacts()
    assert len(published) == before + 2
    latest = published[0]
    assert latest.startswith("# MySetlist sync health — last 24 h")
    assert "| autonomous-sync | 2 | 1 | 0 | 1 | 0 | failed at " in latest
    assert "Artists 4, shows " in latest
