"""The insights task: geographic trending and similar artists, after the daily scores."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from sqlalchemy.ext.asyncio import AsyncEngine

from models.insights import InsightsResult, recalculate_insights
from settings import Settings
from tasks.trending import is_transient_database_error

__all__ = ["recalculate_insights_task"]


@task(
    name="recalculate-insights",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.5,
    retry_condition_fn=is_transient_database_error,
)
async def recalculate_insights_task(
    engine: AsyncEngine, *, now: datetime, settings: Settings, dry_run: bool = False
) -> InsightsResult:
    """Geographic trending and similar artists as of ``now`` (one transaction; a rerun replaces
    the day's rows)."""
    return await recalculate_insights(engine, now=now, settings=settings, dry_run=dry_run)
