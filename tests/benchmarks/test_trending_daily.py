"""The trending benchmark runs end to end at a tiny size and prints its result line.

Only the shape is asserted: the figures depend on the machine and are recorded in the README
and docs/trending.md, not tested.
"""

from __future__ import annotations

import re

import pytest

from benchmarks.trending_daily import run
from tests.conftest import PG_SERVER_URL


@pytest.mark.postgres
async def test_a_tiny_run_compares_the_daily_run_with_a_full_one_and_times_the_insights(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await run(
        server=PG_SERVER_URL, artists=100, shows=1000, events=10_000, keep=False, database=None
    )

    out = capsys.readouterr().out
    assert "a day of activity: " in out
    assert "scores equal to the one from scratch: yes" in out
    # The floors under a full recomputation: the events grouped per (artist, show).
    floor = re.search(
        r"floor: the same with one decayed sum .*: \d+\.\d\d s\n +([\d,]+) groups", out
    )
    assert floor is not None
    assert "floor of a pass over the events: grouped per (artist, show) " in out
    # The full recomputation over the daily run's state finds every row right: it rewrites none.
    full = re.search(r"full recomputation, same instant \(.*\): \d+\.\d\d s\n +(.*)\n", out)
    assert full is not None
    assert full.group(1).startswith(
        "artists_added=0, shows_added=0, artists_scored=0, shows_scored=0, history_rows="
    )
    # The catalogue was loaded before the change feed's overlap of the first run: the quiet
    # hour after it has nothing to rewrite (it rewrote every row when the load was stamped at
    # the first run's instant).
    quiet = re.search(r"hourly, quiet hour: \d+\.\d\d s\n +(.*)\n", out)
    assert quiet is not None
    assert quiet.group(1) == (
        "artists_added=0, shows_added=0, artists_scored=0, shows_scored=0, history_rows=0"
    )
    # The rest of the daily run: geographic trending against its target, similar artists.
    assert re.search(
        r"RESULT geographic trending \d+\.\d\d s = \d+\.\d\dx the daily run \(\d+\.\d\d s;"
        r" target <= 2x\): (PASS|FAIL); [\d,]+ rows; similar artists \d+\.\d\d s",
        out,
    )
    assert re.search(r"load average \d+\.\d\d / \d+\.\d\d / \d+\.\d\d", out)
    name = re.search(r"database (mysetlist_bench_\w+):", out)
    assert name is not None
    assert "kept database" not in out
