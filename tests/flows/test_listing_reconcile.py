"""A master sync reconciles each artist's complete Ticketmaster listing against its stored shows
(issue 12's phantom completions), end to end against the sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from flows.autonomous_sync import autonomous_sync
from flows.master_sync import master_sync
from models.tables import Artist, Show
from models.types import utcnow
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld

pytestmark = pytest.mark.prefect

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
SHOWS = Show.__table__  # type: ignore[attr-defined]


async def test_a_show_no_longer_listed_is_delisted_by_the_next_sync(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    use_sandbox(artists=20)
    await autonomous_sync(mode="discovery", limit=500)
    await autonomous_sync(mode="sync", limit=500)
    soon = utcnow().date() + timedelta(days=10)
    async with world.engine.begin() as conn:
        artist_id = (
            await conn.execute(
                select(SHOWS.c.artist_id)
                .join(ARTISTS, ARTISTS.c.id == SHOWS.c.artist_id)
                .where(ARTISTS.c.ticketmaster_id.is_not(None))
                .order_by(SHOWS.c.artist_id)
                .limit(1)
            )
        ).scalar_one()
        # An event Ticketmaster listed for this artist and dropped since.
        await conn.execute(
            insert(SHOWS).values(
                ticketmaster_id="dropped-event",
                artist_id=artist_id,
                local_date=soon,
                status="upcoming",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        upcoming_before = (
            await conn.execute(
                select(func.count()).where(
                    SHOWS.c.artist_id == artist_id, SHOWS.c.status == "upcoming"
                )
            )
        ).scalar_one()

    result = await master_sync(mode="full", limit=500)

    async with world.engine.connect() as conn:
        statuses = dict(
            (
                await conn.execute(
                    select(SHOWS.c.ticketmaster_id, SHOWS.c.status).where(
                        SHOWS.c.artist_id == artist_id
                    )
                )
            ).all()
        )
    assert statuses["dropped-event"] == "delisted"
    assert result["shows_delisted"] == 1
    # The artist's listed shows are untouched.
    assert list(statuses.values()).count("upcoming") == upcoming_before - 1
