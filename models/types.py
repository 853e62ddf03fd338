"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

from clients.clock import calendar_now

__all__ = [
    "MAX_INSTANT",
    "MIN_INSTANT",
    "Money",
    "OutOfRangeInstantError",
    "UTCDateTime",
    "to_storable_utc",
    "utcnow",
]

#: The instants both databases store alike. asyncpg writes Python's ``datetime.min`` and
#: ``datetime.max`` as PostgreSQL's ``-infinity`` and ``infinity`` (SQLite keeps the value), and
#: an offset can push an instant of year 1 or 9999 out of Python's range when converted to UTC.
MIN_INSTANT = datetime(1, 1, 2, tzinfo=UTC)
MAX_INSTANT = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)


def utcnow() -> datetime:
    """The current instant, UTC-aware: the one source of "now" (``clients.clock.calendar_now``,
    the wall clock unless a simulation installed its calendar)."""
    return calendar_now()


class OutOfRangeInstantError(ValueError):
    """An instant outside ``MIN_INSTANT`` .. ``MAX_INSTANT``."""

    def __init__(self, value: datetime) -> None:
        super().__init__(
            f"{value.isoformat()} is outside the instants both databases store alike "
            f"({MIN_INSTANT.isoformat()} to {MAX_INSTANT.isoformat()})"
        )


def to_storable_utc(value: datetime) -> datetime:
    """``value`` in UTC, or ``OutOfRangeInstantError`` (never ``OverflowError``) when it is
    outside ``MIN_INSTANT`` .. ``MAX_INSTANT``. ``value`` must be aware."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise OutOfRangeInstantError(value) from None
    if not MIN_INSTANT <= utc <= MAX_INSTANT:
        raise OutOfRangeInstantError(value)
    return utc


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant.

    PostgreSQL stores ``timestamptz``; SQLite stores the naive UTC value. Naive datetimes and
    instants outside ``MIN_INSTANT`` .. ``MAX_INSTANT`` are refused on the way in (a
    ``ValueError``), and every value comes back aware (UTC).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given where UTC is required")
        value = to_storable_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount: ``NUMERIC(12, 2)`` on PostgreSQL, decimal text on SQLite."""

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(12, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        quantized = value.quantize(Decimal("0.01"))
        if dialect.name == "sqlite":
            return str(quantized)
        return quantized

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value))
