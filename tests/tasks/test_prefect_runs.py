"""Asking Prefect whether a flow run still runs, and the health event (issue 14.1, 14.4)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prefect import flow
from prefect.client.orchestration import PrefectClient, get_client
from prefect.states import Cancelled, Completed, Crashed, Failed, Paused, Running, Scheduled, State
from sqlalchemy.ext.asyncio import AsyncEngine

from models.ledger import reconcile_runs
from tasks.prefect_runs import (
    HEALTH_EVENT,
    emit_health_scored,
    flow_run_checker,
    flow_run_is_running,
)
from tests.monitor.factories import RUNS, insert_rows, run

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@flow(name="mysetlist-prefect-runs-probe")
def probe() -> None:
    """Never run: its flow runs are created in chosen states."""


@pytest.fixture
async def client(prefect_harness: str) -> AsyncIterator[PrefectClient]:
    async with get_client() as prefect_client:
        yield prefect_client


async def _flow_run_in(client: PrefectClient, state: State) -> str:
    created = await client.create_flow_run(probe, state=Running())
    if not state.is_running():
        await client.set_flow_run_state(created.id, state, force=True)
    return str(created.id)


@pytest.mark.prefect
@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (Running(), True),
        (Scheduled(), True),  # e.g. awaiting a retry: it will run again
        (Paused(), True),
        (Completed(), False),
        (Failed(), False),
        (Crashed(), False),
        (Cancelled(), False),
    ],
    ids=lambda value: getattr(value, "name", str(value)),
)
async def test_a_flow_run_is_running_until_prefect_says_it_ended(
    client: PrefectClient, state: State, expected: bool
) -> None:
    flow_run_id = await _flow_run_in(client, state)

    assert await flow_run_is_running(flow_run_id, client=client) is expected


@pytest.mark.prefect
async def test_a_deleted_flow_run_is_not_running_and_a_bad_id_cannot_tell(
    client: PrefectClient,
) -> None:
    assert await flow_run_is_running(str(uuid.uuid4()), client=client) is False
    assert await flow_run_is_running("not-a-flow-run-id", client=client) is None


async def test_an_unreachable_prefect_cannot_tell() -> None:
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    with temporary_settings(
        {PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_CLIENT_MAX_RETRIES: 0}
    ):
        assert await flow_run_is_running(str(uuid.uuid4())) is None


@pytest.mark.prefect
async def test_reconcile_closes_the_rows_whose_prefect_flow_run_ended(
    engine: AsyncEngine, client: PrefectClient
) -> None:
    running = await _flow_run_in(client, Running())
    completed = await _flow_run_in(client, Completed())
    rows = [
        run(i, job="master-sync", started_at=NOW - timedelta(minutes=5), status="running")
        | {"flow_run_id": flow_run_id, "heartbeat_at": NOW - timedelta(minutes=1)}
        for i, flow_run_id in ((1, running), (2, completed))
    ]
    await insert_rows(engine, (RUNS, rows))

    crashed = await reconcile_runs(
        engine, now=NOW, stale_after=timedelta(minutes=15), is_running=flow_run_checker(client)
    )

    assert [(c.id, c.reason) for c in crashed] == [
        (2, f"crashed: Prefect flow run {completed} is no longer running")
    ]


# --- the health event -----------------------------------------------------------------------

SCORES = {
    "overall": 41,
    "syncCoverage": 50,
    "syncFreshness": 20,
    "trendingCoverage": 0,
    "errorRate": 94,
}


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize(("threshold", "state"), [(60, "low"), (41, "ok"), (42, "low")])
def test_the_health_event_carries_the_scores_and_says_low_below_the_threshold(
    threshold: int, state: str
) -> None:
    event = emit_health_scored(scores=SCORES, threshold=threshold, window_hours=24)

    assert event is not None
    assert event.event == HEALTH_EVENT
    assert dict(event.resource) == {
        "prefect.resource.id": "mysetlist.health",
        "prefect.resource.name": "MySetlist sync health",
        "mysetlist.health.state": state,
    }
    assert event.payload == {
        "overall": 41,
        "threshold": threshold,
        "window_hours": 24,
        "scores": SCORES,
    }


@pytest.mark.parametrize(
    ("scores", "threshold", "message"),
    [
        ({"errorRate": 3}, 50, "scores must include 'overall'"),
        (SCORES, 101, "threshold must be from 0 to 100, got 101"),
    ],
)
def test_the_health_event_refuses_bad_input(
    scores: dict[str, int], threshold: int, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        emit_health_scored(scores=scores, threshold=threshold, window_hours=24)
