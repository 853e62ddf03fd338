"""The bulk path (driver bulk load + INSERT ... SELECT) equals the statement path, row for row."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Table, delete
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers every table)
from models.upserts import Method, UpsertResult, upsert
from tests.models.conftest import table_rows

artists: Table = SQLModel.metadata.tables["artists"]
venues: Table = SQLModel.metadata.tables["venues"]
shows: Table = SQLModel.metadata.tables["shows"]

NOWS = [datetime(2026, 4, day, 8, 15, 30, 123456, tzinfo=UTC) for day in (1, 2, 3)]
ZONES = [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]


def show_batches(artist_ids: list[int], venue_ids: list[int]) -> list[list[dict[str, Any]]]:
    """Three batches: all new; then changes, omissions, repeats and new rows; then a replay."""
    rng = random.Random(7)

    def show(n: int) -> dict[str, Any]:
        # One show per artist, date and venue (a UNIQUE index): each show on its own day.
        day = date(2026, 1, 1) + timedelta(days=n)
        price = Decimal(rng.randrange(500, 20000)) / 100
        return {
            "ticketmaster_id": f"tm{n:04d}",
            "artist_id": rng.choice(artist_ids),
            "venue_id": rng.choice([*venue_ids, None]),
            "name": rng.choice([f"Show {n}", None]),
            "local_date": day,
            "local_time": rng.choice([time(19, 30), time(20, 0), None]),
            "starts_at": rng.choice(
                [
                    datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=z)
                    for z in ZONES
                ]
                + [None]
            ),
            "status": rng.choice(["upcoming", "cancelled", "postponed"]),
            # An empty string must stay distinct from NULL on both paths.
            "ticket_url": rng.choice([f"https://tickets.example/{n}", "", None]),
            "min_price": rng.choice([price, None]),
            "max_price": rng.choice([price * 2, Decimal("9999999999.99"), None]),
            "currency": rng.choice(["USD", "EUR", None]),
        }

    first = [show(n) for n in range(120)]
    second: list[dict[str, Any]] = []
    for row in first[:80]:
        row = dict(row)
        change = rng.randrange(6)
        if change == 0:
            row["status"] = "completed"
        elif change == 1:
            row["min_price"] = Decimal("1.1")
        elif change == 2:
            del row["ticket_url"]  # omitted: must stay as stored
        elif change == 3:
            row["starts_at"] = None
        second.append(row)
    second += [show(n) for n in range(120, 150)]
    second += [dict(first[0], name="repeated, last wins"), dict(first[5])]
    return [first, second, list(second)]


async def run_path(
    engine: AsyncEngine, method: Method, batches: list[list[dict[str, Any]]]
) -> tuple[list[tuple[int, int, int]], list[dict[str, Any]]]:
    """Start from no shows, write every batch; return the counts and the stored rows (by key)."""
    async with engine.begin() as conn:
        await conn.execute(delete(shows))
    counts = []
    for batch, now in zip(batches, NOWS, strict=False):
        async with engine.begin() as conn:
            result = await upsert(
                conn,
                shows,
                batch,
                conflict=["ticketmaster_id"],
                with_ids=True,
                method=method,
                now=now,
            )
            stored = await table_rows(conn, shows, order_by="ticketmaster_id")
        keys = {row["ticketmaster_id"] for row in batch}
        assert result.ids == {
            (row["ticketmaster_id"],): row["id"] for row in stored if row["ticketmaster_id"] in keys
        }
        counts.append((result.inserted, result.updated, result.unchanged))
    async with engine.connect() as conn:
        final = await table_rows(conn, shows, order_by="ticketmaster_id", skip=("id",))
    return counts, final


async def test_bulk_path_writes_exactly_what_the_statement_path_writes(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        made = await upsert(
            conn,
            artists,
            [
                {
                    "spotify_id": f"s{n}",
                    "name": f"A{n}",
                    "normalized_name": f"a{n}",
                    "slug": f"a{n}",
                }
                for n in range(5)
            ],
            conflict=["spotify_id"],
            with_ids=True,
        )
        places = await upsert(
            conn,
            venues,
            [
                {"ticketmaster_id": f"v{n}", "name": f"V{n}", "normalized_name": f"v{n}"}
                for n in range(4)
            ],
            conflict=["ticketmaster_id"],
            with_ids=True,
        )
    batches = show_batches(sorted(made.ids.values()), sorted(places.ids.values()))

    statement_counts, statement_rows = await run_path(engine, "statement", batches)
    bulk_counts, bulk_rows = await run_path(engine, "bulk", batches)

    assert statement_counts == bulk_counts
    assert statement_rows == bulk_rows
    # The scenario exercises every outcome (not a vacuous equality).
    assert statement_counts[0] == (120, 0, 0)
    assert statement_counts[2] == (0, 0, 110)
    inserted, updated, unchanged = statement_counts[1]
    assert (inserted, inserted + updated + unchanged) == (30, 110)
    assert 0 < updated < 81
    assert len(statement_rows) == 150
    assert {row["updated_at"] for row in statement_rows} == {NOWS[0], NOWS[1]}
    assert any(row["ticket_url"] == "" for row in statement_rows)
    assert any(row["ticket_url"] is None for row in statement_rows)


ARTIST_ROWS: list[dict[str, Any]] = [
    {
        "spotify_id": "s1",
        "name": "Émilie Simon",
        "normalized_name": "emilie simon",
        "slug": "emilie-simon",
        "images": [{"url": "https://i.example/a.jpg", "height": 640, "width": 640}],
        "genres": ["électro", "pop"],
        "popularity": 61,
        "followers": 123456,
    },
    {
        "spotify_id": "s2",
        "name": "Nameless",
        "normalized_name": "nameless",
        "slug": "nameless",
        "images": [],
        "genres": None,
    },
]


@pytest.mark.parametrize("method", ["statement", "bulk"])
async def test_both_paths_store_json_and_unicode_identically(
    engine: AsyncEngine, method: Method
) -> None:
    async with engine.begin() as conn:
        first = await upsert(conn, artists, ARTIST_ROWS, conflict=["spotify_id"], method=method)
        second = await upsert(conn, artists, ARTIST_ROWS, conflict=["spotify_id"], method=method)
        stored = await table_rows(conn, artists, order_by="spotify_id")

    assert first == UpsertResult(inserted=2, updated=0, unchanged=0)
    assert second == UpsertResult(inserted=0, updated=0, unchanged=2)
    assert [
        {k: row[k] for k in ("name", "images", "genres", "popularity", "followers")}
        for row in stored
    ] == [
        {k: source.get(k) for k in ("name", "images", "genres", "popularity", "followers")}
        for source in ARTIST_ROWS
    ]
