from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, not_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import make_engine
from models.ledger import JOB_AUTONOMOUS_SYNC, JOB_CALCULATE_TRENDING, JOB_MASTER_SYNC, JOB_SEED
from models.sync_state import select_artists_for_sync
from monitor.health import (
    HealthReport,
    InvalidHoursError,
    compute_health,
    needs_sync_clause,
    percentage,
    validate_hours,
)
from tests.monitor.factories import (
    ARTIST_TRENDS,
    ARTISTS,
    ERRORS,
    RUNS,
    SETLISTS,
    SHOW_TRENDS,
    SHOWS,
    VENUES,
    artist,
    artist_trend,
    insert_rows,
    run,
    setlist,
    show,
    show_trend,
    sync_error,
    venue,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


# --- Pure rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(1, 8, 13), (5, 8, 63), (1, 3, 33), (2, 3, 67), (0, 5, 0), (5, 5, 100), (1, 200, 1)],
)
def test_percentage_rounds_half_up(part: int, whole: int, expected: int) -> None:
    assert percentage(part, whole) == expected


def test_percentage_of_nothing_is_the_given_empty_value() -> None:
    assert percentage(0, 0) == 0
    assert percentage(0, 0, empty=100) == 100


def test_percentage_refuses_a_part_larger_than_the_whole() -> None:
    with pytest.raises(ValueError, match="not a proportion: 3/2"):
        percentage(3, 2)


@pytest.mark.parametrize("hours", [1, 24, 720])
def test_validate_hours_accepts_1_to_720(hours: int) -> None:
    assert validate_hours(hours) == hours


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        (0, "hours must be from 1 to 720, got 0"),
        (721, "hours must be from 1 to 720, got 721"),
        (-5, "hours must be from 1 to 720, got -5"),
        (True, "hours must be a whole number from 1 to 720, got True"),
        (1.5, "hours must be a whole number from 1 to 720, got 1.5"),
        ("24", "hours must be a whole number from 1 to 720, got '24'"),
    ],
)
def test_validate_hours_rejects_anything_else_with_a_clear_message(
    hours: object, message: str
) -> None:
    with pytest.raises(InvalidHoursError) as caught:
        validate_hours(hours)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


# --- The report on an empty database --------------------------------------------------------


async def test_empty_database_has_zero_coverage_and_a_full_success_rate(
    engine: AsyncEngine,
) -> None:
    report = await compute_health(engine, hours=24, now=NOW, stale_after_hours=24)

    assert report.model_dump(mode="json") == {
        "healthScore": {
            "overall": 25,
            "syncCoverage": 0,
            "syncFreshness": 0,
            "trendingCoverage": 0,
            "errorRate": 100,
        },
        "statistics": {
            "artists": {"total": 0, "synced": 0, "needsSync": 0},
            "shows": {"total": 0, "upcoming": 0, "completed": 0, "cancelled": 0, "postponed": 0},
            "venues": {"total": 0, "withShows": 0},
            "setlists": {"total": 0},
        },
        "syncSummary": {
            key: {
                "runs": 0,
                "success": 0,
                "partial": 0,
                "errors": 0,
                "crashed": 0,
                "running": 0,
                "lastRun": None,
            }
            for key in ("masterSync", "autonomousSync", "trendingCalc", "seed", "syncArtist")
        }
        | {"discovery": {"found": 0, "added": 0}},
        "window": {"hours": 24, "from": "2026-03-09T12:00:00Z", "to": "2026-03-10T12:00:00Z"},
        "trending": {"artists": [], "shows": []},
        "recentErrors": [],
    }


# --- A hand-built database ------------------------------------------------------------------


ARTIST_ROWS = [
    # synced, fresh, scored
    artist(1, last_synced_at=ago(2)),
    # synced long ago (stale), scored -> needs sync
    artist(2, last_synced_at=ago(30)),
    # never synced -> needs sync
    artist(3),
    # fresh, but its planned next sync has come -> needs sync
    artist(4, last_synced_at=ago(1), next_sync_at=NOW - timedelta(minutes=1)),
    # stale but backing off after a failure until later -> not due
    artist(5, last_synced_at=ago(48), next_sync_at=NOW + 2 * H),
    # synced exactly at the window start: fresh, and exactly stale_after_hours old: not stale
    artist(6, last_synced_at=ago(24)),
    # never synced, backing off -> not due
    artist(7, next_sync_at=NOW + H),
]

RUN_ROWS = [
    # master sync: one straddling the window start (started before it), one at the very edge,
    # a partial one, one still running.
    run(1, job=JOB_MASTER_SYNC, started_at=ago(30), finished_at=ago(23), status="success"),
    run(2, job=JOB_MASTER_SYNC, started_at=ago(24), finished_at=ago(23), status="success"),
    run(3, job=JOB_MASTER_SYNC, started_at=ago(3), finished_at=ago(2), status="partial"),
    run(4, job=JOB_MASTER_SYNC, started_at=ago(1), status="running") | {"heartbeat_at": ago(0.05)},
    # autonomous sync: discovery, full (failed), dry-run discovery, plain sync, and an older one.
    run(
        5,
        job=JOB_AUTONOMOUS_SYNC,
        mode="discovery",
        started_at=ago(10),
        finished_at=ago(9),
        status="success",
        counts={"artists_found": 12, "artists_added": 5},
    ),
    run(
        6,
        job=JOB_AUTONOMOUS_SYNC,
        mode="full",
        started_at=ago(5),
        finished_at=ago(4.5),
        status="failed",
        counts={"artists_found": 3, "artists_added": 1},
    ),
    run(
        7,
        job=JOB_AUTONOMOUS_SYNC,
        mode="discovery",
        dry_run=True,
        started_at=ago(4),
        finished_at=ago(3.9),
        status="success",
        counts={"artists_found": 100, "artists_added": 40},
    ),
    run(
        8,
        job=JOB_AUTONOMOUS_SYNC,
        mode="sync",
        started_at=ago(6),
        finished_at=ago(5.5),
        status="success",
        counts={"artists_synced": 10},
    ),
    run(
        9,
        job=JOB_AUTONOMOUS_SYNC,
        mode="discovery",
        started_at=ago(25),
        finished_at=ago(23),
        status="success",
        counts={"artists_found": 50, "artists_added": 50},
    ),
    # trending: only an old run
    run(10, job=JOB_CALCULATE_TRENDING, started_at=ago(48), finished_at=ago(47), status="success"),
    # seed: one in the window, one "after now" (a report as of a past instant ignores it)
    run(
        11,
        job=JOB_SEED,
        started_at=ago(2),
        finished_at=ago(1.5),
        status="success",
        counts={"artists_found": 7, "artists_added": 7},
    ),
    run(12, job=JOB_SEED, started_at=NOW + H, status="failed", counts={"artists_found": 9}),
    # a job the report does not know: ignored everywhere
    run(13, job="something-else", started_at=ago(1), finished_at=ago(0.5), status="failed"),
    # killed 2 h ago, still "running" in the ledger: the report closes it as crashed
    run(14, job=JOB_AUTONOMOUS_SYNC, mode="sync", started_at=ago(8), status="running")
    | {"heartbeat_at": ago(2)},
    # closed as crashed by an earlier reconciliation
    run(
        15,
        job=JOB_CALCULATE_TRENDING,
        mode="hourly",
        started_at=ago(12),
        finished_at=ago(11.5),
        status="crashed",
    ),
]

# Night two is the next day: one show per artist, date and venue.
NIGHT_TWO = date(2026, 3, 2)
SHOW_ROWS = [
    show(1, artist_id=1, venue_id=1, status="upcoming", name="Night one"),
    show(2, artist_id=1, venue_id=1, status="upcoming", name="Night two", local_date=NIGHT_TWO),
    show(3, artist_id=2, venue_id=2, status="ongoing"),
    show(4, artist_id=2, venue_id=None, status="completed"),
    show(5, artist_id=3, venue_id=1, status="completed"),
    show(6, artist_id=3, venue_id=2, status="cancelled"),
    show(7, artist_id=4, venue_id=None, status="postponed"),
]

# The trending scores of artists 1, 2, 5 and shows 1-4 (scored); the others have none.
# Stored inputs that score exactly these values when read at NOW (factories.artist_trend).
ARTIST_TREND_ROWS = [
    artist_trend(1, 90.0, at=NOW),
    artist_trend(2, 50.0, at=NOW),
    artist_trend(5, 70.0, at=NOW),
]
SHOW_TREND_ROWS = [
    show_trend(1, 80.0, at=NOW),
    show_trend(2, 80.0, at=NOW),
    show_trend(3, 95.5, at=NOW),
    show_trend(4, 10.0, at=NOW),
]

ERROR_ROWS = [
    sync_error(1, last_seen_at=ago(1), attempts=3, run_id=3),
    sync_error(2, last_seen_at=ago(48)),
    sync_error(3, last_seen_at=ago(0.5), resolved_at=ago(0.25)),
    sync_error(4, last_seen_at=NOW + H),
    sync_error(5, last_seen_at=NOW - timedelta(minutes=10)),
]


async def _build(engine: AsyncEngine) -> None:
    await insert_rows(
        engine,
        (ARTISTS, ARTIST_ROWS),
        (VENUES, [venue(1), venue(2), venue(3)]),
        (SHOWS, SHOW_ROWS),
        (ARTIST_TRENDS, ARTIST_TREND_ROWS),
        (SHOW_TRENDS, SHOW_TREND_ROWS),
        (
            SETLISTS,
            [setlist(1, artist_id=2, show_id=4), setlist(2, artist_id=3, show_id=5)],
        ),
        (RUNS, RUN_ROWS),
        (ERRORS, ERROR_ROWS),
    )


async def _report(engine: AsyncEngine, **options: Any) -> HealthReport:
    await _build(engine)
    arguments: dict[str, Any] = {"hours": 24, "now": NOW, "stale_after_hours": 24} | options
    return await compute_health(engine, **arguments)


async def test_health_scores_match_hand_computed_values(engine: AsyncEngine) -> None:
    report = await _report(engine)

    # synced 5/7 = 71.4 -> 71; fresh 3/5 = 60; scored 3/7 = 42.9 -> 43;
    # runs: master 1 of 2, autonomous 3 of 5 (one crashed), trending 0 of 1 (crashed),
    # seed 1 of 1 -> 5/9 = 55.6 -> 56; overall (71 + 60 + 43 + 56) / 4 = 57.5 -> 58.
    assert report.health_score.model_dump() == {
        "overall": 58,
        "syncCoverage": 71,
        "syncFreshness": 60,
        "trendingCoverage": 43,
        "errorRate": 56,
    }


async def test_statistics_count_artists_shows_venues_and_setlists(engine: AsyncEngine) -> None:
    report = await _report(engine)

    assert report.statistics.model_dump() == {
        "artists": {"total": 7, "synced": 5, "needsSync": 3},
        "shows": {"total": 7, "upcoming": 3, "completed": 2, "cancelled": 1, "postponed": 1},
        "venues": {"total": 3, "withShows": 2},
        "setlists": {"total": 2},
    }


async def test_sync_summary_counts_runs_started_in_the_window_once_each(
    engine: AsyncEngine,
) -> None:
    report = await _report(engine)

    summary = report.sync_summary.model_dump(mode="json")
    assert summary["masterSync"] == {
        "runs": 2,
        "success": 1,
        "partial": 1,
        "errors": 0,
        "crashed": 0,
        "running": 1,
        "lastRun": {
            "id": 4,
            "status": "running",
            "startedAt": "2026-03-10T11:00:00Z",
            "finishedAt": None,
        },
    }
    assert summary["autonomousSync"] == {
        "runs": 5,
        "success": 3,
        "partial": 0,
        "errors": 1,
        "crashed": 1,
        "running": 0,
        "lastRun": {
            "id": 7,
            "status": "success",
            "startedAt": "2026-03-10T08:00:00Z",
            "finishedAt": "2026-03-10T08:06:00Z",
        },
    }
    assert summary["trendingCalc"] == {
        "runs": 1,
        "success": 0,
        "partial": 0,
        "errors": 0,
        "crashed": 1,
        "running": 0,
        "lastRun": {
            "id": 15,
            "status": "crashed",
            "startedAt": "2026-03-10T00:00:00Z",
            "finishedAt": "2026-03-10T00:30:00Z",
        },
    }
    assert summary["seed"] == {
        "runs": 1,
        "success": 1,
        "partial": 0,
        "errors": 0,
        "crashed": 0,
        "running": 0,
        "lastRun": {
            "id": 11,
            "status": "success",
            "startedAt": "2026-03-10T10:00:00Z",
            "finishedAt": "2026-03-10T10:30:00Z",
        },
    }


async def test_discovery_sums_counts_of_real_runs_in_the_window(engine: AsyncEngine) -> None:
    report = await _report(engine)

    # runs 5, 6 and 11; not the dry run 7, not run 9 (before the window), not run 12 (after now).
    assert report.sync_summary.discovery.model_dump() == {"found": 22, "added": 13}


async def test_a_run_straddling_the_window_start_counts_in_the_window_it_started_in(
    engine: AsyncEngine,
) -> None:
    report = await _report(engine, hours=30)

    assert report.sync_summary.master_sync.runs == 3
    assert report.sync_summary.master_sync.success == 2
    # run 9 (25 h ago) is now inside as well
    assert report.sync_summary.autonomous_sync.runs == 6
    assert report.sync_summary.discovery.model_dump() == {"found": 72, "added": 63}
    # 7 of 11 finished runs succeeded (two crashed): 63.6 -> 64
    assert report.health_score.error_rate == 64
    # artist 2 (synced 30 h ago) is fresh in a 30 h window: 4 of 5
    assert report.health_score.sync_freshness == 80


async def test_a_one_hour_window_sees_only_the_last_hour(engine: AsyncEngine) -> None:
    report = await _report(engine, hours=1)

    # run 4 (running, started exactly 1 h ago) is the only ledger run; nothing finished.
    assert report.sync_summary.master_sync.model_dump(exclude={"last_run"}) == {
        "runs": 0,
        "success": 0,
        "partial": 0,
        "errors": 0,
        "crashed": 0,
        "running": 1,
    }
    assert report.sync_summary.autonomous_sync.runs == 0
    assert report.health_score.error_rate == 100
    # fresh within an hour: artist 4 only (synced 1 h ago, at the window start)
    assert report.health_score.sync_freshness == 20
    assert report.window.model_dump(mode="json") == {
        "hours": 1,
        "from": "2026-03-10T11:00:00Z",
        "to": "2026-03-10T12:00:00Z",
    }


async def test_trending_lists_top_artists_and_shows_by_score_then_id(
    engine: AsyncEngine,
) -> None:
    report = await _report(engine, top=3)

    assert report.trending.model_dump(mode="json") == {
        "artists": [
            {"id": 1, "name": "Artist 1", "slug": "artist-1", "trendingScore": 90.0},
            {"id": 5, "name": "Artist 5", "slug": "artist-5", "trendingScore": 70.0},
            {"id": 2, "name": "Artist 2", "slug": "artist-2", "trendingScore": 50.0},
        ],
        "shows": [
            {
                "id": 3,
                "name": None,
                "artistId": 2,
                "artistName": "Artist 2",
                "venueName": "Venue 2",
                "localDate": "2026-03-01",
                "status": "ongoing",
                "trendingScore": 95.5,
            },
            {
                "id": 1,
                "name": "Night one",
                "artistId": 1,
                "artistName": "Artist 1",
                "venueName": "Venue 1",
                "localDate": "2026-03-01",
                "status": "upcoming",
                "trendingScore": 80.0,
            },
            {
                "id": 2,
                "name": "Night two",
                "artistId": 1,
                "artistName": "Artist 1",
                "venueName": "Venue 1",
                "localDate": "2026-03-02",
                "status": "upcoming",
                "trendingScore": 80.0,
            },
        ],
    }


async def test_a_show_without_a_venue_is_listed_with_a_null_venue(engine: AsyncEngine) -> None:
    report = await _report(engine, top=4)

    assert [s.id for s in report.trending.shows] == [3, 1, 2, 4]
    assert report.trending.shows[3].venue_name is None


async def test_recent_errors_are_unresolved_ones_seen_by_now_latest_first(
    engine: AsyncEngine,
) -> None:
    report = await _report(engine)

    assert [e.model_dump(mode="json") for e in report.recent_errors] == [
        {
            "id": 5,
            "source": "ticketmaster",
            "key": "K5",
            "entity": "artist",
            "error": "HTTP 500 for K5",
            "attempts": 1,
            "firstSeenAt": "2026-03-10T11:50:00Z",
            "lastSeenAt": "2026-03-10T11:50:00Z",
            "runId": None,
        },
        {
            "id": 1,
            "source": "ticketmaster",
            "key": "K1",
            "entity": "artist",
            "error": "HTTP 500 for K1",
            "attempts": 3,
            "firstSeenAt": "2026-03-10T11:00:00Z",
            "lastSeenAt": "2026-03-10T11:00:00Z",
            "runId": 3,
        },
        {
            "id": 2,
            "source": "ticketmaster",
            "key": "K2",
            "entity": "artist",
            "error": "HTTP 500 for K2",
            "attempts": 1,
            "firstSeenAt": "2026-03-08T12:00:00Z",
            "lastSeenAt": "2026-03-08T12:00:00Z",
            "runId": None,
        },
    ]


async def test_list_lengths_follow_top_and_recent_errors(engine: AsyncEngine) -> None:
    report = await _report(engine, top=1, recent_errors=2)

    assert [a.id for a in report.trending.artists] == [1]
    assert [s.id for s in report.trending.shows] == [3]
    assert [e.id for e in report.recent_errors] == [5, 1]


async def _count_selects(engine: AsyncEngine) -> int:
    statements: list[str] = []

    def _record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", _record)
    try:
        await compute_health(engine, hours=24, now=NOW, stale_after_hours=24)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _record)
    return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))


async def test_a_report_takes_a_fixed_number_of_queries_whatever_the_row_count(
    engine: AsyncEngine,
) -> None:
    # Six for the figures, one for the reconciliation's running rows, and the trending top
    # lists (scores computed when read, models/trending/scores.py): with nothing scored, two
    # for each kind (the last run's instant, the best scores).
    assert await _count_selects(engine) == 11
    await _build(engine)
    # With scores: each list also reads its rows (two more). No run recorded here, so every
    # row is scored at once; after a run a ranking may take up to 5 threshold steps (ranked's
    # docstring): a bound that does not grow with the rows either.
    assert await _count_selects(engine) == 13


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hours": 0}, "hours must be from 1 to 720, got 0"),
        ({"hours": 721}, "hours must be from 1 to 720, got 721"),
        ({"now": datetime(2026, 3, 10, 12)}, "now must be a timezone-aware datetime"),
        ({"top": 101}, "top must be from 0 to 100, got 101"),
        ({"recent_errors": -1}, "recent_errors must be from 0 to 100, got -1"),
    ],
)
async def test_invalid_options_are_refused_before_any_query(
    engine: AsyncEngine, options: dict[str, Any], message: str
) -> None:
    statements: list[str] = []

    def _record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", _record)
    arguments: dict[str, Any] = {"hours": 24, "now": NOW, "stale_after_hours": 24} | options
    try:
        with pytest.raises(ValueError, match="^" + message + "$"):
            await compute_health(engine, **arguments)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _record)
    assert statements == []


# --- needs_sync_clause, as the sync flows use it ------------------------------------------


async def test_needs_sync_clause_selects_due_artists_and_its_negation_the_rest(
    engine: AsyncEngine,
) -> None:
    await insert_rows(engine, (ARTISTS, ARTIST_ROWS))
    due = needs_sync_clause(NOW, 24)
    async with engine.connect() as conn:
        due_ids = (
            (await conn.execute(select(ARTISTS.c.id).where(due).order_by(ARTISTS.c.id)))
            .scalars()
            .all()
        )
        not_due_ids = (
            (await conn.execute(select(ARTISTS.c.id).where(not_(due)).order_by(ARTISTS.c.id)))
            .scalars()
            .all()
        )

    assert due_ids == [2, 3, 4]
    assert not_due_ids == [1, 5, 6, 7]


async def test_needs_sync_clause_uses_the_staleness_it_is_given(engine: AsyncEngine) -> None:
    await insert_rows(engine, (ARTISTS, ARTIST_ROWS))
    async with engine.connect() as conn:
        due_ids = (
            (
                await conn.execute(
                    select(ARTISTS.c.id).where(needs_sync_clause(NOW, 1.5)).order_by(ARTISTS.c.id)
                )
            )
            .scalars()
            .all()
        )

    # artist 1 (2 h), 2 (30 h), 6 (24 h) are stale after 1.5 h; 3 never synced; 4 planned now.
    assert due_ids == [1, 2, 3, 4, 6]


def test_needs_sync_clause_refuses_a_naive_now_and_a_non_positive_staleness() -> None:
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        needs_sync_clause(datetime(2026, 3, 10), 24)
    with pytest.raises(ValueError, match="stale_after_hours must be positive"):
        needs_sync_clause(NOW, 0)


async def test_needs_sync_counts_exactly_the_artists_the_next_sync_would_pick(
    engine: AsyncEngine,
) -> None:
    await insert_rows(engine, (ARTISTS, ARTIST_ROWS))
    async with engine.connect() as conn:
        picked = await select_artists_for_sync(conn, now=NOW, limit=None, stale_after_hours=24)
    report = await compute_health(engine, hours=24, now=NOW, stale_after_hours=24)

    assert sorted(a.id for a in picked) == [2, 3, 4]
    assert report.statistics.artists.needs_sync == len(picked)


# --- dead runs: the report closes them and counts them ---------------------------------------


KILLED = run(1, job=JOB_MASTER_SYNC, mode="daily", started_at=ago(3), status="running") | {
    "heartbeat_at": ago(2),
    "flow_run_id": "fr-killed",
}


async def _ledger_row(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        return dict((await conn.execute(select(RUNS).where(RUNS.c.id == 1))).mappings().one())


async def test_the_report_closes_a_killed_run_and_counts_it_against_the_error_rate(
    engine: AsyncEngine,
) -> None:
    await insert_rows(engine, (RUNS, [KILLED]))

    first = await compute_health(engine, hours=24, now=NOW, stale_after_hours=24)
    second = await compute_health(engine, hours=24, now=NOW, stale_after_hours=24)

    for report in (first, second):
        assert report.sync_summary.master_sync.model_dump(exclude={"last_run"}) == {
            "runs": 1,
            "success": 0,
            "partial": 0,
            "errors": 0,
            "crashed": 1,
            "running": 0,
        }
        assert report.health_score.error_rate == 0
    row = await _ledger_row(engine)
    assert (row["status"], row["finished_at"], row["error_summary"]) == (
        "crashed",
        ago(2),
        "crashed: no heartbeat since 2026-03-10T10:00:00+00:00 (silent for more than 15 min)",
    )


async def test_the_report_follows_the_staleness_it_is_given(engine: AsyncEngine) -> None:
    await insert_rows(engine, (RUNS, [KILLED]))

    report = await compute_health(
        engine, hours=24, now=NOW, stale_after_hours=24, run_stale_after=timedelta(hours=3)
    )

    assert (report.sync_summary.master_sync.running, report.sync_summary.master_sync.crashed) == (
        1,
        0,
    )
    assert report.health_score.error_rate == 100


async def test_a_report_without_reconciliation_writes_nothing(engine: AsyncEngine) -> None:
    await insert_rows(engine, (RUNS, [KILLED]))
    statements: list[str] = []

    def _record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", _record)
    try:
        report = await compute_health(
            engine, hours=24, now=NOW, stale_after_hours=24, run_stale_after=None
        )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _record)

    assert report.sync_summary.master_sync.running == 1
    assert (await _ledger_row(engine))["status"] == "running"
    assert [s for s in statements if not s.lstrip().upper().startswith("SELECT")] == []


async def test_the_report_closes_a_beating_run_prefect_says_has_ended(
    engine: AsyncEngine,
) -> None:
    beating = KILLED | {"heartbeat_at": ago(0.01)}
    await insert_rows(engine, (RUNS, [beating]))

    alive = await compute_health(
        engine, hours=24, now=NOW, stale_after_hours=24, is_running={"fr-killed"}
    )
    ended = await compute_health(engine, hours=24, now=NOW, stale_after_hours=24, is_running=set())

    assert (alive.sync_summary.master_sync.running, alive.sync_summary.master_sync.crashed) == (
        1,
        0,
    )
    assert (ended.sync_summary.master_sync.running, ended.sync_summary.master_sync.crashed) == (
        0,
        1,
    )
    assert (await _ledger_row(engine))["error_summary"] == (
        "crashed: Prefect flow run fr-killed is no longer running"
    )


async def test_a_read_only_database_still_gets_its_report(
    engine: AsyncEngine, database_url: str
) -> None:
    await insert_rows(engine, (RUNS, [KILLED]))
    if engine.dialect.name == "sqlite":
        path = database_url.split(":///", 1)[1]
        read_only = make_engine(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    else:
        read_only = make_engine(
            database_url,
            connect_args={"server_settings": {"default_transaction_read_only": "on"}},
        )
    try:
        report = await compute_health(read_only, hours=24, now=NOW, stale_after_hours=24)
    finally:
        await read_only.dispose()

    # Nothing could be closed: the run is counted as the ledger has it.
    assert report.sync_summary.master_sync.running == 1
    assert report.sync_summary.master_sync.crashed == 0
    assert (await _ledger_row(engine))["status"] == "running"
