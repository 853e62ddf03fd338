"""``benchmarks/request_plan.py``'s side-by-side table on hand-built scorecards (the benchmark
itself runs two simulations: not in the suite)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from benchmarks.request_plan import _plan, side_by_side


def _final(
    within_24h: float | None, median: float, tm_share: float, tm_per_artist: float, wall: float
) -> dict[str, Any]:
    return {
        "setlists": {
            "stored_within_24h": within_24h,
            "stored_within_72h": None,
            "history_depth": 1.0,
            "artists_with_full_history": 0.5,
        },
        "freshness": {
            "event_changes_within_24h": 0.8,
            "event_lag_hours": {"median": median, "p95": 30.0, "count": 5, "pending": 0},
            "spotify_synced_within_7d": 1.0,
            "spotify_oldest_days": 0.75,
        },
        "quota": {
            "busiest_day_share": {"ticketmaster": tm_share, "setlistfm": 0.0632},
            "days_above_90_percent": {"ticketmaster": 0, "setlistfm": 0},
            "over_cap_answers": 0,
            "requests_per_synced_artist_by_api": {
                "ticketmaster": tm_per_artist,
                "setlistfm": 4.6389,
                "spotify": 0.1667,
            },
            "requests_per_synced_artist": 20.0,
        },
        "shows": {"synced_artists": 36},
        "run": {"flow_runs_failed": 0, "wall_seconds": wall},
    }


def test_the_table_shows_each_plan_and_its_ratio_to_the_first() -> None:
    table = side_by_side(
        {
            "fixed": _final(0.5, 4.0, 0.0396, 15.1944, 40.0),
            "planned": _final(0.95, 1.0, 0.8, 30.0, 50.0),
        }
    ).splitlines()
    assert table[0].split() == ["figure", "fixed", "planned", "planned", "/", "fixed"]
    # The columns as wide as their widest cell: "ticketmaster requests per synced artist" (39).
    assert table[1].split() == ["-" * 39, "-" * 6, "-" * 7, "-" * 15]
    rows = {line[:39].strip(): line[39:].split() for line in table[2:]}
    assert rows == {
        "setlists stored within 24 h": ["50.0%", "95.0%", "1.90x"],
        "setlists stored within 72 h": ["-", "-", "-"],
        "event changes within 24 h": ["80.0%", "80.0%", "1.00x"],
        "event lag h, median": ["4.00", "1.00", "0.25x"],
        "event lag h, p95": ["30.00", "30.00", "1.00x"],
        "event changes pending at the end": ["0", "0", "-"],
        "Spotify metadata within 7 days": ["100.0%", "100.0%", "1.00x"],
        "Spotify metadata, oldest (days)": ["0.75", "0.75", "1.00x"],
        "history depth": ["100.0%", "100.0%", "1.00x"],
        "artists with full history": ["50.0%", "50.0%", "1.00x"],
        "ticketmaster busiest day / quota": ["4.0%", "80.0%", "20.20x"],
        "setlistfm busiest day / quota": ["6.3%", "6.3%", "1.00x"],
        "ticketmaster days above 90 % of quota": ["0", "0", "-"],
        "setlistfm days above 90 % of quota": ["0", "0", "-"],
        "over-cap answers": ["0", "0", "-"],
        "ticketmaster requests per synced artist": ["15.19", "30.00", "1.97x"],
        "setlistfm requests per synced artist": ["4.64", "4.64", "1.00x"],
        "spotify requests per synced artist": ["0.17", "0.17", "1.00x"],
        "requests per synced artist": ["20.00", "20.00", "1.00x"],
        "synced artists": ["36", "36", "1.00x"],
        "flow runs (failed)": ["0", "0", "-"],
        "wall seconds": ["40.0", "50.0", "1.25x"],
    }


def test_one_plan_alone_has_no_ratio_column() -> None:
    table = side_by_side({"fixed": _final(0.5, 4.0, 0.0396, 15.1944, 40.0)}).splitlines()
    assert table[0].split() == ["figure", "fixed"]
    assert table[-1].split() == ["wall", "seconds", "40.0"]


def test_the_plan_is_set_for_the_run_and_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUEST_PLAN", "before")
    with _plan("fixed"):
        assert os.environ["REQUEST_PLAN"] == "fixed"
    assert os.environ["REQUEST_PLAN"] == "before"
    monkeypatch.delenv("REQUEST_PLAN")
    with _plan("planned"):
        assert os.environ["REQUEST_PLAN"] == "planned"
    assert "REQUEST_PLAN" not in os.environ
