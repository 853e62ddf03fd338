from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from monitor.health import HealthReport
from monitor.render import render_report, score_style


def _job(runs: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "runs": runs,
        "success": runs,
        "partial": 0,
        "errors": 0,
        "crashed": 0,
        "running": 0,
        "lastRun": None,
    } | fields


def _report(**overrides: Any) -> HealthReport:
    data: dict[str, Any] = {
        "healthScore": {
            "overall": 80,
            "syncCoverage": 79,
            "syncFreshness": 50,
            "trendingCoverage": 49,
            "errorRate": 100,
        },
        "statistics": {
            "artists": {"total": 10, "synced": 8, "needsSync": 3},
            "shows": {"total": 20, "upcoming": 12, "completed": 5, "cancelled": 2, "postponed": 1},
            "venues": {"total": 7, "withShows": 6},
            "setlists": {"total": 4},
        },
        "syncSummary": {
            "masterSync": _job(
                2,
                success=1,
                partial=1,
                lastRun={
                    "id": 9,
                    "status": "partial",
                    "startedAt": "2026-03-10T06:00:00Z",
                    "finishedAt": "2026-03-10T06:20:00Z",
                },
            ),
            "autonomousSync": _job(3, success=2, errors=1, running=1),
            "trendingCalc": _job(),
            "seed": _job(),
            "syncArtist": _job(),
            "discovery": {"found": 12, "added": 5},
        },
        "window": {"hours": 24, "from": "2026-03-09T12:00:00Z", "to": "2026-03-10T12:00:00Z"},
        "trending": {
            "artists": [
                {"id": 1, "name": "Phoebe", "slug": "phoebe", "trendingScore": 91.25},
                {"id": 2, "name": "Bert", "slug": "bert", "trendingScore": 40.0},
            ],
            "shows": [
                {
                    "id": 5,
                    "name": None,
                    "artistId": 1,
                    "artistName": "Phoebe",
                    "venueName": "The Hall",
                    "localDate": "2026-04-01",
                    "status": "upcoming",
                    "trendingScore": 77.5,
                }
            ],
        },
        "recentErrors": [
            {
                "id": 3,
                "source": "setlistfm",
                "key": "mbid-1",
                "entity": "setlist",
                "error": "HTTP 404",
                "attempts": 2,
                "firstSeenAt": "2026-03-09T10:00:00Z",
                "lastSeenAt": "2026-03-10T11:15:00Z",
                "runId": None,
            }
        ],
    } | overrides
    return HealthReport.model_validate(data)


def _text(report: HealthReport) -> str:
    console = Console(record=True, width=110, color_system=None, file=io.StringIO())
    console.print(render_report(report))
    return console.export_text()


@pytest.mark.parametrize(
    ("score", "style"),
    [(100, "green"), (80, "green"), (79, "yellow"), (50, "yellow"), (49, "red"), (0, "red")],
)
def test_scores_are_green_from_80_yellow_from_50_red_below(score: int, style: str) -> None:
    assert score_style(score) == style


def test_the_rendered_scores_carry_their_colour() -> None:
    console = Console(record=True, width=110, color_system="standard", force_terminal=True)
    console.begin_capture()
    console.print(render_report(_report()))
    ansi = console.end_capture()

    green, yellow, red, reset = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[0m"
    lines = ansi.splitlines()
    assert lines[5].endswith(f"{green}  80%{reset} │")  # overall
    assert lines[6] == f"│ Sync coverage     │ {yellow}  79%{reset} │"
    assert lines[7] == f"│ Sync freshness    │ {yellow}  50%{reset} │"
    assert lines[8] == f"│ Trending coverage │ {red}  49%{reset} │"
    assert lines[9] == f"│ Success rate      │ {green} 100%{reset} │"


def test_the_report_shows_every_section() -> None:
    text = _text(_report())
    lines = [line.rstrip() for line in text.splitlines()]

    assert lines[0] == "Sync health, last 24 h (2026-03-09 12:00 to 2026-03-10 12:00 UTC)"
    for expected in (
        "│ Overall           │   80% │",
        "│ Sync coverage     │   79% │",
        "│ Success rate      │  100% │",
        "│ Artists  │    10 │ synced 8, needs sync 3",
        "│ Shows    │    20 │ upcoming 12, completed 5, cancelled 2, postponed 1",
        "│ Venues   │     7 │ with shows 6",
        "│ Setlists │     4 │",
        "│ Master sync     │    2 │       1 │       1 │      0 │       0 │       0 │ "
        "partial 2026-03-10 06:00",
        "│ Autonomous sync │    3 │       2 │       0 │      1 │       0 │       1 │ never",
        "Discovery: 12 artists found, 5 added",
        "│ 1 │ Phoebe │  91.2 │ Phoebe 2026-04-01 @ The Hall │  77.5 │",
        "│ 2 │ Bert   │  40.0 │                              │       │",
        "│ 2026-03-10 11:15 │ setlistfm │ mbid-1 │     2 │ HTTP 404 │",
    ):
        assert any(line.startswith(expected) or line == expected for line in lines), expected


def test_an_empty_report_says_there_is_nothing_to_list() -> None:
    text = _text(
        _report(trending={"artists": [], "shows": []}, recentErrors=[]),
    )

    assert "┃ # ┃ Artist" not in text
    assert "Recent errors" not in text
    assert "Last seen" not in text
    assert "No unresolved sync errors." in text
