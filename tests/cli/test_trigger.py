"""``mysetlist trigger`` through the Prefect API: the deployment for the job and mode, or a clear
message when none is registered."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import State
from prefect.settings import PREFECT_UI_URL, temporary_settings
from prefect.states import Completed, Failed, Running
from sqlalchemy import select
from typer.testing import CliRunner

import cli.main
from cli.main import app
from models.db import make_engine
from models.migrate import upgrade
from tests.monitor.factories import RUNS, insert_rows, run

runner = CliRunner()


@pytest.fixture
async def deployments(prefect_harness: str) -> AsyncIterator[dict[str, UUID]]:
    """``calculate-trending/daily`` and ``master-sync/daily`` registered (no work pool needed:
    the runs stay scheduled); removed with their runs after the test."""
    created: dict[str, UUID] = {}
    async with get_client() as client:
        for flow_name, entrypoint, mode in (
            ("calculate-trending", "cli/jobs.py:calculate_trending", "daily"),
            ("master-sync", "cli/jobs.py:master_sync", "daily"),
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


# --- exit codes, --json and --wait ---------------------------------------------------------------


class _Worker:
    """Stands in for a worker: each pause of ``trigger --wait`` moves the run to its next state
    (and may write the run's ledger row first), so no test waits for real time."""

    def __init__(self, states: list[State], *, ledger: dict[str, Any] | None = None) -> None:
        self.states = states
        self.ledger = ledger
        self.flow_run_ids: list[UUID] = []
        self.pauses: list[float] = []

    async def start(self, name: str, parameters: dict[str, Any]) -> Any:
        flow_run = await START(name, parameters)
        self.flow_run_ids.append(flow_run.id)
        return flow_run

    async def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        [flow_run_id] = self.flow_run_ids
        if self.ledger is not None:
            url = os.environ["DATABASE_URL"]
            engine = make_engine(url)
            try:
                await insert_rows(
                    engine, (RUNS, [{**self.ledger, "flow_run_id": str(flow_run_id)}])
                )
            finally:
                await engine.dispose()
            self.ledger = None
        async with get_client() as client:
            await client.set_flow_run_state(flow_run_id, self.states.pop(0), force=True)


START = cli.main._start_deployment


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Callable[..., _Worker]:
    def make(states: list[State], *, ledger: dict[str, Any] | None = None) -> _Worker:
        fake = _Worker(states, ledger=ledger)
        monkeypatch.setattr(cli.main, "_start_deployment", fake.start)
        monkeypatch.setattr(cli.main, "sleep", fake.pause)
        return fake

    return make


@pytest.fixture
def ledger_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
    asyncio.run(upgrade(url))
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.mark.prefect
def test_trigger_wait_follows_the_run_and_a_completed_state_of_any_name_exits_0(
    deployments: dict[str, UUID],
    worker: Callable[..., _Worker],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'elsewhere.db'}")
    fake = worker([Running(), Completed(name="Partial")])

    with temporary_settings(updates={PREFECT_UI_URL: "http://prefect.test"}):
        result = runner.invoke(app, ["trigger", "trending", "--mode", "daily", "--wait"])

    assert result.exit_code == 0, result.output
    [flow_run_id] = fake.flow_run_ids
    assert result.stdout.splitlines() == [
        "Started calculate-trending/daily with {'mode': 'daily'}",
        f"flow run id: {flow_run_id}",
        f"flow run URL: http://prefect.test/runs/flow-run/{flow_run_id}",
        "state: Scheduled",
        "state: Running",
        "state: Partial",
        "calculate-trending/daily ended Partial",
    ]
    assert fake.pauses == [cli.main.POLL_SECONDS, cli.main.POLL_SECONDS]
    asyncio.run(_flow_run(flow_run_id))


@pytest.mark.prefect
def test_trigger_wait_on_a_failed_run_exits_1_and_json_carries_the_ledger_counts(
    deployments: dict[str, UUID], worker: Callable[..., _Worker], ledger_db: str
) -> None:
    ledger = run(
        41,
        job="master-sync",
        mode="full",
        started_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
        finished_at=datetime(2026, 11, 20, 12, 5, tzinfo=UTC),
        status="failed",
        counts={"artists_synced": 2, "errors": 5},
    )
    failure = "Flow run encountered an exception: RuntimeError: every request failed"
    fake = worker([Failed(message=failure)], ledger=ledger)

    with temporary_settings(updates={PREFECT_UI_URL: "http://prefect.test"}):
        result = runner.invoke(
            app, ["trigger", "master-sync", "--mode", "full", "--limit", "7", "--wait", "--json"]
        )

    assert result.exit_code == 1
    [flow_run_id] = fake.flow_run_ids
    assert json.loads(result.stdout) == {
        "job": "master-sync",
        "deployment": "master-sync/daily",
        "parameters": {"mode": "full", "limit": 7},
        "flow_run_id": str(flow_run_id),
        "flow_run_url": f"http://prefect.test/runs/flow-run/{flow_run_id}",
        "state": {"type": "FAILED", "name": "Failed", "message": failure},
        "ledger": {"id": 41, "status": "failed", "counts": {"artists_synced": 2, "errors": 5}},
        "ok": False,
    }
    assert result.stderr == ""
    asyncio.run(_flow_run(flow_run_id))


@pytest.mark.prefect
def test_a_completed_run_whose_ledger_row_failed_exits_1(
    deployments: dict[str, UUID], worker: Callable[..., _Worker], ledger_db: str
) -> None:
    ledger = run(
        7,
        job="calculate-trending",
        mode="daily",
        started_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
        status="failed",
    )
    fake = worker([Completed()], ledger=ledger)

    result = runner.invoke(app, ["trigger", "trending", "--mode", "daily", "--wait"])

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: calculate-trending/daily ended Completed (ledger run #7: failed)\n"
    )
    asyncio.run(_flow_run(fake.flow_run_ids[0]))


@pytest.mark.prefect
def test_trigger_json_without_wait_reports_the_scheduled_run_and_exits_0(
    deployments: dict[str, UUID], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'elsewhere.db'}")

    with temporary_settings(updates={PREFECT_UI_URL: "http://prefect.test"}):
        result = runner.invoke(app, ["trigger", "trending", "--mode", "daily", "--json"])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    flow_run_id = payload["flow_run_id"]
    assert payload == {
        "job": "calculate-trending",
        "deployment": "calculate-trending/daily",
        "parameters": {"mode": "daily"},
        "flow_run_id": flow_run_id,
        "flow_run_url": f"http://prefect.test/runs/flow-run/{flow_run_id}",
        "state": {"type": "SCHEDULED", "name": "Scheduled", "message": None},
        "ledger": None,
        "ok": True,
    }
    assert asyncio.run(_flow_run(UUID(flow_run_id)))[0] == deployments["calculate-trending/daily"]


@pytest.mark.prefect
def test_trigger_local_json_carries_the_ledger_row_of_the_run(
    prefect_harness: str, ledger_db: str
) -> None:
    result = runner.invoke(app, ["trigger", "trending", "--mode", "daily", "--local", "--json"])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)

    async def ledger() -> list[tuple[int, str | None, str, dict[str, Any]]]:
        engine = make_engine(ledger_db)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(RUNS.c.id, RUNS.c.flow_run_id, RUNS.c.status, RUNS.c.counts)
                )
                return [(row.id, row.flow_run_id, row.status, row.counts) for row in rows]
        finally:
            await engine.dispose()

    [(run_id, flow_run_id, status, counts)] = asyncio.run(ledger())
    assert (status, counts["artists_scored"]) == ("success", 0)
    assert payload["flow_run_id"] == flow_run_id
    assert (payload["job"], payload["deployment"], payload["parameters"]) == (
        "calculate-trending",
        None,
        {"mode": "daily"},
    )
    assert payload["state"] == {"type": "COMPLETED", "name": "Completed", "message": None}
    assert payload["ledger"] == {"id": run_id, "status": "success", "counts": counts}
    assert payload["ok"] is True
