"""What the client layer costs: requests/second through our clients vs a bare httpx loop.

``python -m benchmarks.client_throughput [--artists 200] [--concurrency 8] [--rounds 3]``

Starts the loopback sandbox (caps lifted, no faults; in a subprocess by default, so the server
does not share this process's CPU) and, for every artist of the catalogue, asks for: the
Ticketmaster attraction, its upcoming events, the Spotify artist and the first setlist.fm page.
The clients (``NoLimiter``) run that workload first while the exact requests they send are
recorded; then rounds alternate between replaying those requests with a bare
``httpx.AsyncClient`` (send, read, ``json.loads``) and running the clients again, at the same
concurrency over the same connection limits. It prints requests/second for both, this process's
CPU time per request, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from multiprocessing.synchronize import Event as EventType
from typing import Any

import httpx

from clients.ratelimit import NoLimiter
from clients.setlistfm import SetlistFmClient
from clients.spotify import SpotifyClient
from clients.ticketmaster import TicketmasterClient
from sandbox.catalog import Catalog
from sandbox.config import SandboxConfig
from sandbox.server import SandboxServer, demo_settings_overrides, start_in_thread
from settings import Settings

GOAL = 0.20  # the client layer may cost at most this share of throughput

Call = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Recorded:
    method: str
    url: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Measure:
    requests: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests


def _serve(kwargs: dict[str, Any], urls: Any, stop: EventType) -> None:
    """Child process: serve the sandbox until ``stop`` is set."""
    config = SandboxConfig(**kwargs)
    with start_in_thread(config, port=0) as server:
        urls.put(server.url)
        stop.wait()


class Sandbox:
    """The loopback sandbox, in a subprocess or in a thread of this process."""

    def __init__(self, kwargs: dict[str, Any], *, in_thread: bool) -> None:
        self._thread_server: SandboxServer | None = None
        self._process: Any = None
        if in_thread:
            self._thread_server = start_in_thread(SandboxConfig(**kwargs), port=0)
            self.url = self._thread_server.url
            return
        context = multiprocessing.get_context("spawn")
        urls = context.Queue()
        self._stop = context.Event()
        self._process = context.Process(target=_serve, args=(kwargs, urls, self._stop), daemon=True)
        self._process.start()
        self.url = str(urls.get(timeout=60))

    def close(self) -> None:
        if self._thread_server is not None:
            self._thread_server.stop()
        if self._process is not None:
            self._stop.set()
            self._process.join(timeout=15)


async def _run(calls: Sequence[Call], concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Call) -> None:
        async with gate:
            await call()

    started = time.perf_counter()
    await asyncio.gather(*(one(call) for call in calls))
    return time.perf_counter() - started


async def _measure(calls: Sequence[Call], concurrency: int) -> Measure:
    cpu = time.process_time()
    seconds = await _run(calls, concurrency)
    return Measure(len(calls), seconds, time.process_time() - cpu)


def _client_calls(
    catalog: Catalog, spotify: SpotifyClient, tm: TicketmasterClient, sfm: SetlistFmClient
) -> list[Call]:
    start = datetime.combine(catalog.today, datetime.min.time(), UTC)
    end = start + timedelta(days=365)
    calls: list[Call] = []
    for artist in catalog.artists:
        if artist.ticketmaster_id is not None:
            tm_id = artist.ticketmaster_id
            calls.append(partial(tm.get_attraction, tm_id))
            calls.append(partial(tm.events_page, attraction_id=tm_id, start=start, end=end))
        if artist.spotify_id is not None:
            calls.append(partial(spotify.get_artist, artist.spotify_id))
        if artist.mbid is not None:
            calls.append(partial(sfm.artist_setlists, artist.mbid))
    return calls


def _bare_calls(http: httpx.AsyncClient, recorded: Sequence[Recorded]) -> list[Call]:
    async def send(request: Recorded) -> Any:
        response = await http.request(request.method, request.url, headers=request.headers)
        return json.loads(response.content) if response.status_code != 404 else None

    return [partial(send, request) for request in recorded]


async def benchmark(
    *, artists: int, seed: int, concurrency: int, rounds: int, in_thread: bool
) -> tuple[list[Measure], list[Measure], int]:
    config: dict[str, Any] = {"seed": seed, "artists": artists, "caps": False}
    server = Sandbox(config, in_thread=in_thread)
    try:
        catalog = Catalog(seed=seed, artists=artists, today=SandboxConfig(**config).today)
        settings = Settings.model_validate(demo_settings_overrides(server.url))
        recorded: list[Recorded] = []

        async def record(request: httpx.Request) -> None:
            if request.method == "GET":
                headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
                recorded.append(Recorded(request.method, str(request.url), headers))

        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with (
            httpx.AsyncClient(timeout=30, limits=limits, event_hooks={"request": [record]}) as http,
            httpx.AsyncClient(timeout=30, limits=limits) as bare_http,
        ):
            common: dict[str, Any] = {"http": http, "limiter": NoLimiter()}
            spotify = SpotifyClient.from_settings(settings, **common)
            tm = TicketmasterClient.from_settings(settings, **common)
            sfm = SetlistFmClient.from_settings(settings, **common)
            client_calls = _client_calls(catalog, spotify, tm, sfm)
            await _run(client_calls, concurrency)  # warm-up, and the record of what is sent
            http.event_hooks = {"request": [], "response": []}
            bare_calls = _bare_calls(bare_http, recorded)
            await _run(bare_calls, concurrency)  # warm the bare connections too
            bare: list[Measure] = []
            ours: list[Measure] = []
            for number in range(rounds):  # paired rounds, alternating which goes first
                if number % 2:
                    ours.append(await _measure(client_calls, concurrency))
                    bare.append(await _measure(bare_calls, concurrency))
                else:
                    bare.append(await _measure(bare_calls, concurrency))
                    ours.append(await _measure(client_calls, concurrency))
        return bare, ours, len(recorded)
    finally:
        server.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--artists", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument(
        "--in-thread", action="store_true", help="serve from a thread of this process"
    )
    parser.add_argument("--check", action="store_true", help=f"exit 1 if the cost is >= {GOAL:.0%}")
    args = parser.parse_args(argv)
    bare, ours, requests = asyncio.run(
        benchmark(
            artists=args.artists,
            seed=args.seed,
            concurrency=args.concurrency,
            rounds=args.rounds,
            in_thread=args.in_thread,
        )
    )
    where = "a thread of this process" if args.in_thread else "a subprocess"
    print(
        f"client throughput: {args.artists} artists, {requests} requests a round, "
        f"concurrency {args.concurrency}, sandbox in {where} (caps lifted, no faults)"
    )
    for number, (b, o) in enumerate(zip(bare, ours, strict=True), start=1):
        print(
            f"  round {number}: bare httpx {b.rate:8.1f} req/s   clients {o.rate:8.1f} req/s   "
            f"ratio {o.rate / b.rate:.3f}"
        )
    bare_rate = statistics.median(m.rate for m in bare)
    our_rate = statistics.median(m.rate for m in ours)
    bare_cpu = statistics.median(m.cpu_ms_per_request for m in bare)
    our_cpu = statistics.median(m.cpu_ms_per_request for m in ours)
    ratio = statistics.median(o.rate / b.rate for b, o in zip(bare, ours, strict=True))
    print(f"bare httpx : {bare_rate:8.1f} req/s (median)   {bare_cpu:.2f} ms CPU/request here")
    print(f"clients    : {our_rate:8.1f} req/s (median)   {our_cpu:.2f} ms CPU/request here")
    print(
        f"ratio clients/bare (median of paired rounds): {ratio:.3f}: the client layer costs "
        f"{1 - ratio:.1%} of throughput (goal: under {GOAL:.0%})"
    )
    if args.check and 1 - ratio >= GOAL:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
