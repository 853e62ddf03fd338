"""Cap use with leased rate limits: 1, 2 and 4 worker processes sharing one PostgreSQL store.

``python -m benchmarks.cap_use [--window 60] [--workers 1,2,4] [--concurrency 4]``

Serves the offline sandbox on loopback from a thread of this process, with the real caps
(Ticketmaster 5/s, setlist.fm 2/s, enforced and counted by the sandbox) and no latency, and
creates a throwaway PostgreSQL database as the lease store. For each worker count, that many
processes each open the run's rate limiter (``tasks.leases.open_rate_limiter``,
``RATE_LIMITER=lease``) and keep ``--concurrency`` requests in flight per API through the real
clients (Ticketmaster ``attractions/{id}``, setlist.fm ``artist/{mbid}/setlists``) until the run
ends. After a warm-up, the sandbox's own counters are read at the start and the end of a busy
window of ``--window`` seconds: the share of each per-second cap used is what the sandbox
answered in the window over ``window x cap``; refusals are counted over the whole run. Each
worker reports its lease store calls. The load average is printed with each run (the machine
is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from multiprocessing.synchronize import Event as EventType
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from clients.setlistfm import SetlistFmClient
from clients.ticketmaster import TicketmasterClient
from models.db import create_all, make_engine
from sandbox.catalog import Catalog
from sandbox.config import SandboxConfig
from sandbox.server import SandboxServer, demo_settings_overrides, start_in_thread
from settings import Settings
from tasks.leases import LeasedRateLimiter, open_rate_limiter

PG_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/")
CAPS: dict[str, float] = {"ticketmaster": 5.0, "setlistfm": 2.0}
GOAL = 0.95
SEED, ARTISTS = 7, 100
WARMUP_SECONDS = 5.0


@dataclass(frozen=True)
class Run:
    workers: int
    window: float
    answered: dict[str, int]  # by the sandbox within the window
    refused: dict[str, int]  # by the sandbox over the whole run
    store_calls: list[int]  # per worker, over the whole run
    sent: list[int]  # per worker
    skipped: int  # slots reached too late (all workers)
    load: tuple[float, float]  # 1-minute load average at the start and the end

    def share(self, api: str) -> float:
        return self.answered[api] / (self.window * CAPS[api])


# --- worker processes ---------------------------------------------------------------------------


def _worker(
    sandbox_url: str,
    database_url: str,
    today: date,
    concurrency: int,
    go: EventType,
    stop_at: Any,
    ready: Any,
    results: Any,
) -> None:
    asyncio.run(_work(sandbox_url, database_url, today, concurrency, go, stop_at, ready, results))


async def _work(
    sandbox_url: str,
    database_url: str,
    today: date,
    concurrency: int,
    go: EventType,
    stop_at: Any,
    ready: Any,
    results: Any,
) -> None:
    settings = Settings.model_validate(
        {**demo_settings_overrides(sandbox_url), "database_url": database_url}
    )
    catalog = Catalog(seed=SEED, artists=ARTISTS, today=today)
    attractions = [a.ticketmaster_id for a in catalog.artists if a.ticketmaster_id is not None]
    mbids = [a.mbid for a in catalog.artists if a.mbid is not None]
    engine = make_engine(database_url)
    limits = httpx.Limits(max_connections=2 * concurrency)
    try:
        async with (
            open_rate_limiter(settings, list(CAPS), engine=engine) as limiter,
            httpx.AsyncClient(timeout=30, limits=limits) as http,
            TicketmasterClient.from_settings(settings, http=http, limiter=limiter) as tm,
            SetlistFmClient.from_settings(settings, http=http, limiter=limiter) as sfm,
        ):
            assert isinstance(limiter, LeasedRateLimiter)
            ready.put(os.getpid())
            await asyncio.get_running_loop().run_in_executor(None, go.wait)
            deadline = stop_at.value

            async def loop(call: Callable[[str], Any], ids: Sequence[str], offset: int) -> None:
                number = offset
                while time.time() < deadline:
                    await call(ids[number % len(ids)])
                    number += concurrency

            await asyncio.gather(
                *(loop(tm.get_attraction, attractions, i) for i in range(concurrency)),
                *(loop(sfm.artist_setlists, mbids, i) for i in range(concurrency)),
            )
        # Closed: the release call is counted too.
        stats = limiter.stats.values()
        results.put(
            {
                "store_calls": sum(c["store_calls"] for c in stats),
                "sent": sum(c["acquired"] for c in stats),
                "skipped": sum(c["skipped"] + c["passed"] for c in stats),
            }
        )
    except BaseException as exc:
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        await engine.dispose()


# --- the store and the sandbox ------------------------------------------------------------------


async def _create_database(name: str) -> str:
    server = make_url(PG_SERVER_URL)
    admin = make_engine(
        server.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        await create_all(engine)
    finally:
        await engine.dispose()
    return url


async def _drop_database(name: str) -> None:
    server = make_url(PG_SERVER_URL)
    admin = make_engine(
        server.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def _counts(server: SandboxServer) -> tuple[dict[str, int], dict[str, int]]:
    """Requests answered and refused per API, read from the sandbox's counters (they are
    updated by its server thread: retried if a new key lands while they are copied)."""
    stats = server.sandbox.stats
    for _ in range(100):
        try:
            requests = dict(stats.requests)
            refused = dict(stats.over_cap)
            break
        except RuntimeError:
            time.sleep(0.001)
    answered = {api: 0 for api in CAPS}
    for (api, _endpoint, _status), count in requests.items():
        if api in answered:
            answered[api] += count
    refusals = {api: refused.get(api, 0) for api in CAPS}
    return answered, refusals


def run_once(
    server: SandboxServer,
    database_url: str,
    today: date,
    *,
    workers: int,
    window: float,
    concurrency: int,
) -> Run:
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    stop_at = context.Value("d", 0.0)
    ready = context.Queue()
    results = context.Queue()
    processes = [
        context.Process(
            target=_worker,
            args=(server.url, database_url, today, concurrency, go, stop_at, ready, results),
            daemon=True,
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=120)
        load_start = os.getloadavg()[0]
        started = time.time()
        stop_at.value = started + WARMUP_SECONDS + window + 1.0
        answered_before, refused_before = _counts(server)
        go.set()
        time.sleep(WARMUP_SECONDS)
        window_start, _ = _counts(server)
        time.sleep(window)
        window_end, _ = _counts(server)
        reports = [results.get(timeout=120) for _ in processes]
        failed = [report["error"] for report in reports if "error" in report]
        if failed:
            raise RuntimeError(f"worker failed: {failed[0]}")
        answered_after, refused_after = _counts(server)
        load_end = os.getloadavg()[0]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    del answered_before, answered_after
    return Run(
        workers=workers,
        window=window,
        answered={api: window_end[api] - window_start[api] for api in CAPS},
        refused={api: refused_after[api] - refused_before[api] for api in CAPS},
        store_calls=[report["store_calls"] for report in reports],
        sent=[report["sent"] for report in reports],
        skipped=sum(report["skipped"] for report in reports),
        load=(load_start, load_end),
    )


def benchmark(*, worker_counts: Sequence[int], window: float, concurrency: int) -> list[Run]:
    config = SandboxConfig(seed=SEED, artists=ARTISTS)
    name = f"mysetlist_capuse_{uuid.uuid4().hex[:12]}"
    database_url = asyncio.run(_create_database(name))
    try:
        with start_in_thread(config, port=0) as server:
            return [
                run_once(
                    server,
                    database_url,
                    config.today,
                    workers=workers,
                    window=window,
                    concurrency=concurrency,
                )
                for workers in worker_counts
            ]
    finally:
        asyncio.run(_drop_database(name))


def report(runs: Sequence[Run], *, concurrency: int) -> list[str]:
    lines = [
        f"cap use with leased rate limits: real caps (Ticketmaster {CAPS['ticketmaster']:g}/s, "
        f"setlist.fm {CAPS['setlistfm']:g}/s), one PostgreSQL lease store, {concurrency} "
        "requests in flight per API and worker, measured by the sandbox",
        "| workers | window | Ticketmaster, share of 5/s | setlist.fm, share of 2/s | refusals "
        "| lease store calls per worker (per minute) | slots skipped | load average |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        minutes = (run.window + WARMUP_SECONDS + 1.0) / 60
        calls = ", ".join(f"{c} ({c / minutes:.0f})" for c in run.store_calls)
        lines.append(
            f"| {run.workers} | {run.window:g} s | {run.share('ticketmaster'):.3f} "
            f"({run.answered['ticketmaster']}) | {run.share('setlistfm'):.3f} "
            f"({run.answered['setlistfm']}) | {sum(run.refused.values())} | {calls} "
            f"| {run.skipped} | {run.load[0]:.2f} → {run.load[1]:.2f} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--window", type=float, default=60.0, help="busy window, seconds")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--concurrency", type=int, default=4, help="per API and worker")
    parser.add_argument("--check", action="store_true", help=f"exit 1 below {GOAL} or refused")
    args = parser.parse_args(argv)
    counts = [int(part) for part in args.workers.split(",") if part.strip()]
    runs = benchmark(worker_counts=counts, window=args.window, concurrency=args.concurrency)
    for line in report(runs, concurrency=args.concurrency):
        print(line)
    met = all(
        run.share(api) >= GOAL and sum(run.refused.values()) == 0 for run in runs for api in CAPS
    )
    print(f"goal: >= {GOAL} of each cap and 0 refusals in every run: {'met' if met else 'NOT met'}")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
