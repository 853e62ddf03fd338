"""Today's fixed-limit request plan against the daily request plan (issue 16), same world, same
quotas, side by side.

``python -m benchmarks.request_plan [--artists 300] [--days 5] [--seed 7] [--fault-rate 0.02]
[--database-url-base sqlite|postgresql+asyncpg://user@host:5432/] [--plans fixed,planned]
[--report-dir DIR]``

Runs ``mysetlist simulate``'s simulation (``cli.simulate.run_simulation``) once per plan, each
with ``REQUEST_PLAN`` set to that plan (``fixed``: each job spends its fixed ``limit``;
``planned``: the daily plan), on a fresh empty database (SQLite: a temporary file; a PostgreSQL
server URL: a throwaway database on it, dropped after) and a fresh throwaway Prefect server.
Every figure is the scorecard's (``cli/scorecard.py``: computed from the sandbox's truth and the
database, definitions in its docstrings). Printed: each run's progress lines and load average,
then one table: the figure under each plan and the ratio of each plan to the first one (the
baseline, ``fixed`` by default), measured in the same run. Whether this build reads
``REQUEST_PLAN`` at all is printed first: without the setting, both runs are today's plan.
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

PLANS = ("fixed", "planned")
QUOTA_APIS = ("ticketmaster", "setlistfm")
APIS = ("ticketmaster", "setlistfm", "spotify")


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _get(final: dict[str, Any], *path: str) -> Any:
    value: Any = final
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _share(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1%}"


def _number(digits: int) -> Callable[[Any], str]:
    def shown(value: Any) -> str:
        return "-" if value is None else f"{float(value):,.{digits}f}"

    return shown


#: (label, path in the final scorecard, how a value is shown). A ratio column follows.
FIGURES: list[tuple[str, tuple[str, ...], Callable[[Any], str]]] = [
    ("setlists stored within 24 h", ("setlists", "stored_within_24h"), _share),
    ("setlists stored within 72 h", ("setlists", "stored_within_72h"), _share),
    ("event changes within 24 h", ("freshness", "event_changes_within_24h"), _share),
    ("event lag h, median", ("freshness", "event_lag_hours", "median"), _number(2)),
    ("event lag h, p95", ("freshness", "event_lag_hours", "p95"), _number(2)),
    ("event changes pending at the end", ("freshness", "event_lag_hours", "pending"), _number(0)),
    ("Spotify metadata within 7 days", ("freshness", "spotify_synced_within_7d"), _share),
    ("Spotify metadata, oldest (days)", ("freshness", "spotify_oldest_days"), _number(2)),
    ("history depth", ("setlists", "history_depth"), _share),
    ("artists with full history", ("setlists", "artists_with_full_history"), _share),
    *[
        (f"{api} busiest day / quota", ("quota", "busiest_day_share", api), _share)
        for api in QUOTA_APIS
    ],
    *[
        (f"{api} days above 90 % of quota", ("quota", "days_above_90_percent", api), _number(0))
        for api in QUOTA_APIS
    ],
    ("over-cap answers", ("quota", "over_cap_answers"), _number(0)),
    *[
        (
            f"{api} requests per synced artist",
            ("quota", "requests_per_synced_artist_by_api", api),
            _number(2),
        )
        for api in APIS
    ],
    ("requests per synced artist", ("quota", "requests_per_synced_artist"), _number(2)),
    ("synced artists", ("shows", "synced_artists"), _number(0)),
    ("flow runs (failed)", ("run", "flow_runs_failed"), _number(0)),
    ("wall seconds", ("run", "wall_seconds"), _number(1)),
]


def side_by_side(finals: dict[str, dict[str, Any]]) -> str:
    """The figures of each plan's final scorecard (``{plan: Scorecard.as_dict()}``, the first
    plan the baseline), with each other plan's ratio to the baseline (``-``: a figure missing
    or zero in the baseline)."""
    plans = list(finals)
    baseline = plans[0]
    header = ["figure", *plans, *(f"{p} / {baseline}" for p in plans[1:])]
    rows = [header]
    for label, path, shown in FIGURES:
        values = [_get(finals[plan], *path) for plan in plans]
        ratios = []
        for value in values[1:]:
            base = values[0]
            ratios.append(
                "-"
                if value is None or base is None or float(base) == 0
                else f"{float(value) / float(base):.2f}x"
            )
        rows.append([label, *(shown(value) for value in values), *ratios])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def plan_setting_read() -> bool:
    """Whether this build's settings have ``request_plan`` (read from ``REQUEST_PLAN``)."""
    from settings import Settings

    return "request_plan" in Settings.model_fields


@contextmanager
def _plan(plan: str) -> Iterator[None]:
    from settings import get_settings

    saved = os.environ.get("REQUEST_PLAN")
    os.environ["REQUEST_PLAN"] = plan
    get_settings.cache_clear()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("REQUEST_PLAN", None)
        else:
            os.environ["REQUEST_PLAN"] = saved
        get_settings.cache_clear()


@contextmanager
def fresh_database(base: str, tmp: Path, tag: str) -> Iterator[str]:
    """An empty database for one run: a new SQLite file in ``tmp`` (``base`` ``sqlite...``), or
    a throwaway database on the PostgreSQL server of ``base`` (dropped after)."""
    if base.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp / f'request-plan-{tag}.db'}"
        return
    from tests.conftest import _create_database, _drop_database, _run

    server = make_url(base)
    if server.get_backend_name() != "postgresql":
        raise SystemExit(f"--database-url-base: sqlite or a PostgreSQL server URL, got {base}")
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    name = f"mysetlist_plan_{tag}_{uuid.uuid4().hex[:8]}"
    _run(_create_database(admin, name))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _run(_drop_database(admin, name))


def run_plan(args: argparse.Namespace, plan: str, tmp: Path) -> dict[str, Any]:
    """One simulation of the world under ``plan``; returns its final scorecard."""
    from cli.simulate import SimulationRequest, day_line, run_simulation, temporary_prefect

    report = (
        args.report_dir / f"request-plan-{plan}-{args.artists}a-{args.days}d-seed{args.seed}.json"
        if args.report_dir
        else None
    )
    request = SimulationRequest(
        artists=args.artists,
        days=args.days,
        seed=args.seed,
        fault_rate=args.fault_rate,
        report=report,
    )
    print(f"\n== REQUEST_PLAN={plan}: load average {_load()}", flush=True)
    started = time.perf_counter()
    with (
        _plan(plan),
        fresh_database(args.database_url_base, tmp, plan) as url,
        temporary_prefect(),
    ):
        result = asyncio.run(
            run_simulation(
                request,
                database_url=url,
                progress=lambda day: print(f"{plan:>8} {day_line(day)}", flush=True),
            )
        )
    final: dict[str, Any] = result["final"]
    print(
        f"== REQUEST_PLAN={plan}: {time.perf_counter() - started:.1f} s with the Prefect server's"
        f" start; database {final['run']['database']}; load average {_load()}",
        flush=True,
    )
    if report is not None:
        print(f"report: {report}")
    return final


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--artists", type=int, default=300)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-rate", type=float, default=0.02)
    parser.add_argument(
        "--database-url-base",
        default="sqlite",
        help="sqlite (a temporary file per run) or a PostgreSQL server URL (a throwaway "
        "database per run)",
    )
    parser.add_argument("--plans", default=",".join(PLANS), help="the first is the baseline")
    parser.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    plans = [plan.strip() for plan in args.plans.split(",") if plan.strip()]
    if not plans or set(plans) - set(PLANS) or len(set(plans)) != len(plans):
        parser.error(f"--plans: some of {', '.join(PLANS)}, each once")
    from cli.simulate import InvalidSimulation, SimulationRequest

    try:
        SimulationRequest(
            artists=args.artists, days=args.days, seed=args.seed, fault_rate=args.fault_rate
        )
    except InvalidSimulation as exc:
        parser.error(str(exc))
    read = plan_setting_read()
    print(
        f"request plan benchmark: {args.artists} artists x {args.days} days, seed {args.seed}, "
        f"fault rate {args.fault_rate}, plans {', '.join(plans)} (baseline {plans[0]}); "
        + (
            "this build reads REQUEST_PLAN"
            if read
            else "this build has NO request_plan setting: every run is today's fixed plan"
        )
    )
    finals: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="request-plan-") as tmp:
        for plan in plans:
            finals[plan] = run_plan(args, plan, Path(tmp))
    print()
    print(side_by_side(finals))
    print(json.dumps({"load_average": _load(), "plans": plans, "reads_request_plan": read}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
