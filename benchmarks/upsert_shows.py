"""Benchmark: ``models.upserts.upsert`` of show rows against the driver's plain bulk insert.

For each database (default: a throwaway PostgreSQL database on the local server, and a SQLite
file in a temporary directory) it builds 1,000 artists and 500 venues, then times, with
``--rows`` Ticketmaster-like show rows (default 100,000):

* ``upsert, all new``: the first upsert into an empty ``shows`` (every row inserted);
* ``upsert, unchanged``: the identical batch again (nothing written);
* ``upsert, 10% changed``: the batch with every tenth show renamed and repriced;
* ``baseline, bare table``: the driver alone, values already converted: asyncpg
  ``copy_records_to_table`` (PostgreSQL) or sqlite3 ``executemany`` INSERT (SQLite) into an
  empty table with the same columns and types and no index or constraint;
* ``baseline, shows``: the same plain bulk insert into an empty ``shows`` itself, with all its
  indexes and foreign keys: the ratio column divides by this one;
* ``floor, in-database``: ``INSERT INTO shows SELECT ... FROM`` the loaded bare table, so the
  database alone, with no client, no driver and no conflict handling, inserts the same rows
  into an empty ``shows``: what no client-side method can beat. On PostgreSQL an extra
  ``EXPLAIN ANALYZE`` run of it prints how much of that is the foreign-key checks.

"Empty" is ``TRUNCATE`` on PostgreSQL (no dead index entries left behind) and ``DELETE`` on
SQLite. The last lines compare the all-new upsert, and the floor, with the issue's targets.

Each upsert is one call in one transaction, commit included, from the list of row dicts; every
count it returns is checked. Each case runs ``--repeat`` times from the same starting state and
the best time is printed, with rows/s and the ratio of the baseline's rows/s.

    .venv/bin/python -m benchmarks.upsert_shows [--rows N] [--repeat N] [--with-ids]
        [--dialect sqlite|postgresql ...] [--database-url URL ...]

A PostgreSQL ``--database-url`` names the server (a throwaway database is created there and
dropped); a SQLite one names a file that must not exist yet (it is deleted at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers every table)
from models import upserts
from models.db import create_all, make_engine
from models.upserts import UpsertResult, upsert

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/"
#: rows/s asked of an all-new upsert of 100,000 shows on this machine (issue 2).
TARGETS = {"postgresql": 100_000, "sqlite": 300_000}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
ARTISTS, VENUES = 1_000, 500
SHOW_COLUMNS = (
    "ticketmaster_id",
    "artist_id",
    "venue_id",
    "name",
    "local_date",
    "local_time",
    "starts_at",
    "status",
    "ticket_url",
    "min_price",
    "max_price",
    "currency",
)

shows: Table = SQLModel.metadata.tables["shows"]


@dataclass(frozen=True)
class Timing:
    case: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def show_rows(
    count: int, artist_ids: Sequence[int], venue_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """Ticketmaster-like shows: a year of dates, evening times, prices on most, 4 statuses."""
    rng = random.Random(2026)
    rows = []
    for n in range(count):
        # One show per artist, date and venue (a UNIQUE index): artist and day follow from n,
        # so no two rows share a slot (1,000 artists x 365 days).
        day = date(2026, 6, 1) + timedelta(days=(n // len(artist_ids)) % 365)
        low = Decimal(rng.randrange(1500, 15000)) / 100 if rng.random() < 0.8 else None
        rows.append(
            {
                "ticketmaster_id": f"G5v{n:014d}",
                "artist_id": artist_ids[n % len(artist_ids)],
                "venue_id": venue_ids[rng.randrange(len(venue_ids))] if n % 20 else None,
                "name": f"Show {n}",
                "local_date": day,
                "local_time": clock(19 + n % 3, 30 * (n % 2)),
                "starts_at": datetime(day.year, day.month, day.day, 2, 30, tzinfo=UTC),
                "status": ("upcoming", "upcoming", "upcoming", "postponed")[n % 4],
                "ticket_url": f"https://www.ticketmaster.com/event/G5v{n:014d}",
                "min_price": low,
                "max_price": low * 3 if low is not None else None,
                "currency": "USD" if low is not None else None,
            }
        )
    return rows


def changed_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every tenth show renamed and repriced; the rest identical."""
    out = []
    for n, row in enumerate(rows):
        if n % 10 == 0:
            row = {**row, "name": f"{row['name']} (moved)", "min_price": Decimal("9.99")}
        out.append(row)
    return out


def _remove_sqlite(file: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(file + suffix).unlink(missing_ok=True)


@asynccontextmanager
async def throwaway(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a new database with every table, removed afterwards."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-upsert-") as folder:
            file = parsed.database or str(Path(folder) / "bench.db")
            engine = make_engine(parsed.set(database=file).render_as_string(hide_password=False))
            try:
                await create_all(engine)
                yield engine
            finally:
                await engine.dispose()
                if parsed.database:
                    _remove_sqlite(file)
        return
    name = f"mysetlist_bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(parsed.set(database=name).render_as_string(hide_password=False))
    try:
        await create_all(engine)
        yield engine
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def parents(engine: AsyncEngine) -> tuple[list[int], list[int]]:
    async with engine.begin() as conn:
        made = await upsert(
            conn,
            SQLModel.metadata.tables["artists"],
            [
                {"ticketmaster_id": f"K8v{n:06d}", "name": f"Artist {n}"}
                | {"normalized_name": f"artist {n}", "slug": f"artist-{n}"}
                for n in range(ARTISTS)
            ],
            conflict=["ticketmaster_id"],
            with_ids=True,
        )
        places = await upsert(
            conn,
            SQLModel.metadata.tables["venues"],
            [
                {
                    "ticketmaster_id": f"KovZ{n:05d}",
                    "name": f"Venue {n}",
                    "normalized_name": f"v{n}",
                }
                for n in range(VENUES)
            ],
            conflict=["ticketmaster_id"],
            with_ids=True,
        )
    return sorted(made.ids.values()), sorted(places.ids.values())


async def best_of(
    repeat: int, prepare: Callable[[], Awaitable[None]], run: Callable[[], Awaitable[None]]
) -> float:
    best = float("inf")
    for _ in range(repeat):
        await prepare()
        started = time.perf_counter()
        await run()
        best = min(best, time.perf_counter() - started)
    return best


async def bench(url: str, count: int, repeat: int, with_ids: bool) -> list[Timing]:
    async with throwaway(url) as engine:
        artist_ids, venue_ids = await parents(engine)
        rows = show_rows(count, artist_ids, venue_ids)
        moved = changed_rows(rows)
        dialect = engine.dialect

        async def clear() -> None:
            async with engine.begin() as conn:
                if dialect.name == "postgresql":
                    await conn.execute(text("TRUNCATE shows CASCADE"))
                else:
                    await conn.execute(delete(shows))

        async def load(batch: list[dict[str, Any]], now: datetime) -> None:
            async with engine.begin() as conn:
                await upsert(conn, shows, batch, conflict=["ticketmaster_id"], now=now)

        async def timed_upsert(
            batch: list[dict[str, Any]], now: datetime, expected: tuple[int, int, int]
        ) -> None:
            async with engine.begin() as conn:
                result: UpsertResult = await upsert(
                    conn, shows, batch, conflict=["ticketmaster_id"], with_ids=with_ids, now=now
                )
            got = (result.inserted, result.updated, result.unchanged)
            if got != expected or (with_ids and len(result.ids) != count):
                raise SystemExit(f"wrong result {got}, expected {expected}")

        async def fresh() -> None:
            await clear()

        async def loaded() -> None:
            await clear()
            await load(rows, NOW)

        changed = (count + 9) // 10
        timings = [
            Timing(
                "upsert, all new",
                count,
                await best_of(repeat, fresh, lambda: timed_upsert(rows, NOW, (count, 0, 0))),
            ),
            Timing(
                "upsert, unchanged",
                count,
                await best_of(repeat, loaded, lambda: timed_upsert(rows, LATER, (0, 0, count))),
            ),
            Timing(
                "upsert, 10% changed",
                count,
                await best_of(
                    repeat,
                    loaded,
                    lambda: timed_upsert(moved, LATER, (0, changed, count - changed)),
                ),
            ),
        ]

        # Baselines: the same rows, values converted beforehand, the driver alone.
        plan = upserts._Plan(
            table=shows,
            conflict=("ticketmaster_id",),
            columns=(*SHOW_COLUMNS, "created_at", "updated_at"),
            set_columns=(),
            constants={},
            pk=None,
        )
        stamped = [{**row, "created_at": NOW, "updated_at": NOW} for row in rows]
        columns = list(plan.columns)
        if dialect.name == "postgresql":  # asyncpg takes the Python values as they are
            records = [tuple(row[name] for name in columns) for row in stamped]
        else:  # sqlite3 needs them converted, as SQLAlchemy and the upsert convert them
            records = list(upserts._records(plan, stamped, dialect))
        bare = "shows_baseline"

        async def bare_table() -> None:
            async with engine.begin() as conn:
                await conn.execute(text(f"DROP TABLE IF EXISTS {bare}"))
                if dialect.name == "postgresql":
                    await conn.execute(text(f"CREATE TABLE {bare} (LIKE shows INCLUDING DEFAULTS)"))
                else:
                    await conn.execute(text(f"CREATE TABLE {bare} AS SELECT * FROM shows WHERE 0"))

        def plain_insert(table: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                async with engine.begin() as conn:
                    await conn.execute(text("SELECT 1"))  # open the transaction
                    driver: Any = (await conn.get_raw_connection()).driver_connection
                    if dialect.name == "postgresql":
                        await driver.copy_records_to_table(table, columns=columns, records=records)
                    else:
                        marks = ", ".join("?" for _ in columns)
                        cursor = await driver.executemany(
                            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", records
                        )
                        await cursor.close()

            return run

        bare_seconds = await best_of(repeat, bare_table, plain_insert(bare))
        listed = ", ".join(columns)
        in_database = f"INSERT INTO shows ({listed}) SELECT {listed} FROM {bare}"

        async def floor() -> None:
            async with engine.begin() as conn:
                await conn.execute(text(in_database))

        floor_seconds = await best_of(repeat, clear, floor)
        async with engine.connect() as conn:
            copied = await conn.scalar(select(func.count()).select_from(shows))
        if copied != count:
            raise SystemExit(f"the in-database insert left {copied} shows, expected {count}")
        shows_seconds = await best_of(repeat, clear, plain_insert("shows"))
        timings += [
            Timing("baseline, bare table", count, bare_seconds),
            Timing("baseline, shows", count, shows_seconds),
            Timing("floor, in-database", count, floor_seconds),
        ]
        if dialect.name == "postgresql":
            await clear()
            async with engine.begin() as conn:
                plan_json = (
                    await conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {in_database}"))
                ).scalar_one()
            timings += foreign_key_checks(plan_json, count)
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {bare}"))
        return timings


def foreign_key_checks(plan_json: Any, count: int) -> list[Timing]:
    """The time PostgreSQL spent in each foreign-key trigger of one ``EXPLAIN ANALYZE`` run."""
    plan = plan_json[0] if isinstance(plan_json, list) else plan_json
    return [
        Timing(f"  of which {trigger['Constraint Name']} checks", count, trigger["Time"] / 1000)
        for trigger in plan.get("Triggers", [])
        if trigger.get("Constraint Name", "").startswith("fk_")
    ]


def report(dialect: str, timings: list[Timing]) -> None:
    cases = {t.case: t for t in timings}
    load, bare = cases["baseline, shows"], cases["baseline, bare table"]
    print(f"\n{dialect}")
    print(f"  {'case':<46} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'vs load':>8} {'vs bare':>8}")
    for t in timings:
        if t.case.startswith("  of which"):  # a part of the floor's time, not a rate
            print(f"  {t.case:<46} {'':>8} {t.seconds:>8.3f}")
            continue
        print(
            f"  {t.case:<46} {t.rows:>8} {t.seconds:>8.3f} {t.rate:>9,.0f}"
            f" {t.rate / load.rate:>8.2f} {t.rate / bare.rate:>8.2f}"
        )
    target, new, floor = TARGETS[dialect], cases["upsert, all new"], cases["floor, in-database"]
    verdict = "met" if new.rate >= target else "not met"
    print(
        f"  target {target:,} rows/s for an all-new upsert: {verdict} ({new.rate:,.0f}); "
        f"the database's own INSERT ... SELECT reaches {floor.rate:,.0f}"
        f" ({floor.rate / target:.2f} x the target)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    parser.add_argument("--with-ids", action="store_true", help="also return every show's id")
    parser.add_argument("--dialect", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--database-url", action="append", help="PostgreSQL server or SQLite file")
    args = parser.parse_args(argv)
    if args.rows < 10 or args.repeat < 1:
        parser.error("--rows must be at least 10 and --repeat at least 1")
    urls = args.database_url or [
        url
        for dialect, url in (("postgresql", DEFAULT_POSTGRES), ("sqlite", "sqlite+aiosqlite://"))
        if not args.dialect or dialect in args.dialect
    ]
    for url in urls:
        file = make_url(url).database if make_url(url).get_backend_name() == "sqlite" else None
        if file and Path(file).exists():
            parser.error(f"refusing to use an existing SQLite file: {file}")
    print(f"{args.rows:,} show rows, best of {args.repeat}, with_ids={args.with_ids}")
    for url in urls:
        timings = asyncio.run(bench(url, args.rows, args.repeat, args.with_ids))
        report(make_url(url).get_backend_name(), timings)


if __name__ == "__main__":
    main()
