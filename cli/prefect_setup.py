"""The Prefect set-up in one place: what ``mysetlist setup`` makes sure of, idempotently.

- the process work pool, whose flow runs get ``PREFECT_LOGGING_EXTRA_LOGGERS`` (our loggers in
  the UI) unless its template already sets it;
- the deployment variables ``prefect.yaml`` reads;
- failures announced: a notification block (``ALERT_WEBHOOK_URL``, Slack-style or generic JSON)
  and the automations that use it: a failed or crashed run of one of our flows, a deployment run
  late by more than ``ALERT_LATE_AFTER_MINUTES``, a health score below ``ALERT_HEALTH_BELOW``
  (the flows emit ``mysetlist.health.scored``, see ``tasks.prefect_runs``); and one that needs no
  webhook: a run of ours whose Prefect heartbeats stop for ``RUN_HEARTBEAT_STALE_MINUTES`` is
  marked Crashed (a killed worker never says so itself).

Every step reports ``created``, ``updated``, ``unchanged`` or ``skipped``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from models.ledger import JOBS
from tasks.prefect_runs import (
    HEALTH_EVENT,
    HEALTH_RESOURCE,
    HEALTH_STATE_LABEL,
    client_or_default,
)

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.events.schemas.automations import AutomationCore

    from settings import Settings

__all__ = [
    "ALERT_BLOCK",
    "AUTOMATION_PREFIX",
    "FLOW_NAMES",
    "TIMEZONE_VARIABLE",
    "WORK_POOL_VARIABLE",
    "SetupStep",
    "automation_definitions",
    "client_or_default",
    "ensure_automations",
    "ensure_notification_block",
    "ensure_variable",
    "ensure_work_pool",
    "setup_prefect",
]

# Read by prefect.yaml as ``{{ prefect.variables.<name> }}``.
WORK_POOL_VARIABLE: Final = "mysetlist_work_pool"
TIMEZONE_VARIABLE: Final = "mysetlist_schedule_timezone"

#: The notification block the automations send through.
ALERT_BLOCK: Final = "mysetlist-alerts"
#: Every automation this module owns is named ``mysetlist: ...``.
AUTOMATION_PREFIX: Final = "mysetlist: "
#: Our flows (their names are the ledger's job names): the automations watch these only.
FLOW_NAMES: Final = tuple(JOBS)

_EXTRA_LOGGERS: Final = ("PREFECT_LOGGING_EXTRA_LOGGERS", "mysetlist")
_SECRET_KEY: Final = "webhook_url"
_PAYLOADS: Final[dict[str, dict[str, Any]]] = {
    # Slack, Mattermost and most chat webhooks take {"text": ...}.
    "slack": {"text": "*{{subject}}*\n{{body}}"},
    "json": {"source": "mysetlist", "subject": "{{subject}}", "body": "{{body}}"},
}
_RUN_BODY: Final = (
    "Flow run {{ flow.name }}/{{ flow_run.name }} is {{ flow_run.state.name }} "
    "({{ flow_run.state.timestamp }}).\n"
    "Message: {{ flow_run.state.message }}\n"
    "Flow run id: {{ flow_run.id }}"
)


@dataclass(frozen=True, slots=True)
class SetupStep:
    """One thing ``setup`` made sure of: what, its name, the outcome and its value."""

    kind: str
    name: str
    outcome: str
    detail: str


# --- work pool and variables ---------------------------------------------------------------------


def _pool_template(existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The process pool's job template with our extra loggers in its default environment."""
    from prefect.workers.process import ProcessWorker

    source = existing or ProcessWorker.get_default_base_job_template()
    template: dict[str, Any] = json.loads(json.dumps(source))
    env = template.setdefault("variables", {}).setdefault("properties", {}).setdefault("env", {})
    defaults = env.get("default") or {}
    name, value = _EXTRA_LOGGERS
    env["default"] = {**defaults, name: defaults.get(name, value)}
    return template


async def ensure_work_pool(name: str, *, client: PrefectClient | None = None) -> str:
    """Create the process work pool ``name`` unless it exists: ``created``, ``updated`` (its
    template lacked our extra loggers: added, other values kept) or ``unchanged``.

    An existing pool of another type is an error (a process worker could not run it).
    """
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound

    async with client_or_default(client) as prefect_client:
        try:
            pool = await prefect_client.read_work_pool(name)
        except ObjectNotFound:
            await prefect_client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type="process",
                    base_job_template=_pool_template(),
                    description="MySetlist sync flows, run by `prefect worker start`.",
                )
            )
            return "created"
        if pool.type != "process":
            raise RuntimeError(
                f"work pool {name!r} exists with type {pool.type!r}, expected 'process'"
            )
        wanted = _pool_template(pool.base_job_template)
        if wanted == pool.base_job_template:
            return "unchanged"
        await prefect_client.update_work_pool(name, WorkPoolUpdate(base_job_template=wanted))
        return "updated"


async def ensure_variable(name: str, value: str, *, client: PrefectClient | None = None) -> str:
    """Create or update the Prefect variable ``name``: ``created``/``updated``/``unchanged``."""
    from prefect.client.schemas.actions import VariableCreate, VariableUpdate

    async with client_or_default(client) as prefect_client:
        existing = await prefect_client.read_variable_by_name(name)
        if existing is None:
            await prefect_client.create_variable(VariableCreate(name=name, value=value))
            return "created"
        if existing.value == value:
            return "unchanged"
        await prefect_client.update_variable(VariableUpdate(name=name, value=value))
        return "updated"


# --- notification block --------------------------------------------------------------------------


def _notification_block(settings: Settings) -> Any:
    """The webhook block: the URL sits in its secrets (hidden in the UI), the body by format."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    if settings.alert_webhook_url is None:
        raise ValueError("ALERT_WEBHOOK_URL is not set")
    return CustomWebhookNotificationBlock(
        name="mysetlist",
        url="{{" + _SECRET_KEY + "}}",
        method="POST",
        json_data=_PAYLOADS[settings.alert_webhook_format],
        secrets={_SECRET_KEY: settings.alert_webhook_url.get_secret_value()},
        timeout=10,
    )


def _block_state(block: Any) -> dict[str, Any]:
    return {
        "url": block.url,
        "method": block.method,
        "json_data": block.json_data,
        "headers": block.headers,
        "secrets": block.secrets.get_secret_value(),
        "timeout": block.timeout,
    }


async def ensure_notification_block(
    settings: Settings, *, client: PrefectClient | None = None
) -> tuple[str, UUID | None]:
    """Create or update the block ``ALERT_BLOCK`` from ``ALERT_WEBHOOK_URL``; ``skipped`` (and
    no id) when the URL is unset. Returns the outcome and the block document's id."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.exceptions import ObjectNotFound

    if settings.alert_webhook_url is None:
        return "skipped", None
    wanted = _notification_block(settings)
    async with client_or_default(client) as prefect_client:
        try:
            document = await prefect_client.read_block_document_by_name(
                ALERT_BLOCK,
                block_type_slug=CustomWebhookNotificationBlock.get_block_type_slug(),
                include_secrets=True,
            )
        except ObjectNotFound:
            document = None
        if document is not None:
            existing = CustomWebhookNotificationBlock.model_validate(document.data)
            if _block_state(existing) == _block_state(wanted):
                return "unchanged", document.id
        block_id = await wanted.asave(ALERT_BLOCK, overwrite=True, client=prefect_client)
    return ("created" if document is None else "updated"), block_id


# --- automations ----------------------------------------------------------------------------------


def _our_flows() -> dict[str, Any]:
    return {"prefect.resource.role": "flow", "prefect.resource.name": list(FLOW_NAMES)}


def automation_definitions(settings: Settings, *, block_id: UUID | None) -> list[AutomationCore]:
    """The automations ``setup`` keeps, by name. Without a notification block only the one that
    needs none (closing runs whose heartbeats stopped)."""
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState, SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    flow_run = {"prefect.resource.id": "prefect.flow-run.*"}
    stale = timedelta(minutes=settings.run_heartbeat_stale_minutes)
    definitions: list[AutomationCore] = [
        AutomationCore(
            name=f"{AUTOMATION_PREFIX}close runs whose heartbeats stopped",
            description=(
                "A MySetlist flow run that sent no Prefect heartbeat for "
                f"{settings.run_heartbeat_stale_minutes:g} min (RUN_HEARTBEAT_STALE_MINUTES) "
                "is marked Crashed: a killed worker cannot say so itself."
            ),
            trigger=EventTrigger(
                match=flow_run,
                match_related=_our_flows(),
                after={"prefect.flow-run.heartbeat"},
                expect={
                    "prefect.flow-run.heartbeat",
                    "prefect.flow-run.Completed",
                    "prefect.flow-run.Failed",
                    "prefect.flow-run.Cancelled",
                    "prefect.flow-run.Crashed",
                },
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=stale,
            ),
            actions=[
                ChangeFlowRunState(
                    state=StateType.CRASHED,
                    message=(
                        f"No heartbeat for {settings.run_heartbeat_stale_minutes:g} min: "
                        "the process running this flow run died."
                    ),
                )
            ],
        )
    ]
    if block_id is None:
        return definitions
    late = settings.alert_late_after_minutes
    definitions += [
        AutomationCore(
            name=f"{AUTOMATION_PREFIX}run failed or crashed",
            description="A MySetlist flow run ended Failed or Crashed.",
            trigger=EventTrigger(
                match=flow_run,
                match_related=_our_flows(),
                expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed"},
                posture=Posture.Reactive,
                threshold=1,
                within=timedelta(0),
            ),
            actions=[
                SendNotification(
                    block_document_id=block_id,
                    subject="MySetlist: {{ flow.name }} run {{ flow_run.state.name }}",
                    body=_RUN_BODY,
                )
            ],
        ),
        AutomationCore(
            name=f"{AUTOMATION_PREFIX}deployment late",
            description=(
                f"A MySetlist deployment run still Late {late:g} min after Prefect marked it "
                "Late (ALERT_LATE_AFTER_MINUTES): no worker is taking it."
            ),
            trigger=EventTrigger(
                match=flow_run,
                match_related=_our_flows(),
                after={"prefect.flow-run.Late"},
                expect={"prefect.flow-run.*"},
                for_each={"prefect.resource.id"},
                posture=Posture.Proactive,
                threshold=1,
                within=timedelta(minutes=late),
            ),
            actions=[
                SendNotification(
                    block_document_id=block_id,
                    subject="MySetlist: {{ flow.name }} run late",
                    body=(
                        f"Flow run {{{{ flow.name }}}}/{{{{ flow_run.name }}}} has been late "
                        f"for more than {late:g} min (expected to start "
                        "{{ flow_run.expected_start_time }}). Is a worker polling the pool?"
                    ),
                )
            ],
        ),
        AutomationCore(
            name=f"{AUTOMATION_PREFIX}health score low",
            description=(
                f"The health score fell below {settings.alert_health_below} "
                "(ALERT_HEALTH_BELOW; the flows emit mysetlist.health.scored)."
            ),
            trigger=EventTrigger(
                match={"prefect.resource.id": HEALTH_RESOURCE, HEALTH_STATE_LABEL: "low"},
                expect={HEALTH_EVENT},
                posture=Posture.Reactive,
                threshold=1,
                within=timedelta(0),
            ),
            actions=[
                SendNotification(
                    block_document_id=block_id,
                    subject="MySetlist: health score {{ event.payload.overall }}",
                    body=(
                        "The health score is {{ event.payload.overall }}, below "
                        "{{ event.payload.threshold }} (last {{ event.payload.window_hours }} h). "
                        "Scores: {% for name, score in event.payload.scores.items() %}"
                        "{{ name }} {{ score }}{% if not loop.last %}, {% endif %}{% endfor %}."
                    ),
                )
            ],
        ),
    ]
    return definitions


def _canonical(value: Any) -> Any:
    """JSON-able value with lists of strings sorted (sets dump in no fixed order)."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        return sorted(items) if all(isinstance(i, str) for i in items) else items
    return value


def _comparable(automation: Any) -> Any:
    from prefect.events.schemas.automations import AutomationCore

    core = AutomationCore.model_validate(automation.model_dump())
    return _canonical(
        core.model_dump(mode="json", include={"description", "enabled", "trigger", "actions"})
    )


async def ensure_automations(
    settings: Settings, *, block_id: UUID | None, client: PrefectClient | None = None
) -> list[tuple[str, str]]:
    """Create or update each automation of ``automation_definitions``; ``(name, outcome)`` each.

    Without a notification block the notifying automations are ``skipped`` (left as they are).
    """
    wanted = automation_definitions(settings, block_id=block_id)
    results: list[tuple[str, str]] = []
    async with client_or_default(client) as prefect_client:
        for automation in wanted:
            existing = await prefect_client.read_automations_by_name(automation.name)
            if not existing:
                await prefect_client.create_automation(automation)
                results.append((automation.name, "created"))
                continue
            first, *duplicates = existing
            for duplicate in duplicates:
                await prefect_client.delete_automation(duplicate.id)
            if not duplicates and _comparable(first) == _comparable(automation):
                results.append((automation.name, "unchanged"))
                continue
            await prefect_client.update_automation(first.id, automation)
            results.append((automation.name, "updated"))
    if block_id is None:
        full = automation_definitions(settings, block_id=UUID(int=0))
        results += [(a.name, "skipped") for a in full[len(wanted) :]]
    return results


# --- everything ----------------------------------------------------------------------------------


async def setup_prefect(
    settings: Settings, *, client: PrefectClient | None = None
) -> list[SetupStep]:
    """The work pool, the variables, the notification block and the automations, in that
    order; idempotent (a second call reports everything ``unchanged``). Rate limits need no
    set-up: they are leased from our database (``tasks/leases.py``)."""
    steps: list[SetupStep] = []
    async with client_or_default(client) as prefect_client:
        pool = await ensure_work_pool(settings.work_pool, client=prefect_client)
        steps.append(SetupStep("work pool", settings.work_pool, pool, "process"))
        for variable, value in (
            (WORK_POOL_VARIABLE, settings.work_pool),
            (TIMEZONE_VARIABLE, settings.schedule_timezone),
        ):
            result = await ensure_variable(variable, value, client=prefect_client)
            steps.append(SetupStep("variable", variable, result, value))
        block, block_id = await ensure_notification_block(settings, client=prefect_client)
        steps.append(
            SetupStep(
                "notification",
                ALERT_BLOCK,
                block,
                f"webhook, {settings.alert_webhook_format}"
                if block_id is not None
                else "ALERT_WEBHOOK_URL not set",
            )
        )
        for automation, result in await ensure_automations(
            settings, block_id=block_id, client=prefect_client
        ):
            detail = "no webhook" if result == "skipped" else "on"
            steps.append(SetupStep("automation", automation, result, detail))
    return steps
