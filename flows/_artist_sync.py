"""What the sync flows share: the opening of a run, and syncing artists in batches.

``open_sync_run`` is the one opening of a sync run: parameters already validated, credentials
checked, the ledger row opened, the rate limiter and the clients set up, the run's writer ready.
``sync_in_batches`` runs one coroutine per artist (its reads) under a concurrency bound, inside a
few coarse Prefect task runs (``sync-artist-batch``, ``SYNC_BATCH_SIZE`` artists each): Prefect
observes a batch, never a request. A batch's artists are then stored together, set-based, in one
transaction (``tasks.store.store_artist_syncs``); if that fails, each alone. A failing artist is
recorded (error row, retry time, old ``last_synced_at`` kept) and the others go on; an API that
stops (quota spent, key refused) ends that API's work for the run and leaves the remaining
artists as they were.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from typing import TypeVar, cast
from uuid import UUID

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.utilities.annotations import quote
from pydantic import BaseModel

from clients.errors import AuthError, MalformedRecord, QuotaExhausted
from clients.setlistfm import SfmSetlist
from clients.ticketmaster import TmEvent
from flows._plan import BudgetedLimiter, PlanBudgetSpent, RequestPlan, make_plan, settle_plan
from flows._runs import RunOutcome, RunTracker, record_refusal, tracked_run
from models.catalog import listed_events_of, setlist_versions
from models.sync_state import ArtistToSync, HistoryMark, history_due
from models.types import utcnow
from settings import Settings, get_settings
from tasks.deps import Upstream, check_credentials, open_upstream
from tasks.leases import open_rate_limiter
from tasks.store import (
    ArtistSync,
    NotBatchable,
    Writer,
    record_artist_failure,
    store_artist_syncs,
    store_history_page,
)
from tasks.upstream import read_artist_setlists, read_history_page

#: An artist "just played" while a show of its last ``JUST_PLAYED_DAYS`` days (or today) awaits
#: its setlist (setlist.fm publishes one 3–40 h after the show). Among the artists never read,
#: the master sync's first syncs and the backfill's first reads take them first: their news is
#: being published now (before, a first read could come days after the setlist).
JUST_PLAYED_DAYS = 3

__all__ = [
    "JUST_PLAYED_DAYS",
    "ArtistOutcome",
    "SyncRun",
    "backfill_history",
    "day_window",
    "open_sync_run",
    "read_new_setlists",
    "record_malformed",
    "stored_listings",
    "sync_in_batches",
    "with_moved_events",
]

logger = logging.getLogger("mysetlist.flows")
T = TypeVar("T")


class SyncRun:
    """One sync run's parts, as its phases use them: the ledger tracker, the clients, the writer
    and the run's clock reading. A plain class on purpose: Prefect walks task parameters that are
    collections, dataclasses or models, and this is passed to every task of the run."""

    __slots__ = ("now", "plan", "run", "upstream", "writer")

    def __init__(
        self,
        run: RunTracker,
        upstream: Upstream,
        writer: Writer,
        now: datetime,
        plan: RequestPlan | None = None,
    ) -> None:
        self.run = run
        self.upstream = upstream
        self.writer = writer
        self.now = now
        self.plan = plan if plan is not None else RequestPlan("fixed", now.date())

    @property
    def settings(self) -> Settings:
        return self.run.settings

    @property
    def claim_lease(self) -> timedelta:
        return timedelta(minutes=self.settings.sync_claim_lease_minutes)

    async def record_refused_records(self) -> None:
        """Record every upstream record the clients refused so far, whatever read it (a page
        kept, a search, a read that failed later): one ``sync_errors`` row each."""
        await record_malformed(self.run, self.upstream.take_malformed())

    async def outcome(self) -> RunOutcome:
        """The run's counts (with the requests each API was sent and its Prefect traffic), as
        the flow returns them (``RunTracker.outcome``), after the refused records are recorded."""
        await self.record_refused_records()
        for key, value in self.upstream.request_counts().items():
            self.run.count(key, value)
        self.run.summary_lines.extend(self.plan.lines())
        return self.run.outcome()


@asynccontextmanager
async def open_sync_run(
    *, job: str, params: BaseModel, apis: Sequence[str]
) -> AsyncIterator[SyncRun]:
    """Open a sync run: credentials of ``apis`` checked before the work starts (a run refused
    there is recorded as one ``failed`` ledger row with its reason); then the ledger row, the
    rate limiter (leases from our database by default, ``tasks/leases.py``), the clients and the
    writer (a dry run's writer rolls each of its transactions back)."""
    settings = get_settings()
    try:
        check_credentials(settings, apis)
    except Exception as exc:
        await record_refusal(job=job, params=params, error=exc, settings=settings)
        raise
    dry_run = bool(getattr(params, "dry_run", False))
    mode = getattr(params, "mode", None)
    async with (
        tracked_run(job=job, mode=mode, parameters=params, dry_run=dry_run) as run,
        open_rate_limiter(settings, apis, engine=run.engine) as rate_limiter,
    ):
        now = utcnow()
        plan = await make_plan(run.engine, settings, job=job, mode=mode, apis=apis, now=now)
        for line in plan.lines():
            logger.info("%s", line)
        plan.limiter = limiter = BudgetedLimiter(rate_limiter, plan.grants())
        try:
            async with open_upstream(settings, apis=apis, limiter=limiter) as upstream:
                writer = Writer(run.engine, dry_run=dry_run)
                sync = SyncRun(run, upstream, writer, now, plan)
                try:
                    yield sync
                except Exception:
                    try:  # a failed run keeps what it refused too, unless the database failed
                        await sync.record_refused_records()
                    except Exception as recording:
                        logger.warning("refused records not recorded: %s", type(recording).__name__)
                    raise
        finally:
            try:  # what the run did not spend goes back to the day's plan
                await settle_plan(run.engine, plan, limiter.spent)
            except Exception as settling:
                logger.warning("request plan not settled: %s", type(settling).__name__)


def day_window(now: datetime, days: int) -> tuple[datetime, datetime]:
    """From the start of today (UTC) for ``days`` days: stable within a day, so reads cache."""
    start = datetime.combine(now.astimezone(UTC).date(), time(0, 0), tzinfo=UTC)
    return start, start + timedelta(days=days)


async def stored_listings(
    sync: SyncRun, artists: Sequence[ArtistToSync], window: tuple[datetime, datetime]
) -> dict[int, list[str]]:
    """The event ids of the chosen artists' stored upcoming shows in ``window``, read once for a
    phase (``with_moved_events`` compares each artist's listing with its own)."""
    async with sync.writer.read() as conn:
        return await listed_events_of(
            conn, [a.id for a in artists], start=window[0].date(), end=window[1].date()
        )


async def with_moved_events(
    sync: SyncRun, events: list[TmEvent], *, stored: Sequence[str], complete: bool
) -> list[TmEvent]:
    """An artist's complete listing, plus each of its stored upcoming shows in the listing's
    window (``stored``: their event ids) that the listing no longer holds but Ticketmaster still
    has, looked up by event id: an event rescheduled or moved out of the window (more than a
    year ahead) is stored as it is now instead of being delisted by the listing's
    reconciliation; one Ticketmaster no longer has (404) stays out, and is delisted. An
    incomplete listing delists nothing: no lookup."""
    listed = {event.id for event in events}
    missing = [event_id for event_id in stored if event_id not in listed]
    if not complete or not missing:
        return events
    client = sync.upstream.require_ticketmaster()
    found = [event for event_id in missing if (event := await client.get_event(event_id))]
    sync.run.count("listing_vanished_checked", len(missing))
    return [*events, *found]


async def read_new_setlists(
    sync: SyncRun, artist: ArtistToSync, mbid: str, known: dict[str, str]
) -> tuple[list[SfmSetlist], HistoryMark | None]:
    """An artist's new or edited setlists (``known``: the stored versions), and how far a read
    from page 1 reached in its history (``None`` for an incremental read).

    Incremental (everything edited since its setlist.fm stamp, less the overlap) only once the
    artist has setlists stored: a stamp left by a search that found nothing, or by syncs before
    its id arrived, must not hide its history (without any, a first read costs one request, as
    the incremental read would)."""
    settings = sync.settings
    stamp = artist.setlistfm_synced_at if known else None
    overlap = timedelta(minutes=settings.setlist_cursor_overlap_minutes)
    cursor = stamp - overlap if stamp is not None else None
    fetched = await read_artist_setlists(
        sync.upstream, mbid, cursor, settings.setlist_first_sync_max_pages, known
    )
    sync.run.count("setlist_pages_read", fetched.requests_pages)
    history = None
    if cursor is None:  # read from page 1: the history cursor starts after it
        history = HistoryMark(mbid, fetched.requests_pages, fetched.complete)
    return fetched.setlists, history


async def backfill_history(
    sync: SyncRun, *, stopped: dict[str, str], pages: int, first_reads: bool = False
) -> None:
    """Older setlists of the artists whose history is not complete, least recently advanced
    first, within ``pages`` pages (``SETLIST_HISTORY_PAGES_PER_RUN`` with a fixed plan; what is
    left of the run's setlist.fm grant with the daily plan). Each page is stored with the cursor
    in one transaction. ``first_reads``: artists with a MusicBrainz id never read yet too
    (``history_due``). setlist.fm stopping (quota spent, key refused) ends the backfill for the run
    with one error row; another failure costs that artist's backfill for this run only (an
    error row, no failure mark: its own sync is not concerned)."""
    run = sync.run
    budget = pages
    if budget <= 0 or "setlistfm" in stopped:
        return
    async with sync.writer.read() as conn:
        due = await history_due(
            conn,
            limit=budget,
            first_reads=first_reads,
            just_played=(sync.now.date(), JUST_PLAYED_DAYS) if first_reads else None,
        )
    for entry in due:
        if budget <= 0:
            break
        async with sync.writer.read() as conn:
            known = await setlist_versions(conn, entry.artist_id)
        number = entry.next_page
        try:
            while budget > 0:
                page = await read_history_page(sync.upstream, entry.mbid, number)
                budget -= 1
                run.count("history_pages_read")
                fresh = [s for s in page.setlists if known.get(s.id) != s.version_id]
                counts = await store_history_page(
                    sync.writer,
                    artist_id=entry.artist_id,
                    setlists=fresh,
                    mark=HistoryMark(
                        entry.mbid,
                        number if page.trusted else number - 1,
                        page.trusted and page.is_last,
                    ),
                    today=sync.now.date(),
                    now=sync.now,
                )
                for key, value in counts.items():
                    run.count(key, value)
                if page.is_last:
                    run.count("histories_completed", int(page.trusted))
                    break
                number += 1
        except Exception as exc:
            history_stopped = await record_setlistfm_failure(
                run,
                exc,
                step="history",
                artist_id=entry.artist_id,
                resumes="the history backfill resumes next run",
            )
            if history_stopped:
                break
    await sync.record_refused_records()


async def record_setlistfm_failure(
    run: RunTracker, exc: Exception, *, step: str, artist_id: int, resumes: str
) -> bool:
    """Record a failed setlist.fm read of one artist in ``step`` (the setlist watch, the history
    backfill). True when the API stopped (a spent quota, a refused key): the step ends there and
    ``resumes`` says when; otherwise only that artist failed and the step goes on."""
    if isinstance(exc, PlanBudgetSpent):  # the run's share is spent: planned, not an error
        run.count(f"{exc.api}_plan_spent")
        return True
    if isinstance(exc, QuotaExhausted | AuthError):
        await run.error(
            source=exc.api,
            key=step,
            entity="api",
            error=f"{type(exc).__name__}: {exc}; {resumes}",
        )
        return True
    await run.error(
        source="setlistfm",
        key=f"{step}:{artist_id}",
        entity="artist",
        error=run.redact(f"{type(exc).__name__}: {exc}"),
    )
    return False


async def record_malformed(run: RunTracker, malformed: Sequence[MalformedRecord]) -> None:
    """Record each upstream record that failed validation; the run goes on without it."""
    for record in malformed:
        await run.error(
            source=record.api,
            key=f"{record.kind}:{record.key}",
            entity=record.kind,
            error=str(record),
            payload_excerpt=record.excerpt,
        )


ArtistOutcome = dict[str, int]
ArtistJob = Callable[[ArtistToSync], Awaitable[ArtistSync]]


class _Batches:
    """The shared state of one ``sync_in_batches`` call (progress, stopped APIs)."""

    def __init__(self, sync: SyncRun, total: int, label: str) -> None:
        self.sync = sync
        self.total = total
        self.label = label
        self.done = 0
        self.semaphore = asyncio.Semaphore(sync.settings.sync_concurrency)
        self.stopped: dict[str, str] = {}
        self.progress_id: UUID | None = None
        self.progress_lock = asyncio.Lock()

    async def start_progress(self) -> None:
        if FlowRunContext.get() is not None and self.total:
            self.progress_id = await create_progress_artifact(  # type: ignore[misc]
                progress=0.0,
                key=f"{self.sync.run.job}-progress",
                description=f"{self.label}: artists done",
            )

    async def report_progress(self, *, final: bool = False) -> None:
        if self.progress_id is None:
            return
        async with self.progress_lock:  # updates land in order: the bar never goes back
            progress = 100.0 if final else 100.0 * self.done / self.total
            await update_progress_artifact(  # type: ignore[misc]
                artifact_id=self.progress_id, progress=progress
            )

    async def failed(self, artist: ArtistToSync, exc: Exception) -> None:
        """A failed artist: an error row, a retry time, its old ``last_synced_at`` kept."""
        sync, run = self.sync, self.sync.run
        message = run.redact(f"{type(exc).__name__}: {exc}")
        await run.error(source="sync", key=f"artist:{artist.id}", entity="artist", error=message)
        await record_artist_failure(
            sync.writer,
            artist_id=artist.id,
            error=message,
            now=sync.now,
            base_minutes=sync.settings.sync_retry_base_minutes,
        )
        run.count("artists_failed")

    async def synced(self, artist: ArtistToSync, data: ArtistSync, counts: ArtistOutcome) -> None:
        """A stored artist: its counts, its row of the changes table, and an error row for each
        id found for it that another row holds (``docs/storage.md``, "Identity and
        homonyms")."""
        run = self.sync.run
        for key, why in data.conflicts:
            await run.error(source="identity", key=key, entity="artist", error=why)
        for key, value in counts.items():
            run.count(key, value)
        run.count("artists_synced")
        if any(value for key, value in counts.items() if key.endswith(("_added", "_updated"))):
            run.changes.append({"artist": artist.name, **counts})


async def _read_one(batches: _Batches, artist: ArtistToSync, job: ArtistJob) -> ArtistSync | None:
    """One artist's reads (``job``); ``None`` when it failed or its API stopped (recorded)."""
    run = batches.sync.run
    async with batches.semaphore:
        if batches.stopped:
            run.count("artists_skipped")  # an API stopped for this run: left as it was
            return None
        try:
            return await job(artist)
        except (QuotaExhausted, AuthError) as exc:
            # The API stopped, not the artist: no failure mark, no back-off; the next run
            # takes the artist again. Recorded once per API.
            run.count("artists_skipped")
            if exc.api not in batches.stopped:
                batches.stopped[exc.api] = run.redact(str(exc))
                if isinstance(exc, PlanBudgetSpent):  # planned: not an error
                    run.count(f"{exc.api}_plan_spent")
                    return None
                await run.error(
                    source=exc.api,
                    key="run",
                    entity="api",
                    error=f"{type(exc).__name__}: {exc}; remaining artists left for the next run",
                )
            return None
        except Exception as exc:
            await batches.failed(artist, exc)
            return None


async def _store_batch(batches: _Batches, read: Sequence[tuple[ArtistToSync, ArtistSync]]) -> None:
    """Store what a batch read: every artist in one set-based transaction; when that fails (one
    artist's data refused by the database, the artists touching one another), each artist alone
    in its own, so only the artist whose data fails is failed (and retried later)."""
    if not read:
        return
    sync = batches.sync
    today = sync.now.date()
    try:
        per_artist, shared = await store_artist_syncs(
            sync.writer, [data for _, data in read], today=today, now=sync.now
        )
    except Exception as exc:
        if not isinstance(exc, NotBatchable):
            logger.warning(
                "a batch of %d artists was not stored together (%s): each is stored alone",
                len(read),
                type(exc).__name__,
            )
        for artist, data in read:
            try:
                counts = await data.store(sync.writer, today=today, now=sync.now)
            except Exception as error:
                await batches.failed(artist, error)
                continue
            await batches.synced(artist, data, counts)
        return
    for key, value in shared.items():
        sync.run.count(key, value)
    for (artist, data), counts in zip(read, per_artist, strict=True):
        await batches.synced(artist, data, counts)


def _as_is(value: T) -> T:
    """``value`` for a task's parameter, wrapped in Prefect's ``quote``: the task receives it
    unchanged, and Prefect does not traverse it (typed as the value, which the task gets)."""
    return cast(T, quote(value))


@task(name="sync-artist-batch", cache_policy=NO_CACHE)
async def _sync_batch(batches: _Batches, artists: Sequence[ArtistToSync], job: ArtistJob) -> int:
    """Read a batch of artists (``SYNC_CONCURRENCY`` at once), then store them together with
    their success marks (``_store_batch``)."""
    found = await asyncio.gather(*(_read_one(batches, artist, job) for artist in artists))
    await _store_batch(
        batches, [(artist, data) for artist, data in zip(artists, found, strict=True) if data]
    )
    await batches.sync.record_refused_records()
    batches.done += len(artists)
    await batches.report_progress()
    return len(artists)


async def sync_in_batches(
    sync: SyncRun, artists: Sequence[ArtistToSync], job: ArtistJob, *, label: str
) -> dict[str, str]:
    """Run ``job`` (an artist's reads) for every artist, ``SYNC_CONCURRENCY`` at once, in
    ``SYNC_BATCH_SIZE`` task runs, each storing its artists together. Returns the APIs that
    stopped the run's work (api -> reason)."""
    batches = _Batches(sync, len(artists), label)
    await batches.start_progress()
    size = sync.settings.sync_batch_size
    chunks = [artists[i : i + size] for i in range(0, len(artists), size)]
    # Quoted: Prefect neither walks the run's state nor the batch's artists looking for futures
    # to resolve or inputs to track (there are none), for each task run (~1,300 objects each).
    await asyncio.gather(*(_sync_batch(_as_is(batches), _as_is(chunk), job) for chunk in chunks))
    await batches.report_progress(final=True)
    return batches.stopped
