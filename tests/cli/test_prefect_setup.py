"""The Prefect set-up: work pool, notification block, automations, and failures announced to a
webhook (issue 14.4, 14.5), against the session's Prefect server (which runs Prefect's triggers
and actions services: an ephemeral-mode server runs every ``RunInEphemeralServers`` service)."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prefect import flow
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.states import Failed, Running

from cli.prefect_setup import (
    ALERT_BLOCK,
    AUTOMATION_PREFIX,
    automation_definitions,
    ensure_automations,
    ensure_notification_block,
    ensure_work_pool,
)
from models.ledger import JOBS
from settings import Settings
from tasks.prefect_runs import emit_health_scored
from tests.cli.conftest import TEST_POOL

pytestmark = pytest.mark.prefect

AUTOMATIONS = [
    "mysetlist: close runs whose heartbeats stopped",
    "mysetlist: run failed or crashed",
    "mysetlist: deployment late",
    "mysetlist: health score low",
]
# A delivery must arrive within this; the test only waits on the receiver's queue.
DELIVERY_TIMEOUT = 60.0


async def _forget_alerts() -> None:
    async with get_client() as client:
        for automation in await client.read_automations():
            if automation.name.startswith(AUTOMATION_PREFIX):
                await client.delete_automation(automation.id)
        for document in await client.read_block_documents():
            if document.name == ALERT_BLOCK:
                await client.delete_block_document(document.id)


@pytest.fixture
async def no_alerts(prefect_harness: str) -> AsyncIterator[None]:
    """No automation or notification block of ours during the test, none left after it."""
    await _forget_alerts()
    yield
    await _forget_alerts()


@pytest.fixture
async def client(prefect_harness: str) -> AsyncIterator[PrefectClient]:
    async with get_client() as prefect_client:
        yield prefect_client


class Receiver:
    """A webhook on 127.0.0.1 that queues every request it gets: (path, content type, JSON)."""

    def __init__(self) -> None:
        self.requests: queue.Queue[tuple[str, str, Any]] = queue.Queue()
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.put((self.path, self.headers.get("Content-Type", ""), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/SECRET-TOKEN"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    async def next(self) -> tuple[str, str, Any]:
        """The next request, waiting at most ``DELIVERY_TIMEOUT`` for it."""
        return await asyncio.to_thread(self.requests.get, timeout=DELIVERY_TIMEOUT)

    async def next_while(self, emit: Any, *, every: float = 2.0) -> tuple[str, str, Any]:
        """The next request, calling ``emit()`` again every ``every`` seconds until one comes
        (at most ``DELIVERY_TIMEOUT``): an automation just created may miss the first event
        while Prefect's triggers service loads it."""
        for _ in range(int(DELIVERY_TIMEOUT / every)):
            emit()
            try:
                return await asyncio.to_thread(self.requests.get, timeout=every)
            except queue.Empty:
                continue
        raise AssertionError(f"nothing delivered within {DELIVERY_TIMEOUT:g} s")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    webhook = Receiver()
    webhook.thread.start()
    try:
        yield webhook
    finally:
        webhook.server.shutdown()
        webhook.server.server_close()


def _settings(url: str | None = None, **options: Any) -> Settings:
    return Settings(work_pool=TEST_POOL, alert_webhook_url=url, **options)


# --- work pool --------------------------------------------------------------------------------


@pytest.mark.usefixtures("fresh_prefect")
async def test_the_work_pool_is_created_once_with_our_loggers_in_its_environment(
    client: PrefectClient,
) -> None:
    assert await ensure_work_pool(TEST_POOL) == "created"
    assert await ensure_work_pool(TEST_POOL) == "unchanged"

    pool = await client.read_work_pool(TEST_POOL)
    assert pool.type == "process"
    env = pool.base_job_template["variables"]["properties"]["env"]
    assert env["default"] == {"PREFECT_LOGGING_EXTRA_LOGGERS": "mysetlist"}


@pytest.mark.usefixtures("fresh_prefect")
async def test_an_older_pool_gets_our_loggers_and_keeps_its_own_values(
    client: PrefectClient,
) -> None:
    from prefect.workers.process import ProcessWorker

    template = ProcessWorker.get_default_base_job_template()
    template["variables"]["properties"]["env"]["default"] = {"TZ": "UTC"}
    await client.create_work_pool(
        WorkPoolCreate(name=TEST_POOL, type="process", base_job_template=template)
    )

    assert await ensure_work_pool(TEST_POOL) == "updated"
    assert await ensure_work_pool(TEST_POOL) == "unchanged"

    pool = await client.read_work_pool(TEST_POOL)
    assert pool.base_job_template["variables"]["properties"]["env"]["default"] == {
        "TZ": "UTC",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "mysetlist",
    }


@pytest.mark.usefixtures("fresh_prefect")
async def test_a_pool_that_names_its_own_extra_loggers_is_left_alone(
    client: PrefectClient,
) -> None:
    from prefect.workers.process import ProcessWorker

    template = ProcessWorker.get_default_base_job_template()
    template["variables"]["properties"]["env"]["default"] = {
        "PREFECT_LOGGING_EXTRA_LOGGERS": "mysetlist,httpx"
    }
    await client.create_work_pool(
        WorkPoolCreate(name=TEST_POOL, type="process", base_job_template=template)
    )

    assert await ensure_work_pool(TEST_POOL) == "unchanged"


@pytest.mark.usefixtures("fresh_prefect")
async def test_a_pool_of_another_type_is_refused(client: PrefectClient) -> None:
    await client.create_work_pool(WorkPoolCreate(name=TEST_POOL, type="prefect-agent"))

    with pytest.raises(RuntimeError, match="exists with type 'prefect-agent', expected 'process'"):
        await ensure_work_pool(TEST_POOL)


# --- notification block and automations -------------------------------------------------------


@pytest.mark.usefixtures("no_alerts")
async def test_without_a_webhook_only_the_heartbeat_automation_is_kept() -> None:
    settings = _settings()

    assert await ensure_notification_block(settings) == ("skipped", None)
    assert await ensure_automations(settings, block_id=None) == [
        (AUTOMATIONS[0], "created"),
        *[(name, "skipped") for name in AUTOMATIONS[1:]],
    ]
    assert await ensure_automations(settings, block_id=None) == [
        (AUTOMATIONS[0], "unchanged"),
        *[(name, "skipped") for name in AUTOMATIONS[1:]],
    ]


@pytest.mark.usefixtures("no_alerts")
async def test_block_and_automations_follow_the_settings(
    receiver: Receiver, client: PrefectClient
) -> None:
    settings = _settings(receiver.url)

    created, block_id = await ensure_notification_block(settings)
    again, same_id = await ensure_notification_block(settings)
    first = await ensure_automations(settings, block_id=block_id)
    second = await ensure_automations(settings, block_id=block_id)
    late_changed = _settings(receiver.url, alert_late_after_minutes=45)
    third = await ensure_automations(late_changed, block_id=block_id)
    slack, slack_id = await ensure_notification_block(
        _settings(receiver.url, alert_webhook_format="slack")
    )

    assert (created, again, slack) == ("created", "unchanged", "updated")
    assert block_id is not None
    assert same_id == slack_id == block_id
    assert first == [(name, "created") for name in AUTOMATIONS]
    assert second == [(name, "unchanged") for name in AUTOMATIONS]
    assert dict(third) == {
        AUTOMATIONS[0]: "unchanged",
        AUTOMATIONS[1]: "unchanged",
        AUTOMATIONS[2]: "updated",
        AUTOMATIONS[3]: "unchanged",
    }
    [late] = await client.read_automations_by_name(AUTOMATIONS[2])
    assert late.trigger.within.total_seconds() == 45 * 60
    # The URL is a secret of the block: the API (and the UI) show it only masked.
    document = await client.read_block_document_by_name(
        ALERT_BLOCK, "custom-webhook", include_secrets=False
    )
    assert document.data["url"] == "{{webhook_url}}"
    assert "SECRET-TOKEN" not in json.dumps(document.data, default=str)


def test_the_triggers_watch_our_flows_only() -> None:
    from uuid import UUID

    definitions = {
        a.name: a.trigger.model_dump(mode="json")
        for a in automation_definitions(_settings(), block_id=UUID(int=1))
    }

    failed = definitions[AUTOMATIONS[1]]
    assert sorted(failed["expect"]) == ["prefect.flow-run.Crashed", "prefect.flow-run.Failed"]
    assert failed["match"] == {"prefect.resource.id": "prefect.flow-run.*"}
    assert failed["match_related"] == {
        "prefect.resource.role": "flow",
        "prefect.resource.name": list(JOBS),
    }
    assert {"autonomous-sync", "master-sync", "calculate-trending", "seed-comprehensive"} <= set(
        JOBS
    )
    late = definitions[AUTOMATIONS[2]]
    assert (late["posture"], late["after"], late["expect"], late["within"]) == (
        "Proactive",
        ["prefect.flow-run.Late"],
        ["prefect.flow-run.*"],
        900.0,
    )
    health = definitions[AUTOMATIONS[3]]
    assert health["match"] == {
        "prefect.resource.id": "mysetlist.health",
        "mysetlist.health.state": "low",
    }
    assert health["expect"] == ["mysetlist.health.scored"]


# --- failures announced: delivered to the webhook ----------------------------------------------


@flow(name="seed-comprehensive")
def seed_stand_in() -> None:
    """Never run: its flow run is created and failed through the API."""


@pytest.mark.usefixtures("no_alerts")
async def test_a_low_health_score_reaches_the_webhook_as_json(receiver: Receiver) -> None:
    settings = _settings(receiver.url)
    _, block_id = await ensure_notification_block(settings)
    await ensure_automations(settings, block_id=block_id)
    scores = {
        "overall": 35,
        "syncCoverage": 40,
        "syncFreshness": 0,
        "trendingCoverage": 0,
        "errorRate": 100,
    }

    emit_health_scored(scores={**scores, "overall": 80}, threshold=60, window_hours=24)
    path, content_type, body = await receiver.next_while(
        lambda: emit_health_scored(scores=scores, threshold=60, window_hours=24)
    )

    assert (path, content_type) == ("/hooks/T000/SECRET-TOKEN", "application/json")
    assert body == {
        "source": "mysetlist",
        "subject": "MySetlist: health score 35",
        "body": "The health score is 35, below 60 (last 24 h). Scores: overall 35, "
        "syncCoverage 40, syncFreshness 0, trendingCoverage 0, errorRate 100.",
    }
    while not receiver.requests.empty():  # only low scores were delivered, never the 80
        assert receiver.requests.get_nowait()[2]["subject"] == "MySetlist: health score 35"


@pytest.mark.usefixtures("no_alerts")
async def test_a_failed_run_of_our_flow_reaches_the_webhook_slack_style(
    receiver: Receiver, client: PrefectClient
) -> None:
    settings = _settings(receiver.url, alert_webhook_format="slack")
    _, block_id = await ensure_notification_block(settings)
    await ensure_automations(settings, block_id=block_id)
    run = await client.create_flow_run(seed_stand_in, state=Running())

    await client.set_flow_run_state(run.id, Failed(message="missing credentials"), force=True)
    _, _, body = await receiver.next()

    text = body["text"]
    assert text.startswith("*MySetlist: seed-comprehensive run Failed*\n")
    assert f"Flow run seed-comprehensive/{run.name} is Failed (" in text
    assert "Message: missing credentials" in text
    assert text.endswith(f"Flow run id: {run.id}")
