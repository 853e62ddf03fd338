"""Orchestration shared by the sync flows: run one coroutine per artist under a concurrency
bound, record each failure without stopping the others, and keep a progress artifact current."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, time, timedelta

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import FlowRunContext

from clients.errors import MalformedRecord
from flows._runs import RunTracker
from models.sync_state import ArtistToSync
from tasks.store import Writer, record_artist_failure

__all__ = ["day_window", "for_each_artist", "record_malformed"]

logger = logging.getLogger("mysetlist.flows")

ArtistJob = Callable[[ArtistToSync], Awaitable[dict[str, int]]]


def day_window(now: datetime, days: int) -> tuple[datetime, datetime]:
    """From the start of today (UTC) for ``days`` days: stable within a day, so reads cache."""
    start = datetime.combine(now.astimezone(UTC).date(), time(0, 0), tzinfo=UTC)
    return start, start + timedelta(days=days)


async def record_malformed(run: RunTracker, malformed: Sequence[MalformedRecord]) -> None:
    for record in malformed:
        await run.error(
            source=record.api,
            key=f"{record.kind}:{record.key}",
            entity=record.kind,
            error=str(record),
            payload_excerpt=record.excerpt,
        )


async def for_each_artist(
    run: RunTracker,
    writer: Writer,
    artists: Sequence[ArtistToSync],
    job: ArtistJob,
    *,
    now: datetime,
    label: str,
) -> None:
    """Run ``job`` for every artist, at most ``sync_concurrency`` at once. A failing artist is
    recorded (error row, retry time, old ``last_synced_at`` kept) and the others go on."""
    semaphore = asyncio.Semaphore(run.settings.sync_concurrency)
    done = 0
    progress_id = None
    if FlowRunContext.get() is not None and artists:
        progress_id = await create_progress_artifact(  # type: ignore[misc]
            progress=0.0, key=f"{run.job}-progress", description=f"{label}: artists done"
        )

    async def one(artist: ArtistToSync) -> None:
        nonlocal done
        async with semaphore:
            try:
                counts = await job(artist)
            except Exception as exc:
                message = run.redact(f"{type(exc).__name__}: {exc}")
                await run.error(
                    source="sync", key=f"artist:{artist.id}", entity="artist", error=message
                )
                await record_artist_failure(
                    writer,
                    artist_id=artist.id,
                    error=message,
                    now=now,
                    base_minutes=run.settings.sync_retry_base_minutes,
                )
                run.count("artists_failed")
            else:
                for key, value in counts.items():
                    run.count(key, value)
                run.count("artists_synced")
                if any(
                    value for key, value in counts.items() if key.endswith(("_added", "_updated"))
                ):
                    run.changes.append({"artist": artist.name, **counts})
            done += 1
            if progress_id is not None and done % 5 == 0:
                async with progress_lock:  # updates land in order: the bar never goes back
                    await update_progress_artifact(  # type: ignore[misc]
                        artifact_id=progress_id, progress=100.0 * done / len(artists)
                    )

    progress_lock = asyncio.Lock()
    await asyncio.gather(*(one(artist) for artist in artists))
    if progress_id is not None:
        async with progress_lock:
            await update_progress_artifact(artifact_id=progress_id, progress=100.0)  # type: ignore[misc]
