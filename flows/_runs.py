"""What every flow run shares: its ledger row, its error records, its summary artifacts."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

from prefect import Flow, flow
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.states import Completed
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from clients.errors import redact
from models.db import run_engine
from models.ledger import (
    CrashedRun,
    close_flow_run,
    finish_run,
    keep_alive,
    reconcile_runs,
    record_refused_run,
    record_sync_error,
    start_run,
)
from models.tables import RunStatus
from models.types import utcnow
from settings import Settings, get_settings
from tasks import prefect_traffic
from tasks.heap import tune_gc
from tasks.prefect_runs import client_or_default, flow_run_checker
from tasks.prefect_traffic import PrefectTraffic

__all__ = [
    "RunFailed",
    "RunOutcome",
    "RunTracker",
    "close_ledger_on_crash",
    "job_flow",
    "record_refusal",
    "record_refused_start",
    "tracked_run",
]

#: A flow's return: its counts, or a ``Completed(name="Partial")`` state carrying them.
RunOutcome = dict[str, int] | State
P = ParamSpec("P")
R = TypeVar("R")


class RunFailed(RuntimeError):
    """The run had work to do and none of it went through (every request failed)."""


logger = logging.getLogger("mysetlist.flows")

_MAX_ERRORS_IN_SUMMARY = 10
_SEVERITY = (RunStatus.SUCCESS, RunStatus.PARTIAL, RunStatus.FAILED)


@dataclass
class RunTracker:
    """The state of one flow run, as the ledger and the artifacts will show it."""

    job: str
    mode: str | None
    dry_run: bool
    engine: AsyncEngine
    settings: Settings
    run_id: int
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    summary_lines: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    traffic_at_start: PrefectTraffic = field(default_factory=prefect_traffic.snapshot)
    #: The worst status of the runs this one started (seed's steps); its own can be no better.
    steps_status: RunStatus = RunStatus.SUCCESS

    async def took_step(self, job: str, state: State) -> dict[str, int]:
        """Note how a step (a child flow run, started with ``return_state=True``) ended, and
        return its counts ({} when it failed: its own ledger row says why)."""
        if state.is_completed():
            status = RunStatus.PARTIAL if state.name == "Partial" else RunStatus.SUCCESS
        else:
            status = RunStatus.FAILED
            self.summary_lines.append(f"Step {job} ended {state.name}: {state.message}")
        self.steps_status = max(self.steps_status, status, key=_SEVERITY.index)
        if status is RunStatus.FAILED:
            return {}
        counts = await state.aresult(raise_on_failure=False)
        return dict(counts) if isinstance(counts, dict) else {}

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def redact(self, text: str) -> str:
        return redact(text, self.settings.secret_values())

    async def error(
        self,
        *,
        source: str,
        key: str,
        entity: str,
        error: str,
        payload_excerpt: str | None = None,
    ) -> None:
        """Record a failed record or artist; the run goes on and ends ``partial``.

        A dry run only reports it: it writes nothing but its ledger row."""
        message = self.redact(error)
        excerpt = self.redact(payload_excerpt) if payload_excerpt else None
        self.errors.append(f"{source} {entity} {key}: {message}")
        self.counts["errors"] += 1
        logger.warning("%s %s %s failed: %s", source, entity, key, message)
        if self.dry_run:
            return
        async with self.engine.begin() as conn:
            await record_sync_error(
                conn,
                source=source,
                key=key,
                entity=entity,
                error=message,
                payload_excerpt=excerpt,
                run_id=self.run_id,
            )

    def count_prefect_traffic(self) -> None:
        """The run's traffic to the Prefect server, in its counts and summary (once: at the
        end of its work, before its return value is built)."""
        if "prefect_api_calls" in self.counts:
            return
        traffic = prefect_traffic.snapshot() - self.traffic_at_start
        self.counts["prefect_api_calls"] = traffic.calls
        artists = sum(self.counts[k] for k in ("artists_synced", "artists_failed"))
        per_artist = f", {traffic.calls / artists:.2f} per artist synced" if artists else ""
        self.summary_lines.append(
            f"Prefect API: {traffic.calls} calls ({traffic.requests} requests, "
            f"{traffic.events} events){per_artist}."
        )

    @property
    def status(self) -> RunStatus:
        """``success`` without errors; ``failed`` when it had work to do and none of it went
        through (every artist and market failed or was left over); else ``partial``."""
        own = self._own_status()
        return max(own, self.steps_status, key=_SEVERITY.index)

    def _own_status(self) -> RunStatus:
        if not self.errors:
            return RunStatus.SUCCESS
        done = self.counts["artists_synced"] + self.counts["markets_scanned"]
        undone = (
            self.counts["artists_failed"]
            + self.counts["artists_skipped"]
            + self.counts["markets_failed"]
        )
        return RunStatus.FAILED if done == 0 and undone > 0 else RunStatus.PARTIAL

    def outcome(self) -> RunOutcome:
        """What the flow returns: its counts, as a ``Completed`` state named ``Partial`` in
        Prefect when the run recorded errors (callers still receive the counts)."""
        self.count_prefect_traffic()
        counts = dict(self.counts)
        if self.status is RunStatus.PARTIAL:
            return Completed(name="Partial", data=counts)
        return counts

    def error_summary(self) -> str | None:
        if not self.errors:
            return None
        shown = self.errors[:_MAX_ERRORS_IN_SUMMARY]
        more = len(self.errors) - len(shown)
        return "\n".join(shown + ([f"... and {more} more"] if more else []))


def _in_flow_run() -> bool:
    return FlowRunContext.get() is not None


def _flow_run_id() -> str | None:
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx is not None and ctx.flow_run is not None else None


def _markdown(run: RunTracker, status: RunStatus) -> str:
    title = (
        f"# {run.job}"
        + (f" ({run.mode})" if run.mode else "")
        + (" — dry run" if run.dry_run else "")
    )
    lines = [title, "", f"Status: **{status.value}** · ledger run #{run.run_id}", ""]
    if run.counts:
        lines += ["| count | value |", "| --- | ---: |"]
        lines += [f"| {key} | {value} |" for key, value in sorted(run.counts.items())]
        lines.append("")
    lines += run.summary_lines
    if run.errors:
        lines += ["", "## Errors", ""] + [
            f"- {line}" for line in run.errors[:_MAX_ERRORS_IN_SUMMARY]
        ]
    return "\n".join(lines)


async def _publish(run: RunTracker, status: RunStatus) -> None:
    if not _in_flow_run():
        return
    key = run.job.replace("_", "-")
    # The two artifacts are independent: sent together, the run waits for one round trip.
    artifacts = [
        acreate_markdown_artifact(
            markdown=_markdown(run, status), key=f"{key}-summary", description=f"{run.job} summary"
        )
    ]
    if run.changes:
        artifacts.append(
            acreate_table_artifact(
                table=run.changes[:500],
                key=f"{key}-changes",
                description=f"{run.job}: what changed",
            )
        )
    await asyncio.gather(*artifacts)


async def _close_dead_runs(engine: AsyncEngine, settings: Settings) -> list[CrashedRun]:
    """Close as ``crashed`` the ``running`` rows whose heartbeat stopped, or (inside a flow run,
    where a Prefect client is at hand) whose Prefect flow run has ended."""
    stale_after = timedelta(minutes=settings.run_heartbeat_stale_minutes)
    if not _in_flow_run():
        return await reconcile_runs(engine, now=utcnow(), stale_after=stale_after)
    async with client_or_default(None) as client:
        return await reconcile_runs(
            engine, now=utcnow(), stale_after=stale_after, is_running=flow_run_checker(client)
        )


@asynccontextmanager
async def tracked_run(
    *,
    job: str,
    mode: str | None,
    parameters: BaseModel | Mapping[str, Any],
    dry_run: bool = False,
    settings: Settings | None = None,
    engine: AsyncEngine | None = None,
) -> AsyncIterator[RunTracker]:
    """Open the run's ledger row, yield its tracker, and close the row with the outcome.

    First, runs whose heartbeat stopped are closed as ``crashed``. The row then beats every
    ``RUN_HEARTBEAT_SECONDS`` (renewing the run's artist claims) while the block runs. A run that
    raises ends ``failed`` (and re-raises); one that recorded errors ends ``partial``, or
    ``failed`` when none of its work went through (``RunFailed`` is raised after the row is
    closed, so the flow run fails and the command exits non-zero).

    The process's first run tunes its garbage collector (``tasks.heap``): its start-up heap
    frozen out of full collections, a larger young generation.
    """
    settings = settings or get_settings()
    prefect_traffic.install()
    tune_gc(freeze=settings.gc_freeze_at_start, young_threshold=settings.gc_young_threshold)
    async with AsyncExitStack() as stack:
        if engine is None:
            engine = await stack.enter_async_context(run_engine(settings.database_url))
        async with _tracked(job, mode, parameters, dry_run, settings, engine) as run:
            yield run


@asynccontextmanager
async def _tracked(
    job: str,
    mode: str | None,
    parameters: BaseModel | Mapping[str, Any],
    dry_run: bool,
    settings: Settings,
    engine: AsyncEngine,
) -> AsyncIterator[RunTracker]:
    params = (
        parameters.model_dump(mode="json")
        if isinstance(parameters, BaseModel)
        else dict(parameters)
    )
    crashed = await _close_dead_runs(engine, settings)
    for closed in crashed:
        logger.warning("ledger run #%s (%s) closed: %s", closed.id, closed.job, closed.reason)
    run_id = await start_run(
        engine,
        job=job,
        mode=mode,
        parameters=params,
        dry_run=dry_run,
        flow_run_id=_flow_run_id(),
    )
    run = RunTracker(
        job=job, mode=mode, dry_run=dry_run, engine=engine, settings=settings, run_id=run_id
    )
    try:
        async with keep_alive(
            engine,
            run_id,
            every=timedelta(seconds=settings.run_heartbeat_seconds),
            claim_lease=timedelta(minutes=settings.sync_claim_lease_minutes),
        ):
            yield run
        run.count_prefect_traffic()
    except BaseException as exc:
        summary = run.redact(f"{type(exc).__name__}: {exc}")
        if run.errors:
            summary += "\n" + (run.error_summary() or "")
        await finish_run(
            engine, run_id, status=RunStatus.FAILED, counts=run.counts, error_summary=summary
        )
        run.summary_lines.append(f"Failed: {summary}")
        await _publish(run, RunStatus.FAILED)
        raise
    status = run.status
    await finish_run(
        engine, run_id, status=status, counts=run.counts, error_summary=run.error_summary()
    )
    await _publish(run, status)
    if status is RunStatus.FAILED:
        raise RunFailed(f"{job}: nothing went through; ledger run #{run_id}: {run.error_summary()}")


async def record_refusal(
    *, job: str, params: BaseModel, error: BaseException, settings: Settings
) -> None:
    """Record a run refused before its work started (credentials, rate limits): one ``failed``
    ledger row with the reason. Best effort: an unreachable database must not hide the
    original error."""
    async with run_engine(settings.database_url) as engine:
        try:
            await record_refused_run(
                engine,
                job=job,
                mode=getattr(params, "mode", None),
                parameters=params.model_dump(mode="json"),
                dry_run=bool(getattr(params, "dry_run", False)),
                reason=redact(
                    f"refused: {type(error).__name__}: {error}", settings.secret_values()
                ),
                flow_run_id=_flow_run_id(),
            )
        except Exception as exc:  # the database itself may be what is missing
            logger.warning("could not record the refused run: %s", redact(str(exc)))


async def record_refused_start(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect ``on_failure`` hook: a run refused before it opened its ledger row (its
    parameters failed validation) still gets one ``failed`` row with the reason. A run that
    failed after opening its row already has it: nothing more is written."""
    settings = get_settings()
    parameters = dict(getattr(flow_run, "parameters", None) or {})
    mode = parameters.get("mode")
    async with run_engine(settings.database_url) as engine:
        try:
            await record_refused_run(
                engine,
                job=str(flow.name),
                mode=mode if isinstance(mode, str) else None,
                parameters={key: repr(value)[:200] for key, value in parameters.items()},
                dry_run=parameters.get("dry_run") is True,
                reason=redact(f"refused: {state.message or state.name}", settings.secret_values()),
                flow_run_id=str(flow_run.id),
                if_unrecorded=True,
            )
        except Exception as exc:  # the database itself may be what is missing
            logger.warning("could not record the refused run: %s", redact(str(exc)))


async def close_ledger_on_crash(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect ``on_crashed``/``on_cancellation`` hook: close the run's ``running`` ledger rows
    (``crashed``, or ``failed`` with "cancelled") instead of leaving them open."""
    del flow
    cancelled = bool(getattr(state, "is_cancelled", lambda: False)())
    settings = get_settings()
    async with run_engine(settings.database_url) as engine:
        await close_flow_run(
            engine,
            flow_run_id=str(flow_run.id),
            status=RunStatus.FAILED if cancelled else RunStatus.CRASHED,
            reason=redact(
                f"{'cancelled' if cancelled else 'crashed'}: {state.message or state.name}",
                settings.secret_values(),
            ),
        )


def job_flow(name: str, *, timeout_hours: float) -> Callable[[Callable[P, R]], Flow[P, R]]:
    """``@flow`` for one of our jobs: parameters validated, a timeout, and the ledger kept true
    whatever happens: a crashed or cancelled run closes its row, a run refused for its
    parameters gets one ``failed`` row."""
    return flow(
        name=name,
        validate_parameters=True,
        timeout_seconds=timeout_hours * 3600,
        on_crashed=[close_ledger_on_crash],
        on_cancellation=[close_ledger_on_crash],
        on_failure=[record_refused_start],
    )
