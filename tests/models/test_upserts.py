"""Every behaviour of ``models.upserts.upsert``, on SQLite and PostgreSQL, through both paths."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, event, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers every table)
import models.upserts as upserts_module
from models.db import create_all, make_engine
from models.tables import Artist, ArtistSnapshot
from models.upserts import Method, UpsertResult, upsert
from tests.models.conftest import table_rows

artists: Table = SQLModel.metadata.tables["artists"]
shows: Table = SQLModel.metadata.tables["shows"]
songs: Table = SQLModel.metadata.tables["songs"]

NOW1 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW2 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BOTH_PATHS = pytest.mark.parametrize("method", ["statement", "bulk"])


def artist_row(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "spotify_id": f"sp{n}",
        "name": f"Artist {n}",
        "normalized_name": f"artist {n}",
        "slug": f"artist-{n}",
        **extra,
    }


def show_row(n: int, artist_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "ticketmaster_id": f"tm{n}",
        "artist_id": artist_id,
        "local_date": date(2026, 5, n),
        "name": f"Show {n}",
        **extra,
    }


async def artist_rows(engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await table_rows(conn, artists, order_by="id")
    return {row["spotify_id"]: row for row in rows}


async def new_artist(engine: AsyncEngine, n: int = 99) -> int:
    async with engine.begin() as conn:
        result = await upsert(
            conn, artists, [artist_row(n)], conflict=["spotify_id"], with_ids=True
        )
    return result.ids[(f"sp{n}",)]


@BOTH_PATHS
async def test_first_upsert_inserts_every_row_and_maps_every_id(
    engine: AsyncEngine, method: Method
) -> None:
    batch = [artist_row(1), artist_row(2), artist_row(3)]
    async with engine.begin() as conn:
        result = await upsert(
            conn, Artist, batch, conflict=["spotify_id"], with_ids=True, method=method, now=NOW1
        )

    stored = await artist_rows(engine)
    assert (result.inserted, result.updated, result.unchanged) == (3, 0, 0)
    assert result.ids == {(key,): row["id"] for key, row in stored.items()}
    assert sorted(result.ids) == [("sp1",), ("sp2",), ("sp3",)]
    assert [(r["name"], r["created_at"], r["updated_at"]) for r in stored.values()] == [
        ("Artist 1", NOW1, NOW1),
        ("Artist 2", NOW1, NOW1),
        ("Artist 3", NOW1, NOW1),
    ]
    assert {r["sync_failures"] for r in stored.values()} == {0}  # the column default


@BOTH_PATHS
async def test_the_same_batch_twice_changes_nothing_the_second_time(
    engine: AsyncEngine, method: Method
) -> None:
    batch = [artist_row(1, popularity=50), artist_row(2, genres=["rock"]), artist_row(3)]
    async with engine.begin() as conn:
        await upsert(conn, artists, batch, conflict=["spotify_id"], method=method, now=NOW1)
    before = await artist_rows(engine)

    async with engine.begin() as conn:
        again = await upsert(
            conn, artists, batch, conflict=["spotify_id"], with_ids=True, method=method, now=NOW2
        )

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert again.ids == {(key,): row["id"] for key, row in before.items()}
    assert await artist_rows(engine) == before


@BOTH_PATHS
async def test_a_changed_value_updates_only_that_row_and_moves_its_updated_at(
    engine: AsyncEngine, method: Method
) -> None:
    async with engine.begin() as conn:
        await upsert(
            conn, artists, [artist_row(n) for n in (1, 2, 3)], conflict=["spotify_id"], now=NOW1
        )

    batch = [artist_row(1), artist_row(2, name="Renamed"), artist_row(3)]
    async with engine.begin() as conn:
        result = await upsert(
            conn, artists, batch, conflict=["spotify_id"], method=method, now=NOW2
        )

    stored = await artist_rows(engine)
    assert result == UpsertResult(inserted=0, updated=1, unchanged=2)
    assert [(r["name"], r["created_at"], r["updated_at"]) for r in stored.values()] == [
        ("Artist 1", NOW1, NOW1),
        ("Renamed", NOW1, NOW2),
        ("Artist 3", NOW1, NOW1),
    ]


@BOTH_PATHS
async def test_an_omitted_column_is_never_touched_but_an_explicit_none_is_written(
    engine: AsyncEngine, method: Method
) -> None:
    async with engine.begin() as conn:
        await upsert(
            conn,
            artists,
            [artist_row(1, popularity=70, followers=1000)],
            conflict=["spotify_id"],
            now=NOW1,
        )

    # A Spotify development-mode artist: no popularity, no followers.
    async with engine.begin() as conn:
        same = await upsert(conn, artists, [artist_row(1)], conflict=["spotify_id"], method=method)
        renamed = await upsert(
            conn, artists, [artist_row(1, name="New")], conflict=["spotify_id"], method=method
        )
    row = (await artist_rows(engine))["sp1"]
    assert (same.unchanged, renamed.updated) == (1, 1)
    assert (row["name"], row["popularity"], row["followers"]) == ("New", 70, 1000)

    async with engine.begin() as conn:
        cleared = await upsert(
            conn,
            artists,
            [artist_row(1, name="New", popularity=None)],
            conflict=["spotify_id"],
            method=method,
        )
    row = (await artist_rows(engine))["sp1"]
    assert cleared.updated == 1
    assert (row["popularity"], row["followers"]) == (None, 1000)


@BOTH_PATHS
async def test_rows_with_different_columns_each_touch_only_their_own(
    engine: AsyncEngine, method: Method
) -> None:
    async with engine.begin() as conn:
        await upsert(
            conn,
            artists,
            [artist_row(1, popularity=10), artist_row(2, popularity=20)],
            conflict=["spotify_id"],
        )

    batch = [artist_row(1, popularity=11), artist_row(2), artist_row(3)]
    async with engine.begin() as conn:
        result = await upsert(conn, artists, batch, conflict=["spotify_id"], method=method)

    stored = await artist_rows(engine)
    assert result == UpsertResult(inserted=1, updated=1, unchanged=1)
    assert {k: r["popularity"] for k, r in stored.items()} == {"sp1": 11, "sp2": 20, "sp3": None}


@BOTH_PATHS
async def test_a_key_repeated_in_one_batch_is_written_once_and_the_last_row_wins(
    engine: AsyncEngine, method: Method
) -> None:
    batch = [artist_row(1, name="First"), artist_row(2), artist_row(1, name="Last")]
    async with engine.begin() as conn:
        created = await upsert(
            conn, artists, batch, conflict=["spotify_id"], with_ids=True, method=method
        )
        # PostgreSQL refuses to touch one row twice in a statement: the repeat must not reach it.
        changed = await upsert(
            conn,
            artists,
            [artist_row(1, name="A"), artist_row(1, name="B"), artist_row(2)],
            conflict=["spotify_id"],
            method=method,
        )

    stored = await artist_rows(engine)
    assert (created.inserted, created.updated, created.unchanged) == (2, 0, 0)
    assert sorted(created.ids) == [("sp1",), ("sp2",)]
    assert changed == UpsertResult(inserted=0, updated=1, unchanged=1)
    assert {k: r["name"] for k, r in stored.items()} == {"sp1": "B", "sp2": "Artist 2"}


@BOTH_PATHS
async def test_update_empty_means_do_nothing_yet_every_id_is_returned(
    engine: AsyncEngine, method: Method
) -> None:
    async with engine.begin() as conn:
        await upsert(conn, artists, [artist_row(1)], conflict=["spotify_id"], now=NOW1)

    batch = [artist_row(1, name="Ignored"), artist_row(4)]
    async with engine.begin() as conn:
        result = await upsert(
            conn, artists, batch, conflict=["spotify_id"], update=(), with_ids=True, method=method
        )

    stored = await artist_rows(engine)
    assert (result.inserted, result.updated, result.unchanged) == (1, 0, 1)
    assert result.ids == {("sp1",): stored["sp1"]["id"], ("sp4",): stored["sp4"]["id"]}
    assert (stored["sp1"]["name"], stored["sp1"]["updated_at"]) == ("Artist 1", NOW1)


@BOTH_PATHS
async def test_explicit_update_columns_are_the_only_ones_compared_and_written(
    engine: AsyncEngine, method: Method
) -> None:
    async with engine.begin() as conn:
        await upsert(conn, artists, [artist_row(1, popularity=5)], conflict=["spotify_id"])

    async with engine.begin() as conn:
        name_only = await upsert(
            conn,
            artists,
            [artist_row(1, name="X", popularity=5)],
            conflict=["spotify_id"],
            update=["popularity"],
            method=method,
        )
        both = await upsert(
            conn,
            artists,
            [artist_row(1, name="Y", popularity=6)],
            conflict=["spotify_id"],
            update=["popularity"],
            method=method,
        )

    row = (await artist_rows(engine))["sp1"]
    assert (name_only.unchanged, both.updated) == (1, 1)
    assert (row["name"], row["popularity"]) == ("Artist 1", 6)


@BOTH_PATHS
async def test_absent_columns_get_their_default_on_insert_and_keep_their_value_after(
    engine: AsyncEngine, method: Method
) -> None:
    artist_id = await new_artist(engine)
    async with engine.begin() as conn:
        await upsert(conn, shows, [show_row(1, artist_id)], conflict=["ticketmaster_id"])
        await upsert(
            conn, shows, [show_row(1, artist_id, status="cancelled")], conflict=["ticketmaster_id"]
        )
        result = await upsert(
            conn, shows, [show_row(1, artist_id)], conflict=["ticketmaster_id"], method=method
        )
        status = (await conn.execute(select(shows.c.status))).scalar_one()

    assert result.unchanged == 1
    assert status == "cancelled"


@BOTH_PATHS
async def test_money_stays_an_exact_decimal(engine: AsyncEngine, method: Method) -> None:
    artist_id = await new_artist(engine)
    batch = [
        show_row(1, artist_id, min_price=Decimal("19.99"), max_price=Decimal("9999999999.99")),
        show_row(2, artist_id, min_price=Decimal("10.5"), max_price=None),
    ]
    async with engine.begin() as conn:
        await upsert(conn, shows, batch, conflict=["ticketmaster_id"], method=method)
        same_amount = [show_row(2, artist_id, min_price=Decimal("10.50"), max_price=None)]
        again = await upsert(conn, shows, same_amount, conflict=["ticketmaster_id"], method=method)
        stored = (
            await conn.execute(select(shows.c.min_price, shows.c.max_price).order_by(shows.c.id))
        ).all()

    assert again.unchanged == 1
    assert [tuple(row) for row in stored] == [
        (Decimal("19.99"), Decimal("9999999999.99")),
        (Decimal("10.50"), None),
    ]
    assert all(isinstance(price, Decimal) for price in (stored[0][0], stored[0][1], stored[1][0]))


@BOTH_PATHS
async def test_datetimes_are_stored_as_utc_and_come_back_aware(
    engine: AsyncEngine, method: Method
) -> None:
    artist_id = await new_artist(engine)
    paris_summer = timezone(timedelta(hours=2))
    starts = datetime(2026, 5, 1, 21, 30, tzinfo=paris_summer)
    async with engine.begin() as conn:
        await upsert(
            conn,
            shows,
            [show_row(1, artist_id, starts_at=starts)],
            conflict=["ticketmaster_id"],
            method=method,
        )
        same_instant = [show_row(1, artist_id, starts_at=datetime(2026, 5, 1, 19, 30, tzinfo=UTC))]
        again = await upsert(conn, shows, same_instant, conflict=["ticketmaster_id"], method=method)
        stored = (await conn.execute(select(shows.c.starts_at))).scalar_one()

    assert again.unchanged == 1
    assert stored == datetime(2026, 5, 1, 19, 30, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


@BOTH_PATHS
async def test_a_naive_datetime_is_refused_before_anything_is_written(
    engine: AsyncEngine, method: Method
) -> None:
    artist_id = await new_artist(engine)
    batch = [
        show_row(1, artist_id, starts_at=datetime(2026, 5, 1, 19, 30, tzinfo=UTC)),
        show_row(2, artist_id, starts_at=datetime(2026, 5, 2, 19, 30)),
    ]
    with pytest.raises(ValueError, match="naive datetime 2026-05-02T19:30:00 given where UTC"):
        async with engine.begin() as conn:
            await upsert(conn, shows, batch, conflict=["ticketmaster_id"], method=method)

    async with engine.connect() as conn:
        assert await table_rows(conn, shows, order_by="id") == []


@BOTH_PATHS
async def test_a_composite_key_maps_ids_by_tuple(engine: AsyncEngine, method: Method) -> None:
    first, second = await new_artist(engine, 1), await new_artist(engine, 2)
    batch = [
        {"artist_id": first, "title": "Intro", "normalized_title": "intro"},
        {"artist_id": second, "title": "Intro!", "normalized_title": "intro"},
        {"artist_id": first, "title": "Outro", "normalized_title": "outro"},
    ]
    async with engine.begin() as conn:
        created = await upsert(
            conn,
            songs,
            batch,
            conflict=["artist_id", "normalized_title"],
            update=(),
            with_ids=True,
            method=method,
        )
        again = await upsert(
            conn,
            songs,
            batch,
            conflict=["artist_id", "normalized_title"],
            update=(),
            with_ids=True,
            method=method,
        )
        stored = await table_rows(conn, songs, order_by="id")

    expected = {(r["artist_id"], r["normalized_title"]): r["id"] for r in stored}
    assert (created.inserted, again.unchanged) == (3, 3)
    assert created.ids == again.ids == expected
    assert sorted(expected) == [(first, "intro"), (first, "outro"), (second, "intro")]


@BOTH_PATHS
async def test_chunks_add_up_to_the_same_counts_and_rows(
    engine: AsyncEngine, method: Method
) -> None:
    async with engine.begin() as conn:
        await upsert(conn, artists, [artist_row(n) for n in (1, 2, 3)], conflict=["spotify_id"])

    batch = [artist_row(1), artist_row(2, name="Changed"), *(artist_row(n) for n in range(3, 8))]
    async with engine.begin() as conn:
        result = await upsert(
            conn,
            artists,
            batch,
            conflict=["spotify_id"],
            with_ids=True,
            chunk_size=3,
            method=method,
        )

    stored = await artist_rows(engine)
    assert (result.inserted, result.updated, result.unchanged) == (4, 1, 2)
    assert result.ids == {(key,): row["id"] for key, row in stored.items()}
    assert stored["sp2"]["name"] == "Changed"


@BOTH_PATHS
async def test_json_values_compare_by_value(engine: AsyncEngine, method: Method) -> None:
    images = [{"url": "https://i.example/1.jpg", "height": 640, "width": 640}]
    async with engine.begin() as conn:
        await upsert(
            conn,
            artists,
            [artist_row(1, images=images, genres=["rock", "indie"])],
            conflict=["spotify_id"],
        )
        same = await upsert(
            conn,
            artists,
            [artist_row(1, images=[dict(images[0])], genres=["rock", "indie"])],
            conflict=["spotify_id"],
            method=method,
        )
        changed = await upsert(
            conn,
            artists,
            [artist_row(1, images=images, genres=["rock"])],
            conflict=["spotify_id"],
            method=method,
        )

    row = (await artist_rows(engine))["sp1"]
    assert (same.unchanged, changed.updated) == (1, 1)
    assert (row["images"], row["genres"]) == (images, ["rock"])


@BOTH_PATHS
async def test_another_unique_key_still_raises_integrity_error(
    engine: AsyncEngine, method: Method
) -> None:
    artist_id = await new_artist(engine)
    async with engine.begin() as conn:
        await upsert(
            conn, shows, [show_row(1, artist_id, setlistfm_id="sf1")], conflict=["ticketmaster_id"]
        )

    clash = [show_row(2, artist_id, setlistfm_id="sf1")]
    with pytest.raises(IntegrityError, match="setlistfm_id"):
        async with engine.begin() as conn:
            await upsert(conn, shows, clash, conflict=["ticketmaster_id"], method=method)


@BOTH_PATHS
async def test_a_check_constraint_still_raises_integrity_error(
    engine: AsyncEngine, method: Method
) -> None:
    with pytest.raises(IntegrityError, match="ck_artists_popularity"):
        async with engine.begin() as conn:
            await upsert(
                conn,
                artists,
                [artist_row(1, popularity=101)],
                conflict=["spotify_id"],
                method=method,
            )


@BOTH_PATHS
async def test_a_missing_parent_still_raises_integrity_error(
    engine: AsyncEngine, method: Method
) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await upsert(
                conn, shows, [show_row(1, 12345)], conflict=["ticketmaster_id"], method=method
            )


async def test_an_empty_batch_writes_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        result = await upsert(conn, artists, [], conflict=["spotify_id"], with_ids=True)
    assert result == UpsertResult(inserted=0, updated=0, unchanged=0, ids={})


@pytest.mark.parametrize(
    ("rows", "options", "error", "message"),
    [
        ([{"name": "x"}], {}, ValueError, "lacks the conflict column 'spotify_id'"),
        ([artist_row(1, spotify_id=None)], {}, ValueError, "conflict value is NULL"),
        (
            [artist_row(1, colour="red")],
            {},
            ValueError,
            r"unknown columns of artists: \['colour'\]",
        ),
        ([artist_row(1, id=7)], {}, ValueError, "surrogate key artists.id"),
        ([artist_row(1)], {"conflict": ["spotify"]}, ValueError, r"conflict names unknown"),
        ([artist_row(1)], {"conflict": []}, ValueError, "at least one column"),
        ([artist_row(1)], {"conflict": "spotify_id"}, TypeError, "not a string"),
        ([artist_row(1)], {"update": ["spotify_id"]}, ValueError, "update names conflict"),
        ([artist_row(1)], {"update": ["updated_at"]}, ValueError, "updated_at is managed"),
        ([artist_row(1)], {"update": ["colour"]}, ValueError, "update names unknown"),
        ([artist_row(1)], {"chunk_size": 0}, ValueError, "chunk_size must be positive"),
        ([artist_row(1)], {"method": "fast"}, ValueError, "unknown method 'fast'"),
        ([artist_row(1)], {"now": datetime(2026, 1, 1)}, ValueError, "now must be timezone-aware"),
    ],
    ids=[
        "missing-key",
        "null-key",
        "unknown-column",
        "surrogate-id",
        "unknown-conflict",
        "empty-conflict",
        "conflict-string",
        "update-key",
        "update-updated_at",
        "update-unknown",
        "chunk-size-zero",
        "unknown-method",
        "naive-now",
    ],
)
async def test_invalid_calls_are_refused_before_any_write(
    engine: AsyncEngine,
    rows: list[dict[str, Any]],
    options: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    kwargs: dict[str, Any] = {"conflict": ["spotify_id"], **options}
    with pytest.raises(error, match=message):
        async with engine.begin() as conn:
            await upsert(conn, artists, rows, **kwargs)
    assert await artist_rows(engine) == {}


async def test_ids_need_a_single_integer_primary_key(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="with_ids needs a single integer primary key"):
        async with engine.begin() as conn:
            await upsert(
                conn,
                ArtistSnapshot,
                [{"artist_id": 1, "day": date(2026, 1, 1)}],
                conflict=["artist_id", "day"],
                with_ids=True,
            )


async def test_auto_takes_the_bulk_path_from_bulk_min_rows(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[tuple[str, int]] = []
    statement, bulk = upserts_module._statement, upserts_module._bulk

    async def spy_statement(conn: Any, plan: Any, rows: Any, *rest: Any) -> tuple[int, int]:
        taken.append(("statement", len(rows)))
        return await statement(conn, plan, rows, *rest)

    async def spy_bulk(conn: Any, plan: Any, rows: Any, *rest: Any) -> tuple[int, int]:
        taken.append(("bulk", len(rows)))
        return await bulk(conn, plan, rows, *rest)

    monkeypatch.setattr(upserts_module, "BULK_MIN_ROWS", 3)
    monkeypatch.setattr(upserts_module, "_statement", spy_statement)
    monkeypatch.setattr(upserts_module, "_bulk", spy_bulk)
    async with engine.begin() as conn:
        await upsert(conn, artists, [artist_row(n) for n in range(5)], conflict=["spotify_id"])
        await upsert(conn, artists, [artist_row(n) for n in range(2)], conflict=["spotify_id"])
        await upsert(
            conn, artists, [artist_row(n) for n in range(5)], conflict=["spotify_id"], chunk_size=4
        )

    assert taken == [("bulk", 5), ("statement", 2), ("bulk", 4), ("statement", 1)]


async def test_sqlite_takes_the_write_lock_before_reading_the_rowid_mark(tmp_path: Path) -> None:
    """The inserted count is exact only if no other writer slips in between mark and insert."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'lock.db'}"
    first = make_engine(url)
    other = make_engine(url, connect_args={"timeout": 0})
    try:
        await create_all(first)
        async with first.connect() as conn:
            mark = await upserts_module._lock_and_mark(conn, artists)
            with pytest.raises(OperationalError, match="database is locked"):
                async with other.begin() as blocked:
                    await blocked.execute(insert(artists).values(artist_row(1)))
            await conn.rollback()
        assert mark == 0
    finally:
        await first.dispose()
        await other.dispose()


async def test_a_driver_without_bulk_load_gets_statements_only(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_bulk(*args: Any) -> tuple[int, int]:
        raise AssertionError("the bulk path was taken")

    monkeypatch.setattr(upserts_module, "BULK_MIN_ROWS", 2)
    monkeypatch.setattr(upserts_module, "_bulk", no_bulk)
    monkeypatch.setattr(engine.dialect, "driver", "psycopg")
    batch = [artist_row(n) for n in range(3)]
    async with engine.begin() as conn:
        result = await upsert(conn, artists, batch, conflict=["spotify_id"])
        with pytest.raises(NotImplementedError, match="needs asyncpg or aiosqlite, not psycopg"):
            await upsert(conn, artists, batch, conflict=["spotify_id"], method="bulk")

    assert result == UpsertResult(inserted=3, updated=0, unchanged=0)


@BOTH_PATHS
async def test_ids_of_a_key_the_database_stores_differently_come_back_as_python_values(
    engine: AsyncEngine, method: Method
) -> None:
    """A date key is text on SQLite: the ids map still has ``date`` keys on both dialects."""
    probe = Table(
        "upsert_probe",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("day", Date, nullable=False, unique=True),
        Column("label", String(16)),
    )
    batch = [{"day": date(2026, 1, n), "label": f"d{n}"} for n in (1, 2, 3)]
    async with engine.begin() as conn:
        await conn.run_sync(probe.create)
    try:
        async with engine.begin() as conn:
            result = await upsert(
                conn, probe, batch, conflict=["day"], with_ids=True, method=method, now=NOW1
            )
            stored = (await conn.execute(select(probe.c.day, probe.c.id))).all()
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(probe.drop)

    assert result.ids == {(day,): id_ for day, id_ in stored}
    assert sorted(result.ids) == [(date(2026, 1, 1),), (date(2026, 1, 2),), (date(2026, 1, 3),)]


@BOTH_PATHS
async def test_outcomes_name_each_row_inserted_or_updated_and_leave_out_the_unchanged(
    engine: AsyncEngine, method: Method
) -> None:
    async with engine.begin() as conn:
        await upsert(conn, artists, [artist_row(1), artist_row(2)], conflict=["spotify_id"])

    batch = [artist_row(1), artist_row(2, name="Renamed"), artist_row(3), artist_row(4)]
    async with engine.begin() as conn:
        result = await upsert(
            conn, artists, batch, conflict=["spotify_id"], with_outcomes=True, method=method
        )
        nothing = await upsert(
            conn, artists, batch, conflict=["spotify_id"], with_outcomes=True, method=method
        )

    assert (result.inserted, result.updated, result.unchanged) == (2, 1, 1)
    assert result.outcomes == {("sp2",): False, ("sp3",): True, ("sp4",): True}
    assert (nothing.inserted, nothing.updated, nothing.unchanged, nothing.outcomes) == (
        0,
        0,
        4,
        {},
    )


@BOTH_PATHS
async def test_ids_with_outcomes_come_back_with_the_rows_written_and_are_read_for_the_rest(
    engine: AsyncEngine, method: Method
) -> None:
    """With ``with_ids`` and ``with_outcomes``, the rows written return their ids from the
    INSERT itself: a batch written whole reads nothing back; one with unchanged rows reads
    their ids. Either way ``ids`` holds every row's stored id."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async with engine.begin() as conn:
        await upsert(conn, artists, [artist_row(1), artist_row(2)], conflict=["spotify_id"])
    new = [artist_row(n) for n in (3, 4, 5)]
    mixed = [artist_row(1), artist_row(2, name="Renamed"), artist_row(6)]
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with engine.begin() as conn:
            written = await upsert(
                conn,
                artists,
                new,
                conflict=["spotify_id"],
                with_ids=True,
                with_outcomes=True,
                method=method,
            )
            whole = list(statements)
            part = await upsert(
                conn,
                artists,
                mixed,
                conflict=["spotify_id"],
                with_ids=True,
                with_outcomes=True,
                method=method,
            )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    async with engine.connect() as conn:
        stored = dict((await conn.execute(select(artists.c.spotify_id, artists.c.id))).all())

    assert written.ids == {(f"sp{n}",): stored[f"sp{n}"] for n in (3, 4, 5)}
    assert written.outcomes == {("sp3",): True, ("sp4",): True, ("sp5",): True}
    # No SELECT of ids after the INSERT (the bulk path's own reads go through the driver).
    assert not [s for s in whole if s.lstrip().upper().startswith("SELECT")]
    assert part.ids == {(f"sp{n}",): stored[f"sp{n}"] for n in (1, 2, 6)}
    assert part.outcomes == {("sp2",): False, ("sp6",): True}
    assert (part.inserted, part.updated, part.unchanged) == (1, 1, 1)


@BOTH_PATHS
async def test_ids_with_outcomes_keep_the_key_types_of_a_date_key(
    engine: AsyncEngine, method: Method
) -> None:
    probe = Table(
        "probe_outcome_ids",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("day", Date, nullable=False, unique=True),
        Column("label", String(16)),
    )
    first = [{"day": date(2026, 1, n), "label": f"d{n}"} for n in (1, 2)]
    second = [{"day": date(2026, 1, n), "label": f"d{n}"} for n in (1, 2, 3)]
    async with engine.begin() as conn:
        await conn.run_sync(probe.create)
    try:
        async with engine.begin() as conn:
            one = await upsert(
                conn,
                probe,
                first,
                conflict=["day"],
                with_ids=True,
                with_outcomes=True,
                method=method,
                now=NOW1,
            )
            two = await upsert(
                conn,
                probe,
                second,
                conflict=["day"],
                with_ids=True,
                with_outcomes=True,
                method=method,
                now=NOW1,
            )
            stored = dict((await conn.execute(select(probe.c.day, probe.c.id))).all())
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(probe.drop)

    assert one.ids == {(date(2026, 1, n),): stored[date(2026, 1, n)] for n in (1, 2)}
    assert two.ids == {(date(2026, 1, n),): stored[date(2026, 1, n)] for n in (1, 2, 3)}
    assert two.outcomes == {(date(2026, 1, 3),): True}
