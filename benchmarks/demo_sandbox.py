"""The sandbox for the operations demonstrations (docs/operations.md), with its counts in a file.

``python -m benchmarks.demo_sandbox [--port 8765] [--artists 300] [--outage] [--counts FILE]``

Serves the offline sandbox on loopback like ``mysetlist sandbox`` (real caps: Ticketmaster 5/s
and 5,000/day, setlist.fm 2/s, Spotify 180/min), and writes what it answered to ``--counts``
(JSON, every second and at exit) so another shell can read it while workers run: requests per
API and status, requests refused over a cap (``over_cap``, by reason in ``refusals``), injected
faults, and the Ticketmaster attractions whose first ``events.json`` page was asked for (an
artist's show sync) and how many of them more than once. ``--outage`` answers 503 to every
request (every API; discovery only asks Ticketmaster). Ctrl-C or SIGTERM stops it and prints the
counts.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.workers_backlog import CountingApp


def counts(sandbox: Any, counting: CountingApp) -> dict[str, Any]:
    """The sandbox's own counters plus the attractions asked, as one JSON-ready object."""
    for _ in range(100):
        try:
            stats = sandbox.stats.as_dict()
            break
        except RuntimeError:  # a key landed while the server thread counted
            time.sleep(0.001)
    _, attractions = counting.snapshot()
    statuses: dict[str, dict[str, int]] = {}
    for row in stats["requests"]:
        by_status = statuses.setdefault(row["api"], {})
        by_status[str(row["status"])] = by_status.get(str(row["status"]), 0) + row["count"]
    return {
        "answered": stats["totals"],
        "by_status": statuses,
        "over_cap": stats["over_cap"],
        "refusals": stats["refusals"],
        "faults": stats["faults"],
        "attractions_synced": len(attractions),
        "attractions_synced_twice": sum(1 for n in attractions.values() if n > 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    from sandbox.app import create_app
    from sandbox.config import SandboxConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--artists", type=int, default=300, help="artists in the catalogue")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--outage", action="store_true", help="answer 503 to every request")
    parser.add_argument("--counts", type=Path, default=Path("sandbox-counts.json"))
    args = parser.parse_args(argv)

    config = SandboxConfig(
        seed=args.seed,
        artists=args.artists,
        caps=True,
        fault_rate=1.0 if args.outage else 0.0,
        fault_kinds=("503",),
    )
    app = create_app(config)
    counting = CountingApp(app)
    server = uvicorn.Server(
        uvicorn.Config(
            counting,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,  # Ticketmaster keys travel in the query string
            lifespan="off",
        )
    )

    def write() -> dict[str, Any]:
        now = counts(app.state.sandbox, counting)
        args.counts.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        return now

    stop = threading.Event()

    def every_second() -> None:
        while not stop.wait(1.0):
            write()

    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    writer = threading.Thread(target=every_second, name="counts", daemon=True)
    writer.start()
    print(
        f"sandbox on http://{args.host}:{args.port} ({args.artists} artists, seed {args.seed}"
        f"{', every request answered 503' if args.outage else ''}); counts in {args.counts}",
        flush=True,
    )
    try:
        server.run()
    finally:
        stop.set()
        print(json.dumps(write(), sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
