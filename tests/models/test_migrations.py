"""Migrations build exactly the schema the metadata describes, on SQLite and PostgreSQL."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from models.db import make_engine
from models.migrate import MIGRATIONS_DIR, current_revision, head_revision, upgrade

ROOT = Path(__file__).resolve().parents[2]


def _normalise_sql(text: str | None) -> str | None:
    return None if text is None else re.sub(r"\s+", " ", str(text)).strip()


def describe(conn: Connection) -> dict[str, Any]:
    """Everything that makes up a schema, per table, in comparable plain values."""
    inspector = inspect(conn)
    dialect = conn.dialect
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        schema[table] = {
            "columns": [
                (
                    col["name"],
                    col["type"].compile(dialect=dialect),
                    col["nullable"],
                    _normalise_sql(col.get("default")),
                )
                for col in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table),
            "unique": sorted(
                (uq["name"], tuple(uq["column_names"]))
                for uq in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                for ix in inspector.get_indexes(table)
            ),
            "checks": sorted(
                (ck["name"], _normalise_sql(ck["sqltext"]))
                for ck in inspector.get_check_constraints(table)
            ),
            "foreign_keys": sorted(
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    (fk.get("options") or {}).get("ondelete"),
                )
                for fk in inspector.get_foreign_keys(table)
            ),
        }
    return schema


async def schema_of(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(describe)
    finally:
        await engine.dispose()


async def test_migrations_build_the_schema_create_all_builds(
    engine: AsyncEngine, empty_database_url: str
) -> None:
    await upgrade(empty_database_url)

    async with engine.connect() as conn:
        from_metadata = await conn.run_sync(describe)
    migrated = await schema_of(empty_database_url)

    assert sorted(migrated) == sorted(SQLModel.metadata.tables)
    assert migrated == from_metadata
    # Not vacuous: the reflection sees the constraints that matter.
    assert ("uq_artists_spotify_id", ("spotify_id",)) in migrated["artists"]["unique"]
    assert migrated["shows"]["foreign_keys"][0][-1] == "CASCADE"
    assert tuple(name for name, _ in migrated["shows"]["checks"]) == ("ck_shows_status",)


def _differences(conn: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))


async def test_autogenerate_finds_nothing_left_to_migrate(empty_database_url: str) -> None:
    await upgrade(empty_database_url)

    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(_differences)
    finally:
        await engine.dispose()

    assert differences == []


async def test_upgrading_twice_changes_nothing(empty_database_url: str) -> None:
    assert await current_revision(empty_database_url) is None

    await upgrade(empty_database_url)
    first = await schema_of(empty_database_url)
    await upgrade(empty_database_url)

    assert await current_revision(empty_database_url) == head_revision()
    assert await schema_of(empty_database_url) == first


async def test_upgrade_to_an_explicit_revision_stops_there(empty_database_url: str) -> None:
    await upgrade(empty_database_url, "0001")
    assert await current_revision(empty_database_url) == "0001"


def test_every_migration_file_ships_with_the_package() -> None:
    """A non-editable install carries env.py (module), the template, the ini and each revision."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["models"]
    shipped = sorted(
        path.relative_to(MIGRATIONS_DIR.parent).as_posix()
        for path in MIGRATIONS_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    modules = {"migrations/__init__.py", "migrations/env.py"}  # package modules, always shipped
    missing = [
        name
        for name in shipped
        if name not in modules and not any(fnmatch.fnmatch(name, p) for p in patterns)
    ]
    assert (MIGRATIONS_DIR / "__init__.py").is_file()
    assert "migrations/versions/0001_initial_schema.py" in shipped
    assert missing == []
