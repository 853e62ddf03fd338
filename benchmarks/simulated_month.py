"""A simulated month at catalogue scale: ``mysetlist simulate`` at 1,000 and 5,000 artists, with
its scorecard, and what its wall time is made of.

``python -m benchmarks.simulated_month [--artists 1000,5000] [--days 30] [--seed 7]
[--databases sqlite,postgresql] [--report-dir DIR]``, or ``--compare A.json B.json`` (two
reports of one world, e.g. ``mysetlist simulate --report`` on SQLite and on PostgreSQL).

Each size runs on a fresh database of each kind (SQLite: a temporary file; PostgreSQL: a
throwaway database on ``TEST_POSTGRES_URL``), with trending checked against an empty database
of the other kind. Printed per run: the progress line of each simulated day, the scorecard, the
wall time against the goal (1,000 artists x 30 days < 15 min), the virtual time simulated per
wall second, and the baseline measured in the same run: what an empty Prefect flow run (one
task) costs on the same temporary server, times the number of flow runs — the part of the wall
time no change of ours can remove.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

PG_SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/")
GOAL_SECONDS = 15 * 60  # 1,000 artists x 30 days


async def _empty_flow_seconds(runs: int = 20) -> float:
    """Seconds one empty flow run with one task costs on the current Prefect server."""
    from prefect import flow, task

    @task
    async def nothing() -> int:
        return 1

    @flow(name="simulation-baseline")
    async def empty() -> int:
        return await nothing()

    await empty()  # warm-up
    started = time.perf_counter()
    for _ in range(runs):
        await empty()
    return (time.perf_counter() - started) / runs


def _pg_database(tag: str) -> tuple[str, str]:
    """A throwaway PostgreSQL database: (its URL, the admin URL to drop it)."""
    from tests.conftest import _create_database, _run

    server = make_url(PG_SERVER_URL)
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    name = f"mysetlist_sim_{tag}_{uuid.uuid4().hex[:8]}"
    _run(_create_database(admin, name))
    return server.set(database=name).render_as_string(hide_password=False), admin


def compare_runs(first: dict[str, object], second: dict[str, object]) -> bool:
    """Print whether two runs of one world (SQLite and PostgreSQL) scored alike, machine figures
    aside, and whether their trending scores are equal (the digest keyed by upstream ids)."""
    from cli.scorecard import differences

    differing = differences(first, second)
    digests = [
        final["trending"].get("digest")  # type: ignore[attr-defined]
        for final in (first, second)
    ]
    same_trending = digests[0] is not None and digests[0] == digests[1]
    print(
        f"the same world on both databases: scorecards {'equal' if not differing else 'differ'}"
        f" ({len(differing)} figures differ); trending scores "
        f"{'equal' if same_trending else 'differ'} (digest {digests[0]} / {digests[1]})"
    )
    for line in differing[:40]:
        print(f"  {line}")
    return not differing and same_trending


def _one(
    args: argparse.Namespace, artists: int, database: str, tmp: Path, finals: dict[str, object]
) -> int:
    from cli.scorecard import Scorecard, table
    from cli.simulate import SimulationRequest, day_line, run_simulation, temporary_prefect
    from tests.conftest import _drop_database, _run

    made: list[tuple[str, str]] = []
    sqlite = f"sqlite+aiosqlite:///{tmp / f'sim-{artists}-{database}.db'}"
    sqlite_other = f"sqlite+aiosqlite:///{tmp / f'check-{artists}-{database}.db'}"
    try:
        if database == "sqlite":
            main = sqlite
            made.append(_pg_database("check"))
            other = made[-1][0]
        else:
            made.append(_pg_database("main"))
            main, other = made[-1][0], sqlite_other
        report = (
            args.report_dir / f"simulated-{artists}-{args.days}d-{database}.json"
            if args.report_dir
            else None
        )
        request = SimulationRequest(
            artists=artists, days=args.days, seed=args.seed, report=report, check_trending_url=other
        )
        print(f"\n== {artists} artists x {args.days} days on {database} (seed {args.seed})")
        with temporary_prefect():

            async def measured() -> tuple[float, dict[str, object]]:
                baseline = await _empty_flow_seconds()
                result = await run_simulation(
                    request, database_url=main, progress=lambda d: print(day_line(d), flush=True)
                )
                return baseline, result

            baseline, result = asyncio.run(measured())
        final = result["final"]
        assert isinstance(final, dict)
        card = Scorecard(**final)
        print(table(card))
        wall = float(card.run["wall_seconds"])
        runs = int(card.run["flow_runs"])
        floor = baseline * runs
        print(
            f"wall {wall:.0f} s; {args.days * 86400 / wall:.0f} virtual s per wall s; "
            f"empty flow run {baseline * 1000:.0f} ms x {runs} runs = {floor:.0f} s "
            f"({floor / wall:.0%} of the wall time)"
        )
        if artists == 1000 and args.days == 30:
            verdict = "met" if wall < GOAL_SECONDS else "not met"
            print(f"goal: < {GOAL_SECONDS} s for 1,000 artists x 30 days: {verdict}")
        if report is not None:
            print(f"report: {report}")
        print(json.dumps({"artists": artists, "database": database, **card.run}))
        finals[database] = final
        return 0
    finally:
        for url, admin in made:
            _run(_drop_database(admin, make_url(url).database or ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artists", default="1000,5000")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--report-dir", type=Path, default=None)
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar="REPORT",
        help="compare two reports (--report) of one world instead of running",
    )
    args = parser.parse_args(argv)
    if args.compare:
        first, second = (json.loads(path.read_text())["final"] for path in args.compare)
        return 0 if compare_runs(first, second) else 1
    sizes = [int(value) for value in args.artists.split(",") if value.strip()]
    databases = [value.strip() for value in args.databases.split(",") if value.strip()]
    unknown = set(databases) - {"sqlite", "postgresql"}
    if unknown or not sizes or args.days < 1:
        parser.error("--databases: sqlite and/or postgresql; --artists: sizes; --days >= 1")
    failed = 0
    with tempfile.TemporaryDirectory(prefix="simulated-month-") as tmp:
        for artists in sizes:
            finals: dict[str, object] = {}
            for database in databases:
                failed += _one(args, artists, database, Path(tmp), finals)
            if len(finals) == 2:
                failed += int(not compare_runs(finals["sqlite"], finals["postgresql"]))  # type: ignore[arg-type]
    return failed


if __name__ == "__main__":
    sys.exit(main())
