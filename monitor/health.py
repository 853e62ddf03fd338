"""The health report: one computation from the run ledger and the tables, for the API and the CLI.

Definitions (also in ``docs/monitoring.md``):

- The window is ``[now - hours, now]``, ``hours`` an integer from 1 to 720.
- Before counting, the report closes dead runs (``models.ledger.reconcile_runs``): a ``running``
  row whose last heartbeat is older than ``run_stale_after`` (default: the
  ``RUN_HEARTBEAT_STALE_MINUTES`` default, 15 min), or whose Prefect flow run ``is_running``
  says ended, becomes ``crashed``. This is the report's one write, in its own transaction;
  ``run_stale_after=None`` skips it (a strictly read-only report), and a failed write (a
  read-only database) is logged and the report goes on.
- A run belongs to the window when its ``started_at`` is inside it (a run straddling the start
  of the window counts in the window it started in, i.e. not in this one). Runs still ``running``
  are counted apart and are not in ``runs``: ``runs = success + partial + errors + crashed``.
- ``errorRate`` is the success percentage: runs ending ``success`` / finished runs of the four
  ledger jobs in the window; 100 when there are none. ``partial`` and ``crashed`` are not
  successes.
- ``syncCoverage`` = artists with ``last_synced_at`` / all artists; ``syncFreshness`` = artists
  whose ``last_synced_at >= now - hours`` / artists with ``last_synced_at``; ``trendingCoverage``
  = artists with a trending score (a ``trending_artists`` row) / all artists. With a zero
  denominator they are 0.
- ``overall`` is the mean of the four, every percentage an integer rounded half up.
- Discovery ``found``/``added`` sum ``counts.artists_found``/``counts.artists_added`` over the
  window's non-dry runs of every ledger job (only discovery runs write those keys).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import JSON

from models.ledger import (
    JOB_AUTONOMOUS_SYNC,
    JOB_CALCULATE_TRENDING,
    JOB_MASTER_SYNC,
    JOB_SEED,
    JOB_SYNC_ARTIST,
    IsRunning,
    reconcile_runs,
)
from models.sync_state import needs_sync_clause
from models.tables import Artist, RunStatus, Setlist, Show, ShowStatus, SyncError, SyncRun, Venue
from models.tables import TrendingArtist as ArtistTrend
from models.trending.formula import Clock
from models.trending.scores import ranked
from settings import Settings

__all__ = [
    "DEFAULT_RUN_STALE_AFTER",
    "MAX_HOURS",
    "MIN_HOURS",
    "ArtistStatistics",
    "DiscoverySummary",
    "HealthReport",
    "HealthScore",
    "InvalidHoursError",
    "JobSummary",
    "LastRun",
    "RecentError",
    "SetlistStatistics",
    "ShowStatistics",
    "Statistics",
    "SyncSummary",
    "Trending",
    "TrendingArtist",
    "TrendingShow",
    "VenueStatistics",
    "Window",
    "compute_health",
    "needs_sync_clause",
    "percentage",
    "validate_hours",
]

MIN_HOURS = 1
MAX_HOURS = 720
#: How long a running run may stay silent before the report closes it (the setting's default).
DEFAULT_RUN_STALE_AFTER: Final = timedelta(
    minutes=Settings.model_fields["run_heartbeat_stale_minutes"].default
)

logger = logging.getLogger("mysetlist.monitor")
_MAX_LIST = 100
_UPCOMING = (ShowStatus.UPCOMING.value, ShowStatus.ONGOING.value)

_artists = Artist.__table__  # type: ignore[attr-defined]
_shows = Show.__table__  # type: ignore[attr-defined]
_venues = Venue.__table__  # type: ignore[attr-defined]
_setlists = Setlist.__table__  # type: ignore[attr-defined]
_runs = SyncRun.__table__  # type: ignore[attr-defined]
_errors = SyncError.__table__  # type: ignore[attr-defined]
_artist_trends = ArtistTrend.__table__  # type: ignore[attr-defined]

# Report key -> ledger job name.
_JOB_KEYS: dict[str, str] = {
    "master_sync": JOB_MASTER_SYNC,
    "autonomous_sync": JOB_AUTONOMOUS_SYNC,
    "trending_calc": JOB_CALCULATE_TRENDING,
    "seed": JOB_SEED,
    "sync_artist": JOB_SYNC_ARTIST,
}


class InvalidHoursError(ValueError):
    """The report window is not an integer number of hours from 1 to 720."""


def validate_hours(hours: object) -> int:
    """Return ``hours`` when it is an integer from 1 to 720; raise ``InvalidHoursError`` else."""
    if isinstance(hours, bool) or not isinstance(hours, int):
        raise InvalidHoursError(
            f"hours must be a whole number from {MIN_HOURS} to {MAX_HOURS}, got {hours!r}"
        )
    if not MIN_HOURS <= hours <= MAX_HOURS:
        raise InvalidHoursError(f"hours must be from {MIN_HOURS} to {MAX_HOURS}, got {hours}")
    return hours


def percentage(part: int, whole: int, *, empty: int = 0) -> int:
    """``100 * part / whole`` as an integer rounded half up; ``empty`` when ``whole`` is 0."""
    if part < 0 or whole < 0 or part > whole:
        raise ValueError(f"not a proportion: {part}/{whole}")
    if whole == 0:
        return empty
    return (200 * part + whole) // (2 * whole)


# --- The report ---------------------------------------------------------------------------


class _Camel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        frozen=True,
    )


class HealthScore(_Camel):
    overall: int = Field(ge=0, le=100)
    sync_coverage: int = Field(ge=0, le=100)
    sync_freshness: int = Field(ge=0, le=100)
    trending_coverage: int = Field(ge=0, le=100)
    error_rate: int = Field(ge=0, le=100, description="Success percentage of finished runs.")


class ArtistStatistics(_Camel):
    total: int
    synced: int
    needs_sync: int


class ShowStatistics(_Camel):
    total: int
    upcoming: int = Field(description="Status upcoming or ongoing.")
    completed: int
    cancelled: int
    postponed: int


class VenueStatistics(_Camel):
    total: int
    with_shows: int = Field(description="Venues referenced by at least one show.")


class SetlistStatistics(_Camel):
    total: int


class Statistics(_Camel):
    artists: ArtistStatistics
    shows: ShowStatistics
    venues: VenueStatistics
    setlists: SetlistStatistics


class LastRun(_Camel):
    id: int
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None


class JobSummary(_Camel):
    runs: int = Field(
        description="Finished runs started in the window: success+partial+errors+crashed."
    )
    success: int
    partial: int
    errors: int = Field(description="Runs that failed.")
    crashed: int = Field(
        default=0, description="Runs that died unfinished, closed by the reconciliation."
    )
    running: int = Field(description="Runs started in the window and not finished.")
    last_run: LastRun | None = Field(description="The latest run started at or before `to`.")


class DiscoverySummary(_Camel):
    found: int
    added: int


class SyncSummary(_Camel):
    master_sync: JobSummary
    autonomous_sync: JobSummary
    trending_calc: JobSummary
    seed: JobSummary
    sync_artist: JobSummary
    discovery: DiscoverySummary


class Window(_Camel):
    hours: int
    from_: datetime = Field(alias="from")
    to: datetime


class TrendingArtist(_Camel):
    id: int
    name: str
    slug: str
    trending_score: float


class TrendingShow(_Camel):
    id: int
    name: str | None
    artist_id: int
    artist_name: str
    venue_name: str | None
    local_date: date
    status: ShowStatus
    trending_score: float


class Trending(_Camel):
    artists: list[TrendingArtist]
    shows: list[TrendingShow]


class RecentError(_Camel):
    id: int
    source: str
    key: str
    entity: str
    error: str
    attempts: int
    first_seen_at: datetime
    last_seen_at: datetime
    run_id: int | None


class HealthReport(_Camel):
    health_score: HealthScore
    statistics: Statistics
    sync_summary: SyncSummary
    window: Window
    trending: Trending
    recent_errors: list[RecentError] = Field(description="Unresolved errors, latest first.")


# --- The computation ----------------------------------------------------------------------


async def compute_health(
    engine: AsyncEngine,
    *,
    hours: int,
    now: datetime,
    stale_after_hours: float,
    top: int = 10,
    recent_errors: int = 10,
    run_stale_after: timedelta | None = DEFAULT_RUN_STALE_AFTER,
    is_running: IsRunning | Collection[str] | None = None,
    settings: Settings | None = None,
) -> HealthReport:
    """The health report for the window ``[now - hours, now]`` (see the module docstring).

    Pass ``run_stale_after=timedelta(minutes=settings.run_heartbeat_stale_minutes)`` to follow
    the setting, and ``is_running`` (``tasks.prefect_runs.flow_run_checker``) to ask Prefect too.
    """
    validate_hours(hours)
    _require_aware(now)
    for name, value in (("top", top), ("recent_errors", recent_errors)):
        if isinstance(value, bool) or not 0 <= value <= _MAX_LIST:
            raise ValueError(f"{name} must be from 0 to {_MAX_LIST}, got {value!r}")
    start = now - timedelta(hours=hours)
    clock = Clock.at(now, settings)  # trending scores are computed at ``now``
    if run_stale_after is not None:
        try:
            await reconcile_runs(
                engine, now=now, stale_after=run_stale_after, is_running=is_running
            )
        except SQLAlchemyError as exc:
            logger.warning("health: dead runs not closed (%s); counting as they are", exc)
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # Every query reads the same snapshot.
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            artists = await _artist_figures(conn, now=now, start=start, stale=stale_after_hours)
            statistics = Statistics(
                artists=ArtistStatistics(
                    total=artists["total"],
                    synced=artists["synced"],
                    needs_sync=artists["needs_sync"],
                ),
                shows=await _show_statistics(conn),
                **await _venue_and_setlist_statistics(conn),
            )
            jobs, discovery = await _run_figures(conn, now=now, start=start)
            trending = Trending(
                artists=await _top_artists(conn, clock, top),
                shows=await _top_shows(conn, clock, top),
            )
            errors = await _recent_errors(conn, recent_errors, now=now)
    finished = sum(job.runs for job in jobs.values())
    succeeded = sum(job.success for job in jobs.values())
    scores = {
        "sync_coverage": percentage(artists["synced"], artists["total"]),
        "sync_freshness": percentage(artists["fresh"], artists["synced"]),
        "trending_coverage": percentage(artists["scored"], artists["total"]),
        "error_rate": percentage(succeeded, finished, empty=100),
    }
    overall = percentage(sum(scores.values()), 100 * len(scores))
    return HealthReport(
        health_score=HealthScore(overall=overall, **scores),
        statistics=statistics,
        sync_summary=SyncSummary(discovery=discovery, **jobs),
        window=Window(hours=hours, from_=start, to=now),
        trending=trending,
        recent_errors=errors,
    )


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def _artist_figures(
    conn: AsyncConnection, *, now: datetime, start: datetime, stale: float
) -> dict[str, int]:
    c = _artists.c
    row = (
        await conn.execute(
            select(
                func.count().label("total"),
                _count_if(c.last_synced_at.is_not(None)).label("synced"),
                _count_if(and_(c.last_synced_at.is_not(None), c.last_synced_at >= start)).label(
                    "fresh"
                ),
                _count_if(_artist_trends.c.artist_id.is_not(None)).label("scored"),
                _count_if(needs_sync_clause(now, stale)).label("needs_sync"),
            ).select_from(_artists.outerjoin(_artist_trends, _artist_trends.c.artist_id == c.id))
        )
    ).one()
    return {key: int(value) for key, value in row._mapping.items()}


async def _show_statistics(conn: AsyncConnection) -> ShowStatistics:
    status = _shows.c.status
    row = (
        await conn.execute(
            select(
                func.count().label("total"),
                _count_if(status.in_(_UPCOMING)).label("upcoming"),
                _count_if(status == ShowStatus.COMPLETED.value).label("completed"),
                _count_if(status == ShowStatus.CANCELLED.value).label("cancelled"),
                _count_if(status == ShowStatus.POSTPONED.value).label("postponed"),
            ).select_from(_shows)
        )
    ).one()
    return ShowStatistics(**{key: int(value) for key, value in row._mapping.items()})


async def _venue_and_setlist_statistics(conn: AsyncConnection) -> dict[str, Any]:
    row = (
        await conn.execute(
            select(
                select(func.count()).select_from(_venues).scalar_subquery().label("venues"),
                select(func.count(func.distinct(_shows.c.venue_id)))
                .scalar_subquery()
                .label("with_shows"),
                select(func.count()).select_from(_setlists).scalar_subquery().label("setlists"),
            )
        )
    ).one()
    return {
        "venues": VenueStatistics(total=int(row.venues), with_shows=int(row.with_shows)),
        "setlists": SetlistStatistics(total=int(row.setlists)),
    }


async def _run_figures(
    conn: AsyncConnection, *, now: datetime, start: datetime
) -> tuple[dict[str, JobSummary], DiscoverySummary]:
    c = _runs.c
    job_names = list(_JOB_KEYS.values())
    counts = type_coerce(c.counts, JSON)
    not_dry = c.dry_run.is_(False)
    in_window = and_(c.started_at >= start, c.started_at <= now)
    totals = (
        await conn.execute(
            select(
                c.job,
                _count_if(c.status == RunStatus.SUCCESS.value).label("success"),
                _count_if(c.status == RunStatus.PARTIAL.value).label("partial"),
                _count_if(c.status == RunStatus.FAILED.value).label("errors"),
                _count_if(c.status == RunStatus.CRASHED.value).label("crashed"),
                _count_if(c.status == RunStatus.RUNNING.value).label("running"),
                func.coalesce(
                    func.sum(case((not_dry, counts["artists_found"].as_integer()), else_=None)), 0
                ).label("found"),
                func.coalesce(
                    func.sum(case((not_dry, counts["artists_added"].as_integer()), else_=None)), 0
                ).label("added"),
            )
            .where(and_(c.job.in_(job_names), in_window))
            .group_by(c.job)
        )
    ).all()
    by_job: dict[str, dict[str, Any]] = {row.job: dict(row._mapping) for row in totals}

    rank = (
        func.row_number()
        .over(partition_by=c.job, order_by=(c.started_at.desc(), c.id.desc()))
        .label("rank")
    )
    latest = (
        select(c.id, c.job, c.status, c.started_at, c.finished_at, rank)
        .where(and_(c.job.in_(job_names), c.started_at <= now))
        .subquery()
    )
    last_rows = (await conn.execute(select(latest).where(latest.c.rank == literal(1)))).all()
    last_by_job = {
        row.job: LastRun(
            id=row.id, status=row.status, started_at=row.started_at, finished_at=row.finished_at
        )
        for row in last_rows
    }

    jobs: dict[str, JobSummary] = {}
    for key, job in _JOB_KEYS.items():
        figures = by_job.get(job, {})
        success, partial, failed, crashed = (
            int(figures.get("success", 0)),
            int(figures.get("partial", 0)),
            int(figures.get("errors", 0)),
            int(figures.get("crashed", 0)),
        )
        jobs[key] = JobSummary(
            runs=success + partial + failed + crashed,
            success=success,
            partial=partial,
            errors=failed,
            crashed=crashed,
            running=int(figures.get("running", 0)),
            last_run=last_by_job.get(job),
        )
    discovery = DiscoverySummary(
        found=sum(int(f["found"]) for f in by_job.values()),
        added=sum(int(f["added"]) for f in by_job.values()),
    )
    return jobs, discovery


async def _top_artists(conn: AsyncConnection, clock: Clock, top: int) -> list[TrendingArtist]:
    if top == 0:
        return []
    c = _artists.c
    best = await ranked(conn, clock, "artist", top)
    if not best:
        return []
    rows = {
        r.id: r
        for r in await conn.execute(
            select(c.id, c.name, c.slug).where(c.id.in_([b.id for b in best]))
        )
    }
    return [
        TrendingArtist(id=b.id, name=rows[b.id].name, slug=rows[b.id].slug, trending_score=b.score)
        for b in best
    ]


async def _top_shows(conn: AsyncConnection, clock: Clock, top: int) -> list[TrendingShow]:
    if top == 0:
        return []
    s, a, v = _shows.c, _artists.c, _venues.c
    best = await ranked(conn, clock, "show", top)
    if not best:
        return []
    rows = {
        r.id: r._mapping
        for r in await conn.execute(
            select(
                s.id,
                s.name,
                s.artist_id,
                a.name.label("artist_name"),
                v.name.label("venue_name"),
                s.local_date,
                s.status,
            )
            .select_from(
                _shows.join(_artists, s.artist_id == a.id).outerjoin(_venues, s.venue_id == v.id)
            )
            .where(s.id.in_([b.id for b in best]))
        )
    }
    return [TrendingShow.model_validate({**rows[b.id], "trending_score": b.score}) for b in best]


async def _recent_errors(conn: AsyncConnection, limit: int, *, now: datetime) -> list[RecentError]:
    if limit == 0:
        return []
    e = _errors.c
    rows = (
        await conn.execute(
            select(
                e.id,
                e.source,
                e.key,
                e.entity,
                e.error,
                e.attempts,
                e.first_seen_at,
                e.last_seen_at,
                e.run_id,
            )
            .where(and_(e.resolved_at.is_(None), e.last_seen_at <= now))
            .order_by(e.last_seen_at.desc(), e.id.desc())
            .limit(limit)
        )
    ).all()
    return [RecentError.model_validate(dict(r._mapping)) for r in rows]
