"""The sync flows against a hostile upstream (the sandbox's hostile mode), on SQLite and
PostgreSQL: nothing out of bounds is stored, every bad record is in ``sync_errors``, the good
records of the same page are stored, no quota is spent beyond the run's budget; and a run with
canary keys at DEBUG for every logger leaves no key anywhere."""

from __future__ import annotations

import base64
import logging
import math
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from clients._bounds import (
    FIRST_PLAUSIBLE_DAY,
    LAST_PLAUSIBLE_DAY,
    MAX_FOLLOWERS,
    MAX_PRICE,
    control_character,
)
from clients.errors import record_key
from flows.autonomous_sync import autonomous_sync
from flows.master_sync import master_sync
from models.tables import Artist, Show, SyncError
from sandbox.core import Sandbox
from sandbox.hostile import RECORD_KINDS, BadRecord
from tests.flows.conftest import SyncWorld

pytestmark = pytest.mark.prefect

StartSandbox = Callable[..., Sandbox]
ARTISTS = Artist.__table__  # type: ignore[attr-defined]
SHOWS = Show.__table__  # type: ignore[attr-defined]
ERRORS = SyncError.__table__  # type: ignore[attr-defined]

# Small split budgets, so the bound on Ticketmaster requests below is tight.
SPLITS_PER_QUERY, SPLITS_PER_RUN = 2, 6
BUDGETS = {
    "TICKETMASTER_MAX_SPLITS_PER_QUERY": str(SPLITS_PER_QUERY),
    "TICKETMASTER_MAX_SPLITS_PER_RUN": str(SPLITS_PER_RUN),
}
MARKETS = 21
PAGES_PER_WINDOW = 5  # deep paging: 1,000 events at 200 a page

# Columns whose text may hold line breaks (free text and our own error reports).
MULTILINE = {
    ("setlists", "info"),
    ("setlist_entries", "info"),
    ("sync_errors", "error"),
    ("sync_errors", "payload_excerpt"),
    ("sync_runs", "error_summary"),
    ("artists", "last_sync_error"),
}
UNBOUNDED_TEXT = 50_000  # our error reports; upstream text is bounded by its own column
URL = re.compile(r"^https?://[^\s/?#]+")


def _bad_value(table: str, column: Any, value: Any) -> str | None:
    """Why ``value`` is out of the bounds of ``table.column``, or None."""
    name = column.name
    if isinstance(value, str):
        found = control_character(value, multiline=(table, name) in MULTILINE)
        if found is not None:
            return f"control character {found}"
        limit = getattr(column.type, "length", None) or UNBOUNDED_TEXT
        if len(value) > limit:
            return f"{len(value)} characters (at most {limit})"
        if "url" in name and not URL.match(value):
            return "not an http(s) URL"
    elif isinstance(value, datetime | date):
        day = value.date() if isinstance(value, datetime) else value
        if not FIRST_PLAUSIBLE_DAY <= day <= LAST_PLAUSIBLE_DAY:
            return f"date {day} outside the plausible window"
    elif isinstance(value, Decimal):
        if not 0 <= value <= MAX_PRICE:
            return f"price {value}"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return "not finite"
        if name == "latitude" and not -90 <= value <= 90:
            return f"latitude {value}"
        if name == "longitude" and not -180 <= value <= 180:
            return f"longitude {value}"
    elif isinstance(value, int) and not isinstance(value, bool):
        if name == "popularity" and not 0 <= value <= 100:
            return f"popularity {value}"
        if name == "followers" and not 0 <= value <= MAX_FOLLOWERS:
            return f"followers {value}"
    elif isinstance(value, dict | list):
        for text in _strings(value):
            if control_character(text) is not None or len(text) > 2048:
                return "bad text inside JSON"
    return None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


async def out_of_bounds(engine: AsyncEngine) -> list[str]:
    """Every stored value, of every column of every table, that is out of bounds."""
    found = []
    async with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await conn.execute(select(table))).all():
                for column, value in zip(table.columns, row, strict=True):
                    why = _bad_value(table.name, column, value) if value is not None else None
                    if why is not None:
                        found.append(f"{table.name}.{column.name}: {why}")
    return found


async def rows(engine: AsyncEngine, query: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())


# --- the hostile run ---------------------------------------------------------------------------


async def test_a_hostile_upstream_stores_nothing_bad_records_every_bad_record_keeps_the_rest(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    world.configure(**BUDGETS)
    sandbox = use_sandbox(hostile_rate=0.12, hostile_answer_rate=0.25)
    hostility = sandbox.hostility

    engine = world.engine
    discovered = await autonomous_sync(mode="discovery", limit=500)
    answers_before_sync = len(hostility.answers)
    synced = await autonomous_sync(mode="sync", limit=500)
    # An artist whose events came back as a 200 carrying an error object is not marked synced.
    after_sync = {a.ticketmaster_id: a for a in await rows(engine, select(ARTISTS))}
    refused = [
        dict(answer.query)["attractionId"]
        for answer in hostility.answers[answers_before_sync:]
        if answer.hostile == "error_body" and "attractionId" in dict(answer.query)
    ]
    assert refused, [(a.api, a.hostile) for a in hostility.answers]
    for tm_id in refused:
        assert after_sync[tm_id].ticketmaster_synced_at is None
        assert after_sync[tm_id].sync_failures == 1
    mastered = await master_sync(mode="full", limit=500)

    # Nothing out of bounds stored, on either database.
    assert await out_of_bounds(engine) == []
    assert discovered["artists_added"] > 20
    assert synced["artists_synced"] > 10
    assert mastered["artists_synced"] > 10

    # Every bad record the flows read is in sync_errors, with its source and key (but those
    # read by an artist's sync that then failed: the flows drop them, see the xfail below).
    recorded = {(row.source, row.key) for row in await rows(engine, select(ERRORS))}
    artists = await rows(engine, select(ARTISTS))
    by_tm = {a.ticketmaster_id: a for a in artists if a.ticketmaster_id}
    failed = {a.id for a in artists if ("sync", f"artist:{a.id}") in recorded}
    bad = [r for r in hostility.records.values() if (r.api, r.kind) in RECORDED_KINDS]
    kept = [r for r in bad if _owner(sandbox, artists, r) not in failed]
    expected = {(r.api, f"{r.kind}:{record_key(r.served_id, index=-1)}") for r in kept}
    assert expected - recorded == set()
    assert len(kept) > 20
    assert {r.hostile for r in kept} == set(RECORD_KINDS)  # every bad value was served

    # Every 200 carrying an error object failed its market or its artist, which stays unsynced.
    errors = [a for a in hostility.answers if a.hostile == "error_body"]
    assert errors
    for answer in errors:
        query = dict(answer.query)
        if answer.api == "ticketmaster" and "marketId" in query:
            assert ("ticketmaster", f"market:{query['marketId']}") in recorded
        elif answer.api == "ticketmaster" and "attractionId" in query:
            assert ("sync", f"artist:{by_tm[query['attractionId']].id}") in recorded

    # Each inflated count is recorded as an untrusted page, and cost no split.
    inflated = [a for a in hostility.answers if a.hostile == "inflated_total"]
    assert inflated
    pages = {key for source, key in recorded if key.startswith("events page:")}
    for answer in inflated:
        query = dict(answer.query)
        assert any(
            f"@{query['startDateTime']}/{query['endDateTime']}#p{query.get('page', '0')}" in key
            for key in pages
        )

    # The good records that shared a page with a bad one are stored (unless their artist's
    # whole sync failed for another, recorded, reason).
    failed_tm = {a.ticketmaster_id for a in artists if ("sync", f"artist:{a.id}") in recorded}
    stored_shows = {row.ticketmaster_id for row in await rows(engine, select(SHOWS))}
    good_events = {
        key for page in hostility.pages if page.api == "ticketmaster" for key in page.good
    }
    catalog = sandbox.catalog
    expected_shows = set()
    for event_id in good_events:
        headliner = next(a for a in catalog.event_by_id[event_id].attractions if a.ticketmaster_id)
        if headliner.ticketmaster_id in by_tm and headliner.ticketmaster_id not in failed_tm:
            expected_shows.add(event_id)
    assert len(expected_shows) > 10
    assert expected_shows - stored_shows == set()

    # No quota spent beyond the run's budget: per search at most its windows' pages, per run at
    # most SPLITS_PER_RUN splits (each one more probe and one more window).
    assert discovered["requests_ticketmaster"] <= MARKETS * PAGES_PER_WINDOW + SPLITS_PER_RUN * (
        1 + PAGES_PER_WINDOW
    )
    assert discovered["requests_ticketmaster"] == MARKETS  # inflated pages are short: no split


# The records the flows read page by page and record when refused.
RECORDED_KINDS = {("ticketmaster", "event"), ("setlistfm", "setlist")}


def _owner(sandbox: Sandbox, artists: list[Any], record: BadRecord) -> int | None:
    """Our id of the artist whose sync read ``record`` (an event's headliner, a setlist's
    artist)."""
    catalog = sandbox.catalog
    if record.kind == "event":
        event = catalog.event_by_id[record.key]
        tm_id = next(a.ticketmaster_id for a in event.attractions if a.ticketmaster_id)
        return next((a.id for a in artists if a.ticketmaster_id == tm_id), None)
    performance = catalog.performance_by_setlist_id(record.key)
    mbid = performance.artist.mbid if performance is not None else None
    return next((a.id for a in artists if mbid and a.mbid == mbid), None)


async def test_every_bad_record_read_is_recorded_whatever_else_failed(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    # Bad records only (answers carrying an error object are tested above): every read
    # returns its page, so each API serves some of its bad records.
    sandbox = use_sandbox(hostile_rate=0.2, hostile_answer_rate=0.0)
    await autonomous_sync(mode="discovery", limit=30)
    await master_sync(mode="full", limit=30)
    recorded = {(row.source, row.key) for row in await rows(world.engine, select(ERRORS))}
    bad = {
        (r.api, f"{r.kind}:{record_key(r.served_id, index=-1)}")
        for r in sandbox.hostility.records.values()
    }
    assert {api for api, _ in bad} == {"ticketmaster", "setlistfm", "spotify"}
    assert bad - recorded == set()


async def test_an_inflated_total_on_every_page_costs_one_request_per_market(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    world.configure(**BUDGETS)
    sandbox = use_sandbox(hostile_rate=1.0, hostile_kinds=("inflated_total",))
    result = await autonomous_sync(mode="discovery", limit=5)
    recorded = [row for row in await rows(world.engine, select(ERRORS))]
    assert result["requests_ticketmaster"] == sandbox.stats.total("ticketmaster") == MARKETS
    assert len([r for r in recorded if r.key.startswith("events page:market=")]) == MARKETS
    assert result["artists_added"] == 5


# --- secrets at every log level ----------------------------------------------------------------

CANARIES = {
    "TICKETMASTER_API_KEY": "CanaryTicketmasterKey7f3a9",
    "SETLISTFM_API_KEY": "canary-setlistfm-key-2b8e1",
    "SPOTIFY_CLIENT_ID": "canary-spotify-client-id-4c6d0",
    "SPOTIFY_CLIENT_SECRET": "canary-spotify-client-secret-9e2f7",
    "CRON_SECRET": "canary-cron-secret-5a1b-0123456789abcdef0123",
}


@pytest.fixture
def every_logger_at_debug() -> Iterator[None]:
    """Root and every existing logger at DEBUG, restored afterwards."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    yield
    for logger, level in saved:
        logger.setLevel(level)


async def _prefect_records(flow_run_ids: list[UUID]) -> str:
    """What Prefect keeps of these runs: parameters, states, logs, every artifact."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )

    async with get_client() as client:
        runs = [await client.read_flow_run(run_id) for run_id in flow_run_ids]
        logs = await client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=flow_run_ids)), limit=200
        )
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=flow_run_ids))
        )
    return repr(runs) + repr(logs) + repr(artifacts)


async def test_a_run_at_debug_with_canary_keys_leaves_no_key_anywhere(
    world: SyncWorld,
    use_sandbox: StartSandbox,
    every_logger_at_debug: None,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    del every_logger_at_debug
    world.configure(**CANARIES)
    caplog.set_level(logging.DEBUG)
    sandbox = use_sandbox(hostile_rate=0.1)  # refusals and errors carry URLs too

    await autonomous_sync(mode="full", limit=8)
    await master_sync(mode="full", limit=8)

    engine = world.engine
    stored: list[str] = []
    async with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            stored.extend(repr(row) for row in (await conn.execute(select(table))).all())
    run_ids = [
        UUID(row.flow_run_id)
        for row in await rows(engine, select(SQLModel.metadata.tables["sync_runs"]))
        if row.flow_run_id
    ]
    out, err = capfd.readouterr()
    logs = [
        r.getMessage() + repr(r.args) + repr(getattr(r, "exc_text", "")) for r in caplog.records
    ]
    everything = "\n".join([out, err, caplog.text, *logs, *stored, await _prefect_records(run_ids)])

    assert len(run_ids) == 2
    assert any(r.name == "httpx" for r in caplog.records)  # the request lines were logged
    assert "apikey=***" in everything
    basic = base64.b64encode(
        f"{CANARIES['SPOTIFY_CLIENT_ID']}:{CANARIES['SPOTIFY_CLIENT_SECRET']}".encode()
    ).decode()
    # the Basic header and the access tokens the sandbox issued are secrets too
    secrets = [*CANARIES.values(), basic, *sandbox._tokens]
    found = [secret for secret in secrets if secret in everything]
    assert found == []
