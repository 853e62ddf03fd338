"""``mysetlist setup``: everything the Prefect server needs before flows and deployments run.

The set-up itself is ``cli/prefect_setup.py``; this module runs it and renders its steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from cli.prefect_setup import (
    TIMEZONE_VARIABLE,
    WORK_POOL_VARIABLE,
    SetupStep,
    ensure_variable,
    setup_prefect,
)

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


async def run_setup(settings: Settings, *, client: PrefectClient | None = None) -> list[SetupStep]:
    """Rate limits, the process work pool, the deployment variables, the notification block
    and the automations; idempotent."""
    return await setup_prefect(settings, client=client)


def steps_table(steps: list[SetupStep], *, title: str | None = None) -> Table:
    """The steps as a table, outcomes coloured."""
    table = Table(title=title, title_justify="left")
    for column in ("kind", "name", "outcome", "detail"):
        table.add_column(column)
    for step in steps:
        colour = {"created": "green", "updated": "yellow"}.get(step.outcome, "dim")
        table.add_row(step.kind, step.name, f"[{colour}]{step.outcome}[/{colour}]", step.detail)
    return table
