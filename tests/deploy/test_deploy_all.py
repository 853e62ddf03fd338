"""CI: `mysetlist setup` then `prefect deploy --all` against a throwaway Prefect server register
the six deployments with their schedules (none for sync-artist), timezone, parameters, work pool
and pull step."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.deployments import DEPLOYMENTS

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TIMEZONE = "America/New_York"
POOL = "mysetlist-process"
STARTUP_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_healthy(api_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /api/health until the server answers (a readiness probe, not a sleep for effect)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"prefect server exited with {server.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{api_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"prefect server not healthy after {STARTUP_SECONDS} s:\n{log.read_text()}")


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A Prefect server in a subprocess with its own PREFECT_HOME; yields its API URL and the
    environment for commands run against it."""
    api_url = f"http://127.0.0.1:{_free_port()}/api"
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env.update(
        {
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_API_URL": api_url,
            "PWD": str(ROOT),
            "SCHEDULE_TIMEZONE": TIMEZONE,
            "WORK_POOL": POOL,
        }
    )
    port = api_url.rsplit(":", 1)[1].split("/")[0]
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", port],
            env=env,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_healthy(api_url, server, log)
        yield api_url, env
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


async def _registered(api_url: str) -> tuple[list[Any], Any, list[Any]]:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api=api_url) as client:
        deployments = await client.read_deployments()
        flows = {flow.id: flow.name for flow in await client.read_flows()}
        named = [(flows[d.flow_id], d) for d in deployments]
        pool = await client.read_work_pool(POOL)
        limits = await client.read_global_concurrency_limits(limit=100)
    return named, pool, limits


@pytest.mark.deploy
def test_setup_and_deploy_all_register_the_six_deployments(
    prefect_server: tuple[str, dict[str, str]],
) -> None:
    api_url, env = prefect_server

    _run([str(BIN / "mysetlist"), "setup"], env)
    _run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], env)
    named, pool, limits = asyncio.run(_registered(api_url))

    registered = {
        f"{flow}/{d.name}": (
            [(s.schedule.cron, s.schedule.timezone, s.active) for s in d.schedules],
            d.parameters,
            d.work_pool_name,
            d.entrypoint,
            d.pull_steps,
            (
                d.global_concurrency_limit.limit if d.global_concurrency_limit else None,
                d.concurrency_options.collision_strategy.value if d.concurrency_options else None,
            ),
        )
        for flow, d in named
    }
    assert registered == {
        d.full_name: (
            [(cron, TIMEZONE, True) for cron in d.crons],
            d.parameters,
            POOL,
            d.entrypoint,
            [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}],
            # A scheduled deployment never overlaps itself; on-demand runs queue.
            (1, "CANCEL_NEW") if d.cron else (4, "ENQUEUE"),
        )
        for d in DEPLOYMENTS
    }
    assert pool.type == "process"
    ours = [limit.name for limit in limits if limit.name.startswith("mysetlist-")]
    assert ours == []  # rate limits are leased from our database: nothing to set up

    # A manual trigger, as an operator would from the shell (README, "Manual operations"); the
    # scheduler's own runs of the five schedules are left out.
    _run(
        [str(BIN / "prefect"), "deployment", "run", "master-sync/daily", "--param", "mode=full"],
        env,
    )
    runs = asyncio.run(_flow_runs(api_url))
    assert [(name, run.parameters) for name, run in runs] == [
        ("master-sync/daily", {"mode": "full", "limit": 1000})
    ]


async def _flow_runs(api_url: str) -> list[tuple[str, Any]]:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api=api_url) as client:
        deployments = {d.id: d for d in await client.read_deployments()}
        flows = {flow.id: flow.name for flow in await client.read_flows()}
        return [
            (
                f"{flows[deployments[run.deployment_id].flow_id]}/{deployments[run.deployment_id].name}",
                run,
            )
            for run in await client.read_flow_runs()
            if run.deployment_id in deployments and not run.auto_scheduled
        ]
