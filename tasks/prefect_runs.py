"""What the flows ask of Prefect about runs: is a flow run still running, and the health event.

``flow_run_is_running`` answers the reconciliation (``models.ledger.reconcile_runs``): a ledger
row whose Prefect flow run has ended without closing the row was killed. ``emit_health_scored``
publishes the health score as the event the "health score low" automation listens to
(``cli/prefect_setup.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final
from uuid import UUID

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.events import Event

__all__ = [
    "HEALTH_EVENT",
    "HEALTH_RESOURCE",
    "HEALTH_STATE_LABEL",
    "LIVE_STATE_TYPES",
    "client_or_default",
    "emit_health_scored",
    "flow_run_checker",
    "flow_run_is_running",
]

#: The event ``emit_health_scored`` emits, on the resource ``HEALTH_RESOURCE``; its label
#: ``HEALTH_STATE_LABEL`` is ``low`` when the overall score is below the threshold, else ``ok``.
HEALTH_EVENT: Final = "mysetlist.health.scored"
HEALTH_RESOURCE: Final = "mysetlist.health"
HEALTH_STATE_LABEL: Final = "mysetlist.health.state"

#: Prefect state types of a flow run that is running or will run again (a retry is SCHEDULED).
LIVE_STATE_TYPES: Final = frozenset({"SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING"})


@asynccontextmanager
async def client_or_default(client: PrefectClient | None) -> AsyncIterator[PrefectClient]:
    """``client`` itself, or a new ``get_client()`` closed at the end of the block."""
    if client is not None:
        yield client
        return
    from prefect.client.orchestration import get_client

    async with get_client() as owned:
        yield owned


async def flow_run_is_running(
    flow_run_id: str, *, client: PrefectClient | None = None
) -> bool | None:
    """Whether Prefect flow run ``flow_run_id`` is running (or will run again): True; ended
    or deleted: False; None when Prefect cannot tell (unreachable server, not a flow-run id),
    so that the caller judges by the heartbeat alone."""
    from prefect.exceptions import ObjectNotFound

    try:
        run_id = UUID(flow_run_id)
    except ValueError:
        return None
    try:
        async with client_or_default(client) as prefect_client:
            flow_run = await prefect_client.read_flow_run(run_id)
    except ObjectNotFound:
        return False
    except Exception:
        return None
    if flow_run.state is None:
        return None
    return flow_run.state.type.value in LIVE_STATE_TYPES


def flow_run_checker(client: PrefectClient) -> Callable[[str], Awaitable[bool | None]]:
    """``flow_run_is_running`` on one open client, as ``reconcile_runs(is_running=...)`` takes."""

    async def is_running(flow_run_id: str) -> bool | None:
        return await flow_run_is_running(flow_run_id, client=client)

    return is_running


def emit_health_scored(
    *, scores: Mapping[str, int], threshold: int, window_hours: int
) -> Event | None:
    """Emit ``mysetlist.health.scored`` with the health scores (``HealthScore.model_dump()``);
    labelled ``low`` when ``scores["overall"]`` is below ``threshold``. Inside a flow run the
    event is related to the run, its flow and deployment. Returns the event (None when Prefect
    events are off)."""
    from prefect.events import emit_event

    if "overall" not in scores:
        raise ValueError("scores must include 'overall'")
    if not 0 <= threshold <= 100:
        raise ValueError(f"threshold must be from 0 to 100, got {threshold}")
    overall = int(scores["overall"])
    return emit_event(
        event=HEALTH_EVENT,
        resource={
            "prefect.resource.id": HEALTH_RESOURCE,
            "prefect.resource.name": "MySetlist sync health",
            HEALTH_STATE_LABEL: "low" if overall < threshold else "ok",
        },
        payload={
            "overall": overall,
            "threshold": threshold,
            "window_hours": window_hours,
            "scores": {key: int(value) for key, value in scores.items()},
        },
    )
