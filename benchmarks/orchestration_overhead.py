"""What orchestration costs per artist: a ``master-sync --mode full`` against the same client
calls made directly, in one run.

``python -m benchmarks.orchestration_overhead [--artists 200] [--limiters local,lease]
[--database-url URL] [--rounds 3] [--warmup 1]``

Caps lifted, no latency, no faults, no caching: only our own costs count. The sandbox runs in
process (``httpx.ASGITransport``), the flows against a Prefect server on a throwaway PostgreSQL
database (as production runs it), our data on a fresh SQLite file by default. Before each
measured step the database is emptied and ``autonomous-sync --mode discovery --limit N`` imports
the same N artists again, so every step starts from the same state. Steps:

- ``direct reads``: for every artist, the reads the flow makes (its Ticketmaster events; its
  setlist.fm search when it has no MusicBrainz id, as the flow; its first setlist pages) plus
  one Spotify batch and the Spotify name searches of the artists without a Spotify id, called
  directly, at the flow's concurrency and in its batches, with no limiter;
- ``direct reads + store``: the same, each batch stored as the flow stores it
  (``store_artist_syncs``: ``SYNC_BATCH_SIZE`` artists per transaction), still without Prefect;
- ``flow (<limiter>)``: ``master_sync(mode="full")`` with ``RATE_LIMITER=<limiter>``, without
  the history backfill (``SETLIST_HISTORY_PAGES_PER_RUN=0``): its older pages are reads the
  direct steps do not make, so they would be counted as orchestration.

The first flow run (the discovery that prepares the first step) tunes this process's garbage
collector as a worker's first run does (``tasks/heap.py``: the heap built so far, the in-process
sandbox included, frozen out of full collections; ``GC_YOUNG_THRESHOLD``), so every step, direct
or not, runs with it; ``GC_FREEZE_AT_START=false GC_YOUNG_THRESHOLD=0`` measures without.

A warm-up round (not measured), then ``--rounds`` rounds of every step, each round in another
order. It prints the median milliseconds per artist (wall, and CPU of this process), each flow's
overhead over both direct steps (the median of its differences with the steps of the same round),
the flow's Prefect API calls per artist (requests + events, counted by
``tasks.prefect_traffic``), and PASS or FAIL per limiter against the goal: <= 10 ms per artist
over the direct reads and <= 0.5 Prefect API calls per artist. The exit status is the number of
limiters that fail.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from statistics import median

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from models.sync_state import ArtistToSync

GOAL_MS_PER_ARTIST = 10.0
GOAL_PREFECT_CALLS_PER_ARTIST = 0.5
PG_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/")

LIFTED_CAPS = {
    "SPOTIFY_REQUESTS_PER_MINUTE": "6000000",
    "TICKETMASTER_REQUESTS_PER_SECOND": "100000",
    "TICKETMASTER_REQUESTS_PER_DAY": "100000000",
    "SETLISTFM_REQUESTS_PER_SECOND": "100000",
    "SETLISTFM_REQUESTS_PER_DAY": "100000000",
    "CACHE_TTL_SPOTIFY_MINUTES": "0",
    "CACHE_TTL_TICKETMASTER_MINUTES": "0",
    "RATE_LIMITER": "local",  # discovery, which prepares each step, is not measured
    "SETLIST_HISTORY_PAGES_PER_RUN": "0",  # reads the direct steps do not make
}


READS = "direct reads"
STORED = "direct reads + store"


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    artists: int
    prefect_calls: int | None = None
    cpu_seconds: float = 0.0

    @property
    def ms_per_artist(self) -> float:
        return 1000.0 * self.seconds / max(1, self.artists)

    @property
    def cpu_ms_per_artist(self) -> float:
        return 1000.0 * self.cpu_seconds / max(1, self.artists)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def _fresh_world(engine: AsyncEngine, artists: int) -> None:
    """An empty database, then the same ``artists`` imported by discovery."""
    from flows.autonomous_sync import autonomous_sync
    from tests.flows.conftest import reset_database

    await reset_database(engine)
    found = await autonomous_sync(mode="discovery", limit=artists)
    if found["artists_added"] != artists:
        raise SystemExit(
            f"the sandbox offered {found['artists_added']} artists, fewer than {artists}"
        )


async def _direct(engine: AsyncEngine, *, store: bool) -> int:
    """The flow's reads (and, with ``store``, its writes) for every artist, without Prefect:
    the same requests as ``master_sync`` makes on a fresh world (a Spotify batch, a name search
    for each artist without a Spotify id, each artist's events, its setlist.fm search and first
    setlist pages), at the flow's concurrency, with no limiter; stored as the flow stores them
    (``store_artist_syncs``, ``SYNC_BATCH_SIZE`` artists per transaction)."""
    from clients.ratelimit import NoLimiter
    from flows._artist_sync import day_window
    from models.catalog import setlist_versions_of
    from models.identity import normalize_name
    from models.sync_state import select_artists_for_sync
    from models.types import utcnow
    from settings import get_settings
    from tasks.deps import open_upstream
    from tasks.store import ArtistSync, Writer, store_artist_syncs
    from tasks.upstream import (
        find_setlistfm_artist,
        read_artist_events,
        read_artist_setlists,
        read_spotify_artists,
        search_spotify_artist,
    )

    settings = get_settings()
    now = utcnow()
    start, end = day_window(now, settings.sync_show_window_days)
    writer = Writer(engine)
    async with writer.read() as conn:
        chosen = await select_artists_for_sync(
            conn, now=now, limit=None, stale_after_hours=None, source_column="setlistfm_synced_at"
        )
        known_versions = await setlist_versions_of(conn, [a.id for a in chosen])
    semaphore = asyncio.Semaphore(settings.sync_concurrency)
    apis = ("spotify", "ticketmaster", "setlistfm")
    next_sync = now + timedelta(hours=settings.sync_stale_after_hours)
    research_before = now - timedelta(days=settings.setlist_research_after_days)
    async with open_upstream(settings, apis=apis, limiter=NoLimiter()) as upstream:
        await read_spotify_artists(upstream, sorted(a.spotify_id for a in chosen if a.spotify_id))
        spotify_before = now - timedelta(days=settings.spotify_research_after_days)
        for artist in chosen:
            if not artist.spotify_id and (
                artist.spotify_synced_at is None or artist.spotify_synced_at <= spotify_before
            ):
                await search_spotify_artist(upstream, artist.name)

        async def one(artist: ArtistToSync) -> ArtistSync:
            async with semaphore:
                events = None
                if artist.ticketmaster_id:
                    fetched = await read_artist_events(upstream, artist.ticketmaster_id, start, end)
                    events = fetched.events
                mbid = artist.mbid
                if mbid is None and (
                    artist.setlistfm_synced_at is None
                    or artist.setlistfm_synced_at <= research_before
                ):  # as the flow: a stored id is used, a recent search not made again
                    found = await find_setlistfm_artist(
                        upstream, artist.ticketmaster_id, artist.name
                    )
                    wanted = normalize_name(artist.name)
                    tmid = artist.ticketmaster_id
                    by_tmid = next((a for a in found if tmid and str(a.tmid or "") == tmid), None)
                    match = by_tmid or next(
                        (a for a in found if normalize_name(a.name) == wanted), None
                    )
                    mbid = match.mbid if match is not None else None
                setlists = None
                if mbid:
                    setlists = (
                        await read_artist_setlists(
                            upstream,
                            mbid,
                            None,
                            settings.setlist_first_sync_max_pages,
                            known_versions[artist.id],
                        )
                    ).setlists
                return ArtistSync(
                    artist_id=artist.id,
                    identity=None,
                    events=events,
                    setlists=setlists,
                    sources=["ticketmaster", "setlistfm"],
                    next_sync_at=next_sync,
                )

        async def batch(artists: list[ArtistToSync]) -> None:
            read = await asyncio.gather(*(one(artist) for artist in artists))
            if store:
                await store_artist_syncs(writer, read, today=now.date(), now=now)

        size = settings.sync_batch_size
        await asyncio.gather(*(batch(chosen[i : i + size]) for i in range(0, len(chosen), size)))
    return len(chosen)


async def _step(args: argparse.Namespace, engine: AsyncEngine, name: str) -> Step:
    """One measured step on a fresh world: wall and CPU time (this process, every thread)."""
    from flows.master_sync import master_sync
    from settings import get_settings

    limiter = name[len("flow (") : -1] if name.startswith("flow (") else "local"
    with _environment({"RATE_LIMITER": limiter}):
        get_settings.cache_clear()
        try:
            await _fresh_world(engine, args.artists)
            started, cpu = time.perf_counter(), time.process_time()
            if name.startswith("flow ("):
                counts = await master_sync(mode="full", limit=args.artists)
                done, calls = counts["artists_synced"], counts["prefect_api_calls"]
            else:
                done = await _direct(engine, store=name == STORED)
                calls = None
            return Step(name, time.perf_counter() - started, done, calls, time.process_time() - cpu)
        finally:
            get_settings.cache_clear()


async def _measure(args: argparse.Namespace, engine: AsyncEngine) -> list[list[Step]]:
    """``--warmup`` unmeasured rounds, then ``--rounds`` rounds of every step; each round runs
    the steps in another order (rotated), so a slow spell of the machine does not always fall
    on the same step."""
    names = [READS, STORED, *(f"flow ({limiter})" for limiter in args.limiters)]
    for _ in range(args.warmup):
        for name in names:
            await _step(args, engine, name)
    rounds: list[list[Step]] = []
    for index in range(args.rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        steps = {name: await _step(args, engine, name) for name in order}
        rounds.append([steps[name] for name in names])
        print(
            f"round {index + 1}: "
            + ", ".join(f"{step.name} {step.ms_per_artist:.1f}" for step in rounds[-1])
            + f" ms/artist; load average {_load()}",
            file=sys.stderr,
        )
    return rounds


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _report(rounds: list[list[Step]]) -> int:
    """Medians over the rounds; a flow's overhead is the median of its differences with the
    direct reads *of the same round* (paired: both saw the same machine)."""
    names = [step.name for step in rounds[0]]
    by_name = {name: [r[i] for r in rounds] for i, name in enumerate(names)}
    reads = by_name[READS]
    stored = by_name[STORED]
    print(
        f"{len(rounds)} round(s), {reads[0].artists} artists; medians; "
        f"load average at the end {_load()}"
    )
    header = ("step", "ms/artist", "CPU ms/artist", "- reads", "- reads+store", "Prefect/artist")
    print(
        f"{header[0]:<24}{header[1]:>10}{header[2]:>15}{header[3]:>10}{header[4]:>15}"
        f"{header[5]:>16}"
    )
    failed = 0
    verdicts: list[str] = []
    for name in names:
        steps = by_name[name]
        over_reads = [s.ms_per_artist - r.ms_per_artist for s, r in zip(steps, reads, strict=True)]
        over_stored = [
            s.ms_per_artist - r.ms_per_artist for s, r in zip(steps, stored, strict=True)
        ]
        calls = [s.prefect_calls / max(1, s.artists) for s in steps if s.prefect_calls is not None]
        print(
            f"{name:<24}{median(s.ms_per_artist for s in steps):>10.1f}"
            f"{median(s.cpu_ms_per_artist for s in steps):>15.1f}"
            f"{median(over_reads):>10.1f}{median(over_stored):>15.1f}"
            f"{f'{median(calls):.2f}' if calls else '':>16}"
        )
        if not calls:
            continue
        over = median(over_reads)
        ok = over <= GOAL_MS_PER_ARTIST and median(calls) <= GOAL_PREFECT_CALLS_PER_ARTIST
        failed += not ok
        each = ", ".join(f"{v:+.1f}" for v in over_reads)
        spread = f" (rounds: {each})" if len(steps) > 1 else ""
        cpu_over = median(
            s.cpu_ms_per_artist - r.cpu_ms_per_artist for s, r in zip(steps, reads, strict=True)
        )
        verdicts.append(
            f"{'PASS' if ok else 'FAIL'} {name}: {over:+.1f} ms/artist over the direct reads"
            f"{spread}, goal <= {GOAL_MS_PER_ARTIST:g}; {median(over_stored):+.1f} over reads + "
            f"store; {median(calls):.2f} Prefect API calls per artist, goal <= "
            f"{GOAL_PREFECT_CALLS_PER_ARTIST:g}; CPU {cpu_over:+.1f} ms/artist over the reads' "
            "(steadier than wall time on a busy machine; not the goal)"
        )
    print("\n".join(verdicts))
    return failed


async def _main(args: argparse.Namespace) -> int:
    from models.db import create_all, make_engine
    from sandbox.app import create_app
    from sandbox.config import SandboxConfig
    from sandbox.server import demo_settings_overrides
    from settings import get_settings
    from tasks.deps import use_http_factory

    sandbox_url = f"http://sandbox-{uuid.uuid4().hex[:8]}.bench"
    env = {k.upper(): v for k, v in demo_settings_overrides(sandbox_url).items()}
    env.update(LIFTED_CAPS, DATABASE_URL=args.database_url)
    with _environment(env):
        get_settings.cache_clear()
        app = create_app(
            SandboxConfig(settings=get_settings(), artists=max(600, 3 * args.artists), caps=False)
        )
        engine = make_engine(args.database_url)
        await create_all(engine)
        try:
            with use_http_factory(lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app))):
                rounds = await _measure(args, engine)
        finally:
            await engine.dispose()
    return _report(rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artists", type=int, default=200)
    parser.add_argument("--limiters", default="local,lease")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    if args.artists < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--artists and --rounds must be at least 1, --warmup at least 0")
    args.limiters = [name.strip() for name in args.limiters.split(",") if name.strip()]
    from prefect.settings import PREFECT_LOGGING_LEVEL, temporary_settings

    from tests.conftest import _create_database, _drop_database, _run
    from tests.prefect_server import prefect_server

    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url is None:
            args.database_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        name = f"bench_prefect_{uuid.uuid4().hex[:8]}"
        _run(_create_database(PG_SERVER_URL, name))
        try:
            prefect_url = PG_SERVER_URL.rstrip("/") + "/" + name
            with (
                temporary_settings({PREFECT_LOGGING_LEVEL: "WARNING"}),
                prefect_server(prefect_url),
            ):
                return asyncio.run(_main(args))
        finally:
            _run(_drop_database(PG_SERVER_URL, name))


if __name__ == "__main__":
    sys.exit(main())
