"""The daily request plan's shared counters: what each API's planned runs were granted today.

One row per API and UTC calendar day (the quotas reset at UTC midnight) holds ``committed``:
the requests granted to runs still going, plus the requests spent by runs that ended. A run
asks for its share in one write transaction (``grant``: PostgreSQL locks the day's row with
``FOR UPDATE``, SQLite takes its write lock with ``BEGIN IMMEDIATE``), so two workers planning
at once are serialised and never grant the same requests twice; at its end the run gives back
what it did not spend (``settle``). A run that dies keeps its grant until midnight: capacity
lost for a day at worst, never a request over the plan.

The plan counts against a ceiling (``REQUEST_PLAN_QUOTA_SHARE`` of the quota, 90 % by
default), separate from the rate limiter's own per-day counter (``rate_quota_days``), which
enforces the quota itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from sqlalchemy import CheckConstraint, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import Field, SQLModel

import models.tables  # noqa: F401  (the metadata's naming convention first)
from models.rate_leases import write_transaction

__all__ = ["RequestBudgetDay", "committed", "grant", "settle"]


class RequestBudgetDay(SQLModel, table=True):
    """Requests an API's planned runs were granted (or spent) on one UTC calendar day."""

    __tablename__ = "request_budget_days"

    api: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    committed: int = Field(default=0)

    __table_args__ = (CheckConstraint("committed >= 0", name="committed"),)


_days: Table = RequestBudgetDay.__table__  # type: ignore[attr-defined]


async def _locked(conn: AsyncConnection, api: str, day: date) -> int:
    query = select(_days.c.committed).where(_days.c.api == api, _days.c.day == day)
    value = (await conn.execute(query.with_for_update())).scalar()
    if value is None:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        await conn.execute(
            insert(_days).values(api=api, day=day, committed=0).on_conflict_do_nothing()
        )
        value = (await conn.execute(query.with_for_update())).scalar_one()
    return int(value)


async def grant(
    engine: AsyncEngine,
    *,
    day: date,
    ceilings: Mapping[str, int],
    share: Mapping[str, Callable[[int], int]],
) -> dict[str, tuple[int, int]]:
    """Grant each API of ``ceilings`` its share of what is left of ``day`` under its ceiling.

    ``share[api]`` is a function of the requests left (``left -> wanted``); the grant is
    ``min(wanted, left)``, added to the day's committed count in the same transaction. Returns
    ``api -> (granted, left before the grant)``."""
    granted: dict[str, tuple[int, int]] = {}
    async with write_transaction(engine) as conn:
        for api in sorted(ceilings):
            used = await _locked(conn, api, day)
            left = max(0, ceilings[api] - used)
            wanted = share[api](left)
            count = max(0, min(int(wanted), left))
            if count:
                await conn.execute(
                    update(_days)
                    .where(_days.c.api == api, _days.c.day == day)
                    .values(committed=_days.c.committed + count)
                )
            granted[api] = (count, left)
    return granted


async def settle(engine: AsyncEngine, *, day: date, unspent: Mapping[str, int]) -> None:
    """Give back what a run was granted on ``day`` and did not spend (``unspent[api]``, may be
    negative: a run without a grant adds what it spent)."""
    changes = {api: n for api, n in unspent.items() if n}
    if not changes:
        return
    async with write_transaction(engine) as conn:
        greatest = func.greatest if conn.dialect.name == "postgresql" else func.max
        for api in sorted(changes):
            await _locked(conn, api, day)
            await conn.execute(
                update(_days)
                .where(_days.c.api == api, _days.c.day == day)
                .values(committed=greatest(_days.c.committed - changes[api], 0))
            )


async def committed(engine: AsyncEngine, api: str, day: date) -> int:
    """Requests granted or spent against ``api``'s plan on ``day`` (0 when none)."""
    async with engine.connect() as conn:
        value = (
            await conn.execute(
                select(_days.c.committed).where(_days.c.api == api, _days.c.day == day)
            )
        ).scalar()
    return 0 if value is None else int(value)
