"""What every flow run shares: its ledger row, its error records, its summary artifacts."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import FlowRunContext
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from clients.errors import redact
from models.db import make_engine
from models.ledger import finish_run, record_sync_error, start_run
from models.tables import RunStatus
from settings import Settings, get_settings
from tasks import prefect_traffic
from tasks.prefect_traffic import PrefectTraffic

__all__ = ["RunTracker", "tracked_run"]

logger = logging.getLogger("mysetlist.flows")

_MAX_ERRORS_IN_SUMMARY = 10


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
        return RunStatus.PARTIAL if self.errors else RunStatus.SUCCESS

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
    await create_markdown_artifact(  # type: ignore[misc]
        markdown=_markdown(run, status), key=f"{key}-summary", description=f"{run.job} summary"
    )
    if run.changes:
        await create_table_artifact(  # type: ignore[misc]
            table=run.changes[:500], key=f"{key}-changes", description=f"{run.job}: what changed"
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

    A run that raises ends ``failed`` (and re-raises); one that recorded errors ends ``partial``.
    """
    settings = settings or get_settings()
    prefect_traffic.install()
    own_engine = engine is None
    engine = engine or make_engine(settings.database_url)
    params = (
        parameters.model_dump(mode="json")
        if isinstance(parameters, BaseModel)
        else dict(parameters)
    )
    try:
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
    finally:
        if own_engine:
            await engine.dispose()
