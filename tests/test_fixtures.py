"""The shared database fixtures give every test what ``create_all`` and a full ``TRUNCATE`` gave:
a SQLite copy of one template file, a PostgreSQL database with only the touched tables
truncated."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from models.db import create_all, make_engine
from models.tables import Artist, Venue
from tests.conftest import empty_postgres

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
VENUES = Venue.__table__  # type: ignore[attr-defined]


async def _schema(url: str) -> list[tuple[str, str, str]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT type, name, sql FROM sqlite_master"))
            return sorted((str(r[0]), str(r[1]), str(r[2])) for r in rows)
    finally:
        await engine.dispose()


async def test_the_sqlite_template_holds_exactly_the_schema_create_all_builds(
    sqlite_template: Path, tmp_path: Path
) -> None:
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(fresh)
    await create_all(engine)
    await engine.dispose()
    expected = await _schema(fresh)
    assert len([row for row in expected if row[0] == "table"]) == len(SQLModel.metadata.tables)
    assert await _schema(f"sqlite+aiosqlite:///{sqlite_template}") == expected


def _artist(n: int) -> dict[str, object]:
    return {"name": f"A{n}", "normalized_name": f"a{n}", "slug": f"a-{n}"}


@pytest.mark.postgres
async def test_emptying_postgres_empties_every_table_and_restarts_every_used_sequence(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    try:
        await empty_postgres(engine)
        async with engine.begin() as conn:
            await conn.execute(insert(ARTISTS), [_artist(1), _artist(2)])
        # A table left empty whose sequence moved: a failed insert takes an id and keeps no row.
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(insert(VENUES), [{"name": None}])

        await empty_postgres(engine)

        async with engine.begin() as conn:
            for table in SQLModel.metadata.sorted_tables:
                count = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                assert (table.name, count) == (table.name, 0)
            artist = await conn.execute(insert(ARTISTS).returning(ARTISTS.c.id), _artist(3))
            assert artist.scalar_one() == 1
            venue = await conn.execute(
                text("SELECT nextval(pg_get_serial_sequence('venues', 'id'))")
            )
            assert venue.scalar_one() == 1
        await empty_postgres(engine)
    finally:
        await engine.dispose()


@pytest.mark.prefect
def test_prefect_clients_of_the_session_load_a_ca_file_of_one_certificate(
    prefect_harness: str,
) -> None:
    from prefect.settings import PREFECT_API_SSL_CERT_FILE

    assert prefect_harness.startswith("http://")  # plain HTTP: the CA file is never used
    ca_file = PREFECT_API_SSL_CERT_FILE.value()
    assert ca_file is not None
    assert Path(ca_file).read_text().count("BEGIN CERTIFICATE") == 1
