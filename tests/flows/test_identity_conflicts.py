"""Issue 12 defects of identity, against the in-process sandbox on SQLite and PostgreSQL.

When the ids a sync found for an artist were held by another row, the sync switched to the
lowest-id row: another artist was marked synced or received setlists it did not own, and the
real one stayed at the head of every master sync. Now the synced artist's own row gets its sync
state, a genuine conflict is recorded and what was read by the conflicting id is not stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from flows.sync_artist import sync_artist
from models.identity import normalize_name
from models.tables import Artist, Setlist, SyncError
from models.types import utcnow
from sandbox.catalog import Artist as SandboxArtist
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld

pytestmark = pytest.mark.prefect

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
SETLISTS = Setlist.__table__  # type: ignore[attr-defined]
ERRORS = SyncError.__table__  # type: ignore[attr-defined]
StartSandbox = Callable[..., Sandbox]


def pick(sandbox: Sandbox, *, skip: int = 0) -> SandboxArtist:
    """A sandbox artist setlist.fm finds by its Ticketmaster id, with published setlists."""
    now = sandbox.now()
    fitting = [
        a
        for a in sandbox.catalog.artists
        if a.kind == "core"
        and a.mbid
        and a.setlistfm_tmid == a.ticketmaster_id
        and sandbox.catalog.setlists(a, now)
    ]
    return fitting[skip]


async def add_row(world: SyncWorld, name: str, **ids: str | None) -> int:
    """An artist row as an earlier sync left it."""
    now = utcnow()
    values: dict[str, Any] = {
        "name": name,
        "normalized_name": normalize_name(name),
        "slug": f"row-{uuid.uuid4().hex}",
        "created_at": now,
        "updated_at": now,
        "sync_failures": 0,
        **ids,
    }
    async with world.engine.begin() as conn:
        return int(
            (
                await conn.execute(insert(ARTISTS).values(**values).returning(ARTISTS.c.id))
            ).scalar_one()
        )


async def rows(world: SyncWorld) -> dict[int, dict[str, Any]]:
    async with world.engine.connect() as conn:
        found = (await conn.execute(select(ARTISTS))).mappings().all()
    return {row["id"]: dict(row) for row in found}


async def setlists_of(world: SyncWorld) -> dict[int, int]:
    async with world.engine.connect() as conn:
        found = await conn.execute(
            select(SETLISTS.c.artist_id, func.count()).group_by(SETLISTS.c.artist_id)
        )
        return {int(artist_id): int(n) for artist_id, n in found.all()}


async def open_errors(world: SyncWorld) -> list[tuple[str, str, str]]:
    async with world.engine.connect() as conn:
        found = await conn.execute(
            select(ERRORS.c.source, ERRORS.c.key, ERRORS.c.error).where(
                ERRORS.c.resolved_at.is_(None)
            )
        )
        return sorted((r.source, r.key, r.error) for r in found.all())


@pytest.mark.parametrize("other_first", [True, False], ids=["other-row-older", "other-row-newer"])
async def test_an_id_another_row_holds_never_moves_the_sync_or_the_setlists_to_that_row(
    world: SyncWorld, use_sandbox: StartSandbox, other_first: bool
) -> None:
    sandbox = use_sandbox()
    artist = pick(sandbox)
    # Another artist's row holds this artist's MusicBrainz id (a bad link of the past, or a
    # homonym): two rows, each with one of the ids setlist.fm pairs.
    other_ids = {"ticketmaster_id": "K8vZ917ZZZZ", "mbid": artist.mbid}
    own_ids = {"ticketmaster_id": artist.ticketmaster_id}
    if other_first:
        other = await add_row(world, "Somebody Else", **other_ids)
        own = await add_row(world, artist.name, **own_ids)
    else:
        own = await add_row(world, artist.name, **own_ids)
        other = await add_row(world, "Somebody Else", **other_ids)
    before = await rows(world)

    outcome = await sync_artist(ref=artist.ticketmaster_id or "")
    after = await rows(world)

    assert isinstance(outcome, dict)
    assert outcome["artist_id"] == own
    assert outcome["artists_synced"] == 1
    # The synced artist's own row has its sync state (not at the head of the next sync) ...
    assert after[own]["last_synced_at"] is not None
    assert after[own]["setlistfm_synced_at"] is not None
    assert after[own]["mbid"] is None  # ... and not the id another row holds
    # ... the other row is untouched: not synced, no setlists; nobody got the setlists read by
    # the disputed id.
    assert after[other] == before[other]
    assert await setlists_of(world) == {}
    assert outcome.get("identity_conflicts") == 1
    assert await open_errors(world) == [
        (
            "identity",
            f"artist:{own}:mbid",
            f"mbid={artist.mbid} not linked to artist {own} ({artist.name}): artist {other} "
            f"(Somebody Else) holds it with ticketmaster_id=K8vZ917ZZZZ, this artist has "
            f"{artist.ticketmaster_id}",
        )
    ]


async def test_a_row_holding_an_exactly_found_id_and_nothing_contrary_merges_into_the_synced_one(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    sandbox = use_sandbox()
    artist = pick(sandbox)
    # A row that only knew the MusicBrainz id (no contradicting id): the same artist.
    other = await add_row(world, f"{artist.name} (setlist.fm)", mbid=artist.mbid)
    own = await add_row(world, artist.name, ticketmaster_id=artist.ticketmaster_id)

    outcome = await sync_artist(ref=artist.ticketmaster_id or "")
    after = await rows(world)

    assert isinstance(outcome, dict)
    assert set(after) == {own}  # merged into the synced row, which keeps the sync
    assert after[own]["mbid"] == artist.mbid
    assert after[own]["last_synced_at"] is not None
    assert outcome["artists_merged"] == 1
    assert outcome.get("identity_conflicts", 0) == 0
    assert list(await setlists_of(world)) == [own]
    assert await open_errors(world) == []
    del other
