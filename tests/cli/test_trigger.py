"""``mysetlist trigger`` through the Prefect API: the deployment for the job and mode, or a clear
message when none is registered."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from models.db import make_engine
from tests.monitor.factories import RUNS

runner = CliRunner()


@pytest.fixture
async def deployments(prefect_harness: str) -> AsyncIterator[dict[str, UUID]]:
    """``calculate-trending/daily`` and ``master-sync/daily`` registered (no work pool needed:
    the runs stay scheduled); removed with their runs after the test."""
    created: dict[str, UUID] = {}
    async with get_client() as client:
        for flow_name, entrypoint, mode in (
            ("calculate-trending", "flows/calculate_trending.py:calculate_trending", "daily"),
            ("master-sync", "flows/master_sync.py:master_sync", "daily"),
        ):
            flow_id = await client.create_flow_from_name(flow_name)
            created[f"{flow_name}/daily"] = await client.create_deployment(
                flow_id=flow_id, name="daily", entrypoint=entrypoint, parameters={"mode": mode}
            )
    yield created
    async with get_client() as client:
        for deployment_id in created.values():
            await client.delete_deployment(deployment_id)


def _flow_run_id(output: str) -> UUID:
    match = re.search(r"flow run id: ([0-9a-f-]{36})", output)
    assert match is not None, output
    return UUID(match.group(1))


async def _flow_run(flow_run_id: UUID) -> tuple[UUID | None, dict[str, object]]:
    async with get_client() as client:
        flow_run = await client.read_flow_run(flow_run_id)
        await client.delete_flow_run(flow_run_id)
    return flow_run.deployment_id, dict(flow_run.parameters)


@pytest.mark.prefect
def test_trigger_without_a_registered_deployment_says_so_and_suggests_local(
    prefect_harness: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")

    result = runner.invoke(app, ["trigger", "seed-comprehensive", "--limit", "5"])

    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert f"no deployment of seed-comprehensive is registered on {prefect_harness}" in text
    assert "--local" in text
    assert "prefect --no-prompt deploy --all" in text


@pytest.mark.prefect
def test_trigger_runs_the_deployment_named_after_the_mode(
    deployments: dict[str, UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")

    result = runner.invoke(app, ["trigger", "trending", "--mode", "daily", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "Started calculate-trending/daily" in result.output
    deployment_id, parameters = asyncio.run(_flow_run(_flow_run_id(result.output)))
    assert deployment_id == deployments["calculate-trending/daily"]
    assert parameters == {"mode": "daily", "dry_run": True}


@pytest.mark.prefect
def test_a_mode_without_its_own_deployment_runs_the_flows_deployment_with_that_mode(
    deployments: dict[str, UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")

    result = runner.invoke(app, ["trigger", "master-sync", "--mode", "full", "--limit", "7"])

    assert result.exit_code == 0, result.output
    assert "Started master-sync/daily" in result.output
    deployment_id, parameters = asyncio.run(_flow_run(_flow_run_id(result.output)))
    assert deployment_id == deployments["master-sync/daily"]
    assert parameters == {"mode": "full", "limit": 7}


@pytest.mark.prefect
def test_trigger_local_runs_the_flow_in_this_process(
    prefect_harness: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'local.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    result = runner.invoke(app, ["trigger", "trending", "--mode", "daily", "--local"])

    assert result.exit_code == 0, result.output
    assert "calculate-trending finished" in result.output

    async def ledger() -> list[tuple[str, str | None, str]]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(select(RUNS.c.job, RUNS.c.mode, RUNS.c.status))
                return [(row.job, row.mode, row.status) for row in rows]
        finally:
            await engine.dispose()

    assert asyncio.run(ledger()) == [("calculate-trending", "daily", "success")]
