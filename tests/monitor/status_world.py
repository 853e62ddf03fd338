"""A small world for the status page tests: scores, runs, quota, history, errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from models.rate_leases import RateQuotaDay
from models.tables import TrendingHistory
from tests.monitor.factories import (
    ARTIST_TRENDS,
    ARTISTS,
    ERRORS,
    RUNS,
    SHOW_TRENDS,
    SHOWS,
    VENUES,
    artist,
    artist_trend,
    insert_rows,
    run,
    show,
    show_trend,
    sync_error,
    venue,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)
QUOTA = RateQuotaDay.__table__  # type: ignore[attr-defined]
HISTORY = TrendingHistory.__table__  # type: ignore[attr-defined]
# An artist name a page must escape.
HOSTILE_NAME = "<script>alert(1)</script> & The Tags"


async def build_status_world(engine: AsyncEngine) -> None:
    """Artist 1 (Northern Lights) leads with 30 days of history; artist 2 has two days; a show
    of artist 1 at the Fillmore; runs of three jobs; quota used today; one open error."""
    history: list[dict[str, Any]] = [
        {"entity_type": "artist", "entity_id": 1, "day": TODAY - timedelta(days=d), "score": 90.0}
        for d in range(30)
    ]
    history += [
        {"entity_type": "artist", "entity_id": 2, "day": TODAY - timedelta(days=d), "score": 40.0}
        for d in (0, 5)
    ]
    history += [
        # Older than the sparkline's 30 days: not drawn.
        {"entity_type": "artist", "entity_id": 2, "day": TODAY - timedelta(days=30), "score": 1.0},
        {"entity_type": "show", "entity_id": 1, "day": TODAY, "score": 70.0},
    ]
    runs = [
        run(i, job="master-sync", started_at=NOW - timedelta(hours=30 - i), status="success")
        for i in range(1, 4)
    ]
    runs += [
        run(4, job="autonomous-sync", started_at=NOW - timedelta(hours=3), status="failed"),
        run(5, job="autonomous-sync", started_at=NOW - timedelta(hours=1), status="partial"),
        run(6, job="calculate-trending", started_at=NOW - timedelta(hours=2), status="success"),
    ]
    await insert_rows(
        engine,
        (
            ARTISTS,
            [
                artist(1, name="Northern Lights", last_synced_at=NOW - timedelta(hours=2)),
                artist(2, name=HOSTILE_NAME),
                artist(3, name="Quiet Ones"),
            ],
        ),
        (VENUES, [venue(1, name="The Fillmore", city="San Francisco")]),
        (SHOWS, [show(1, artist_id=1, venue_id=1, local_date=date(2026, 3, 20))]),
        (
            ARTIST_TRENDS,
            [artist_trend(1, 91.5, at=NOW), artist_trend(2, 40.25, at=NOW)],
        ),
        (SHOW_TRENDS, [show_trend(1, 70.0, at=NOW)]),
        (HISTORY, history),
        (RUNS, runs),
        (
            QUOTA,
            [
                {"api": "ticketmaster", "day": TODAY, "used": 4600},
                {"api": "setlistfm", "day": TODAY, "used": 12},
                {"api": "setlistfm", "day": TODAY - timedelta(days=1), "used": 1400},
            ],
        ),
        (ERRORS, [sync_error(1, last_seen_at=NOW - timedelta(minutes=5), attempts=3)]),
    )
