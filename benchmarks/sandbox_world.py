"""The sandbox world at catalogue scale: build time, and what scoring a day against the truth costs.

``python -m benchmarks.sandbox_world [--artists 500,1000,5000] [--seed 7] [--days 30]``

For each size: the wall time to build the ``Catalog`` and, within it, the part spent on the world
after day 0 (homonyms, new events, timelines: ``sandbox.timeline``); then the wall time of a day
of scoring with ``sandbox.truth.Truth`` for every artist (upcoming events, published setlists,
exposure, the day's changes) against a baseline measured in the same run: the same loop over the
catalogue's own lookups (``catalog.setlists`` and the day-0 events by attraction), which is what
scoring cost before the world changed. ``changes`` first builds its setlist index (every
artist's performances); that one-off is printed apart. The build's CPU time is printed too,
and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date, timedelta

from sandbox import timeline
from sandbox.catalog import Catalog
from sandbox.truth import Truth

TODAY = date(2026, 3, 1)


def _measure(artists: int, seed: int, days: int) -> None:
    spent = [0.0]
    original = timeline.build_world

    def timed(*args: object, **kwargs: object) -> timeline.World:
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            spent[0] += time.perf_counter() - began

    timeline.build_world = timed  # type: ignore[assignment]
    try:
        began, cpu = time.perf_counter(), time.process_time()
        catalog = Catalog(seed=seed, artists=artists, today=TODAY)
        build = time.perf_counter() - began
        build_cpu = time.process_time() - cpu
    finally:
        timeline.build_world = original  # type: ignore[assignment]
    truth = Truth(catalog)
    began = time.perf_counter()
    for artist in catalog.artists:
        catalog.performances(artist)
    performances = time.perf_counter() - began
    began = time.perf_counter()
    truth.changes(catalog.origin, catalog.origin + timedelta(days=1))
    index = time.perf_counter() - began

    at = catalog.origin + timedelta(days=days, hours=7)
    began = time.perf_counter()
    baseline_items = 0
    for artist in catalog.artists:
        baseline_items += len(catalog.setlists(artist, at))
        baseline_items += len(catalog.events_by_attraction.get(artist.ticketmaster_id or "", []))
    baseline = time.perf_counter() - began

    began = time.perf_counter()
    items = 0
    for artist in catalog.artists:
        items += len(truth.setlists(artist, at))
        items += len(truth.upcoming_events(artist, at))
    exposed = len(truth.exposed_artists(at))
    changes = len(truth.changes(at - timedelta(days=1), at))
    listed = len(truth.listed_events(at))
    day = time.perf_counter() - began
    print(
        f"{artists:>6} artists: build {build:.2f} s wall, {build_cpu:.2f} s CPU "
        f"(world after day 0 {spent[0]:.2f} s wall, "
        f"{spent[0] / build:.0%}); {len(catalog.events):,} day-0 events, "
        f"{len(catalog.all_events):,} over {catalog.horizon_days} days, "
        f"{len(catalog.homonyms)} homonym pairs"
    )
    print(
        f"        every artist's performances {performances:.2f} s, change index {index:.2f} s; "
        f"a day's scoring (day {days}) {day:.3f} s = {day / baseline:.1f}x the catalogue's own "
        f"lookups ({baseline:.3f} s); {items:,} setlists+events, {exposed:,} exposed, "
        f"{listed:,} listed, {changes} changes that day"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artists", default="500,1000,5000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    for size in (int(part) for part in args.artists.split(",")):
        _measure(size, args.seed, args.days)


if __name__ == "__main__":
    main()
