"""Dialect helpers of the trending SQL: the same arithmetic on SQLite and PostgreSQL.

Ages are whole seconds, days whole days, ``power``/``floor`` the C library's on both dialects
(``models.db`` registers them on an SQLite built without its math functions), so both databases
give bit-identical scores for the same data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer, Select, Subquery, case, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

__all__ = [
    "MIN_EXPONENT",
    "epoch_day",
    "epoch_seconds",
    "fenced",
    "float_",
    "pow2",
]

# 2 ** -1000 (about 9.3e-302) is the smallest weight counted; below it a weight is exactly 0.
# PostgreSQL raises "value out of range: underflow" where power() or a product would round to 0
# (an event about 8.8 years old at a 72-hour half-life), and every daily run would fail. The
# margin above the underflow (2 ** -1074) keeps ``stored sum * weight`` representable for any
# stored sum of at least 1e-6 (smaller sums are stored as 0).
MIN_EXPONENT = -1000.0


class epoch_seconds(FunctionElement[float]):
    """Whole seconds since 1970-01-01 UTC of a ``UTCDateTime`` column (floored)."""

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


class epoch_day(FunctionElement[int]):
    """Whole days since 1970-01-01 of a ``DATE`` value."""

    type = Integer()
    inherit_cache = True
    name = "epoch_day"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_seconds_pg(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"floor(date_part('epoch', {compiler.process(element.clauses, **kw)}))"


@compiles(epoch_day, "sqlite")
def _epoch_day_sqlite(element: epoch_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5 AS INTEGER)"


@compiles(epoch_day, "postgresql")
def _epoch_day_pg(element: epoch_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST({compiler.process(element.clauses, **kw)} AS DATE) - DATE '1970-01-01')"


def float_(value: float) -> ColumnElement[float]:
    """A double-precision literal (never NUMERIC on PostgreSQL)."""
    return literal(float(value), Float)


def pow2(exponent: ColumnElement[Any]) -> ColumnElement[float]:
    """``2 ** exponent`` for a non-positive exponent, exactly 0 below ``MIN_EXPONENT``.

    ``exponent`` must depend on a column: PostgreSQL may fold a constant ``power`` at planning
    time even in a branch of ``CASE`` that is never taken."""
    return case(
        (exponent < float_(MIN_EXPONENT), float_(0.0)),
        else_=func.power(float_(2.0), exponent, type_=Float),
    )


def fenced(query: Select[Any], name: str) -> Subquery:
    """``query`` as a subquery the planner computes once per row instead of inlining it.

    PostgreSQL pulls a plain subquery up into its parent and then evaluates its expressions once
    per reference (a decayed sum appears a dozen times in a score); an ``OFFSET`` keeps it
    apart on both dialects."""
    return query.offset(0).subquery(name)
