"""Revision 0004 (heartbeats, ``crashed``, artist claims) keeps every row and every link."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, text
from sqlalchemy.exc import IntegrityError

from models.db import make_engine
from models.migrate import current_revision, downgrade, upgrade
from models.types import UTCDateTime
from tests.models.conftest import sql_rows

AT = datetime(2026, 3, 10, 11, 30, tzinfo=UTC)

RUNS = [
    (1, "master-sync", datetime(2026, 3, 10, 10, tzinfo=UTC), "success"),
    (2, "seed-comprehensive", datetime(2026, 3, 10, 11, tzinfo=UTC), "failed"),
]


async def _fill_at_0003(url: str) -> None:
    await upgrade(url, "0003")
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for run_id, job, started, status in RUNS:
                await conn.execute(
                    text(
                        "INSERT INTO sync_runs (id, job, parameters, dry_run, started_at, status,"
                        " counts) VALUES (:id, :job, '{}', false, :started, :status, '{}')"
                    ).bindparams(bindparam("started", type_=UTCDateTime)),
                    {"id": run_id, "job": job, "started": started, "status": status},
                )
            await conn.execute(
                text(
                    "INSERT INTO sync_errors (id, source, key, entity, error, run_id,"
                    " first_seen_at, last_seen_at, attempts) VALUES"
                    " (1, 'ticketmaster', 'K1', 'artist', 'boom', 2, :at, :at, 1),"
                    " (2, 'setlistfm', 'K2', 'artist', 'boom', NULL, :at, :at, 1)"
                ).bindparams(bindparam("at", type_=UTCDateTime)),
                {"at": AT},
            )
            await conn.execute(
                text(
                    "INSERT INTO artists (id, name, normalized_name, slug, sync_failures,"
                    " trending_views, trending_follows, trending_votes, trending_attendance,"
                    " trending_upcoming, created_at, updated_at)"
                    " VALUES (1, 'A', 'a', 'a', 0, 0, 0, 0, 0, 0, :at, :at)"
                ).bindparams(bindparam("at", type_=UTCDateTime)),
                {"at": AT},
            )
    finally:
        await engine.dispose()


async def _set_crashed(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE sync_runs SET status = 'crashed' WHERE id = 1"))
    finally:
        await engine.dispose()


async def test_upgrading_to_0004_keeps_runs_error_links_and_artists(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await _fill_at_0003(url)

    await upgrade(url, "0004")

    assert await current_revision(url) == "0004"
    assert await sql_rows(
        url, "SELECT id, job, status, heartbeat_at FROM sync_runs ORDER BY id"
    ) == [
        (1, "master-sync", "success", None),
        (2, "seed-comprehensive", "failed", None),
    ]
    assert await sql_rows(url, "SELECT id, run_id FROM sync_errors ORDER BY id") == [
        (1, 2),
        (2, None),
    ]
    assert await sql_rows(url, "SELECT id, claimed_by_run, claimed_until FROM artists") == [
        (1, None, None)
    ]
    await _set_crashed(url)
    assert await sql_rows(url, "SELECT status FROM sync_runs WHERE id = 1") == [("crashed",)]


async def test_downgrading_0004_turns_crashed_into_failed_and_keeps_links(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await _fill_at_0003(url)
    await upgrade(url, "0004")
    await _set_crashed(url)

    await downgrade(url, "0003")

    assert await current_revision(url) == "0003"
    assert await sql_rows(url, "SELECT id, status FROM sync_runs ORDER BY id") == [
        (1, "failed"),
        (2, "failed"),
    ]
    assert await sql_rows(url, "SELECT id, run_id FROM sync_errors ORDER BY id") == [
        (1, 2),
        (2, None),
    ]
    try:
        await _set_crashed(url)
    except IntegrityError:
        pass
    else:
        raise AssertionError("the 0003 schema accepted the status 'crashed'")
