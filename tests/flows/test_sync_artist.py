"""``sync-artist`` end to end against the in-process sandbox, on SQLite and PostgreSQL: every kind
of reference resolves, a refresh changes only that artist, an ambiguous or unknown artist fails
the run with its reason, and an artist another run holds is left to it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from clients.spotify import SpotifyArtist
from clients.ticketmaster import TmAttraction
from flows.params import MAX_ARTIST_REF, SyncArtistParams
from flows.sync_artist import AmbiguousArtist, ArtistNotFound, kind_of, match_by_name, sync_artist
from models.artists import ArtistCandidate, resolve_artists
from models.tables import Artist, Show
from models.types import utcnow
from sandbox.catalog import Artist as SandboxArtist
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld, ledger

ARTISTS = Artist.__table__  # type: ignore[attr-defined]
SHOWS = Show.__table__  # type: ignore[attr-defined]
StartSandbox = Callable[..., Sandbox]


def _pick(
    sandbox: Sandbox, *, link_spotify: bool, skip: int = 0, apart_from: SandboxArtist | None = None
) -> SandboxArtist:
    """A sandbox artist on all three APIs under one name (no leading article), with upcoming
    events and past setlists; never on a bill with ``apart_from`` (artists of one scene share
    bills, and a sync stores the shows of its artist's bills)."""
    catalog = sandbox.catalog
    billed = set(catalog.event_ids_by_artist.get(apart_from.index, ())) if apart_from else set()
    fitting = [
        a
        for a in catalog.artists
        if a.kind == "core"
        and billed.isdisjoint(catalog.event_ids_by_artist.get(a.index, ()))
        and a.link_spotify is link_spotify
        and a.name == a.ticketmaster_name
        and not a.name.casefold().startswith(("the ", "a ", "an "))
        and a.activity > 0
        and catalog.events_by_attraction.get(a.ticketmaster_id or "")
    ]
    return fitting[skip]


async def _store(engine: AsyncEngine, *artists: SandboxArtist | ArtistCandidate) -> list[int]:
    candidates = [
        a
        if isinstance(a, ArtistCandidate)
        else ArtistCandidate(
            name=a.name, spotify_id=a.spotify_id, ticketmaster_id=a.ticketmaster_id
        )
        for a in artists
    ]
    async with engine.begin() as conn:
        return (await resolve_artists(conn, candidates)).artist_ids


async def _rows(engine: AsyncEngine) -> dict[int, dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(ARTISTS))).mappings().all()
    return {row["id"]: dict(row) for row in rows}


async def _show_artists(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return sorted((await conn.execute(select(SHOWS.c.artist_id))).scalars())


def _counts(outcome: object, *keys: str) -> tuple[int, ...]:
    """The flow's counts of ``keys`` (a key it never counted is 0)."""
    assert isinstance(outcome, dict), outcome
    return tuple(int(outcome.get(key, 0)) for key in keys)


def _runs(rows: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(row["job"], row["status"], row["parameters"]) for row in rows]


@pytest.mark.prefect
async def test_a_refresh_by_our_id_or_name_syncs_that_artist_and_changes_no_other(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    sandbox = use_sandbox()
    wanted = _pick(sandbox, link_spotify=True)
    other = _pick(sandbox, link_spotify=True, apart_from=wanted)
    wanted_id, other_id = await _store(world.engine, wanted, other)
    before = await _rows(world.engine)

    first = await sync_artist(ref=str(wanted_id))
    after = await _rows(world.engine)
    # By name, in another case and with the article: our row, refreshed (nothing new upstream).
    second = await sync_artist(ref=f"  the {wanted.name.upper()} ")

    assert _counts(first, "artist_id", "artists_synced", "artists_added") == (wanted_id, 1, 0)
    (shows_added, setlists_added) = _counts(first, "shows_added", "setlists_added")
    assert shows_added > 0
    assert setlists_added > 0
    assert await _show_artists(world.engine) == [wanted_id] * shows_added
    assert after[wanted_id]["last_synced_at"] is not None
    assert after[wanted_id]["mbid"] == wanted.mbid  # found on setlist.fm by its attraction id
    assert after[wanted_id]["claimed_by_run"] is None  # the claim ends with the run
    assert after[other_id] == before[other_id]
    assert set(after) == {wanted_id, other_id}
    assert _counts(
        second, "artist_id", "artists_synced", "shows_added", "setlists_added", "artists_added"
    ) == (wanted_id, 1, 0, 0, 0)
    assert _runs(await ledger(world.engine)) == [
        ("sync-artist", "success", {"ref": str(wanted_id), "dry_run": False}),
        ("sync-artist", "success", {"ref": f"the {wanted.name.upper()}", "dry_run": False}),
    ]


@pytest.mark.prefect
async def test_a_spotify_id_a_ticketmaster_id_and_a_name_import_the_artist(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    sandbox = use_sandbox()
    by_spotify = _pick(sandbox, link_spotify=True)
    by_ticketmaster = _pick(sandbox, link_spotify=True, skip=1)
    by_name = _pick(sandbox, link_spotify=False)  # its attraction does not link Spotify

    results = [
        await sync_artist(ref=by_spotify.spotify_id or ""),
        await sync_artist(ref=by_ticketmaster.ticketmaster_id or ""),
        await sync_artist(ref=by_name.name.lower()),
    ]
    rows = await _rows(world.engine)

    imported = [_counts(r, "artist_id", "artists_added", "artists_synced") for r in results]
    assert [(added, synced) for _, added, synced in imported] == [(1, 1)] * 3
    assert sorted(rows) == sorted(artist_id for artist_id, _, _ in imported)
    assert [
        (rows[artist_id]["name"], rows[artist_id]["spotify_id"], rows[artist_id]["ticketmaster_id"])
        for artist_id, _, _ in imported
    ] == [
        (a.name, a.spotify_id, a.ticketmaster_id)  # every source linked, whichever came first
        for a in (by_spotify, by_ticketmaster, by_name)
    ]
    assert all(rows[artist_id]["last_synced_at"] is not None for artist_id, _, _ in imported)
    assert set(await _show_artists(world.engine)) == {artist_id for artist_id, _, _ in imported}


@pytest.mark.prefect
async def test_an_ambiguous_or_unknown_artist_fails_the_run_with_its_reason(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    use_sandbox()
    twins = await _store(
        world.engine,
        ArtistCandidate(name="The Twins", ticketmaster_id="K8vZ917aaaa"),
        ArtistCandidate(name="TWINS!", spotify_id="0" * 22),
    )
    before = await _rows(world.engine)

    outcomes = {}
    for ref in ("twins", "Nobody Plays Here At All", "999999", "9" * 22, "K8vZ917zzzz"):
        state = await sync_artist(ref=ref, return_state=True)
        outcomes[ref] = (state.type.value, type(await state.aresult(raise_on_failure=False)))
    rows = await ledger(world.engine)

    assert outcomes == {
        "twins": ("FAILED", AmbiguousArtist),
        "Nobody Plays Here At All": ("FAILED", ArtistNotFound),
        "999999": ("FAILED", ArtistNotFound),
        "9" * 22: ("FAILED", ArtistNotFound),
        "K8vZ917zzzz": ("FAILED", ArtistNotFound),
    }
    assert [(row["status"], row["error_summary"]) for row in rows] == [
        (
            "failed",
            f"AmbiguousArtist: 'twins' names 2 of our artists: #{twins[0]} The Twins "
            f"(Ticketmaster K8vZ917aaaa); #{twins[1]} TWINS! (Spotify {'0' * 22}). "
            "Ask again with our id.",
        ),
        (
            "failed",
            "ArtistNotFound: no artist named 'Nobody Plays Here At All' here, on Ticketmaster "
            "or on Spotify (exact names only)",
        ),
        ("failed", "ArtistNotFound: no artist with our id 999999"),
        ("failed", f"ArtistNotFound: Spotify has no artist {'9' * 22}"),
        ("failed", "ArtistNotFound: Ticketmaster has no attraction K8vZ917zzzz"),
    ]
    assert await _rows(world.engine) == before  # nothing imported, nothing touched


@pytest.mark.prefect
async def test_an_artist_another_run_holds_is_left_to_it(
    world: SyncWorld, use_sandbox: StartSandbox
) -> None:
    sandbox = use_sandbox()
    (artist_id,) = await _store(world.engine, _pick(sandbox, link_spotify=True))
    async with world.engine.begin() as conn:
        await conn.execute(
            update(ARTISTS).values(
                claimed_by_run=12345, claimed_until=utcnow() + timedelta(hours=1)
            )
        )

    state = await sync_artist(ref=str(artist_id), return_state=True)

    assert (state.type.value, state.name) == ("COMPLETED", "Skipped")
    assert _counts(await state.aresult(), "artist_id", "artists_skipped", "artists_synced") == (
        artist_id,
        1,
        0,
    )
    assert (await _rows(world.engine))[artist_id]["last_synced_at"] is None
    assert await _show_artists(world.engine) == []


def _attraction(name: str, attraction_id: str, spotify_id: str | None = None) -> TmAttraction:
    links = {"spotify": [{"url": f"https://open.spotify.com/artist/{spotify_id}"}]}
    return TmAttraction.model_validate(
        {"id": attraction_id, "name": name, "externalLinks": links if spotify_id else {}}
    )


def _spotify(name: str, spotify_id: str) -> SpotifyArtist:
    return SpotifyArtist.model_validate({"id": spotify_id, "name": name})


SP1, SP2 = "1" * 22, "2" * 22


def test_a_name_search_takes_one_exact_artist_and_refuses_two() -> None:
    near_attraction, near_spotify = (
        _attraction("Ghost Town", "K8vZ917near"),
        _spotify("Ghostface", SP2),
    )
    linked = match_by_name(
        "ghost",
        [_attraction("Ghost", "K8vZ917gh01", SP1), near_attraction],
        [_spotify("GHOST", SP1), near_spotify],
    )
    by_name = match_by_name(
        "Ghost", [_attraction("Ghost", "K8vZ917gh01")], [_spotify("Ghost", SP1)]
    )
    only_spotify = match_by_name("Ghost", [], [_spotify("Ghost", SP1)])

    assert (linked.name, linked.spotify_id, linked.ticketmaster_id) == ("GHOST", SP1, "K8vZ917gh01")
    assert (by_name.spotify_id, by_name.ticketmaster_id) == (SP1, "K8vZ917gh01")
    assert (only_spotify.spotify_id, only_spotify.ticketmaster_id) == (SP1, None)
    with pytest.raises(AmbiguousArtist) as two_on_spotify:
        match_by_name("Ghost", [], [_spotify("Ghost", SP1), _spotify("Ghost", SP2)])
    assert str(two_on_spotify.value) == (
        f"'Ghost' names 2 different artists upstream: Ghost (Spotify {SP1}); Ghost (Spotify "
        f"{SP2}). Ask again with the Spotify or Ticketmaster id of the one meant."
    )
    with pytest.raises(AmbiguousArtist, match="names 2 different artists"):
        # The attraction links another Spotify artist than the one found by name.
        match_by_name("Ghost", [_attraction("Ghost", "K8vZ917gh01", SP2)], [_spotify("Ghost", SP1)])
    with pytest.raises(ArtistNotFound):
        match_by_name("Ghost", [near_attraction], [near_spotify])


def test_a_name_search_keeps_apart_an_attraction_and_a_spotify_artist_whose_genres_differ() -> None:
    rock = TmAttraction.model_validate(
        {
            "id": "K8vZ917gh01",
            "name": "Ghost",
            "classifications": [{"genre": {"name": "Rock"}, "subGenre": {"name": "Pop Rock"}}],
        }
    )
    metal = SpotifyArtist.model_validate({"id": SP1, "name": "Ghost", "genres": ["metal"]})
    rap = SpotifyArtist.model_validate({"id": SP1, "name": "Ghost", "genres": ["trap", "rap"]})

    same = match_by_name("Ghost", [rock], [metal])  # rock words fit metal: one artist
    assert (same.spotify_id, same.ticketmaster_id) == (SP1, "K8vZ917gh01")
    assert (same.genres, same.ticketmaster_genres) == (["metal"], ["Rock", "Pop Rock"])
    with pytest.raises(AmbiguousArtist) as apart:
        match_by_name("Ghost", [rock], [rap])
    assert str(apart.value) == (
        f"'Ghost' names 2 different artists upstream: Ghost (Spotify {SP1}); Ghost "
        "(Ticketmaster K8vZ917gh01). Ask again with the Spotify or Ticketmaster id of the one "
        "meant."
    )


def test_a_reference_is_read_by_its_form() -> None:
    assert [
        kind_of(ref)
        for ref in ("42", SP1, "9" * 22, "K8vZ9171ob7", "Ghost", "1975x", "K8vZ", "a" * 23)
    ] == ["id", "spotify_id", "spotify_id", "ticketmaster_id", "name", "name", "name", "name"]


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("", "the artist reference must not be empty"),
        ("   ", "the artist reference must not be empty"),
        ("x" * (MAX_ARTIST_REF + 1), f"must be at most {MAX_ARTIST_REF} characters, got 201"),
        ("Ghost\nTown", "must not contain control characters (found U+000A)"),
        (42, "Input should be a valid string"),
    ],
)
def test_a_bad_reference_is_refused_with_a_clear_message(ref: object, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        SyncArtistParams(ref=ref)  # type: ignore[arg-type]
