"""Scale-out: 1, 2 and 4 worker processes finishing one fixed backlog of artists, real caps.

``python -m benchmarks.workers_backlog [--backlog 240] [--workers 1,2,4] [--limit 25]
[--slow-backlog 80] [--slow-latency 0.4] [--slow-concurrency 1]``

Serves the offline sandbox on loopback from a thread of this process with the real caps
(Ticketmaster 5/s and 5,000/day, enforced and counted by the sandbox), starts a Prefect server
on a throwaway PostgreSQL database (``tests/prefect_server.py``), and imports the backlog once:
``autonomous-sync --mode discovery --limit BACKLOG`` into a throwaway PostgreSQL database (our
data, which is also the rate-lease store). That database is the template of every round: each
worker count starts from an exact copy (``CREATE DATABASE ... TEMPLATE``), so every round has
the same BACKLOG never-synced artists.

In a round, N worker processes (spawned, each with its own Prefect client and engine) run the
real flow, ``autonomous-sync --mode sync --limit LIMIT`` (the ``autonomous-sync/sync``
deployment's parameters), one run after another, until a run of theirs selects no artist. The
figures:

- backlog done: from the start signal to the end (ledger ``finished_at``) of the last run that
  synced an artist; workers idle: until every worker's empty run ended;
- artists synced per worker, from the runs' counts;
- artists synced twice, from the ledger (sum of ``artists_synced`` over the round's runs minus
  the artists whose ``ticketmaster_synced_at`` is set) and from the sandbox (Ticketmaster
  ``events.json?attractionId=`` first pages asked more than once for one attraction, counted by
  an ASGI wrapper of this benchmark in front of the sandbox app);
- over-cap answers and refusals: the sandbox's own counters (``stats.over_cap``, the 429s);
- share of the Ticketmaster cap: Ticketmaster requests the sandbox answered in the round over
  5/s x the backlog-done time (and over the span from the round's first to its last request).

Also per round: the Ticketmaster slots the workers leased (``tasks/leases.py``) and what became
of them: sent, passed as too late, or unused (given back or wasted); counted by wrapping the
flows' ``open_rate_limiter`` in the worker processes. The ideal at the cap is
BACKLOG / (0.98 x 5/s): the schedule's pace (``RATE_LEASE_PACE``).

Two curves: default workers (``SYNC_CONCURRENCY`` 8, no latency: one worker alone can fill the
cap), and slow workers (``--slow-*``: one request in flight per worker and 0.4 s per answer,
so one worker alone cannot). The load average is printed with each round (the machine is
shared).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import text
from sqlalchemy.engine import make_url

PG_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/")
TM_CAP = 5.0  # the sandbox's real Ticketmaster cap, requests per second
PACE = 0.98  # RATE_LEASE_PACE's default: the share of the cap the lease schedule uses
SEED = 7
MAX_RUNS_PER_WORKER = 200  # a guard: a round that never empties its backlog stops here


# --- the sandbox, with per-attraction counts ------------------------------------------------------


class CountingApp:
    """ASGI wrapper in front of the sandbox app: arrival time of every Ticketmaster request, and
    how often each attraction's first ``events.json`` page was asked for (an artist's sync)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.tm_times: list[float] = []
        self.attractions: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/discovery/v2/"):
            query = parse_qs(scope.get("query_string", b"").decode())
            attraction = query.get("attractionId", [""])[0]
            first_page = query.get("page", ["0"])[0] == "0"
            with self.lock:
                self.tm_times.append(time.time())
                if scope["path"].endswith("/events.json") and attraction and first_page:
                    self.attractions[attraction] += 1
        await self.app(scope, receive, send)

    def snapshot(self) -> tuple[list[float], Counter[str]]:
        with self.lock:
            return list(self.tm_times), Counter(self.attractions)

    def reset(self) -> None:
        with self.lock:
            self.tm_times.clear()
            self.attractions.clear()


@dataclass
class Sandbox:
    url: str
    counting: CountingApp
    sandbox: Any  # sandbox.core.Sandbox

    def counts(self) -> dict[str, int]:
        """Ticketmaster answers, over-cap refusals (all APIs) and 429s, from the sandbox's own
        counters (updated by its server thread: retried if a key lands while copied)."""
        stats = self.sandbox.stats
        for _ in range(100):
            try:
                requests = dict(stats.requests)
                over_cap = dict(stats.over_cap)
                break
            except RuntimeError:
                time.sleep(0.001)
        return {
            "tm_answered": sum(n for (api, _, _), n in requests.items() if api == "ticketmaster"),
            "status_429": sum(n for (_, _, status), n in requests.items() if status == 429),
            "over_cap": sum(over_cap.values()),
        }


@contextmanager
def serve_sandbox(artists: int, *, latency: float = 0.0) -> Iterator[Sandbox]:
    import uvicorn

    from sandbox.app import create_app
    from sandbox.config import SandboxConfig

    app = create_app(SandboxConfig(seed=SEED, artists=artists, caps=True, latency_seconds=latency))
    counting = CountingApp(app)
    config = uvicorn.Config(
        counting, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="sandbox-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Sandbox(f"http://127.0.0.1:{port}", counting, app.state.sandbox)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


# --- worker processes -----------------------------------------------------------------------------


def _worker(
    env: dict[str, str],
    log_path: str,
    mode: str,
    limit: int,
    once: bool,
    go: EventType,
    ready: Any,
    results: Any,
) -> None:
    os.environ.update(env)
    with open(log_path, "a", encoding="utf-8") as log:
        sys.stdout = sys.stderr = log
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            runs = asyncio.run(_work(mode, limit, once, go, ready))
            results.put({"pid": os.getpid(), "runs": runs})
        except BaseException as exc:
            results.put({"pid": os.getpid(), "error": f"{type(exc).__name__}: {exc}"})
            raise


@asynccontextmanager
async def _observed_limiter(
    opened: Callable[..., Any], sink: Counter[str], *args: Any, **kwargs: Any
) -> AsyncIterator[Any]:
    """``open_rate_limiter``, adding the run's Ticketmaster lease counts to ``sink`` at its
    end (slots leased, sent, passed or skipped as too late): where the cap's share went."""
    async with opened(*args, **kwargs) as limiter:
        try:
            yield limiter
        finally:
            sink.update(getattr(limiter, "stats", {}).get("ticketmaster", {}))


async def _work(
    mode: str, limit: int, once: bool, go: EventType, ready: Any
) -> list[dict[str, Any]]:
    import flows._artist_sync
    from flows.autonomous_sync import autonomous_sync

    leases: Counter[str] = Counter()
    module: Any = flows._artist_sync  # the flows' name for it, swapped in this process only
    module.open_rate_limiter = partial(_observed_limiter, module.open_rate_limiter, leases)
    ready.put(os.getpid())
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    runs: list[dict[str, Any]] = []
    for _ in range(MAX_RUNS_PER_WORKER):
        started = time.time()
        state = await autonomous_sync(mode=mode, limit=limit, return_state=True)
        counts = await state.aresult(raise_on_failure=False)
        counts = counts if isinstance(counts, dict) else {}
        runs.append(
            {
                "leases": dict(leases),
                "state": state.name,
                "started": started,
                "ended": time.time(),
                "selected": int(counts.get("artists_selected", 0)),
                "synced": int(counts.get("artists_synced", 0)),
                "failed": int(counts.get("artists_failed", 0)),
                "added": int(counts.get("artists_added", 0)),
            }
        )
        leases.clear()
        if once or not state.is_completed() or not counts.get("artists_selected"):
            break
    return runs


def _spawn(
    count: int, env: dict[str, str], logs: Path, *, mode: str, limit: int, once: bool
) -> tuple[EventType, Any, list[Any]]:
    context = multiprocessing.get_context("spawn")
    go, ready, results = context.Event(), context.Queue(), context.Queue()
    processes = [
        context.Process(
            target=_worker,
            args=(env, str(logs / f"worker-{i}.log"), mode, limit, once, go, ready, results),
            daemon=True,
        )
        for i in range(count)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=300)
    return go, results, processes


def _collect(results: Any, processes: list[Any]) -> list[dict[str, Any]]:
    try:
        reports = [results.get(timeout=900) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    failed = [report["error"] for report in reports if "error" in report]
    if failed:
        raise RuntimeError(f"worker failed: {failed[0]}")
    return reports


# --- databases ------------------------------------------------------------------------------------


def _url(name: str) -> str:
    return make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)


async def _admin(statement: str) -> None:
    from models.db import make_engine

    admin = make_engine(_url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await admin.dispose()


async def _copy_database(name: str, template: str) -> None:
    """``CREATE DATABASE name TEMPLATE template``, retried while the template's last sessions
    (the discovery worker's) are still closing."""
    for attempt in range(50):
        try:
            await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return
        except Exception:
            if attempt == 49:
                raise
            await asyncio.sleep(0.2)


async def _backlog_state(url: str) -> dict[str, Any]:
    """The round's database after the round: the artists synced and the sync runs' ledger."""
    from models.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            artists = (
                await conn.execute(
                    text(
                        "SELECT count(*) AS total, count(ticketmaster_synced_at) AS synced, "
                        "count(claimed_by_run) AS claimed FROM artists "
                        "WHERE ticketmaster_id IS NOT NULL"
                    )
                )
            ).one()
            runs = (
                await conn.execute(
                    text(
                        "SELECT id, status, counts, started_at, finished_at FROM sync_runs "
                        "WHERE job = 'autonomous-sync' AND mode = 'sync' ORDER BY id"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    return {
        "total": int(artists.total),
        "synced": int(artists.synced),
        "claimed": int(artists.claimed),
        "runs": [
            {
                "id": row.id,
                "status": row.status,
                "synced": int(row.counts.get("artists_synced", 0)),
                "finished": row.finished_at.timestamp() if row.finished_at else None,
            }
            for row in runs
        ],
    }


# --- one round ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One curve: a backlog, the sandbox's latency, and settings every sync worker gets."""

    label: str
    backlog: int
    latency: float = 0.0
    worker_env: dict[str, str] = field(default_factory=dict)

    @property
    def artists(self) -> int:
        """Sandbox catalogue: about 0.63 of its artists are found by discovery (seed 7)."""
        return self.backlog * 5 // 3 + 20


@dataclass(frozen=True)
class Round:
    workers: int
    backlog: int  # artists with a Ticketmaster id in the round's database
    done_seconds: float  # start signal -> end of the last run that synced an artist
    idle_seconds: float  # start signal -> every worker's empty run ended
    synced_per_worker: list[int]
    runs_per_worker: list[int]
    synced_in_db: int
    ledger_twice: int  # sum of artists_synced over the runs - artists synced in the database
    sandbox_twice: int  # attractions whose first events page was asked more than once
    sandbox_attractions: int  # attractions whose first events page was asked at all
    tm_answered: int
    tm_span: float  # first to last Ticketmaster request of the round
    over_cap: int
    status_429: int
    statuses: dict[str, int]
    claims_left: int
    leases: dict[str, int]  # Ticketmaster lease counts, all workers' runs
    load: tuple[float, float]

    @property
    def share(self) -> float:
        return self.tm_answered / (TM_CAP * self.done_seconds)

    @property
    def busy_share(self) -> float:
        return self.tm_answered / (TM_CAP * self.tm_span) if self.tm_span else 0.0


def run_round(
    sandbox: Sandbox,
    base_env: dict[str, str],
    template: str,
    logs: Path,
    *,
    workers: int,
    limit: int,
) -> Round:
    name = f"{template}_w{workers}"
    asyncio.run(_copy_database(name, template))
    url = _url(name)
    try:
        env = {**base_env, "DATABASE_URL": url}
        go, results, processes = _spawn(workers, env, logs, mode="sync", limit=limit, once=False)
        sandbox.counting.reset()
        before = sandbox.counts()
        load_start = os.getloadavg()[0]
        started = time.time()
        go.set()
        reports = _collect(results, processes)
        idle = time.time() - started
        load_end = os.getloadavg()[0]
        after = sandbox.counts()
        times, attractions = sandbox.counting.snapshot()
        state = asyncio.run(_backlog_state(url))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    runs = state["runs"]
    last_synced = max((r["finished"] for r in runs if r["synced"] and r["finished"]), default=None)
    leases: Counter[str] = Counter()
    for report_ in reports:
        for run in report_["runs"]:
            leases.update(run["leases"])
    return Round(
        workers=workers,
        backlog=state["total"],
        done_seconds=(last_synced - started) if last_synced else idle,
        idle_seconds=idle,
        synced_per_worker=[sum(r["synced"] for r in report["runs"]) for report in reports],
        runs_per_worker=[len(report["runs"]) for report in reports],
        synced_in_db=state["synced"],
        ledger_twice=sum(r["synced"] for r in runs) - state["synced"],
        sandbox_twice=sum(1 for n in attractions.values() if n > 1),
        sandbox_attractions=len(attractions),
        tm_answered=after["tm_answered"] - before["tm_answered"],
        tm_span=(max(times) - min(times)) if times else 0.0,
        over_cap=after["over_cap"] - before["over_cap"],
        status_429=after["status_429"] - before["status_429"],
        statuses=dict(Counter(r["status"] for r in runs)),
        claims_left=state["claimed"],
        leases=dict(leases),
        load=(load_start, load_end),
    )


# --- the whole benchmark --------------------------------------------------------------------------


def run_scenario(
    scenario: Scenario,
    *,
    api_url: str,
    worker_counts: Sequence[int],
    limit: int,
    logs: Path,
) -> tuple[list[Round], dict[str, Any]]:
    """The backlog imported once into a template database, then one round per worker count,
    each on a copy of it, against a sandbox of the scenario's latency."""
    from models.migrate import upgrade
    from sandbox.server import demo_settings_overrides

    template = f"mysetlist_backlog_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{template}"'))
    try:
        asyncio.run(upgrade(_url(template)))
        with serve_sandbox(scenario.artists, latency=scenario.latency) as sandbox:
            base_env = {
                **{k.upper(): v for k, v in demo_settings_overrides(sandbox.url).items()},
                "PREFECT_API_URL": api_url,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "RATE_LIMITER": "lease",
            }
            began = time.time()
            env = {**base_env, "DATABASE_URL": _url(template)}
            go, results, processes = _spawn(
                1, env, logs, mode="discovery", limit=scenario.backlog, once=True
            )
            go.set()
            [discovered] = _collect(results, processes)
            discovery = {"seconds": time.time() - began, **discovered["runs"][0]}
            rounds = [
                run_round(
                    sandbox,
                    {**base_env, **scenario.worker_env},
                    template,
                    logs,
                    workers=count,
                    limit=limit,
                )
                for count in worker_counts
            ]
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
    return rounds, discovery


@contextmanager
def prefect_on_postgres() -> Iterator[str]:
    """A Prefect server on a throwaway PostgreSQL database (``tests/prefect_server.py``)."""
    from tests.prefect_server import prefect_server

    name = f"mysetlist_backlog_prefect_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    try:
        with prefect_server(_url(name)) as api_url:
            yield api_url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def report(scenario: Scenario, rounds: Sequence[Round], *, limit: int) -> list[str]:
    backlog = rounds[0].backlog if rounds else 0
    ideal = backlog / (PACE * TM_CAP)
    settings = ", ".join(f"{k}={v}" for k, v in scenario.worker_env.items()) or "defaults"
    lines = [
        f"{scenario.label}: backlog of {backlog} never-synced artists; sandbox latency "
        f"{scenario.latency:g} s; worker settings: {settings}; ideal at the lease pace "
        f"({PACE} x {TM_CAP:g}/s): {ideal:.1f} s",
        "| workers | backlog done | workers idle | speed-up | artists synced per worker (runs) "
        "| synced twice (ledger, sandbox) | over-cap answers, 429s | Ticketmaster share of 5/s "
        "(busy span) | slots leased: sent, passed late, unused | load average |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    base = rounds[0].done_seconds if rounds else 1.0
    for r in rounds:
        per_worker = ", ".join(
            f"{s} ({n})" for s, n in zip(r.synced_per_worker, r.runs_per_worker, strict=True)
        )
        slots, sent = r.leases.get("slots", 0), r.leases.get("acquired", 0)
        late = r.leases.get("passed", 0) + r.leases.get("skipped", 0)
        lines.append(
            f"| {r.workers} | {r.done_seconds:.1f} s | {r.idle_seconds:.1f} s "
            f"| {base / r.done_seconds:.2f} | {per_worker} | {r.ledger_twice}, {r.sandbox_twice} "
            f"| {r.over_cap}, {r.status_429} | {r.share:.3f} ({r.tm_answered} in "
            f"{r.done_seconds:.1f} s; {r.busy_share:.3f}) "
            f"| {slots}: {sent}, {late}, {slots - sent - late} "
            f"| {r.load[0]:.2f} → {r.load[1]:.2f} |"
        )
    for r in rounds:
        lines.append(
            f"{r.workers} worker(s): {r.synced_in_db} of {r.backlog} artists synced in the "
            f"database, {r.sandbox_attractions} attractions asked of the sandbox, run statuses "
            f"{dict(sorted(r.statuses.items()))}, claims left {r.claims_left}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backlog", type=int, default=240, help="artists to import and sync")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--limit", type=int, default=25, help="artists per run (the deployment's)")
    parser.add_argument(
        "--slow-backlog", type=int, default=80, help="backlog of the slow-worker curve (0: none)"
    )
    parser.add_argument("--slow-latency", type=float, default=0.4, help="seconds per request")
    parser.add_argument("--slow-concurrency", type=int, default=1, help="SYNC_CONCURRENCY")
    parser.add_argument("--check", action="store_true", help="exit 1 on a duplicate or over cap")
    args = parser.parse_args(argv)
    counts = [int(part) for part in args.workers.split(",") if part.strip()]
    scenarios = [Scenario("default workers", args.backlog)]
    if args.slow_backlog:
        scenarios.append(
            Scenario(
                "slow workers (one cannot fill the cap)",
                args.slow_backlog,
                latency=args.slow_latency,
                worker_env={"SYNC_CONCURRENCY": str(args.slow_concurrency)},
            )
        )
    began = time.time()
    logs = Path(tempfile.mkdtemp(prefix="workers-backlog-"))
    print(f"worker logs: {logs}", flush=True)
    print(
        f"each worker runs autonomous-sync --mode sync --limit {args.limit} until a run of its "
        f"selects none; real caps (Ticketmaster {TM_CAP:g}/s); one PostgreSQL database per "
        "round (data and rate leases), one Prefect server on PostgreSQL",
        flush=True,
    )
    every: list[Round] = []
    with prefect_on_postgres() as api_url:
        for scenario in scenarios:
            rounds, discovery = run_scenario(
                scenario, api_url=api_url, worker_counts=counts, limit=args.limit, logs=logs
            )
            every.extend(rounds)
            print(
                f"\ndiscovery: {discovery.get('state')}, {discovery.get('added', 0)} artists added "
                f"in {discovery.get('seconds', 0):.1f} s (worker start included)"
            )
            for line in report(scenario, rounds, limit=args.limit):
                print(line, flush=True)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nwhole benchmark: {time.time() - began:.0f} s; load average now {load}")
    clean = all(
        r.ledger_twice == 0
        and r.sandbox_twice == 0
        and r.over_cap == 0
        and r.status_429 == 0
        and r.synced_in_db == r.backlog == r.sandbox_attractions
        for r in every
    )
    print(f"no artist twice, 0 over cap, backlog done in every round: {'yes' if clean else 'NO'}")
    return 0 if clean or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
