"""The jobs and the deployments (five scheduled, one on demand): one definition for ``serve``,
``trigger`` and ``prefect.yaml`` (a test keeps the yaml equal to ``DEPLOYMENTS``). Modes, the
``limit`` bound and the artist reference come from the flows' own parameter declarations
(``flows/params.py``, ``models.trending``)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pydantic import TypeAdapter, ValidationError

from flows.params import (
    MAX_LIMIT,
    MIN_LIMIT,
    ArtistRef,
    AutonomousMode,
    MasterMode,
    modes_of,
)
from models.trending import TrendingMode

if TYPE_CHECKING:
    from prefect import Flow

__all__ = [
    "DEPLOYMENTS",
    "JOBS",
    "JOB_ALIASES",
    "MAX_LIMIT",
    "MIN_LIMIT",
    "DeploymentDef",
    "InvalidJobRequest",
    "JobDef",
    "JobRequest",
    "load_flow",
    "resolve_job",
    "validate_request",
]


@dataclass(frozen=True, slots=True)
class JobDef:
    """A flow the ``mysetlist`` command can run: its Prefect name, entrypoint and parameters."""

    name: str
    entrypoint: str
    modes: tuple[str, ...] = ()
    takes_limit: bool = True
    takes_dry_run: bool = True
    #: Takes the artist to sync (``--artist``, the flow's ``ref``), and needs it.
    takes_artist: bool = False

    @property
    def module(self) -> str:
        path, _, _ = self.entrypoint.partition(":")
        return path.removesuffix(".py").replace("/", ".")

    @property
    def function(self) -> str:
        return self.entrypoint.partition(":")[2]


JOBS: Final[dict[str, JobDef]] = {
    job.name: job
    for job in (
        JobDef(
            "autonomous-sync",
            "cli/jobs.py:autonomous_sync",
            modes=modes_of(AutonomousMode),
        ),
        JobDef(
            "master-sync",
            "cli/jobs.py:master_sync",
            modes=modes_of(MasterMode),
        ),
        JobDef(
            "calculate-trending",
            "cli/jobs.py:calculate_trending",
            modes=modes_of(TrendingMode),
            takes_limit=False,
        ),
        JobDef(
            "seed-comprehensive",
            "cli/jobs.py:seed_comprehensive",
            takes_dry_run=False,
        ),
        JobDef(
            "sync-artist",
            "cli/jobs.py:sync_artist",
            takes_limit=False,
            takes_artist=True,
        ),
    )
}

# The seed's job names (``pnpm trigger:sync autonomous-discovery|trending``) -> ours.
JOB_ALIASES: Final[dict[str, str]] = {
    "autonomous-discovery": "autonomous-sync",
    "trending": "calculate-trending",
}


@dataclass(frozen=True, slots=True)
class DeploymentDef:
    """A deployment: ``<flow>/<name>`` on ``cron`` (None: on demand only) with fixed
    ``parameters``.

    A scheduled deployment never overlaps itself: at most ``concurrency_limit`` runs at once, and
    a run scheduled while one is still going is cancelled (``CANCEL_NEW``): the next schedule
    comes soon, and two copies would only spend the quota twice. An on-demand deployment queues
    its runs instead (``ENQUEUE``): each was asked for and names its own work."""

    job: str
    name: str
    cron: str | None
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    concurrency_limit: int = 1
    collision_strategy: str = "CANCEL_NEW"

    @property
    def entrypoint(self) -> str:
        return JOBS[self.job].entrypoint

    @property
    def full_name(self) -> str:
        return f"{self.job}/{self.name}"

    @property
    def crons(self) -> tuple[str, ...]:
        """Its schedules' cron expressions (none for an on-demand deployment)."""
        return (self.cron,) if self.cron else ()


DEPLOYMENTS: Final[tuple[DeploymentDef, ...]] = (
    DeploymentDef(
        "autonomous-sync",
        "discovery",
        "0 */4 * * *",
        {"mode": "discovery", "limit": 1000},
        "Discover new artists from Ticketmaster markets and Spotify playlists.",
    ),
    DeploymentDef(
        "autonomous-sync",
        "sync",
        "0 */2 * * *",
        {"mode": "sync", "limit": 1000},
        "Sync shows and setlists of the artists most overdue for a sync.",
    ),
    DeploymentDef(
        "master-sync",
        "daily",
        "0 6 * * *",
        {"mode": "daily", "limit": 1000},
        "Comprehensive daily sync: Spotify metadata, Ticketmaster shows, setlist.fm setlists.",
    ),
    DeploymentDef(
        "calculate-trending",
        "hourly",
        "30 * * * *",
        {"mode": "hourly"},
        "Update trending scores of recently active artists and shows.",
    ),
    DeploymentDef(
        "calculate-trending",
        "daily",
        "0 7 * * *",
        {"mode": "daily"},
        "Recalculate every trending score.",
    ),
    DeploymentDef(
        "sync-artist",
        "on-demand",
        None,
        {},
        "Import or refresh one artist now (ref: our id, Spotify id, Ticketmaster id or name).",
        concurrency_limit=4,
        collision_strategy="ENQUEUE",
    ),
)


class InvalidJobRequest(ValueError):
    """A job name, mode, limit or artist the command refuses before doing any work."""


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A validated request to run a job: the flow parameters to pass."""

    job: JobDef
    parameters: dict[str, Any]

    @property
    def mode(self) -> str | None:
        mode = self.parameters.get("mode")
        return mode if isinstance(mode, str) else None


def resolve_job(name: str) -> JobDef:
    """The job called ``name`` (or one of the seed's aliases for it)."""
    canonical = JOB_ALIASES.get(name, name)
    try:
        return JOBS[canonical]
    except KeyError:
        known = ", ".join([*JOBS, *JOB_ALIASES])
        raise InvalidJobRequest(f"unknown job {name!r}; choose one of: {known}") from None


_ARTIST_REF: TypeAdapter[str] = TypeAdapter(ArtistRef)


def validate_request(
    name: str,
    *,
    mode: str | None,
    limit: int | None,
    dry_run: bool = False,
    artist: str | None = None,
) -> JobRequest:
    """Check ``mode``, ``limit``, ``dry_run`` and ``artist`` against the job; the flow
    parameters to pass.

    Options left out are left to the flow's defaults.
    """
    job = resolve_job(name)
    parameters: dict[str, Any] = {}
    if artist is not None and not job.takes_artist:
        raise InvalidJobRequest(f"{job.name} takes no --artist")
    if job.takes_artist:
        if artist is None:
            raise InvalidJobRequest(
                f"{job.name} needs --artist (our id, Spotify id, Ticketmaster id or name)"
            )
        try:
            parameters["ref"] = _ARTIST_REF.validate_python(artist)
        except ValidationError as exc:
            raise InvalidJobRequest(f"--artist: {exc.errors()[0]['msg']}") from None
    if mode is not None:
        if not job.modes:
            raise InvalidJobRequest(f"{job.name} takes no --mode")
        if mode not in job.modes:
            raise InvalidJobRequest(
                f"unknown mode {mode!r} for {job.name}; choose one of: {', '.join(job.modes)}"
            )
        parameters["mode"] = mode
    if limit is not None:
        if not job.takes_limit:
            raise InvalidJobRequest(f"{job.name} takes no --limit")
        if isinstance(limit, bool) or not MIN_LIMIT <= limit <= MAX_LIMIT:
            raise InvalidJobRequest(f"--limit must be from {MIN_LIMIT} to {MAX_LIMIT}, got {limit}")
        parameters["limit"] = limit
    if dry_run:
        if not job.takes_dry_run:
            raise InvalidJobRequest(f"{job.name} has no dry run")
        parameters["dry_run"] = True
    return JobRequest(job, parameters)


def load_flow(job: JobDef) -> Flow[..., Any]:
    """Import the flow object of ``job`` (``ImportError`` when its module is missing)."""
    module = importlib.import_module(job.module)
    flow: Flow[..., Any] = getattr(module, job.function)
    return flow
