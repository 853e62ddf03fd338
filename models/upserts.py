"""Idempotent bulk upserts keyed on natural keys, on SQLite and PostgreSQL.

One call writes a batch with ``INSERT ... ON CONFLICT (key) DO UPDATE SET ... WHERE <a value
differs>``: unchanged rows are not written (their ``updated_at`` stays), changed rows get
``updated_at = now``, and the result counts inserted, updated and unchanged rows exactly.

Two execution paths produce the same rows and the same result:

* ``"statement"``: SQLAlchemy Core, values processed per row by SQLAlchemy (small batches);
* ``"bulk"``: values converted once per distinct value, loaded into a temporary table with the
  driver's bulk API (asyncpg ``COPY``, sqlite3 ``executemany``), then one
  ``INSERT ... SELECT ... ON CONFLICT`` built by the same code as the statement path, whose
  SELECT already leaves out the rows that are stored unchanged (no conflict handling for them,
  and on PostgreSQL no row lock).

``method="auto"`` picks ``"bulk"`` from :data:`BULK_MIN_ROWS` rows on.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Float,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    and_,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Result
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import SQLModel

from models.types import utcnow

__all__ = ["BULK_MIN_ROWS", "Method", "UpsertResult", "insert_rows", "upsert"]

#: From this many rows (per chunk) ``method="auto"`` takes the bulk path.
BULK_MIN_ROWS = 200

Method = Literal["auto", "statement", "bulk"]

# Keys per ``IN`` lookup: far below SQLite's 32766 and asyncpg's 32767 bind parameters.
_LOOKUP_CHUNK = 2000
_MANAGED = ("created_at", "updated_at")
_BULK_DRIVERS = ("asyncpg", "aiosqlite")  # copy_records_to_table / executemany on the raw driver


@dataclass(frozen=True)
class UpsertResult:
    """Counts over the distinct conflict keys of a batch (a key repeated in the batch counts once).

    ``ids`` maps each conflict-key tuple, as the database returns it, to the row's primary key; it
    covers every input row and is only filled when ``with_ids=True``. ``outcomes`` maps the key
    of each row written to ``True`` (inserted) or ``False`` (updated); unchanged rows are absent.
    It is only filled when ``with_outcomes=True`` (a caller that attributes the writes of one
    batch to the owners of its rows).
    """

    inserted: int
    updated: int
    unchanged: int
    ids: dict[tuple[Any, ...], int] = field(default_factory=dict)
    outcomes: dict[tuple[Any, ...], bool] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        """Rows written: inserted plus updated."""
        return self.inserted + self.updated


@dataclass(frozen=True)
class _Plan:
    """How one group of rows (all with the same columns) is written."""

    table: Table
    conflict: tuple[str, ...]
    columns: tuple[str, ...]  # the rows' own columns, in table order
    set_columns: tuple[str, ...]  # updated on conflict; empty means DO NOTHING
    constants: dict[str, Any]  # insert-only values for columns the rows lack
    pk: Column[Any] | None  # for ids


async def upsert(
    conn: AsyncConnection,
    table: type[SQLModel] | Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str] | None = None,
    with_ids: bool = False,
    with_outcomes: bool = False,
    chunk_size: int | None = None,
    method: Method = "auto",
    now: datetime | None = None,
) -> UpsertResult:
    """Insert ``rows`` or update the existing rows with the same ``conflict`` key values.

    ``update=None`` updates every column present in the rows except the conflict columns, ``id``
    and ``created_at``; ``update=()`` means DO NOTHING. Columns absent from a row are never touched
    (rows may carry different columns; each set of columns is written separately). A row is updated
    only when one of its update columns differs, and then ``updated_at`` becomes ``now`` (default:
    the current UTC time); inserts get ``created_at``/``updated_at = now`` unless given, and the
    column defaults of the other absent columns. Keys repeated in ``rows``: the last row wins.

    With ``with_ids`` and ``with_outcomes``, the rows written return their ids with their
    outcomes (``RETURNING``); only the ids of rows stored unchanged are read back (none in a
    batch of new rows).

    Runs inside the caller's transaction; when it raises, the caller rolls back.

    Raises ``ValueError`` for an unknown column, a missing or NULL conflict value, a surrogate
    primary key in the rows, a naive datetime; the database's ``IntegrityError`` for a violated
    constraint other than the conflict key.
    """
    tbl = _table_of(table)
    dialect = conn.dialect
    if dialect.name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"upsert supports sqlite and postgresql, not {dialect.name}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    if method not in ("auto", "statement", "bulk"):
        raise ValueError(f"unknown method {method!r}")
    bulk_loader = dialect.driver in _BULK_DRIVERS
    if method == "bulk" and not bulk_loader:
        raise NotImplementedError(f"the bulk path needs asyncpg or aiosqlite, not {dialect.driver}")
    keys = _check_conflict(tbl, conflict)
    wanted = None if update is None else _check_update(tbl, keys, update)
    pk = _id_column(tbl) if with_ids else None
    stamp = _check_now(now)

    inserted = updated = unchanged = 0
    ids: dict[tuple[Any, ...], int] = {}
    outcomes: dict[tuple[Any, ...], bool] | None = {} if with_outcomes else None
    for columns, group in _groups(tbl, keys, rows):
        plan = _Plan(
            table=tbl,
            conflict=keys,
            columns=columns,
            set_columns=_set_columns(keys, columns, wanted),
            constants=_constants(tbl, columns, stamp),
            pk=pk,
        )
        size = chunk_size or len(group)
        for start in range(0, len(group), size):
            chunk = group[start : start + size]
            bulk = method == "bulk" or (
                method == "auto" and bulk_loader and len(chunk) >= BULK_MIN_ROWS
            )
            if bulk:
                new, changed = await _bulk(conn, plan, chunk, ids, outcomes)
            else:
                new, changed = await _statement(conn, plan, chunk, ids, outcomes)
            inserted += new
            updated += changed - new
            unchanged += len(chunk) - changed
    return UpsertResult(
        inserted=inserted, updated=updated, unchanged=unchanged, ids=ids, outcomes=outcomes or {}
    )


# --- validation and planning -------------------------------------------------------------------


def _table_of(table: type[SQLModel] | Table) -> Table:
    if isinstance(table, Table):
        return table
    found = getattr(table, "__table__", None)
    if not isinstance(found, Table):
        raise TypeError(f"{table!r} is not a table")
    return found


def _check_conflict(tbl: Table, conflict: Sequence[str]) -> tuple[str, ...]:
    if isinstance(conflict, str):
        raise TypeError("conflict must be a sequence of column names, not a string")
    keys = tuple(conflict)
    if not keys:
        raise ValueError("conflict needs at least one column")
    _check_known(tbl, keys, "conflict")
    if len(set(keys)) != len(keys):
        raise ValueError(f"conflict repeats a column: {keys}")
    return keys


def _check_update(tbl: Table, keys: tuple[str, ...], update: Sequence[str]) -> frozenset[str]:
    if isinstance(update, str):
        raise TypeError("update must be a sequence of column names, not a string")
    names = frozenset(update)
    _check_known(tbl, names, "update")
    if names & set(keys):
        raise ValueError(f"update names conflict columns: {sorted(names & set(keys))}")
    if "updated_at" in names:
        raise ValueError("updated_at is managed by upsert: it becomes now on changed rows")
    return names


def _check_known(tbl: Table, names: Sequence[str] | frozenset[str], what: str) -> None:
    unknown = sorted(set(names) - set(tbl.c.keys()))
    if unknown:
        raise ValueError(f"{what} names unknown columns of {tbl.name}: {unknown}")


def _id_column(tbl: Table) -> Column[Any]:
    pk = list(tbl.primary_key.columns)
    if len(pk) != 1 or pk[0].type.python_type is not int:
        raise ValueError(f"with_ids needs a single integer primary key; {tbl.name} has none")
    return pk[0]


def _check_now(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


def _groups(
    tbl: Table, keys: tuple[str, ...], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[tuple[str, ...], list[Mapping[str, Any]]]]:
    """Rows deduplicated by key (last wins), grouped by their set of columns."""
    key_of = itemgetter(*keys)
    try:
        latest = dict(zip(map(key_of, rows), rows, strict=True))
    except KeyError as exc:
        raise ValueError(f"a row lacks the conflict column {exc.args[0]!r}") from None
    null_key = None in latest if len(keys) == 1 else any(None in key for key in latest)
    if null_key:
        raise ValueError(f"conflict value is NULL in a row for {tbl.name}: NULL never conflicts")
    unique = list(latest.values())
    if not unique:
        return []
    first = frozenset(unique[0])
    if all(row.keys() == first for row in unique):  # the usual case: one set of columns
        return [(_columns(tbl, first), unique)]
    by_names: dict[frozenset[str], list[Mapping[str, Any]]] = {}
    for row in unique:
        by_names.setdefault(frozenset(row), []).append(row)
    return [(_columns(tbl, names), group) for names, group in by_names.items()]


def _columns(tbl: Table, names: frozenset[str]) -> tuple[str, ...]:
    """The row columns in table order, checked."""
    order = {name: index for index, name in enumerate(tbl.c.keys())}
    unknown = sorted(names - order.keys())
    if unknown:
        raise ValueError(f"rows name unknown columns of {tbl.name}: {unknown}")
    forbidden = tbl.autoincrement_column
    if forbidden is not None and forbidden.name in names:
        raise ValueError(
            f"rows carry the surrogate key {tbl.name}.{forbidden.name}: upsert keys on "
            "natural keys and the database assigns ids"
        )
    return tuple(sorted(names, key=order.__getitem__))


def _set_columns(
    keys: tuple[str, ...], columns: tuple[str, ...], wanted: frozenset[str] | None
) -> tuple[str, ...]:
    if wanted is None:
        skip = {*keys, "id", *_MANAGED}
        return tuple(name for name in columns if name not in skip)
    return tuple(name for name in columns if name in wanted)


def _constants(tbl: Table, columns: tuple[str, ...], now: datetime) -> dict[str, Any]:
    """Insert values for the columns the rows lack: ``now`` stamps, then the column defaults."""
    values: dict[str, Any] = {}
    for col in tbl.columns:
        if col.name in columns or col is tbl.autoincrement_column:
            continue
        if col.name in _MANAGED:
            values[col.name] = now
        elif isinstance(col.default, ScalarElementColumnDefault):
            values[col.name] = col.default.arg
        elif isinstance(col.default, CallableColumnDefault):
            values[col.name] = col.default.arg(None)  # type: ignore[arg-type]
    return values


# --- the ON CONFLICT clause, shared by both paths ----------------------------------------------


def _distinct(
    current: ColumnElement[Any], incoming: ColumnElement[Any], dialect: Dialect
) -> ColumnElement[bool]:
    if dialect.name == "postgresql" and isinstance(current.type, JSON):
        # PostgreSQL's json type has no equality operator; jsonb compares by value.
        return cast(current, postgresql.JSONB).is_distinct_from(cast(incoming, postgresql.JSONB))
    return current.is_distinct_from(incoming)  # SQLite renders IS NOT


def _upsert_statement(
    plan: _Plan, dialect: Dialect, source: Any = None, names: Sequence[str] = ()
) -> postgresql.Insert | sqlite.Insert:
    """``INSERT ... ON CONFLICT``: of ``source`` (a SELECT) when given, else of bound rows
    (built once per table, columns and dialect: building ``excluded`` is costly)."""
    if source is None:
        return _bound_rows_statement(plan.table, plan.conflict, plan.set_columns, dialect)
    return _build_upsert_statement(
        plan.table, plan.conflict, plan.set_columns, dialect, source, names
    )


@functools.lru_cache(maxsize=256)
def _bound_rows_statement(
    tbl: Table, conflict: tuple[str, ...], set_columns: tuple[str, ...], dialect: Dialect
) -> postgresql.Insert | sqlite.Insert:
    return _build_upsert_statement(tbl, conflict, set_columns, dialect)


def _build_upsert_statement(
    tbl: Table,
    conflict: tuple[str, ...],
    set_columns: tuple[str, ...],
    dialect: Dialect,
    source: Any = None,
    names: Sequence[str] = (),
) -> postgresql.Insert | sqlite.Insert:
    stmt: postgresql.Insert | sqlite.Insert
    stmt = postgresql.insert(tbl) if dialect.name == "postgresql" else sqlite.insert(tbl)
    if source is not None:
        stmt = stmt.from_select(list(names), source)
    excluded = stmt.excluded
    if not set_columns:
        return stmt.on_conflict_do_nothing(index_elements=list(conflict))
    assignments: dict[str, Any] = {name: excluded[name] for name in set_columns}
    if "updated_at" in tbl.c:
        assignments["updated_at"] = excluded["updated_at"]
    differs = or_(*(_distinct(tbl.c[name], excluded[name], dialect) for name in set_columns))
    return stmt.on_conflict_do_update(
        index_elements=list(conflict), set_=assignments, where=differs
    )


_INSERTED = literal_column("(xmax = 0)", Boolean).label("inserted")
_ROWID: ColumnElement[int] = literal_column("rowid", Integer)


def _returned(plan: _Plan, dialect: Dialect) -> list[ColumnElement[Any]]:
    """What the INSERT of a caller that wants outcomes returns for each row written: its
    inserted flag (PostgreSQL) or rowid (SQLite), its id when ids are wanted, its key."""
    flag = _INSERTED if dialect.name == "postgresql" else _ROWID
    ids = [plan.pk] if plan.pk is not None else []
    return [flag, *ids, *(plan.table.c[name] for name in plan.conflict)]


def _outcome_rows(
    found: Sequence[Any],
    mark: int,
    outcomes: dict[tuple[Any, ...], bool],
    ids: dict[tuple[Any, ...], int] | None = None,
) -> tuple[int, int]:
    """Rows of (inserted flag or rowid, [id,] *key) of the rows written (``_returned``) into
    ``outcomes`` and, with ``ids``, their ids into ``ids``; returns (inserted, inserted +
    updated). A rowid (SQLite) above ``mark`` is a row inserted."""
    inserted = 0
    for row in found:
        flag = bool(row[0]) if isinstance(row[0], bool) else row[0] > mark
        if ids is None:
            outcomes[tuple(row[1:])] = flag
        else:
            key = tuple(row[2:])
            outcomes[key] = flag
            ids[key] = row[1]
        inserted += flag
    return inserted, len(found)


async def _raw_sqlite(conn: AsyncConnection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """One statement on the raw aiosqlite connection, inside the caller's transaction, in ONE
    trip to the driver's thread and back (SQLAlchemy's cursor takes three or four: open,
    execute, fetch, close; each trip waits for a turn of a busy event loop): for plain SQL
    whose values need no conversion. Returns its rows (none for DDL and plain DML)."""
    driver: Any = (await conn.get_raw_connection()).driver_connection
    return list(await driver.execute_fetchall(sql, params))


def _one_trip(dialect: Dialect) -> bool:
    return dialect.name == "sqlite" and dialect.driver == "aiosqlite"


async def _lock_and_mark(conn: AsyncConnection, tbl: Table) -> int:
    """SQLite: take the write lock first, then read the highest rowid.

    Every row inserted afterwards gets a higher rowid (surrogate keys never come from the rows),
    so the inserted count is exact even with other writers waiting.
    """
    first = next(iter(tbl.columns))
    if _one_trip(conn.dialect):
        quote = conn.dialect.identifier_preparer.quote
        name, column = quote(tbl.name), quote(first.name)
        await _raw_sqlite(conn, f"UPDATE {name} SET {column} = {column} WHERE 0 = 1")
        (found,) = await _raw_sqlite(conn, f"SELECT coalesce(max(rowid), 0) FROM {name}")
        return int(found[0])
    await conn.execute(update(tbl).values({first.name: first}).where(false()))
    rowid: ColumnElement[int] = literal_column("rowid", Integer)
    found = await conn.execute(select(func.coalesce(func.max(rowid), 0)).select_from(tbl))
    return int(found.scalar_one())


async def _inserted_since(conn: AsyncConnection, tbl: Table, mark: int) -> int:
    if _one_trip(conn.dialect):
        name = conn.dialect.identifier_preparer.quote(tbl.name)
        (found,) = await _raw_sqlite(conn, f"SELECT count(*) FROM {name} WHERE rowid > ?", [mark])
        return int(found[0])
    rowid: ColumnElement[int] = literal_column("rowid", Integer)
    found = await conn.execute(select(func.count()).select_from(tbl).where(rowid > mark))
    return int(found.scalar_one())


# --- the statement path ------------------------------------------------------------------------


async def _statement(
    conn: AsyncConnection,
    plan: _Plan,
    rows: list[Mapping[str, Any]],
    ids: dict[tuple[Any, ...], int],
    outcomes: dict[tuple[Any, ...], bool] | None = None,
) -> tuple[int, int]:
    """Returns (inserted, inserted + updated)."""
    dialect = conn.dialect
    stmt = _upsert_statement(plan, dialect)
    params = [{**row, **plan.constants} for row in rows]
    try:
        if outcomes is not None:
            mark = await _lock_and_mark(conn, plan.table) if dialect.name == "sqlite" else 0
            returned = _returned(plan, dialect)
            found = (await conn.execute(stmt.returning(*returned), params)).all()
            with_ids = ids if plan.pk is not None else None
            inserted, changed = _outcome_rows(found, mark, outcomes, with_ids)
            if changed == len(rows):  # every row written: its id came back with it
                return inserted, changed
        elif dialect.name == "postgresql":
            flags = (await conn.execute(stmt.returning(_INSERTED), params)).scalars().all()
            inserted, changed = sum(1 for flag in flags if flag), len(flags)
        else:
            mark = await _lock_and_mark(conn, plan.table)
            changed = (await conn.execute(stmt, params)).rowcount
            inserted = await _inserted_since(conn, plan.table, mark)
    except StatementError as exc:
        # A value refused by its column type (naive datetime, bad decimal): raise it as such,
        # exactly like the bulk path does.
        if not isinstance(exc, DBAPIError) and isinstance(exc.orig, Exception):
            raise exc.orig from None
        raise
    if plan.pk is not None:
        await _lookup_ids(conn, plan, rows, ids)
    return inserted, changed


def _has_result_processing(col: Column[Any], dialect: Dialect) -> bool:
    return col.type.dialect_impl(dialect).result_processor(dialect, None) is not None


def _collect_ids(found: Result[Any], ids: dict[tuple[Any, ...], int]) -> None:
    """Rows of (id, *key) into ``ids``, fetched at once (row-by-row fetching costs 2x)."""
    ids.update({tuple(row[1:]): row[0] for row in found.all()})


async def _lookup_ids(
    conn: AsyncConnection,
    plan: _Plan,
    rows: list[Mapping[str, Any]],
    ids: dict[tuple[Any, ...], int],
) -> None:
    assert plan.pk is not None
    tbl = plan.table
    key_cols = [tbl.c[name] for name in plan.conflict]
    key_of = itemgetter(*plan.conflict)
    for start in range(0, len(rows), _LOOKUP_CHUNK):
        chunk = [key_of(row) for row in rows[start : start + _LOOKUP_CHUNK]]
        where = key_cols[0].in_(chunk) if len(key_cols) == 1 else tuple_(*key_cols).in_(chunk)
        _collect_ids(await conn.execute(select(plan.pk, *key_cols).where(where)), ids)


# --- the bulk path -----------------------------------------------------------------------------


def _text_staged(type_: TypeEngine[Any], dialect: Dialect) -> bool:
    """PostgreSQL: exact numerics travel as text (asyncpg's binary numeric encoder is slow)."""
    if dialect.name != "postgresql":
        return False
    impl = type_.dialect_impl(dialect)
    if isinstance(impl, TypeDecorator):
        impl = impl.impl_instance
    return isinstance(impl, Numeric) and not isinstance(impl, Float)


def _converter(col: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column's bind processing (what SQLAlchemy would send), or None when it has none."""
    process = col.type.dialect_impl(dialect).bind_processor(dialect)
    if not _text_staged(col.type, dialect):
        return process
    if process is None:
        return lambda value: None if value is None else str(value)
    inner = process
    return lambda value: None if value is None else str(inner(value))


def _convert_column(values: list[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """Convert each distinct value once (values that are equal convert equally)."""
    try:
        distinct = set(values)
    except TypeError:  # unhashable values (JSON lists and objects): one by one
        return [convert(value) for value in values]
    done = {value: convert(value) for value in distinct}
    return list(map(done.__getitem__, values))


def _records(
    plan: _Plan, rows: Sequence[Mapping[str, Any]], dialect: Dialect
) -> Iterator[tuple[Any, ...]]:
    """The rows as driver-ready tuples, column by column (C-speed map/zip, few Python calls)."""
    by_column = [list(map(itemgetter(name), rows)) for name in plan.columns]
    for index, name in enumerate(plan.columns):
        convert = _converter(plan.table.c[name], dialect)
        if convert is not None:
            by_column[index] = _convert_column(by_column[index], convert)
    # Converted eagerly above (errors surface here); zipped lazily as the driver reads.
    return zip(*by_column, strict=False)  # equal lengths by construction; strict costs 2x


def _staging_table(plan: _Plan, dialect: Dialect) -> Table:
    name = f"_upsert_{plan.table.name}_{uuid.uuid4().hex[:12]}"
    columns = [
        Column(name, Text() if _text_staged(col.type, dialect) else col.type)
        for name, col in ((name, plan.table.c[name]) for name in plan.columns)
    ]
    options: dict[str, Any] = {}
    if dialect.name == "postgresql":
        options["postgresql_on_commit"] = "DROP"
    return Table(name, MetaData(), *columns, prefixes=["TEMPORARY"], **options)


def _staged(staging: Table, plan: _Plan, name: str, dialect: Dialect) -> ColumnElement[Any]:
    col = plan.table.c[name]
    if _text_staged(col.type, dialect):
        return cast(staging.c[name], col.type)
    return staging.c[name]


async def _load(
    conn: AsyncConnection, staging: Table, records: Iterator[tuple[Any, ...]], dialect: Dialect
) -> None:
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    names = [col.name for col in staging.columns]
    if dialect.name == "postgresql":
        await driver.copy_records_to_table(staging.name, columns=names, records=records)
        return
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO temp.{quote(staging.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    cursor = await driver.executemany(sql, records)
    await cursor.close()


def _new_or_changed(plan: _Plan, staging: Table, dialect: Dialect) -> ColumnElement[bool]:
    """Staged rows without a stored row, or whose update columns differ from it.

    Unchanged rows never reach the INSERT: no conflict handling, and on PostgreSQL no row lock.
    """
    tbl = plan.table
    match = and_(*(tbl.c[n] == _staged(staging, plan, n, dialect) for n in plan.conflict))
    stored = select(tbl.c[plan.conflict[0]]).where(match)
    if plan.set_columns:
        same = and_(
            *(
                ~_distinct(tbl.c[n], _staged(staging, plan, n, dialect), dialect)
                for n in plan.set_columns
            )
        )
        stored = stored.where(same)
    return ~stored.exists()


async def _bulk(
    conn: AsyncConnection,
    plan: _Plan,
    rows: list[Mapping[str, Any]],
    ids: dict[tuple[Any, ...], int],
    outcomes: dict[tuple[Any, ...], bool] | None = None,
) -> tuple[int, int]:
    """Returns (inserted, inserted + updated)."""
    dialect = conn.dialect
    tbl = plan.table
    records = _records(plan, rows, dialect)  # raises before anything is written
    mark = await _lock_and_mark(conn, tbl) if dialect.name == "sqlite" else 0
    staging = _staging_table(plan, dialect)
    if _one_trip(dialect):
        await _raw_sqlite(conn, str(CreateTable(staging).compile(dialect=dialect)))
    else:
        await conn.run_sync(staging.create)
    await _load(conn, staging, records, dialect)

    constants = [
        literal(value, tbl.c[name].type).label(name) for name, value in plan.constants.items()
    ]
    source = (
        select(*(_staged(staging, plan, n, dialect) for n in plan.columns), *constants)
        .select_from(staging)
        # The WHERE also keeps SQLite from reading ON CONFLICT as a join constraint.
        .where(_new_or_changed(plan, staging, dialect))
    )
    stmt = _upsert_statement(plan, dialect, source, [*plan.columns, *plan.constants])
    key_cols = [tbl.c[name] for name in plan.conflict]
    if outcomes is not None:
        found = (await conn.execute(stmt.returning(*_returned(plan, dialect)))).all()
        with_ids = ids if plan.pk is not None else None
        inserted, changed = _outcome_rows(found, mark, outcomes, with_ids)
    elif dialect.name == "postgresql":
        upserted = stmt.returning(_INSERTED).cte("upserted")
        counts = select(
            func.count().filter(upserted.c.inserted), func.count().filter(~upserted.c.inserted)
        )
        new, changed = (await conn.execute(counts)).one()
        inserted, changed = int(new), int(new) + int(changed)
    else:
        changed = (await conn.execute(stmt)).rowcount
        inserted = await _inserted_since(conn, tbl, mark)

    # The ids of the rows written came back with them (``_returned``): the others are read.
    if plan.pk is not None and not (outcomes is not None and changed == len(rows)):
        joined = tbl.join(
            staging,
            and_(*(tbl.c[n] == _staged(staging, plan, n, dialect) for n in plan.conflict)),
        )
        query = select(plan.pk, *key_cols).select_from(joined)
        if any(_has_result_processing(col, dialect) for col in key_cols):
            _collect_ids(await conn.execute(query), ids)
        else:  # values need no SQLAlchemy processing: fetch with the driver (5x fewer objects)
            sql = str(query.compile(dialect=dialect))  # no bound parameters
            driver: Any = (await conn.get_raw_connection()).driver_connection
            if dialect.name == "postgresql":
                found = await driver.fetch(sql)
            else:
                found = await driver.execute_fetchall(sql)
            ids.update({tuple(row[1:]): row[0] for row in found})
    if _one_trip(dialect):
        quoted = dialect.identifier_preparer.quote(staging.name)
        await _raw_sqlite(conn, f"DROP TABLE temp.{quoted}")
    else:
        await conn.run_sync(staging.drop)
    return inserted, changed


async def insert_rows(
    conn: AsyncConnection, table: Table, columns: Sequence[str], records: Sequence[tuple[Any, ...]]
) -> None:
    """Plain INSERT of ``records`` (tuples in ``columns`` order) with the driver's bulk API
    (asyncpg ``COPY``, sqlite3 ``executemany``): for rows that are new by construction, whose
    values need no conversion (integers, text, booleans). Other drivers: SQLAlchemy's
    executemany. Runs inside the caller's transaction."""
    if not records:
        return
    dialect = conn.dialect
    if dialect.driver not in _BULK_DRIVERS:
        await conn.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in records])
        return
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if dialect.name == "postgresql":
        await driver.copy_records_to_table(table.name, columns=list(columns), records=records)
        return
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    cursor = await driver.executemany(sql, records)
    await cursor.close()
