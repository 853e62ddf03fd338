"""``mysetlist demo`` (``make run``): the whole system end to end on the embedded database.

Without API keys it starts the offline sandbox on loopback and points the settings at it before
anything reads them. Then: migrate, set up the Prefect limits, seed (discovery, sync, master sync,
trending), post deterministic user activity through the real monitor API the way the web app
would, recalculate trending, and print the health report.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from clients.errors import redact
from models.db import make_engine
from models.tables import Artist, Setlist, SetlistEntry, Show, ShowStatus
from models.types import utcnow
from settings import Settings, get_settings

__all__ = [
    "DEMO_SEED",
    "ActivityTargets",
    "demo_activity",
    "load_activity_targets",
    "post_activity",
    "run_demo",
    "sandbox_environment",
]

DEMO_SEED: Final = 7
_USERS: Final = 40
_BATCH: Final = 500
_ACTIVITY_WINDOW_MINUTES: Final = 48 * 60


@dataclass(frozen=True, slots=True)
class ActivityTargets:
    """What simulated users can act on: artist ids, (show, headliner) pairs, (song, show) pairs
    from setlists attached to a show."""

    artists: Sequence[int]
    shows: Sequence[tuple[int, int]]
    votes: Sequence[tuple[int, int]]


def demo_activity(
    targets: ActivityTargets, *, now: datetime, day_key: str, seed: int = DEMO_SEED
) -> list[dict[str, Any]]:
    """Deterministic user events for ``targets``: a few artists draw most of the attention.

    Event ids are ``demo-<day_key>-<n>``, so running the demo twice on one day stores nothing
    new. Every event happened within the 48 hours before ``now``.
    """
    rng = random.Random(f"{seed}:{day_key}")
    events: list[dict[str, Any]] = []

    def add(kind: str, **target: int) -> None:
        minutes = rng.randrange(1, _ACTIVITY_WINDOW_MINUTES)
        events.append(
            {
                "event_id": f"demo-{day_key}-{len(events) + 1}",
                "user_id": f"demo-user-{rng.randrange(_USERS) + 1}",
                "kind": kind,
                **target,
                "occurred_at": (now - timedelta(minutes=minutes)).isoformat(),
            }
        )

    artists = list(targets.artists)
    rng.shuffle(artists)
    for rank, artist_id in enumerate(artists):
        attention = max(1, 24 // (rank + 1))  # 24, 12, 8, 6, ... 1
        for _ in range(attention):
            add("view", artist_id=artist_id)
        for _ in range(attention // 3):
            add("follow", artist_id=artist_id)
    shows = list(targets.shows)
    rng.shuffle(shows)
    for rank, (show_id, artist_id) in enumerate(shows[:40]):
        attention = max(1, 12 // (rank + 1))
        for _ in range(attention):
            add("view", show_id=show_id, artist_id=artist_id)
        for _ in range(attention // 2):
            add("attendance", show_id=show_id)
    votes = list(targets.votes)
    rng.shuffle(votes)
    for song_id, show_id in votes[:60]:
        add("vote_up" if rng.random() < 0.8 else "vote_down", song_id=song_id, show_id=show_id)
    return events


async def load_activity_targets(engine: AsyncEngine, *, now: datetime) -> ActivityTargets:
    """Synced artists, their upcoming shows, and songs of setlists attached to a show."""
    artists_t = Artist.__table__  # type: ignore[attr-defined]
    shows_t = Show.__table__  # type: ignore[attr-defined]
    setlists_t = Setlist.__table__  # type: ignore[attr-defined]
    entries_t = SetlistEntry.__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        artists = (
            await conn.execute(
                select(artists_t.c.id)
                .where(artists_t.c.last_synced_at.is_not(None))
                .order_by(artists_t.c.id)
                .limit(200)
            )
        ).scalars()
        artist_ids = [int(value) for value in artists]
        shows = (
            await conn.execute(
                select(shows_t.c.id, shows_t.c.artist_id)
                .where(
                    shows_t.c.status == ShowStatus.UPCOMING.value,
                    shows_t.c.local_date >= now.date(),
                )
                .order_by(shows_t.c.local_date, shows_t.c.id)
                .limit(200)
            )
        ).all()
        votes = (
            await conn.execute(
                select(entries_t.c.song_id, setlists_t.c.show_id)
                .join(setlists_t, setlists_t.c.id == entries_t.c.setlist_id)
                .where(setlists_t.c.show_id.is_not(None))
                .order_by(setlists_t.c.id, entries_t.c.position)
                .limit(400)
            )
        ).all()
    return ActivityTargets(
        artists=artist_ids,
        shows=[(int(show), int(artist)) for show, artist in shows],
        votes=sorted({(int(song), int(show)) for song, show in votes}),
    )


async def post_activity(
    settings: Settings, engine: AsyncEngine, events: Sequence[Mapping[str, Any]]
) -> tuple[int, int]:
    """POST the events to the monitor API in batches, in process, with the CRON_SECRET bearer
    token; returns (stored, received)."""
    import httpx

    from monitor.api import create_app

    if settings.cron_secret is None:
        raise RuntimeError("CRON_SECRET is not set: the monitor API refuses activity")
    token = settings.cron_secret.get_secret_value()
    transport = httpx.ASGITransport(app=create_app(settings, engine=engine))
    stored = received = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor") as client:
        for start in range(0, len(events), _BATCH):
            batch = list(events[start : start + _BATCH])
            response = await client.post(
                "/api/activity",
                json={"events": batch},
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code != 200:
                raise RuntimeError(
                    f"monitor API answered {response.status_code}: "
                    f"{redact(response.text, settings.secret_values())}"
                )
            body = response.json()
            stored += int(body["stored"])
            received += int(body["received"])
    return stored, received


@contextmanager
def _environment(updates: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, restoring the previous values after."""
    previous = {name: os.environ.get(name) for name in updates}
    os.environ.update(updates)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


@contextmanager
def sandbox_environment(*, artists: int, seed: int = DEMO_SEED) -> Iterator[str]:
    """Start the sandbox on loopback and point the settings (environment) at it: its URLs and
    its demo credentials. Yields its URL; stops it and restores the environment after."""
    from sandbox.config import SandboxConfig
    from sandbox.server import demo_settings_overrides, start_in_thread

    server = start_in_thread(SandboxConfig(artists=artists, seed=seed), host="127.0.0.1", port=0)
    try:
        overrides = demo_settings_overrides(server.url)
        with _environment({name.upper(): value for name, value in overrides.items()}):
            yield str(server.url)
    finally:
        server.stop()


class _QuietTaskRuns(logging.Filter):
    """Drops task-run records below WARNING: one line per task run would bury the steps."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def _quiet_task_runs() -> None:
    # On the logger, not a handler: Prefect re-creates its handlers when the local server starts.
    logger = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, _QuietTaskRuns) for f in logger.filters):
        logger.addFilter(_QuietTaskRuns())


class _Steps:
    """Numbered, timed step lines."""

    def __init__(self, console: Console, clock: Callable[[], float]) -> None:
        self._console = console
        self._clock = clock
        self._started = clock()
        self._number = 0

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self._number += 1
        begun = self._clock()
        self._console.rule(f"[bold]{self._number}. {title}", align="left")
        yield
        self._console.print(f"[dim]   done in {self._clock() - begun:.1f} s[/dim]")

    def elapsed(self) -> float:
        return self._clock() - self._started


def run_demo(
    console: Console,
    *,
    artists: int = 300,
    limit: int = 25,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = utcnow,
) -> int:
    """Run the demo; returns the exit code (0 on success)."""
    settings = get_settings()
    with _demo_settings(console, settings, artists=artists):
        try:
            _run_steps(console, get_settings(), limit=limit, clock=clock, now=now)
        except Exception as exc:
            secrets_now = get_settings().secret_values()
            console.print(
                f"[red]demo failed:[/red] {type(exc).__name__}: {redact(str(exc), secrets_now)}"
            )
            return 1
    return 0


@contextmanager
def _demo_settings(console: Console, settings: Settings, *, artists: int) -> Iterator[None]:
    updates: dict[str, str] = {}
    if "PREFECT_SERVER_ANALYTICS_ENABLED" not in os.environ:
        # The local Prefect server would report usage to Prefect (and log an error offline).
        updates["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    if settings.cron_secret is None or not settings.cron_secret.get_secret_value().strip():
        updates["CRON_SECRET"] = f"demo-{secrets.token_urlsafe(24)}"
    with _environment(updates):
        if "CRON_SECRET" in updates:
            console.print("CRON_SECRET not set: using a random one for this demo run")
        if settings.has_api_keys():
            console.print("[bold]using the real APIs[/bold] (API keys set)")
            yield
            return
        with sandbox_environment(artists=artists) as url:
            console.print(f"[bold]using the offline sandbox at {url}[/bold] (no API keys set)")
            yield


def _run_steps(
    console: Console,
    settings: Settings,
    *,
    limit: int,
    clock: Callable[[], float],
    now: Callable[[], datetime],
) -> None:
    from cli.checks import safe_url
    from cli.deployments import JOBS, JobRequest
    from cli.main import run_flow_locally
    from cli.setup import run_setup, steps_table
    from models.migrate import current_revision, upgrade
    from monitor.health import compute_health
    from monitor.render import render_report

    steps = _Steps(console, clock)
    url = settings.database_url
    _quiet_task_runs()

    with steps.step(f"Migrating the database {safe_url(url)}"):
        asyncio.run(upgrade(url))
        console.print(f"   schema at revision {asyncio.run(current_revision(url))}")

    with steps.step("Setting up Prefect: rate limits, work pool, variables"):
        console.print(steps_table(asyncio.run(run_setup(settings))))

    with steps.step(f"Seeding: discovery, sync, master sync and trending of {limit} artists"):
        counts = run_flow_locally(JobRequest(JOBS["seed-comprehensive"], {"limit": limit}))
        if isinstance(counts, dict):
            shown = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
            console.print(f"   {shown}")

    with steps.step("Posting simulated user activity through the monitor API"):
        stored, received = asyncio.run(_simulate_activity(settings, now()))
        console.print(f"   {received} events posted, {stored} new")

    with steps.step("Calculating trending scores (daily)"):
        run_flow_locally(JobRequest(JOBS["calculate-trending"], {"mode": "daily"}))

    async def report() -> Any:
        engine = make_engine(url)
        try:
            return await compute_health(
                engine,
                hours=24,
                now=now(),
                stale_after_hours=settings.sync_stale_after_hours,
                settings=settings,
            )
        finally:
            await engine.dispose()

    health = asyncio.run(report())
    console.rule("[bold]Health report (last 24 hours)", align="left")
    console.print(render_report(health))
    console.rule("[bold]Geographic trending and similar artists", align="left")
    for line in asyncio.run(insights_lines(url)):
        console.print(line, soft_wrap=True)
    console.print(f"[green]demo finished in {steps.elapsed():.0f} s[/green]")
    console.print(
        f"The data is in {safe_url(url)}. Next: `mysetlist status`, `mysetlist monitor`, "
        "`mysetlist serve` (scheduled runs) - see docs/operations.md."
    )


async def insights_lines(url: str, *, top: int = 5) -> list[str]:
    """The top artists of the market with the most ranked artists today, and the artists similar
    to its first one: what the daily run's insights hold."""
    from models.geo_trending import GEO, read_trending
    from models.markets import MARKET_NAMES
    from models.similarity import similar_artists

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            g = GEO.c
            latest = select(func.max(g.day)).where(g.scope == "market").scalar_subquery()
            busiest = (
                await conn.execute(
                    select(g.scope_id, func.count().label("artists"))
                    .where(g.scope == "market", g.entity_type == "artist", g.day == latest)
                    .group_by(g.scope_id)
                    .order_by(func.count().desc(), g.scope_id)
                    .limit(1)
                )
            ).first()
            if busiest is None:
                return ["No market has trending artists yet (no venue with a market)."]
            market = busiest.scope_id
            day, ranked = await read_trending(
                conn,
                scope="market",
                scope_id=market,
                kind="artist",
                limit=top,
                now=utcnow(),
                settings=get_settings(),
            )
        name = MARKET_NAMES.get(int(market), "a market")
        lines = [f"Top artists of market {market} ({name}) on {day}:"]
        lines += [f"  {r.rank}. {r.name} (#{r.id}) — {r.score:.2f}" for r in ranked]
        similar = await similar_artists(engine, ranked[0].id, limit=top)
        if similar is None or not similar.similar:
            lines.append(f"No similar artists for {ranked[0].name} yet.")
            return lines
        lines.append(f"Artists similar to {similar.name}:")
        lines += [
            f"  {s.rank}. {s.name} (#{s.id}) — {s.score:.2f} (shows {s.shared_shows}, "
            f"covers {s.covers}, genres {s.shared_genres:.2f}, markets {s.shared_markets})"
            for s in similar.similar
        ]
        return lines
    finally:
        await engine.dispose()


async def _simulate_activity(settings: Settings, now: datetime) -> tuple[int, int]:
    engine = make_engine(settings.database_url)
    try:
        targets = await load_activity_targets(engine, now=now)
        events = demo_activity(targets, now=now, day_key=now.strftime("%Y%m%d"))
        if not events:
            return 0, 0
        return await post_activity(settings, engine, events)
    finally:
        await engine.dispose()
