"""``mysetlist setup``: everything the Prefect server needs before flows and deployments run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from rich.table import Table

from tasks.ratelimits import client_or_default, ensure_limits, ensure_work_pool, limit_specs

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

    from settings import Settings

__all__ = [
    "TIMEZONE_VARIABLE",
    "WORK_POOL_VARIABLE",
    "SetupStep",
    "ensure_variable",
    "run_setup",
    "steps_table",
]

# Read by prefect.yaml as ``{{ prefect.variables.<name> }}``.
WORK_POOL_VARIABLE: Final = "mysetlist_work_pool"
TIMEZONE_VARIABLE: Final = "mysetlist_schedule_timezone"


@dataclass(frozen=True, slots=True)
class SetupStep:
    """One thing ``setup`` made sure of: what, its name, the outcome and its value."""

    kind: str
    name: str
    outcome: str
    detail: str


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


async def run_setup(settings: Settings, *, client: PrefectClient | None = None) -> list[SetupStep]:
    """Rate limits, the process work pool and the deployment variables; idempotent."""
    specs = {spec.name: spec for spec in limit_specs(settings)}
    steps: list[SetupStep] = []
    async with client_or_default(client) as prefect_client:
        for name, outcome in await ensure_limits(settings, client=prefect_client):
            spec = specs[name]
            steps.append(
                SetupStep(
                    "rate limit",
                    name,
                    outcome,
                    f"{spec.limit} slots, {spec.slot_decay_per_second:.6g}/s refill",
                )
            )
        pool = await ensure_work_pool(settings.work_pool, client=prefect_client)
        steps.append(SetupStep("work pool", settings.work_pool, pool, "process"))
        for variable, value in (
            (WORK_POOL_VARIABLE, settings.work_pool),
            (TIMEZONE_VARIABLE, settings.schedule_timezone),
        ):
            result = await ensure_variable(variable, value, client=prefect_client)
            steps.append(SetupStep("variable", variable, result, value))
    return steps


def steps_table(steps: list[SetupStep], *, title: str | None = None) -> Table:
    """The steps as a table, outcomes coloured."""
    table = Table(title=title, title_justify="left")
    for column in ("kind", "name", "outcome", "detail"):
        table.add_column(column)
    for step in steps:
        colour = {"created": "green", "updated": "yellow"}.get(step.outcome, "dim")
        table.add_row(step.kind, step.name, f"[{colour}]{step.outcome}[/{colour}]", step.detail)
    return table
