"""The run ledger (one row per flow run) and the error table (one row per failing record)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.tables import RunStatus, SyncError, SyncRun
from models.types import utcnow

__all__ = [
    "JOBS",
    "JOB_AUTONOMOUS_SYNC",
    "JOB_CALCULATE_TRENDING",
    "JOB_MASTER_SYNC",
    "JOB_SEED",
    "finish_run",
    "record_sync_error",
    "resolve_sync_errors",
    "start_run",
]

JOB_AUTONOMOUS_SYNC = "autonomous-sync"
JOB_MASTER_SYNC = "master-sync"
JOB_CALCULATE_TRENDING = "calculate-trending"
JOB_SEED = "seed-comprehensive"
JOBS = (JOB_AUTONOMOUS_SYNC, JOB_MASTER_SYNC, JOB_CALCULATE_TRENDING, JOB_SEED)

_EXCERPT_CHARS = 500
_ERROR_CHARS = 2000

_runs = SyncRun.__table__  # type: ignore[attr-defined]
_errors = SyncError.__table__  # type: ignore[attr-defined]


async def start_run(
    engine: AsyncEngine,
    *,
    job: str,
    mode: str | None,
    parameters: Mapping[str, Any],
    dry_run: bool = False,
    flow_run_id: str | None = None,
    now: datetime | None = None,
) -> int:
    """Open the ledger row of a run (status ``running``) and return its id."""
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(_runs)
            .values(
                job=job,
                mode=mode,
                parameters=dict(parameters),
                dry_run=dry_run,
                flow_run_id=flow_run_id,
                started_at=now or utcnow(),
                status=RunStatus.RUNNING.value,
                counts={},
            )
            .returning(_runs.c.id)
        )
        return int(result.scalar_one())


async def finish_run(
    engine: AsyncEngine,
    run_id: int,
    *,
    status: RunStatus,
    counts: Mapping[str, int],
    error_summary: str | None = None,
    now: datetime | None = None,
) -> None:
    """Close the ledger row of a run: the same row, updated in place (never a second row)."""
    if status is RunStatus.RUNNING:
        raise ValueError("a finished run needs a final status")
    async with engine.begin() as conn:
        await conn.execute(
            update(_runs)
            .where(_runs.c.id == run_id)
            .values(
                status=status.value,
                counts=dict(sorted(counts.items())),
                error_summary=error_summary[:_ERROR_CHARS] if error_summary else None,
                finished_at=now or utcnow(),
            )
        )


async def record_sync_error(
    conn: AsyncConnection,
    *,
    source: str,
    key: str,
    entity: str,
    error: str,
    payload_excerpt: str | None = None,
    run_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Record a failing record or artist: one row per (source, key), counting attempts."""
    at = now or utcnow()
    values = {
        "source": source,
        "key": key[:256],
        "entity": entity,
        "error": error[:_ERROR_CHARS],
        "payload_excerpt": payload_excerpt[:_EXCERPT_CHARS] if payload_excerpt else None,
        "run_id": run_id,
        "first_seen_at": at,
        "last_seen_at": at,
        "attempts": 1,
        "resolved_at": None,
    }
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(_errors).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_errors.c.source, _errors.c.key],
        set_={
            "entity": stmt.excluded.entity,
            "error": stmt.excluded.error,
            "payload_excerpt": stmt.excluded.payload_excerpt,
            "run_id": stmt.excluded.run_id,
            "last_seen_at": stmt.excluded.last_seen_at,
            "attempts": _errors.c.attempts + 1,
            "resolved_at": None,
        },
    )
    await conn.execute(stmt)


async def resolve_sync_errors(
    conn: AsyncConnection, *, source: str, keys: list[str], now: datetime | None = None
) -> None:
    """Mark the open errors of these keys resolved (a later run succeeded for them)."""
    if not keys:
        return
    await conn.execute(
        update(_errors)
        .where(_errors.c.source == source, _errors.c.key.in_(keys), _errors.c.resolved_at.is_(None))
        .values(resolved_at=now or utcnow())
    )
