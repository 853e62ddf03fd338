from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.tables import UserActivity
from monitor.activity import (
    MAX_EVENT_AGE,
    ActivityBatch,
    ActivityRejected,
    store_activity,
)
from tests.monitor.factories import (
    ARTISTS,
    ENTRIES,
    SETLISTS,
    SHOWS,
    SONGS,
    SUPPORT_ACTS,
    artist,
    entry,
    insert_rows,
    setlist,
    show,
    song,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ACTIVITY = UserActivity.__table__  # type: ignore[attr-defined]


async def _catalog(engine: AsyncEngine) -> None:
    """Artists 1-3; show 10 (headliner 1, support 2) and 11 (headliner 3); songs 100, 101 by
    artist 1 and 102 by artist 3; show 10's setlist has song 100, show 11's has song 102."""
    await insert_rows(
        engine,
        (ARTISTS, [artist(1), artist(2), artist(3)]),
        (SHOWS, [show(10, artist_id=1), show(11, artist_id=3)]),
        (SUPPORT_ACTS, [{"show_id": 10, "artist_id": 2, "position": 1}]),
        (SONGS, [song(100, artist_id=1), song(101, artist_id=1), song(102, artist_id=3)]),
        (SETLISTS, [setlist(1, artist_id=1, show_id=10), setlist(2, artist_id=3, show_id=11)]),
        (
            ENTRIES,
            [
                entry(1, setlist_id=1, position=1, song_id=100),
                entry(2, setlist_id=2, position=1, song_id=102),
            ],
        ),
    )


def _batch(*events: dict[str, Any]) -> ActivityBatch:
    """The batch as the API builds it: JSON decoded, then validated (FastAPI's request model)."""
    return ActivityBatch.model_validate(json.loads(json.dumps({"events": list(events)})))


def _ev(kind: str, **fields: Any) -> dict[str, Any]:
    return {"user_id": "u1", "kind": kind, **fields}


async def _stored(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(
                ACTIVITY.c.event_id,
                ACTIVITY.c.user_id,
                ACTIVITY.c.kind,
                ACTIVITY.c.artist_id,
                ACTIVITY.c.show_id,
                ACTIVITY.c.song_id,
                ACTIVITY.c.occurred_at,
                ACTIVITY.c.received_at,
            ).order_by(ACTIVITY.c.id)
        )
        return [dict(row._mapping) for row in rows]


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(ACTIVITY))).scalar_one())


# --- Storing --------------------------------------------------------------------------------


async def test_a_valid_batch_is_stored_with_artist_ids_filled_in(engine: AsyncEngine) -> None:
    await _catalog(engine)
    earlier = "2026-03-10T11:30:00+01:00"
    batch = _batch(
        _ev("view", artist_id=2, event_id="e1"),
        _ev("view", show_id=10, occurred_at=earlier),
        _ev("vote_up", song_id=100, show_id=10),
        _ev("vote_down", song_id=102, show_id=11, artist_id=3),
        _ev("follow", show_id=11),
        _ev("unfollow", artist_id=1),
        _ev("attendance", show_id=10, artist_id=2),
        _ev("view", song_id=101),
    )

    stored = await store_activity(engine, batch, now=NOW)

    assert stored == 8
    received = {"user_id": "u1", "occurred_at": NOW, "received_at": NOW, "event_id": None}
    assert await _stored(engine) == [
        received
        | {"event_id": "e1", "kind": "view", "artist_id": 2, "show_id": None, "song_id": None},
        received
        | {"kind": "view", "artist_id": 1, "show_id": 10, "song_id": None}
        | {"occurred_at": datetime(2026, 3, 10, 10, 30, tzinfo=UTC)},
        received | {"kind": "vote_up", "artist_id": 1, "show_id": 10, "song_id": 100},
        received | {"kind": "vote_down", "artist_id": 3, "show_id": 11, "song_id": 102},
        received | {"kind": "follow", "artist_id": 3, "show_id": 11, "song_id": None},
        received | {"kind": "unfollow", "artist_id": 1, "show_id": None, "song_id": None},
        received | {"kind": "attendance", "artist_id": 2, "show_id": 10, "song_id": None},
        received | {"kind": "view", "artist_id": 1, "show_id": None, "song_id": 101},
    ]


async def _upcoming(engine: AsyncEngine) -> None:
    """Show 12, upcoming: headliner 1, support act 2, no setlist yet; song 103 by artist 2."""
    await insert_rows(
        engine,
        (SHOWS, [show(12, artist_id=1, local_date=date(2026, 4, 1))]),
        (SUPPORT_ACTS, [{"show_id": 12, "artist_id": 2, "position": 1}]),
        (SONGS, [song(103, artist_id=2)]),
    )


async def test_votes_reach_an_upcoming_show_on_itself_or_its_predicted_setlist(
    engine: AsyncEngine,
) -> None:
    """Issue 12 defect: a vote needed a song of the show's stored setlist, so no vote could
    reach an upcoming show (and the show-votes part of trending was always 0 for them)."""
    await _catalog(engine)
    await _upcoming(engine)
    batch = _batch(
        _ev("vote_up", show_id=12),  # the show itself
        _ev("vote_down", show_id=12, song_id=101),  # a song of its headliner
        _ev("vote_up", show_id=12, song_id=103, artist_id=2),  # a song of its support act
        _ev("vote_up", show_id=10),  # a show-level vote on a show with a setlist
    )

    assert await store_activity(engine, batch, now=NOW) == 4
    assert [
        (r["kind"], r["artist_id"], r["show_id"], r["song_id"]) for r in await _stored(engine)
    ] == [
        ("vote_up", 1, 12, None),
        ("vote_down", 1, 12, 101),
        ("vote_up", 2, 12, 103),
        ("vote_up", 1, 10, None),
    ]


@pytest.mark.parametrize(
    ("bad_event", "field", "message"),
    [
        (
            _ev("vote_up", song_id=102, show_id=12),
            "song_id",
            "song 102 is not by an artist of show 12, which has no setlist yet",
        ),
        (
            _ev("vote_up", song_id=103, show_id=10),  # show 10 has a setlist: only its songs
            "song_id",
            "song 103 is not in the setlist of show 10",
        ),
        (
            _ev("vote_up", song_id=101, show_id=12, artist_id=2),
            "artist_id",
            "artist 2 is not the artist of song 101",
        ),
        (_ev("vote_down", show_id=99), "show_id", "no show 99"),
    ],
)
async def test_a_vote_on_an_upcoming_show_is_checked_against_its_performers(
    engine: AsyncEngine, bad_event: dict[str, Any], field: str, message: str
) -> None:
    await _catalog(engine)
    await _upcoming(engine)
    batch = _batch(_ev("vote_up", show_id=12), bad_event)

    with pytest.raises(ActivityRejected) as caught:
        await store_activity(engine, batch, now=NOW)

    assert (caught.value.index, caught.value.field, caught.value.message) == (1, field, message)
    assert await _count(engine) == 0


async def test_a_reposted_event_id_is_not_stored_twice(engine: AsyncEngine) -> None:
    await _catalog(engine)
    first = _batch(_ev("view", artist_id=1, event_id="a"), _ev("view", artist_id=1, event_id="b"))
    again = _batch(_ev("view", artist_id=1, event_id="a"), _ev("view", artist_id=2, event_id="c"))

    assert await store_activity(engine, first, now=NOW) == 2
    assert await store_activity(engine, again, now=NOW) == 1
    assert [(r["event_id"], r["artist_id"]) for r in await _stored(engine)] == [
        ("a", 1),
        ("b", 1),
        ("c", 2),
    ]


async def test_events_without_event_id_are_all_stored(engine: AsyncEngine) -> None:
    await _catalog(engine)
    batch = _batch(_ev("view", artist_id=1), _ev("view", artist_id=1))

    assert await store_activity(engine, batch, now=NOW) == 2
    assert await store_activity(engine, batch, now=NOW) == 2
    assert await _count(engine) == 4


async def test_an_occurred_at_up_to_five_minutes_ahead_is_accepted(engine: AsyncEngine) -> None:
    await _catalog(engine)
    batch = _batch(_ev("view", artist_id=1, occurred_at="2026-03-10T12:05:00Z"))

    assert await store_activity(engine, batch, now=NOW) == 1
    assert (await _stored(engine))[0]["occurred_at"] == NOW + timedelta(minutes=5)


async def test_an_occurred_at_up_to_thirty_days_old_is_accepted(engine: AsyncEngine) -> None:
    await _catalog(engine)
    batch = _batch(_ev("view", artist_id=1, occurred_at="2026-02-08T12:00:00Z"))

    assert await store_activity(engine, batch, now=NOW) == 1
    assert (await _stored(engine))[0]["occurred_at"] == NOW - MAX_EVENT_AGE


# --- Rejections store nothing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_event", "field", "message"),
    [
        (_ev("view", artist_id=9), "artist_id", "no artist 9"),
        (_ev("attendance", show_id=99), "show_id", "no show 99"),
        (_ev("view", song_id=999), "song_id", "no song 999"),
        (
            _ev("vote_up", song_id=101, show_id=10),
            "song_id",
            "song 101 is not in the setlist of show 10",
        ),
        (
            _ev("vote_down", song_id=102, show_id=10),
            "song_id",
            "song 102 is not in the setlist of show 10",
        ),
        (
            _ev("view", song_id=100, artist_id=3),
            "artist_id",
            "artist 3 is not the artist of song 100",
        ),
        (_ev("follow", show_id=11, artist_id=2), "artist_id", "artist 2 does not play show 11"),
        (
            _ev("view", occurred_at="2026-03-10T12:05:01Z", artist_id=1),
            "occurred_at",
            "is 0:05:01 in the future; at most 0:05:00 is allowed",
        ),
        (
            _ev("view", occurred_at="2026-02-08T11:59:59.999999Z", artist_id=1),
            "occurred_at",
            "is older than 30 days (before 2026-02-08T12:00:00Z)",
        ),
        (
            _ev("view", occurred_at="1970-01-01T00:00:00Z", artist_id=1),
            "occurred_at",
            "is older than 30 days (before 2026-02-08T12:00:00Z)",
        ),
        (
            _ev("view", artist_id=1, event_id="first"),
            "event_id",
            "repeats the event_id of event 0",
        ),
    ],
)
async def test_one_bad_event_rejects_the_whole_batch_naming_its_index_and_field(
    engine: AsyncEngine, bad_event: dict[str, Any], field: str, message: str
) -> None:
    await _catalog(engine)
    batch = _batch(
        _ev("view", artist_id=1, event_id="first"),
        _ev("vote_up", song_id=100, show_id=10),
        bad_event,
        _ev("attendance", show_id=11),
    )

    with pytest.raises(ActivityRejected) as caught:
        await store_activity(engine, batch, now=NOW)

    assert (caught.value.index, caught.value.field, caught.value.message) == (2, field, message)
    assert caught.value.location() == ["body", "events", 2, field]
    assert str(caught.value) == f"event 2, {field}: {message}"
    assert await _count(engine) == 0


async def test_a_rejected_batch_leaves_earlier_events_untouched(engine: AsyncEngine) -> None:
    await _catalog(engine)
    await store_activity(engine, _batch(_ev("view", artist_id=1, event_id="kept")), now=NOW)

    with pytest.raises(ActivityRejected):
        await store_activity(
            engine,
            _batch(_ev("view", artist_id=2, event_id="new"), _ev("view", artist_id=404)),
            now=NOW,
        )

    assert [r["event_id"] for r in await _stored(engine)] == ["kept"]


async def test_store_activity_refuses_a_naive_now(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        await store_activity(
            engine, _batch(_ev("view", artist_id=1)), now=datetime(2026, 3, 10, 12)
        )


async def test_a_full_batch_is_checked_with_five_queries(engine: AsyncEngine) -> None:
    await _catalog(engine)
    events = [
        _ev("vote_up", song_id=100, show_id=10, artist_id=1, event_id=f"v{i}") for i in range(500)
    ] + [_ev("follow", show_id=10, artist_id=2, event_id=f"f{i}") for i in range(500)]
    batch = _batch(*events)
    statements: list[str] = []

    def _record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", _record)
    try:
        stored = await store_activity(engine, batch, now=NOW)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _record)

    assert stored == 1000
    assert await _count(engine) == 1000
    assert sum(1 for s in statements if s.lstrip().upper().startswith("SELECT")) == 5


# --- Validation (the API answers for faults are in test_api.py) ----------------------------


def test_the_batch_model_accepts_every_kind_with_its_targets() -> None:
    batch = _batch(
        _ev("view", song_id=1),
        _ev("follow", artist_id=1),
        _ev("unfollow", show_id=1),
        _ev("vote_up", song_id=1, show_id=2),
        _ev("vote_down", song_id=1, show_id=2, artist_id=3),
        _ev("vote_up", show_id=2),
        _ev("attendance", show_id=2, artist_id=1, occurred_at="2026-03-10T11:00:00-05:00"),
    )

    assert [e.kind.value for e in batch.events] == [
        "view",
        "follow",
        "unfollow",
        "vote_up",
        "vote_down",
        "vote_up",
        "attendance",
    ]
    assert batch.events[6].occurred_at == datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
