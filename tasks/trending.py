"""The trending task: one coarse unit (one transaction of set-based SQL), never cached."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.trending import TrendingMode, TrendingResult, recalculate_trending
from models.trending.forecast import recalculate_forecast
from settings import Settings

__all__ = [
    "is_transient_database_error",
    "recalculate_forecast_task",
    "recalculate_trending_task",
]


def is_transient_database_error(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only what may pass: lost connections, locks, deadlocks, serialisation failures.

    Synchronous and reading ``state.data`` (not ``state.result()``), as async tasks require."""
    del task, task_run
    data = getattr(state, "data", None)
    error = getattr(data, "result", data)
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


@task(
    name="recalculate-trending",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.5,
    retry_condition_fn=is_transient_database_error,
)
async def recalculate_trending_task(
    engine: AsyncEngine,
    *,
    mode: TrendingMode,
    now: datetime,
    settings: Settings,
    dry_run: bool = False,
    top: int = 10,
) -> TrendingResult:
    """Recalculate trending scores as of ``now`` (see ``models.trending``). Safe to retry: the
    work is one transaction, and a rerun at the same ``now`` rewrites nothing."""
    return await recalculate_trending(
        engine, mode=mode, now=now, settings=settings, dry_run=dry_run, top=top
    )


@task(
    name="forecast-trending",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.5,
    retry_condition_fn=is_transient_database_error,
)
async def recalculate_forecast_task(
    engine: AsyncEngine, *, now: datetime, settings: Settings, dry_run: bool = False
) -> int:
    """Each artist's forecast score on the next 7 days (``models/trending/forecast.py``), in a
    transaction of its own after the scores' run; returns the rows written."""
    return await recalculate_forecast(engine, now=now, settings=settings, dry_run=dry_run)
