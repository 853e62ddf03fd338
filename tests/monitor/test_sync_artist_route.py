"""``POST /api/sync/artist`` against the session's Prefect test server, with a real
``sync-artist/on-demand`` deployment created for each test (no work pool: its runs stay
scheduled): the token, the body's validation, the run id, and a 503 in the error shape when the
deployment or the Prefect API is missing. No fake of the Prefect client."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.settings import PREFECT_API_URL, temporary_settings
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from cli.main import app as cli_app
from models.db import make_engine
from models.tables import SyncRun
from monitor.api import SYNC_ARTIST_DEPLOYMENT, create_app
from settings import Settings

pytestmark = pytest.mark.prefect

SECRET = "s3cret-Value-0123456789-abcdefghijklmnop"
GOOD = {"Authorization": f"Bearer {SECRET}"}
RUNS = SyncRun.__table__  # type: ignore[attr-defined]
PATH = "/api/sync/artist"


@pytest.fixture
async def deployment(prefect_harness: str) -> AsyncIterator[UUID]:
    """``sync-artist/on-demand`` registered on the test server; removed with its runs after."""
    async with get_client() as client:
        flow_id = await client.create_flow_from_name("sync-artist")
        deployment_id = await client.create_deployment(
            flow_id=flow_id, name="on-demand", entrypoint="cli/jobs.py:sync_artist"
        )
    yield deployment_id
    for flow_run_id in await _runs_of(deployment_id):
        async with get_client() as client:
            await client.delete_flow_run(flow_run_id)
    async with get_client() as client:
        await client.delete_deployment(deployment_id)


async def _runs_of(deployment_id: UUID) -> dict[UUID, dict[str, Any]]:
    async with get_client() as client:
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )
    return {run.id: dict(run.parameters) for run in runs}


@pytest.fixture
async def offline() -> AsyncIterator[AsyncEngine]:
    """An engine never connected to: the route runs no SQL of ours (the run writes its ledger
    row, on a worker)."""
    engine = make_engine("sqlite+aiosqlite://")
    try:
        yield engine
    finally:
        await engine.dispose()


def _client(engine: AsyncEngine) -> httpx.AsyncClient:
    settings = Settings(_env_file=None, cron_secret=SecretStr(SECRET))
    transport = httpx.ASGITransport(app=create_app(settings, engine=engine), client=("::1", 1))
    return httpx.AsyncClient(transport=transport, base_url="http://monitor")


async def test_a_good_request_starts_a_run_of_the_deployment_and_returns_its_id(
    deployment: UUID, engine: AsyncEngine
) -> None:
    async with _client(engine) as client:
        response = await client.post(PATH, json={"artist": " Ghost Town "}, headers=GOOD)

    assert response.status_code == 202, response.text
    body = response.json()
    assert body == {"flow_run_id": body["flow_run_id"], "deployment": "sync-artist/on-demand"}
    assert await _runs_of(deployment) == {UUID(body["flow_run_id"]): {"ref": "Ghost Town"}}
    async with engine.connect() as conn:  # the ledger row is the run's own, on its worker
        assert (await conn.execute(select(func.count()).select_from(RUNS))).scalar_one() == 0


async def test_the_route_needs_the_token_and_starts_nothing_without_it(
    deployment: UUID, offline: AsyncEngine
) -> None:
    async with _client(offline) as client:
        missing = await client.post(PATH, json={"artist": "Ghost"})
        wrong = await client.post(
            PATH, json={"artist": "Ghost"}, headers={"Authorization": "Bearer nope"}
        )

    assert [(r.status_code, r.json()["error"]["message"]) for r in (missing, wrong)] == [
        (401, "missing bearer token"),
        (401, "invalid bearer token"),
    ]
    assert await _runs_of(deployment) == {}


async def test_a_bad_body_is_refused_with_its_fault_and_starts_nothing(
    deployment: UUID, offline: AsyncEngine
) -> None:
    bodies: list[tuple[Any, str, str]] = [
        ({}, "missing", "body.artist: Field required"),
        (
            {"artist": "  "},
            "string_too_short",
            "body.artist: the artist reference must not be empty: give our artist id, a "
            "Spotify id, a Ticketmaster attraction id or a name",
        ),
        (
            {"artist": "x" * 201},
            "string_too_long",
            "body.artist: the artist reference must be at most 200 characters, got 201",
        ),
        (
            {"artist": "Ghost\u0000Town"},
            "control_character",
            "body.artist: the artist reference must not contain control characters (found U+0000)",
        ),
        ({"artist": 42}, "string_type", "body.artist: Input should be a valid string"),
        (
            {"artist": "Ghost", "dry_run": True},
            "extra_forbidden",
            "body.dry_run: Extra inputs are not permitted",
        ),
    ]
    async with _client(offline) as client:
        answers = [
            (await client.post(PATH, json=body, headers=GOOD)).json()["error"]
            for body, _, _ in bodies
        ]
        not_json = await client.post(
            PATH, content=json.dumps({"artist": "Ghost"}), headers={**GOOD, "Content-Type": "x"}
        )

    assert [
        (answer["status"], answer["code"], answer["details"][0]["type"], answer["message"])
        for answer in answers
    ] == [(422, "validation_failed", kind, message) for _, kind, message in bodies]
    assert not_json.status_code == 415
    assert await _runs_of(deployment) == {}


async def test_a_missing_deployment_is_a_503_that_says_how_to_register_it(
    prefect_harness: str, offline: AsyncEngine
) -> None:
    async with _client(offline) as client:
        response = await client.post(PATH, json={"artist": "Ghost"}, headers=GOOD)

    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "status": 503,
            "code": "not_configured",
            "message": f"deployment {SYNC_ARTIST_DEPLOYMENT} is not registered on the Prefect "
            f"API at {prefect_harness}: register it with `prefect --no-prompt deploy --all` "
            "(and a worker) or `mysetlist serve`",
        }
    }


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


async def test_an_unreachable_or_unset_prefect_api_is_a_503(
    prefect_harness: str, offline: AsyncEngine
) -> None:
    del prefect_harness
    down = f"http://127.0.0.1:{_closed_port()}/api"
    async with _client(offline) as client:
        with temporary_settings(updates={PREFECT_API_URL: down}):
            unreachable = await client.post(PATH, json={"artist": "Ghost"}, headers=GOOD)
        with temporary_settings(restore_defaults={PREFECT_API_URL}):
            unset = await client.post(PATH, json={"artist": "Ghost"}, headers=GOOD)

    assert [(r.status_code, r.json()["error"]["message"]) for r in (unreachable, unset)] == [
        (
            503,
            f"cannot reach the Prefect API at {down} (ConnectError); start it or fix "
            "PREFECT_API_URL",
        ),
        (
            503,
            "PREFECT_API_URL is not set: set it to the /api URL of the Prefect server where "
            "sync-artist/on-demand is registered (`prefect --no-prompt deploy --all` (and a "
            "worker) or `mysetlist serve`)",
        ),
    ]


def test_mysetlist_trigger_sync_artist_starts_the_same_deployment(
    deployment: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")

    result = CliRunner().invoke(cli_app, ["trigger", "sync-artist", "--artist", "Ghost Town"])

    assert result.exit_code == 0, result.output
    assert "Started sync-artist/on-demand with {'ref': 'Ghost Town'}" in result.output
    assert list(asyncio.run(_runs_of(deployment)).values()) == [{"ref": "Ghost Town"}]
