"""The run ledger (one row per flow run) and the error table (one row per failing record).

A run's row is opened ``running`` (``start_run``), kept alive by ``beat`` and closed by
``finish_run``. A run that dies without closing its row (``kill -9``, a lost worker) is closed
``crashed`` by ``reconcile_runs``: at the start of every run and in the health report. A run
refused before its work starts gets one ``failed`` row with the reason (``record_refused_run``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.sync_state import release_claims, renew_claims
from models.tables import RunStatus, SyncError, SyncRun
from models.types import utcnow

__all__ = [
    "JOBS",
    "JOB_AUTONOMOUS_SYNC",
    "JOB_CALCULATE_TRENDING",
    "JOB_MASTER_SYNC",
    "JOB_SEED",
    "JOB_SYNC_ARTIST",
    "CrashedRun",
    "IsRunning",
    "beat",
    "close_flow_run",
    "finish_run",
    "keep_alive",
    "reconcile_runs",
    "record_refused_run",
    "record_sync_error",
    "resolve_sync_errors",
    "start_run",
]

JOB_AUTONOMOUS_SYNC = "autonomous-sync"
JOB_MASTER_SYNC = "master-sync"
JOB_CALCULATE_TRENDING = "calculate-trending"
JOB_SEED = "seed-comprehensive"
JOB_SYNC_ARTIST = "sync-artist"
JOBS = (JOB_AUTONOMOUS_SYNC, JOB_MASTER_SYNC, JOB_CALCULATE_TRENDING, JOB_SEED, JOB_SYNC_ARTIST)

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
    """Open the ledger row of a run (status ``running``, first heartbeat now) and return its id."""
    at = now or utcnow()
    async with engine.begin() as conn:
        return await _insert_run(
            conn,
            job=job,
            mode=mode,
            parameters=parameters,
            dry_run=dry_run,
            flow_run_id=flow_run_id,
            started_at=at,
            heartbeat_at=at,
            status=RunStatus.RUNNING.value,
        )


async def _insert_run(
    conn: AsyncConnection, *, parameters: Mapping[str, Any], **values: Any
) -> int:
    """Insert one ``sync_runs`` row (counts empty) and return its id."""
    result = await conn.execute(
        insert(_runs).values(parameters=dict(parameters), counts={}, **values).returning(_runs.c.id)
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
    """Close the ledger row of a run: the same row, updated in place (never a second row).

    The run's artist claims end with it. A row the reconciliation closed as ``crashed`` while
    the run was in fact alive takes the run's own outcome: the run knows better.
    """
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
        await release_claims(conn, run_id=run_id)


async def record_refused_run(
    engine: AsyncEngine,
    *,
    job: str,
    mode: str | None,
    parameters: Mapping[str, Any],
    reason: str,
    dry_run: bool = False,
    flow_run_id: str | None = None,
    if_unrecorded: bool = False,
    now: datetime | None = None,
) -> int | None:
    """Record a run refused before its work started (credentials, limits, parameters): one
    ``failed`` row, started and finished at ``now``, with ``reason`` as its error summary.

    With ``if_unrecorded`` (for a flow's ``on_failure`` hook, which also sees runs that failed
    after opening their row) nothing is written when flow run ``flow_run_id`` already has a
    row; returns None then. ``reason`` is stored as given: the caller redacts secrets first.
    """
    if not reason.strip():
        raise ValueError("a refused run needs its reason")
    if if_unrecorded and flow_run_id is None:
        raise ValueError("if_unrecorded needs the flow_run_id")
    at = now or utcnow()
    async with engine.begin() as conn:
        if if_unrecorded:
            recorded = await conn.execute(
                select(_runs.c.id).where(_runs.c.flow_run_id == flow_run_id).limit(1)
            )
            if recorded.first() is not None:
                return None
        return await _insert_run(
            conn,
            job=job,
            mode=mode,
            parameters=parameters,
            dry_run=dry_run,
            flow_run_id=flow_run_id,
            started_at=at,
            finished_at=at,
            status=RunStatus.FAILED.value,
            error_summary=reason[:_ERROR_CHARS],
        )


async def beat(
    engine: AsyncEngine,
    run_id: int,
    *,
    now: datetime | None = None,
    claim_lease: timedelta | None = None,
) -> bool:
    """Record that run ``run_id`` is alive; with ``claim_lease``, extend its artist claims to
    ``now + claim_lease`` too. False when the row is no longer ``running`` (the reconciliation
    closed it, or it finished): the caller should stop, its claims may be someone else's."""
    at = now or utcnow()
    async with engine.begin() as conn:
        result = await conn.execute(
            update(_runs)
            .where(_runs.c.id == run_id, _runs.c.status == RunStatus.RUNNING.value)
            .values(heartbeat_at=at)
        )
        alive = bool(result.rowcount)
        if alive and claim_lease is not None:
            await renew_claims(conn, run_id=run_id, until=at + claim_lease)
    return alive


@asynccontextmanager
async def keep_alive(
    engine: AsyncEngine,
    run_id: int,
    *,
    every: timedelta,
    claim_lease: timedelta | None = None,
    now: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> AsyncIterator[None]:
    """Beat for run ``run_id`` every ``every`` in the background while the block runs.

    A failed beat (database briefly unreachable) is skipped, not fatal: the next one counts,
    and only a silence longer than the stale setting closes the run.
    """
    if every <= timedelta(0):
        raise ValueError("every must be positive")

    async def loop() -> None:
        while True:
            await sleep(every.total_seconds())
            with suppress(Exception):
                await beat(engine, run_id, now=now(), claim_lease=claim_lease)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


#: Whether a Prefect flow run (by id) is still running: True, False, or None for "cannot
#: tell" (the run is then left alone). Sync or async; ``tasks.prefect_runs`` provides one.
IsRunning = Callable[[str], bool | Awaitable[bool | None] | None]


@dataclass(frozen=True, slots=True)
class CrashedRun:
    """A ``running`` row the reconciliation closed, and why."""

    id: int
    job: str
    flow_run_id: str | None
    last_seen_at: datetime
    reason: str


async def _still_running(
    is_running: IsRunning | Collection[str] | None, flow_run_id: str | None
) -> bool | None:
    if is_running is None or flow_run_id is None:
        return None
    if callable(is_running):
        answer = is_running(flow_run_id)
        if inspect.isawaitable(answer):
            answer = await answer
        return None if answer is None else bool(answer)
    return flow_run_id in is_running


async def reconcile_runs(
    db: AsyncEngine | AsyncConnection,
    *,
    now: datetime,
    stale_after: timedelta,
    is_running: IsRunning | Collection[str] | None = None,
) -> list[CrashedRun]:
    """Close as ``crashed`` every ``running`` row that is dead, and release its claims.

    Dead: its last sign of life (heartbeat, else start) is older than ``now - stale_after``;
    or ``is_running`` (a set of live Prefect flow-run ids, or a function of one id) says its
    Prefect flow run is no longer running. Rows without a flow-run id, or that ``is_running``
    cannot tell about, are judged by the heartbeat alone. ``finished_at`` becomes the last
    sign of life: the run ended after it, and nothing more is known. Idempotent: a second call
    finds nothing. Returns the rows it closed, oldest first.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if stale_after <= timedelta(0):
        raise ValueError("stale_after must be positive")
    if isinstance(db, AsyncConnection):
        return await _reconcile(db, now=now, stale_after=stale_after, is_running=is_running)
    async with db.begin() as conn:
        return await _reconcile(conn, now=now, stale_after=stale_after, is_running=is_running)


async def _reconcile(
    conn: AsyncConnection,
    *,
    now: datetime,
    stale_after: timedelta,
    is_running: IsRunning | Collection[str] | None,
) -> list[CrashedRun]:
    c = _runs.c
    last_seen = func.coalesce(c.heartbeat_at, c.started_at)
    rows = (
        await conn.execute(
            select(c.id, c.job, c.flow_run_id, c.started_at, c.heartbeat_at)
            .where(c.status == RunStatus.RUNNING.value, c.started_at <= now)
            .order_by(c.started_at, c.id)
        )
    ).all()
    minutes = stale_after.total_seconds() / 60
    crashed: list[CrashedRun] = []
    for row in rows:
        seen = row.heartbeat_at or row.started_at
        if seen < now - stale_after:
            reason = (
                f"crashed: no heartbeat since {seen.isoformat()} "
                f"(silent for more than {minutes:g} min)"
            )
        elif await _still_running(is_running, row.flow_run_id) is False:
            reason = f"crashed: Prefect flow run {row.flow_run_id} is no longer running"
        else:
            continue
        # Only if still running and not revived meanwhile: a live run's finish_run wins.
        result = await conn.execute(
            update(_runs)
            .where(
                and_(
                    c.id == row.id,
                    c.status == RunStatus.RUNNING.value,
                    last_seen == seen,
                )
            )
            .values(status=RunStatus.CRASHED.value, finished_at=seen, error_summary=reason)
        )
        if result.rowcount:
            await release_claims(conn, run_id=row.id)
            crashed.append(CrashedRun(row.id, row.job, row.flow_run_id, seen, reason))
    return crashed


async def close_flow_run(
    engine: AsyncEngine,
    *,
    flow_run_id: str,
    status: RunStatus,
    reason: str,
    now: datetime | None = None,
) -> list[int]:
    """Close the ``running`` rows of Prefect flow run ``flow_run_id`` with ``status`` (for the
    flows' ``on_crashed``/``on_cancellation`` hooks, which know the flow run, not the row).

    Returns the ledger ids closed; rows already closed are left as they are.
    """
    if status is RunStatus.RUNNING:
        raise ValueError("a closed run needs a final status")
    c = _runs.c
    async with engine.begin() as conn:
        ids = list(
            (
                await conn.execute(
                    select(c.id).where(
                        c.flow_run_id == flow_run_id, c.status == RunStatus.RUNNING.value
                    )
                )
            ).scalars()
        )
        if not ids:
            return []
        await conn.execute(
            update(_runs)
            .where(c.id.in_(ids), c.status == RunStatus.RUNNING.value)
            .values(
                status=status.value,
                finished_at=now or utcnow(),
                error_summary=reason[:_ERROR_CHARS],
            )
        )
        for run_id in ids:
            await release_claims(conn, run_id=run_id)
    return ids


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
