"""Backtest of the trending forecast on a simulated month, against "tomorrow = today".

``python -m benchmarks.forecast_backtest [--artists 300] [--days 30] [--seed 7]``

Runs ``mysetlist simulate`` (``cli.simulate.run_simulation``) on a fresh SQLite file: the
deployments' schedules on a virtual clock against the sandbox's changing world, the daily
``calculate-trending`` run at 07:00 writing each day's top scores (``trending_history``) and
each artist's forecast for the next 7 days (``artist_forecasts``). At the end of each simulated
day the day's forecasts are copied aside (the table keeps 8 days). Then, for every forecast made
on day d for day d+h (h = 1..7) within the month, the error against the score the daily run of
d+h actually gave (``trending_history``; an artist absent from it scored 0), next to the naive
forecast "the score stays what it is on day d". Printed: MAE per horizon of both, and the ratio.
Also printed: how many of the month's events were user activity (the simulation generates none:
the scores move by popularity, follower growth and the upcoming shows only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

from models.trending.forecast import FORECAST_DAYS


def _snapshot(path: Path, day: date, into: dict[tuple[int, date, int], float]) -> None:
    """Copy the forecasts made on ``day`` (read from the SQLite file between two runs)."""
    with sqlite3.connect(path) as db:
        for artist_id, horizon, score in db.execute(
            "SELECT artist_id, horizon, score FROM artist_forecasts WHERE made_on = ?",
            (day.isoformat(),),
        ):
            into[(int(artist_id), day, int(horizon))] = float(score)


def _actuals(path: Path) -> tuple[dict[tuple[int, date], float], set[date]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT entity_id, day, score FROM trending_history WHERE entity_type = 'artist'"
        ).fetchall()
        days = {
            date.fromisoformat(r[0])
            for r in db.execute("SELECT DISTINCT day FROM trending_history")
        }
    return {(int(a), date.fromisoformat(d)): float(s) for a, d, s in rows}, days


def _activity_events(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM user_activity").fetchone()[0])


def backtest(
    forecasts: dict[tuple[int, date, int], float],
    actual: dict[tuple[int, date], float],
    days: set[date],
) -> dict[int, dict[str, float]]:
    """Per horizon: pairs, MAE of the forecast, MAE of the naive forecast, and both on the
    pairs whose score moved (actual on d+h differs from d)."""
    from datetime import timedelta

    errors: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (artist, made_on, horizon), expected in forecasts.items():
        target = made_on + timedelta(days=horizon)
        if made_on not in days or target not in days:
            continue  # no daily run that day (the first day's run, the month's end)
        truth = actual.get((artist, target), 0.0)
        today = actual.get((artist, made_on), 0.0)
        e = errors[horizon]
        e["pairs"] += 1
        e["forecast"] += abs(expected - truth)
        e["naive"] += abs(today - truth)
        if truth != today:
            e["moved"] += 1
            e["forecast_moved"] += abs(expected - truth)
            e["naive_moved"] += abs(today - truth)
    return {h: dict(errors[h]) for h in sorted(errors)}


def _print(errors: dict[int, dict[str, float]]) -> tuple[float, float]:
    print(
        "horizon  pairs   MAE forecast  MAE naive  ratio  | moved  MAE forecast  MAE naive  ratio"
    )
    total = {"pairs": 0.0, "forecast": 0.0, "naive": 0.0}
    for h, e in errors.items():
        n, m = e["pairs"], e.get("moved", 0.0)
        f, b = e["forecast"] / n, e["naive"] / n
        fm = e.get("forecast_moved", 0.0) / m if m else float("nan")
        bm = e.get("naive_moved", 0.0) / m if m else float("nan")
        print(
            f"d+{h}     {n:6.0f}  {f:12.4f}  {b:9.4f}  {f / b if b else float('nan'):5.3f}"
            f"  | {m:5.0f}  {fm:12.4f}  {bm:9.4f}  {fm / bm if bm else float('nan'):5.3f}"
        )
        for key in total:
            total[key] += e[key]
    f, b = total["forecast"] / total["pairs"], total["naive"] / total["pairs"]
    print(f"all      {total['pairs']:6.0f}  {f:12.4f}  {b:9.4f}  {f / b:5.3f}")
    return f, b


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artists", type=int, default=300)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="copy the database here")
    parser.add_argument(
        "--analyse",
        type=Path,
        default=None,
        help="no simulation: backtest a database kept by --keep (and its .forecasts.json)",
    )
    args = parser.parse_args(argv)
    if args.days < FORECAST_DAYS + 2:
        parser.error(f"--days must be at least {FORECAST_DAYS + 2}")
    if args.analyse is not None:
        rows = json.loads(args.analyse.with_suffix(".forecasts.json").read_text())
        kept = {(int(a), date.fromisoformat(d), int(h)): float(v) for a, d, h, v in rows}
        actual, days = _actuals(args.analyse)
        return _verdict(
            f"{args.analyse} (kept)", kept, actual, days, _activity_events(args.analyse)
        )
    try:
        from cli.simulate import SimulationRequest, day_line, run_simulation, temporary_prefect
    except ImportError:  # the simulate command (issue 12) is not in this tree
        parser.error("needs cli/simulate.py (mysetlist simulate); --analyse reads a kept run")

    forecasts: dict[tuple[int, date, int], float] = {}
    with tempfile.TemporaryDirectory(prefix="forecast-backtest-") as tmp:
        path = Path(tmp) / "month.db"
        request = SimulationRequest(artists=args.artists, days=args.days, seed=args.seed)

        def progress(day: dict[str, Any]) -> None:
            print(day_line(day), flush=True)
            _snapshot(path, date.fromisoformat(day["date"]), forecasts)

        with temporary_prefect():
            asyncio.run(
                run_simulation(
                    request, database_url=f"sqlite+aiosqlite:///{path}", progress=progress
                )
            )
        actual, days = _actuals(path)
        events = _activity_events(path)
        if args.keep is not None:  # the database, and the forecasts copied day by day
            args.keep.write_bytes(path.read_bytes())
            rows = [[a, d.isoformat(), h, s] for (a, d, h), s in forecasts.items()]
            args.keep.with_suffix(".forecasts.json").write_text(json.dumps(rows))
    run = f"{args.artists} artists x {args.days} days (seed {args.seed})"
    return _verdict(run, forecasts, actual, days, events)


def _verdict(
    run: str,
    forecasts: dict[tuple[int, date, int], float],
    actual: dict[tuple[int, date], float],
    days: set[date],
    events: int,
) -> int:
    print(
        f"\n{run}: {len(days)} daily runs ({min(days)} to {max(days)}), "
        f"{len(forecasts)} forecasts, {events} user-activity events"
    )
    forecast_mae, naive_mae = _print(backtest(forecasts, actual, days))
    verdict = "beats" if forecast_mae < naive_mae else "does NOT beat"
    change = forecast_mae / naive_mae - 1
    print(
        f"forecast {verdict} the naive baseline: MAE {forecast_mae:.4f} vs {naive_mae:.4f} "
        f"({abs(change):.1%} {'lower' if change < 0 else 'higher'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
