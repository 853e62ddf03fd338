"""``mysetlist simulate``: days of the deployments' schedules on a virtual clock, in process,
against an in-process sandbox world, then a scorecard against the sandbox's truth.

- The world: a sandbox of N artists (``sandbox/``) served through ``httpx.ASGITransport``, its
  real standard-key caps enforced on the simulation's clock (Ticketmaster 5/s and 5,000 per
  calendar day, setlist.fm 2/s and 1,440 per day, Spotify 180/min).
- Time: one ``VirtualClock`` for the sandbox and the clients (``RATE_LIMITER=local``: the
  in-process buckets), and one calendar, the sandbox's, for the flows (``clients.clock.use_time``:
  ``models.types.utcnow`` reads it). Sleeping moves virtual time; nothing waits for real.
- The schedules: every cron of ``cli/deployments.py`` ``DEPLOYMENTS`` (the definitions
  ``prefect.yaml`` and ``mysetlist serve`` use), with their parameters, replayed from the start
  instant for D days. The runs are the deployed flow objects of ``cli/jobs.py``, run one at a
  time in schedule order: a run whose time comes while the previous one is still going starts
  when it ends; a run whose own deployment is still busy at its time is cancelled, as
  ``CANCEL_NEW`` does. Prefect records them on a temporary local server (started by the command;
  the production server is never touched).
- Read caches are off (``CACHE_TTL_*=0``): Prefect expires cached results on the wall clock,
  which would keep a read "fresh" for days of virtual time.
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, Final

import httpx
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.deployments import DEPLOYMENTS, JOBS, DeploymentDef, load_flow
from cli.scorecard import Scorecard, compute_scorecard
from cli.truth import SimTruth
from clients.clock import VirtualClock, use_time
from clients.ratelimit import TokenBucketLimiter
from sandbox.core import Sandbox
from sandbox.stats import SandboxStats

__all__ = [
    "FIXED_PLAN_LIMITS",
    "SIMULATION_START",
    "DailyStats",
    "InvalidSimulation",
    "SimulationRequest",
    "run_simulation",
    "schedule",
]

#: The first simulated instant (midnight UTC): fixed, so a seed gives one result whatever the day.
SIMULATION_START: Final = date(2026, 3, 2)
MAX_ARTISTS: Final = 100_000
MAX_DAYS: Final = 366
SANDBOX_HOST: Final = "http://sandbox.simulation"

#: What the flows read from the environment during a simulation.
SIMULATION_ENV: Final = {
    "RATE_LIMITER": "local",
    "CACHE_TTL_SPOTIFY_MINUTES": "0",
    "CACHE_TTL_TICKETMASTER_MINUTES": "0",
}


class InvalidSimulation(ValueError):
    """Parameters the command refuses before doing any work."""


@dataclass(frozen=True, slots=True)
class SimulationRequest:
    artists: int
    days: int
    seed: int
    fault_rate: float = 0.0
    database_url: str | None = None
    report: Path | None = None
    check_trending_url: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.artists, bool) or not 10 <= self.artists <= MAX_ARTISTS:
            raise InvalidSimulation(
                f"--artists must be from 10 to {MAX_ARTISTS}, got {self.artists}"
            )
        if isinstance(self.days, bool) or not 1 <= self.days <= MAX_DAYS:
            raise InvalidSimulation(f"--days must be from 1 to {MAX_DAYS}, got {self.days}")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise InvalidSimulation(f"--fault-rate must be from 0 to 1, got {self.fault_rate}")
        for option, url in (
            ("--database-url", self.database_url),
            ("--check-trending-url", self.check_trending_url),
        ):
            if url is not None:
                _check_url(option, url)
        if self.report is not None:
            parent = self.report.expanduser().resolve().parent
            if not parent.is_dir():
                raise InvalidSimulation(f"--report: no directory {parent}")
            if self.report.exists() and self.report.is_dir():
                raise InvalidSimulation(f"--report: {self.report} is a directory")

    @property
    def start(self) -> datetime:
        return datetime.combine(SIMULATION_START, dtime(0, 0), UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)


def _check_url(option: str, url: str) -> None:
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise InvalidSimulation(f"{option}: not a database URL") from None
    if backend not in ("sqlite", "postgresql"):
        raise InvalidSimulation(f"{option}: SQLite or PostgreSQL only, got {backend}")


#: The deployments' limits before the daily request plan (issue 16), when each was the plan:
#: what ``REQUEST_PLAN=fixed`` replays, the baseline ``benchmarks/request_plan.py`` compares.
FIXED_PLAN_LIMITS: Final = {
    "autonomous-sync/discovery": 25,
    "autonomous-sync/sync": 25,
    "master-sync/daily": 50,
}


def _parameters(deployment: DeploymentDef) -> dict[str, Any]:
    """The deployment's parameters; with ``REQUEST_PLAN=fixed``, its limit before the plan."""
    from settings import get_settings

    parameters = dict(deployment.parameters)
    fixed = FIXED_PLAN_LIMITS.get(deployment.full_name)
    if fixed is not None and get_settings().request_plan == "fixed":
        parameters["limit"] = fixed
    return parameters


def schedule(start: datetime, end: datetime) -> list[tuple[datetime, DeploymentDef]]:
    """Every scheduled run of every deployment in ``[start, end)``, in time order (ties: the
    order of ``DEPLOYMENTS``)."""
    from cronsim import CronSim

    runs: list[tuple[datetime, int, DeploymentDef]] = []
    for order, deployment in enumerate(DEPLOYMENTS):
        for cron in deployment.crons:
            for at in CronSim(cron, start - timedelta(microseconds=1)):
                if at >= end:
                    break
                runs.append((at.astimezone(UTC), order, deployment))
    runs.sort(key=lambda run: (run[0], run[1]))
    return [(at, deployment) for at, _, deployment in runs]


class DailyStats(SandboxStats):
    """The sandbox's accounting, plus answers and refusals per API per calendar day (on the
    sandbox's calendar, read when the answer is given)."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self._sandbox = sandbox
        self.per_day: Counter[tuple[date, str]] = Counter()
        self.refused_per_day: Counter[tuple[date, str]] = Counter()

    def record(self, api: str, endpoint: str, status: int) -> None:
        super().record(api, endpoint, status)
        self.per_day[(self._sandbox.today(), api)] += 1

    def refused(self, api: str, reason: str) -> None:
        super().refused(api, reason)
        self.refused_per_day[(self._sandbox.today(), api)] += 1


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    from settings import get_settings

    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


async def _require_empty(url: str, option: str) -> None:
    """Refuse a database that already holds tables: the simulation never touches real data."""
    from models.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    if tables:
        raise InvalidSimulation(
            f"{option}: the database already holds tables ({', '.join(sorted(tables)[:3])}...);"
            " the simulation needs an empty one"
        )


@dataclass
class _Runs:
    started: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    cancelled: Counter[str] = field(default_factory=Counter)
    wall: dict[str, float] = field(default_factory=dict)


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    from models.tables import Artist, Setlist, Show

    out: dict[str, int] = {}
    async with engine.connect() as conn:
        for name, table in (("artists", Artist), ("shows", Show), ("setlists", Setlist)):
            out[name] = int(
                (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            )
    return out


def peak_memory_mb() -> float:
    """This process's peak resident memory (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def run_simulation(
    request: SimulationRequest,
    *,
    database_url: str,
    progress: Callable[[dict[str, Any]], None] = lambda day: None,
) -> dict[str, Any]:
    """Run the simulation on the empty database at ``database_url`` (migrated here) inside a
    Prefect context the caller set up; returns the report (``days`` and ``final``)."""
    from sandbox.app import create_app
    from sandbox.config import SandboxConfig
    from sandbox.server import demo_settings_overrides
    from settings import get_settings
    from tasks.deps import use_http_factory
    from tasks.leases import use_process_limiter

    wall_start = time.perf_counter()
    await _require_empty(database_url, "--database-url")
    if request.check_trending_url is not None:
        await _require_empty(request.check_trending_url, "--check-trending-url")
    from models.db import make_engine
    from models.migrate import upgrade

    await upgrade(database_url)
    env = {k.upper(): v for k, v in demo_settings_overrides(SANDBOX_HOST).items()}
    env.update(SIMULATION_ENV, DATABASE_URL=database_url)
    clock = VirtualClock()
    days: list[dict[str, Any]] = []
    runs = _Runs()
    with _environment(env):
        settings = get_settings()
        app = create_app(
            SandboxConfig(
                settings=settings,
                artists=request.artists,
                seed=request.seed,
                today=SIMULATION_START,
                caps=True,
                fault_rate=request.fault_rate,
                clock=clock,
            )
        )
        sandbox: Sandbox = app.state.sandbox
        stats = DailyStats(sandbox)
        sandbox.stats = stats
        truth = SimTruth(
            sandbox.truth,
            request.start,
            markets=settings.discovery_markets,
            window_days=settings.sweep_window_days,
            playlists=settings.discovery_playlists,
        )
        engine = make_engine(database_url)
        busy_until: dict[str, datetime] = {}
        planned = schedule(request.start, request.end)
        try:
            limiter = TokenBucketLimiter.from_settings(settings, clock=clock)
            with (
                use_time(clock, sandbox.now),
                use_process_limiter(limiter),
                use_http_factory(lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app))),
            ):
                day = request.start.date()
                for at, deployment in planned:
                    while at.date() > day:
                        days.append(await _day_report(day, engine, stats, runs, wall_start))
                        progress(days[-1])
                        day += timedelta(days=1)
                    now = sandbox.now()
                    if at > now:
                        clock.advance((at - now).total_seconds())
                    name = deployment.full_name
                    if busy_until.get(name, at) > at:
                        runs.cancelled[name] += 1
                        continue
                    runs.started[name] += 1
                    flow = load_flow(JOBS[deployment.job])
                    began = time.perf_counter()
                    try:
                        await flow(**_parameters(deployment))
                    except Exception:
                        runs.failed[name] += 1
                    runs.wall[name] = runs.wall.get(name, 0.0) + time.perf_counter() - began
                    busy_until[name] = sandbox.now()
                while day < request.end.date():
                    days.append(await _day_report(day, engine, stats, runs, wall_start))
                    progress(days[-1])
                    day += timedelta(days=1)
                now = sandbox.now()
                if request.end > now:
                    clock.advance((request.end - now).total_seconds())
                end = max(request.end, sandbox.now())
                trending = await _trending_check(engine, request, end, settings)
                run = {
                    "artists": request.artists,
                    "days": request.days,
                    "seed": request.seed,
                    "fault_rate": request.fault_rate,
                    "database": engine.dialect.name,
                    "flow_runs": sum(runs.started.values()),
                    "flow_runs_failed": sum(runs.failed.values()),
                    "flow_runs_cancelled": sum(runs.cancelled.values()),
                    "virtual_end": end.isoformat(),
                    "wall_seconds_per_run": {
                        name: round(runs.wall[name] / runs.started[name], 2)
                        for name in runs.started
                    },
                    "wall_seconds": round(time.perf_counter() - wall_start, 1),
                    "peak_memory_mb": peak_memory_mb(),
                }
                card: Scorecard = await compute_scorecard(
                    engine, truth, end=end, days=days, trending=trending, run=run
                )
        finally:
            await engine.dispose()
    report = {"days": days, "final": card.as_dict()}
    if request.report is not None:
        request.report.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return report


async def _day_report(
    day: date, engine: AsyncEngine, stats: DailyStats, runs: _Runs, wall_start: float
) -> dict[str, Any]:
    requests = {
        api: {
            "requests": stats.per_day[(day, api)],
            "admitted": stats.per_day[(day, api)] - stats.refused_per_day[(day, api)],
            "over_cap": stats.refused_per_day[(day, api)],
        }
        for api in ("spotify", "ticketmaster", "setlistfm")
    }
    return {
        "date": day.isoformat(),
        "requests": requests,
        "over_cap": sum(r["over_cap"] for r in requests.values()),
        "flow_runs": sum(runs.started.values()),
        "flow_runs_failed": sum(runs.failed.values()),
        "flow_runs_cancelled": sum(runs.cancelled.values()),
        "stored": await _counts(engine),
        "wall_seconds": round(time.perf_counter() - wall_start, 1),
    }


def day_line(day: dict[str, Any]) -> str:
    """One progress line per simulated day."""
    r = day["requests"]
    s = day["stored"]
    return (
        f"{day['date']}  runs {day['flow_runs']} (failed {day['flow_runs_failed']}, "
        f"cancelled {day['flow_runs_cancelled']})  requests tm {r['ticketmaster']['requests']}"
        f" sfm {r['setlistfm']['requests']} spotify {r['spotify']['requests']}"
        f"  over-cap {day['over_cap']}  artists {s['artists']} shows {s['shows']}"
        f" setlists {s['setlists']}  wall {day['wall_seconds']:.0f}s"
    )


_COPIED: Final = (
    "artists",
    "venues",
    "shows",
    "show_support_acts",
    "songs",
    "setlists",
    "setlist_entries",
    "user_activity",
    "artist_snapshots",
)


async def _trending_check(
    engine: AsyncEngine, request: SimulationRequest, end: datetime, settings: Any
) -> dict[str, Any]:
    """Trending as of the end: ``full`` recalculated on the simulation's database, its scores'
    ``digest`` (keyed by the artists' and shows' upstream ids, not our row ids: two runs of one
    world on SQLite and PostgreSQL give one digest when their scores are equal); with
    ``--check-trending-url``, the final data also copied there, recalculated, and compared."""
    from models.trending import recalculate_trending

    await recalculate_trending(engine, mode="full", now=end, settings=settings)
    digest = await _scores_digest(engine)
    if request.check_trending_url is None:
        return {"checked_against": None, "equal": None, "digest": digest}
    from sqlmodel import SQLModel

    from models.db import make_engine
    from models.migrate import upgrade

    await upgrade(request.check_trending_url)
    other = make_engine(request.check_trending_url)
    tables = {t.name: t for t in SQLModel.metadata.sorted_tables}
    try:
        async with engine.connect() as source, other.begin() as target:
            for name in _COPIED:
                table = tables[name]
                rows = [dict(r._mapping) for r in await source.execute(select(table))]
                for i in range(0, len(rows), 1000):
                    await target.execute(table.insert(), rows[i : i + 1000])
        await recalculate_trending(other, mode="full", now=end, settings=settings)
        scores = [await _scores(engine), await _scores(other)]
        differing = sum(
            1
            for key in scores[0].keys() | scores[1].keys()
            if scores[0].get(key) != scores[1].get(key)
        )
        return {
            "checked_against": other.dialect.name,
            "scores": len(scores[0]),
            "differing": differing,
            "equal": differing == 0 and scores[0] == scores[1],
            "digest": digest,
        }
    finally:
        await other.dispose()


async def _scores(engine: AsyncEngine) -> dict[tuple[str, int], float]:
    """Every trending score at the instant of the last trending run (scores are computed when
    read: ``models/trending/scores.py``)."""
    from models.trending.scores import scores_at_last_run
    from settings import get_settings

    async with engine.connect() as conn:
        artists = await scores_at_last_run(conn, "artist", get_settings())
        shows = await scores_at_last_run(conn, "show", get_settings())
    return {
        **{("artist", key): value for key, value in artists.items()},
        **{("show", key): value for key, value in shows.items()},
    }


async def _scores_digest(engine: AsyncEngine) -> str:
    """SHA-256 (first 16 hex digits) of every trending score (at the last trending run's
    instant) keyed by upstream ids: an artist's (Ticketmaster, Spotify, MusicBrainz ids, name),
    a show's (Ticketmaster id, setlist.fm id, artist's key, date); the same for two databases
    holding the same scores."""
    import hashlib

    from models.tables import Artist, Show
    from models.trending.scores import scores_at_last_run
    from settings import get_settings

    a = Artist.__table__  # type: ignore[attr-defined]
    sh = Show.__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        keys = {
            r.id: (r.ticketmaster_id, r.spotify_id, r.mbid, r.name)
            for r in await conn.execute(
                select(a.c.id, a.c.ticketmaster_id, a.c.spotify_id, a.c.mbid, a.c.name)
            )
        }
        shows = {
            r.id: (r.ticketmaster_id, r.setlistfm_id, keys[r.artist_id], str(r.local_date))
            for r in await conn.execute(
                select(
                    sh.c.id,
                    sh.c.ticketmaster_id,
                    sh.c.setlistfm_id,
                    sh.c.artist_id,
                    sh.c.local_date,
                )
            )
        }
        artist_scores = [
            ("artist", keys[key], score)
            for key, score in (await scores_at_last_run(conn, "artist", get_settings())).items()
        ]
        show_scores = [
            ("show", shows[key], score)
            for key, score in (await scores_at_last_run(conn, "show", get_settings())).items()
        ]
    lines = sorted(repr(entry) for entry in [*artist_scores, *show_scores])
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def one_certificate_bundle(directory: Path) -> Path:
    """A CA file holding one certificate (the first of certifi's bundle), for the Prefect
    clients of a local ``http://`` server, where TLS is never used.

    Prefect builds an SSL context for each client it opens (two per flow run): with the whole
    CA bundle (the default), or the system's (``PREFECT_API_TLS_INSECURE_SKIP_VERIFY``), that
    is 60-300 ms of parsing certificates per context on this machine, 1,320 flow runs a
    simulated month; with one certificate, about 1 ms (``ssl.create_default_context``)."""
    import certifi

    bundle = Path(certifi.where()).read_text(encoding="ascii")
    end = "-----END CERTIFICATE-----\n"
    first = bundle[bundle.index("-----BEGIN CERTIFICATE-----") : bundle.index(end) + len(end)]
    path = directory / "one-certificate.pem"
    path.write_text(first, encoding="ascii")
    return path


@contextmanager
def temporary_prefect() -> Iterator[None]:
    """A throwaway Prefect server for the simulation's runs: Prefect's test harness, a
    subprocess server on a temporary SQLite file. Chosen over PostgreSQL: no global concurrency
    limit is taken (``RATE_LIMITER=local``), and a trivial flow run measured cheaper on it
    (README, "Simulated month"). Run logs stay local (``PREFECT_LOGGING_TO_API_ENABLED``) and
    only warnings are printed. The clients fetch no CSRF token (the test server asks for none;
    one request less per flow run). The server is plain ``http://`` on 127.0.0.1: the clients'
    SSL contexts load one certificate, not a CA bundle (``one_certificate_bundle``)."""
    from prefect.settings import (
        PREFECT_CLIENT_CSRF_SUPPORT_ENABLED,
        PREFECT_LOGGING_LEVEL,
        PREFECT_LOGGING_TO_API_ENABLED,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    with tempfile.TemporaryDirectory(prefix="mysetlist-sim-") as tmp:
        settings = {
            PREFECT_LOGGING_LEVEL: "WARNING",
            PREFECT_LOGGING_TO_API_ENABLED: False,
            PREFECT_SERVER_ANALYTICS_ENABLED: False,
            # The test server does not ask for CSRF tokens: a client fetching one costs a
            # request per flow run (each run opens its own client).
            PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: False,
            **prefect_client_tls(Path(tmp)),
        }
        with temporary_settings(settings), prefect_test_harness(server_startup_timeout=120):
            yield


def prefect_client_tls(directory: Path) -> dict[Any, Any]:
    """The Prefect settings under which a client of the local ``http://`` server builds its SSL
    context from one certificate (``one_certificate_bundle``, written in ``directory``). Not
    ``PREFECT_API_TLS_INSECURE_SKIP_VERIFY``: that one loads the system's CA store instead."""
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_TLS_INSECURE_SKIP_VERIFY

    return {
        PREFECT_API_TLS_INSECURE_SKIP_VERIFY: False,
        PREFECT_API_SSL_CERT_FILE: str(one_certificate_bundle(directory)),
    }
