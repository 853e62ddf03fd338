"""The run ledger closes what dies: heartbeats, crashed runs, refused runs (issue 14.1)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.ledger import (
    CrashedRun,
    beat,
    close_flow_run,
    finish_run,
    keep_alive,
    reconcile_runs,
    record_refused_run,
    start_run,
)
from models.tables import RunStatus
from tests.monitor.factories import ARTISTS, RUNS, artist, insert_rows, run

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
STALE = 15 * MIN


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


async def _runs(engine: AsyncEngine) -> dict[int, dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(RUNS).order_by(RUNS.c.id))).mappings().all()
    return {row["id"]: dict(row) for row in rows}


async def _claims(engine: AsyncEngine) -> dict[int, tuple[int | None, datetime | None]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(ARTISTS.c.id, ARTISTS.c.claimed_by_run, ARTISTS.c.claimed_until).order_by(
                    ARTISTS.c.id
                )
            )
        ).all()
    return {row.id: (row.claimed_by_run, row.claimed_until) for row in rows}


def _running(run_id: int, *, started: float, heartbeat: float | None, flow: str | None = None):
    return run(run_id, job="master-sync", started_at=ago(started), status="running") | {
        "heartbeat_at": None if heartbeat is None else ago(heartbeat),
        "flow_run_id": flow,
    }


# --- start, beat, finish --------------------------------------------------------------------


async def test_a_new_run_starts_with_its_first_heartbeat(engine: AsyncEngine) -> None:
    run_id = await start_run(engine, job="seed-comprehensive", mode=None, parameters={}, now=NOW)

    row = (await _runs(engine))[run_id]
    assert (row["status"], row["started_at"], row["heartbeat_at"]) == ("running", NOW, NOW)


async def test_beat_moves_the_heartbeat_of_a_running_row_only(engine: AsyncEngine) -> None:
    live = await start_run(engine, job="master-sync", mode="daily", parameters={}, now=ago(30))
    done = await start_run(engine, job="master-sync", mode="daily", parameters={}, now=ago(30))
    await finish_run(engine, done, status=RunStatus.SUCCESS, counts={}, now=ago(20))

    assert await beat(engine, live, now=ago(1)) is True
    assert await beat(engine, done, now=ago(1)) is False

    rows = await _runs(engine)
    assert rows[live]["heartbeat_at"] == ago(1)
    assert rows[done]["heartbeat_at"] == ago(30)
    assert rows[done]["status"] == "success"


async def test_beat_with_a_lease_extends_the_runs_claims_and_no_one_elses(
    engine: AsyncEngine,
) -> None:
    run_id = await start_run(engine, job="master-sync", mode="daily", parameters={}, now=ago(30))
    await insert_rows(
        engine,
        (
            ARTISTS,
            [
                artist(1, claimed_by_run=run_id, claimed_until=ago(5)),
                artist(2, claimed_by_run=999, claimed_until=ago(5)),
                artist(3),
            ],
        ),
    )

    assert await beat(engine, run_id, now=NOW, claim_lease=30 * MIN) is True

    assert await _claims(engine) == {
        1: (run_id, NOW + 30 * MIN),
        2: (999, ago(5)),
        3: (None, None),
    }


async def test_finishing_a_run_releases_its_claims(engine: AsyncEngine) -> None:
    run_id = await start_run(engine, job="master-sync", mode="daily", parameters={}, now=ago(30))
    await insert_rows(
        engine,
        (
            ARTISTS,
            [
                artist(1, claimed_by_run=run_id, claimed_until=NOW),
                artist(2, claimed_by_run=999, claimed_until=NOW),
            ],
        ),
    )

    await finish_run(engine, run_id, status=RunStatus.PARTIAL, counts={"a": 1}, now=NOW)

    assert await _claims(engine) == {1: (None, None), 2: (999, NOW)}


# --- reconciliation -------------------------------------------------------------------------


RECONCILE_ROWS = [
    # silent for 20 min: crashed
    _running(1, started=60, heartbeat=20, flow="fr-1"),
    # never beat, started 16 min ago: crashed (the start is its last sign of life)
    _running(2, started=16, heartbeat=None),
    # beating, but its Prefect flow run is over: crashed when Prefect is asked
    _running(3, started=10, heartbeat=5, flow="fr-dead"),
    # beating and live in Prefect
    _running(4, started=10, heartbeat=5, flow="fr-live"),
    # beating, no flow run (run outside Prefect): heartbeat alone decides
    _running(5, started=10, heartbeat=1),
    # exactly at the limit: still alive
    _running(6, started=30, heartbeat=15, flow="fr-6"),
    # finished long ago: never touched
    run(7, job="master-sync", started_at=ago(300), finished_at=ago(290), status="success"),
    # started after `now` (a reconciliation as of a past instant): not judged
    _running(8, started=-5, heartbeat=None),
]


async def test_reconcile_closes_silent_runs_and_runs_prefect_says_ended(
    engine: AsyncEngine,
) -> None:
    await insert_rows(engine, (RUNS, RECONCILE_ROWS))

    crashed = await reconcile_runs(
        engine, now=NOW, stale_after=STALE, is_running={"fr-live", "fr-1", "fr-6"}
    )

    assert crashed == [
        CrashedRun(
            1,
            "master-sync",
            "fr-1",
            ago(20),
            "crashed: no heartbeat since 2026-03-10T11:40:00+00:00 (silent for more than 15 min)",
        ),
        CrashedRun(
            2,
            "master-sync",
            None,
            ago(16),
            "crashed: no heartbeat since 2026-03-10T11:44:00+00:00 (silent for more than 15 min)",
        ),
        CrashedRun(
            3,
            "master-sync",
            "fr-dead",
            ago(5),
            "crashed: Prefect flow run fr-dead is no longer running",
        ),
    ]
    rows = await _runs(engine)
    assert {i: r["status"] for i, r in rows.items()} == {
        1: "crashed",
        2: "crashed",
        3: "crashed",
        4: "running",
        5: "running",
        6: "running",
        7: "success",
        8: "running",
    }
    assert [rows[i]["finished_at"] for i in (1, 2, 3)] == [ago(20), ago(16), ago(5)]
    assert rows[3]["error_summary"] == "crashed: Prefect flow run fr-dead is no longer running"
    # Oldest first; a second pass with Prefect saying nothing is live closes the rest.
    again = await reconcile_runs(engine, now=NOW, stale_after=STALE, is_running=set())
    assert [(run.id, run.reason) for run in again] == [
        (6, "crashed: Prefect flow run fr-6 is no longer running"),
        (4, "crashed: Prefect flow run fr-live is no longer running"),
    ]


async def test_without_prefect_only_the_heartbeat_decides(engine: AsyncEngine) -> None:
    await insert_rows(engine, (RUNS, RECONCILE_ROWS))

    crashed = await reconcile_runs(engine, now=NOW, stale_after=STALE)

    assert [run.id for run in crashed] == [1, 2]
    assert await reconcile_runs(engine, now=NOW, stale_after=STALE) == []


async def test_a_checker_that_cannot_tell_leaves_the_run_alone(engine: AsyncEngine) -> None:
    await insert_rows(engine, (RUNS, RECONCILE_ROWS))
    asked: list[str] = []

    async def is_running(flow_run_id: str) -> bool | None:
        asked.append(flow_run_id)
        return {"fr-dead": False, "fr-live": True}.get(flow_run_id)

    crashed = await reconcile_runs(engine, now=NOW, stale_after=STALE, is_running=is_running)

    assert [run.id for run in crashed] == [1, 2, 3]
    # Silent runs are closed without asking; runs without a flow run are never asked about.
    assert asked == ["fr-6", "fr-dead", "fr-live"]


async def test_reconcile_releases_the_claims_of_crashed_runs_only(engine: AsyncEngine) -> None:
    await insert_rows(
        engine,
        (RUNS, RECONCILE_ROWS),
        (
            ARTISTS,
            [
                artist(1, claimed_by_run=1, claimed_until=NOW + 60 * MIN),
                artist(2, claimed_by_run=4, claimed_until=NOW + 60 * MIN),
            ],
        ),
    )

    await reconcile_runs(engine, now=NOW, stale_after=STALE)

    assert await _claims(engine) == {1: (None, None), 2: (4, NOW + 60 * MIN)}


async def test_a_run_that_finishes_after_being_closed_as_crashed_keeps_its_own_outcome(
    engine: AsyncEngine,
) -> None:
    run_id = await start_run(engine, job="master-sync", mode="daily", parameters={}, now=ago(60))
    await reconcile_runs(engine, now=NOW, stale_after=STALE)
    assert (await _runs(engine))[run_id]["status"] == "crashed"

    assert await beat(engine, run_id, now=NOW) is False
    await finish_run(engine, run_id, status=RunStatus.SUCCESS, counts={"x": 1}, now=NOW)

    row = (await _runs(engine))[run_id]
    assert (row["status"], row["error_summary"], row["finished_at"]) == ("success", None, NOW)


async def test_a_heartbeat_arriving_during_the_reconciliation_saves_the_run(
    engine: AsyncEngine,
) -> None:
    run_id = await start_run(
        engine, job="master-sync", mode="daily", parameters={}, flow_run_id="fr", now=ago(5)
    )

    async def beats_while_asked(flow_run_id: str) -> bool:
        # The run beats between the reconciliation's read and its update.
        assert await beat(engine, run_id, now=ago(1)) is True
        return False

    crashed = await reconcile_runs(engine, now=NOW, stale_after=STALE, is_running=beats_while_asked)

    assert crashed == []
    row = (await _runs(engine))[run_id]
    assert (row["status"], row["heartbeat_at"]) == ("running", ago(1))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"now": datetime(2026, 3, 10, 12)}, "now must be a timezone-aware datetime"),
        ({"stale_after": timedelta(0)}, "stale_after must be positive"),
    ],
)
async def test_reconcile_refuses_bad_options(
    engine: AsyncEngine, options: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"now": NOW, "stale_after": STALE} | options
    with pytest.raises(ValueError, match=f"^{message}$"):
        await reconcile_runs(engine, **arguments)


# --- refused runs, closing by flow run -----------------------------------------------------


async def test_a_refused_run_is_one_failed_row_with_its_reason(engine: AsyncEngine) -> None:
    run_id = await record_refused_run(
        engine,
        job="seed-comprehensive",
        mode=None,
        parameters={"limit": 60},
        reason="missing credentials: TICKETMASTER_API_KEY",
        flow_run_id="fr-9",
        now=NOW,
    )

    row = (await _runs(engine))[run_id]
    assert {k: row[k] for k in row if k != "id"} == {
        "flow_run_id": "fr-9",
        "job": "seed-comprehensive",
        "mode": None,
        "parameters": {"limit": 60},
        "dry_run": False,
        "started_at": NOW,
        "finished_at": NOW,
        "status": "failed",
        "counts": {},
        "error_summary": "missing credentials: TICKETMASTER_API_KEY",
        "heartbeat_at": None,
    }


async def test_a_refused_run_needs_a_reason(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match=r"^a refused run needs its reason$"):
        await record_refused_run(engine, job="x", mode=None, parameters={}, reason="  ")
    assert await _runs(engine) == {}


async def test_close_flow_run_closes_the_running_rows_of_that_flow_run(
    engine: AsyncEngine,
) -> None:
    await insert_rows(
        engine,
        (
            RUNS,
            [
                _running(1, started=5, heartbeat=1, flow="fr-a"),
                _running(2, started=5, heartbeat=1, flow="fr-b"),
                run(3, job="seed-comprehensive", started_at=ago(9), status="success")
                | {"flow_run_id": "fr-a", "finished_at": ago(8)},
            ],
        ),
        (ARTISTS, [artist(1, claimed_by_run=1, claimed_until=NOW)]),
    )

    closed = await close_flow_run(
        engine, flow_run_id="fr-a", status=RunStatus.CRASHED, reason="crashed: Crashed", now=NOW
    )

    assert closed == [1]
    rows = await _runs(engine)
    assert (rows[1]["status"], rows[1]["finished_at"], rows[1]["error_summary"]) == (
        "crashed",
        NOW,
        "crashed: Crashed",
    )
    assert rows[2]["status"] == "running"
    assert rows[3]["status"] == "success"
    assert await _claims(engine) == {1: (None, None)}
    with pytest.raises(ValueError, match=r"^a closed run needs a final status$"):
        await close_flow_run(engine, flow_run_id="fr-b", status=RunStatus.RUNNING, reason="x")


# --- keep_alive -----------------------------------------------------------------------------


async def test_keep_alive_beats_every_interval_until_the_block_ends(engine: AsyncEngine) -> None:
    run_id = await start_run(engine, job="master-sync", mode="daily", parameters={}, now=ago(10))
    instants: Iterator[datetime] = iter([ago(5), ago(4)])
    slept: list[float] = []
    tick: asyncio.Queue[None] = asyncio.Queue()
    third_sleep = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            third_sleep.set()
        await tick.get()

    async with keep_alive(
        engine, run_id, every=timedelta(seconds=30), now=lambda: next(instants), sleep=sleep
    ):
        tick.put_nowait(None)
        tick.put_nowait(None)
        await asyncio.wait_for(third_sleep.wait(), timeout=30)
        assert (await _runs(engine))[run_id]["heartbeat_at"] == ago(4)

    assert slept == [30.0, 30.0, 30.0]


async def test_keep_alive_refuses_a_non_positive_interval(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match=r"^every must be positive$"):
        async with keep_alive(engine, 1, every=timedelta(0)):
            pass


async def test_a_failure_hook_records_only_runs_that_never_opened_their_row(
    engine: AsyncEngine,
) -> None:
    opened = await start_run(
        engine, job="master-sync", mode="daily", parameters={}, flow_run_id="fr-opened", now=NOW
    )
    await finish_run(engine, opened, status=RunStatus.FAILED, counts={}, now=NOW)
    arguments: dict[str, Any] = {
        "job": "master-sync",
        "mode": None,
        "parameters": {"mode": "weekly"},
        "reason": "Validation of flow parameters failed: mode",
        "if_unrecorded": True,
        "now": NOW,
    }

    assert await record_refused_run(engine, flow_run_id="fr-opened", **arguments) is None
    refused = await record_refused_run(engine, flow_run_id="fr-refused", **arguments)
    assert await record_refused_run(engine, flow_run_id="fr-refused", **arguments) is None

    rows = await _runs(engine)
    assert sorted(rows) == [opened, refused]
    assert (rows[refused]["status"], rows[refused]["error_summary"]) == (
        "failed",
        "Validation of flow parameters failed: mode",
    )
    with pytest.raises(ValueError, match=r"^if_unrecorded needs the flow_run_id$"):
        await record_refused_run(engine, **arguments)
