"""One real-world artist is one row: resolving candidates from any source onto artist rows.

Every source hands over ``ArtistCandidate``s. A candidate matches an existing row by any of its ids
(Spotify, Ticketmaster, MusicBrainz); failing that, by normalised name when none of the row's ids
contradicts the candidate's, and only when the name is unambiguous (one such row, one such
candidate in the batch). Missing ids are filled in (linking). When one candidate's ids point at two
rows, the rows are the same artist and are merged into the older one (logged and counted).

``link_artist_ids`` is the other entry: ids a sync found *for one known row* (its setlist.fm,
Spotify or Ticketmaster search). They go to that row or nowhere: an id another row holds is a
conflict, recorded and left apart, never a reason to sync or fill the other row
(``docs/storage.md``, "Identity and homonyms").
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from models.genres import genres_contradict
from models.identity import normalize_name, slug_candidates, slugify
from models.tables import (
    Artist,
    ArtistSnapshot,
    Setlist,
    SetlistEntry,
    Show,
    ShowSupportAct,
    Song,
    UserActivity,
)
from models.trending import forget_artist_activity
from models.types import utcnow

__all__ = [
    "ID_FIELDS",
    "ArtistCandidate",
    "LinkResult",
    "ResolveResult",
    "SameNameRow",
    "group_candidates",
    "link_artist_ids",
    "link_artists_ids",
    "merge_artists",
    "other_rows_knowledge",
    "resolve_artists",
]

logger = logging.getLogger("mysetlist.models.artists")

ID_FIELDS = ("spotify_id", "ticketmaster_id", "mbid")
_METADATA_FIELDS = (
    "sort_name",
    "image_url",
    "images",
    "genres",
    "ticketmaster_genres",
    "popularity",
    "followers",
)
_CHUNK = 500
#: Bind parameter of the row id in batched updates (no column has this name).
_ROW_ID = "_row_id"

artists: Table = Artist.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ArtistCandidate:
    """What one source knows of an artist. ``None`` means "this source does not say"."""

    name: str
    spotify_id: str | None = None
    ticketmaster_id: str | None = None
    mbid: str | None = None
    sort_name: str | None = None
    image_url: str | None = None
    images: list[dict[str, Any]] | None = None
    genres: list[str] | None = None  # Spotify's
    ticketmaster_genres: list[str] | None = None  # an attraction's genre and sub-genre names
    popularity: int | None = None
    followers: int | None = None
    #: Fields this source only fills when missing (a lesser source: Ticketmaster's image, say).
    fill_only: frozenset[str] = frozenset()
    #: The id of the record itself (an attraction's ``ticketmaster_id``), as opposed to the ids
    #: it links: when its ids point at rows that cannot be merged, it is this id's row.
    primary: str = "spotify_id"

    @property
    def ids(self) -> dict[str, str]:
        return {name: value for name in ID_FIELDS if (value := getattr(self, name))}

    def combine(self, other: ArtistCandidate) -> ArtistCandidate:
        """This candidate completed with what ``other`` knows and this one does not."""
        updates = {
            f.name: getattr(other, f.name)
            for f in fields(self)
            if f.name not in ("fill_only", "primary")
            and getattr(self, f.name) is None
            and getattr(other, f.name) is not None
        }
        return replace(self, **updates) if updates else self


@dataclass
class ResolveResult:
    """Where each candidate landed (by input index) and what changed."""

    artist_ids: list[int] = field(default_factory=list)
    added: int = 0
    linked: int = 0
    updated: int = 0
    merged: int = 0
    conflicts: list[str] = field(default_factory=list)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


async def _load_matching(
    conn: AsyncConnection, candidates: Sequence[ArtistCandidate]
) -> dict[int, dict[str, Any]]:
    """Every existing row sharing an id or a normalised name with any candidate."""
    wanted: dict[str, set[str]] = {name: set() for name in (*ID_FIELDS, "normalized_name")}
    for candidate in candidates:
        for name, value in candidate.ids.items():
            wanted[name].add(value)
        wanted["normalized_name"].add(normalize_name(candidate.name))
    rows: dict[int, dict[str, Any]] = {}
    present = {name: sorted(values) for name, values in wanted.items() if values}
    if all(len(values) <= _CHUNK for values in present.values()):
        # The usual batch: one statement for every column (each IN uses its own index).
        if present:
            where = or_(*(artists.c[name].in_(values) for name, values in present.items()))
            result = await conn.execute(select(artists).where(where))
            rows.update((row["id"], dict(row)) for row in result.mappings())
        return rows
    for column_name, values in present.items():
        column = artists.c[column_name]
        for chunk in _chunks(values):
            result = await conn.execute(select(artists).where(column.in_(chunk)))
            for row in result.mappings():
                rows[row["id"]] = dict(row)
    return rows


def _compatible(row: dict[str, Any], candidate: ArtistCandidate) -> bool:
    """No id of the row contradicts an id of the candidate."""
    return all(row[name] in (None, value) for name, value in candidate.ids.items())


def _genres_apart(row: Mapping[str, Any], candidate: ArtistCandidate) -> bool:
    """The row's genres and the candidate's say two artists: Ticketmaster's of one contradict
    Spotify's of the other (``models/genres.py``)."""
    return genres_contradict(candidate.ticketmaster_genres, row["genres"]) or genres_contradict(
        row["ticketmaster_genres"], candidate.genres
    )


def group_candidates(
    candidates: Sequence[ArtistCandidate],
) -> tuple[list[ArtistCandidate], list[int]]:
    """Union candidates of one batch that share an id; returns the groups and each input's group."""
    parent = list(range(len(candidates)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[tuple[str, str], int] = {}
    for index, candidate in enumerate(candidates):
        for key in candidate.ids.items():
            if key in seen:
                parent[find(index)] = find(seen[key])
            else:
                seen[key] = index
    groups: dict[int, ArtistCandidate] = {}
    for index, candidate in enumerate(candidates):
        root = find(index)
        groups[root] = groups[root].combine(candidate) if root in groups else candidate
    order = {root: position for position, root in enumerate(groups)}
    return list(groups.values()), [order[find(i)] for i in range(len(candidates))]


async def resolve_artists(
    conn: AsyncConnection,
    candidates: Sequence[ArtistCandidate],
    *,
    create: bool = True,
    now: datetime | None = None,
    by_name: bool = True,
) -> ResolveResult:
    """Map candidates onto artist rows, linking, updating, merging and (if ``create``) inserting.

    A candidate without a matching id falls back to its normalised name (``by_name``) only when
    exactly one row has that name, no id of it contradicts the candidate's, its genres do not say
    another artist (``models/genres.py``: an attraction classified "R&B" is not a Spotify artist
    tagged only "metal"), and no other candidate of the batch that no id places has that name
    too (two attractions "Young Owls" are two artists: a lone row of that name cannot be told to
    be either). With ``by_name=False``, ids only.

    Returns the artist id of every candidate (``0`` for one not found when ``create`` is false).
    """
    now = now or utcnow()
    result = ResolveResult()
    if not candidates:
        return result
    groups, group_of = group_candidates(candidates)
    rows = await _load_matching(conn, groups)
    by_id = {
        name: {row[name]: row_id for row_id, row in rows.items() if row[name]} for name in ID_FIELDS
    }
    rows_by_name: dict[str, list[int]] = {}
    for row_id, row in sorted(rows.items()):
        rows_by_name.setdefault(row["normalized_name"], []).append(row_id)
    # Per name, the candidates of the batch that no id places: two of them are two artists.
    unplaced_names = Counter(
        normalize_name(c.name)
        for c in groups
        if not any(value in by_id[name] for name, value in c.ids.items())
    )

    group_ids: list[int] = []
    pending_new: list[tuple[int, ArtistCandidate]] = []
    # Row updates are written in batches (see ``_flush_updates``); the bookkeeping above is not.
    pending_updates: dict[int, dict[str, Any]] = {}
    merged_into: dict[int, int] = {}  # loser -> survivor, for candidates resolved before a merge
    for position, candidate in enumerate(groups):
        matched = sorted(
            {by_id[name][value] for name, value in candidate.ids.items() if value in by_id[name]}
        )
        if len(matched) > 1:
            survivor = matched[0]
            apart: list[int] = []
            for loser in matched[1:]:
                if loser not in rows or survivor not in rows:
                    continue
                if not all(
                    rows[survivor][name] in (None, rows[loser][name]) or rows[loser][name] is None
                    for name in ID_FIELDS
                ):
                    result.conflicts.append(
                        f"artists {survivor} and {loser} both claim {candidate.ids}; left apart"
                    )
                    apart.append(loser)
                    continue
                # The merge reads both rows from the database: they must be up to date.
                await _flush_updates(conn, pending_updates)
                await merge_artists(conn, survivor_id=survivor, loser_id=loser, now=now)
                merged_into[loser] = survivor
                for name in ID_FIELDS:
                    if rows[loser][name]:
                        by_id[name][rows[loser][name]] = survivor
                        if rows[survivor][name] is None:
                            rows[survivor][name] = rows[loser][name]
                del rows[loser]
                result.merged += 1
            matched = [survivor]
            if apart:
                # Rows left apart: the candidate is the row holding its own record's id (an
                # attraction is the row of its Ticketmaster id), or none; never the oldest.
                own = by_id[candidate.primary].get(candidate.ids.get(candidate.primary, ""))
                if own not in (survivor, *apart):
                    group_ids.append(0)
                    continue
                matched = [own]
        normalized = normalize_name(candidate.name)
        if not matched and by_name and unplaced_names[normalized] == 1:
            same_name = [
                row_id
                for row_id in rows_by_name.get(normalized, [])
                if row_id in rows
                and _compatible(rows[row_id], candidate)
                and not _genres_apart(rows[row_id], candidate)
            ]
            if len(same_name) == 1:
                matched = same_name
        if matched:
            row_id = matched[0]
            row = rows[row_id]
            changes: dict[str, Any] = {}
            for name, value in candidate.ids.items():
                if row[name] is None and by_id[name].get(value, row_id) == row_id:
                    changes[name] = value
                elif row[name] not in (None, value):
                    result.conflicts.append(
                        f"artist {row_id} has {name}={row[name]}, source says {value}"
                    )
            linked = bool(changes)
            changes.update(_metadata_changes(candidate, row))
            if changes:
                changes["updated_at"] = now
                pending_updates.setdefault(row_id, {}).update(changes)
                row.update(changes)
                for name in ID_FIELDS:
                    if name in changes:
                        by_id[name][changes[name]] = row_id
                result.linked += int(linked)
                result.updated += int(not linked)
            group_ids.append(row_id)
        elif create:
            group_ids.append(-1)
            pending_new.append((position, candidate))
        else:
            group_ids.append(0)

    # Before the inserts: a new artist's ids must not meet a link that is still pending.
    await _flush_updates(conn, pending_updates)
    if pending_new:
        new_ids = await _insert_new(conn, [candidate for _, candidate in pending_new], now=now)
        for (position, _), new_id in zip(pending_new, new_ids, strict=True):
            group_ids[position] = new_id
        result.added = len(new_ids)
    for position, row_id in enumerate(group_ids):
        while row_id in merged_into:  # an earlier candidate's row was merged away since
            row_id = merged_into[row_id]
        group_ids[position] = row_id
    result.artist_ids = [group_ids[group] for group in group_of]
    for line in result.conflicts:
        logger.warning("artist identity conflict: %s", line)
    return result


@dataclass
class LinkResult:
    """What ``link_artist_ids`` did to one row: ids linked, rows merged into it, and the ids it
    refused (id field -> why), which the caller records and whose data it must not store."""

    linked: int = 0
    updated: int = 0
    merged: int = 0
    refused: dict[str, str] = field(default_factory=dict)


async def _row(conn: AsyncConnection, artist_id: int) -> dict[str, Any] | None:
    found = (await conn.execute(select(artists).where(artists.c.id == artist_id))).mappings()
    row = found.first()
    return dict(row) if row is not None else None


def _why_not_merged(
    row: dict[str, Any],
    holder: dict[str, Any],
    candidate: ArtistCandidate,
    *,
    exact: bool,
    now: datetime,
) -> str | None:
    """Why the row holding one of the candidate's ids may not be folded into ``row``."""
    theirs = f"artist {holder['id']} ({holder['name']})"
    if not exact:
        return f"{theirs} holds it; found by name only, so not merged"
    for name in ID_FIELDS:
        mine = row[name] or candidate.ids.get(name)
        if mine is not None and holder[name] is not None and holder[name] != mine:
            return f"{theirs} holds it with {name}={holder[name]}, this artist has {mine}"
    claimed_until = holder["claimed_until"]
    if holder["claimed_by_run"] is not None and claimed_until is not None and claimed_until > now:
        return f"{theirs} holds it and is being synced by run {holder['claimed_by_run']}"
    return None


def _metadata_changes(candidate: ArtistCandidate, row: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata of ``candidate`` that differs from ``row`` (``fill_only`` fields only where
    the row has none)."""
    return {
        name: value
        for name in _METADATA_FIELDS
        if (value := getattr(candidate, name)) is not None
        and row[name] != value
        and not (name in candidate.fill_only and row[name] is not None)
    }


def _link_changes(
    candidate: ArtistCandidate, row: Mapping[str, Any], refused: Mapping[str, str]
) -> tuple[dict[str, Any], bool]:
    """The columns linking ``candidate`` writes on ``row``: the ids it lacks (not refused), and,
    when no id was refused, the metadata that differs (``fill_only`` fields only where empty).
    Also whether any id is among them (a link, not a metadata update)."""
    changes: dict[str, Any] = {
        name: value
        for name, value in candidate.ids.items()
        if name not in refused and row[name] is None
    }
    linked = bool(changes)
    if not refused:
        changes.update(_metadata_changes(candidate, row))
    return changes, linked


async def link_artist_ids(
    conn: AsyncConnection,
    artist_id: int,
    candidate: ArtistCandidate,
    *,
    now: datetime,
    exact: frozenset[str] = frozenset(),
) -> LinkResult:
    """Link the ids a sync found *for* row ``artist_id`` (and the metadata that came with them)
    onto that row, and nowhere else.

    An id the row lacks and no row holds is linked. An id another row holds is the same artist
    only when it was found exactly (a field in ``exact``: setlist.fm's answer to the artist's own
    Ticketmaster id, an attraction's link to its Spotify id), none of the two rows' ids
    contradict, and no run is syncing the other row: that row is merged into this one. Anything
    else is a conflict: the id is refused (``LinkResult.refused``), nothing is written for it,
    and the candidate's metadata (which came with that id) is not stored either. Never does the
    candidate's data, or the sync, move to another row.
    """
    result = LinkResult()
    row = await _row(conn, artist_id)
    if row is None:
        raise LookupError(f"artist {artist_id} no longer exists (merged into another?)")
    for name, value in candidate.ids.items():
        if row[name] == value:
            continue
        if row[name] is not None:
            result.refused[name] = (
                f"artist {artist_id} ({row['name']}) has {name}={row[name]}, a source says {value}"
            )
            continue
        holder = (
            (await conn.execute(select(artists).where(artists.c[name] == value))).mappings().first()
        )
        if holder is None:
            continue
        why = _why_not_merged(row, dict(holder), candidate, exact=name in exact, now=now)
        if why is not None:
            result.refused[name] = f"{name}={value} not linked to artist {artist_id} " + (
                f"({row['name']}): {why}"
            )
            continue
        await merge_artists(conn, survivor_id=artist_id, loser_id=holder["id"], now=now)
        result.merged += 1
        row = await _row(conn, artist_id) or row
    changes, linked = _link_changes(candidate, row, result.refused)
    if changes:
        changes["updated_at"] = now
        await conn.execute(update(artists).where(artists.c.id == artist_id).values(**changes))
        result.linked += int(linked)
        result.updated += int(not linked)
    for line in result.refused.values():
        logger.warning("artist identity conflict: %s", line)
    return result


async def link_artists_ids(
    conn: AsyncConnection,
    found: Sequence[tuple[int, ArtistCandidate, frozenset[str]]],
    *,
    now: datetime,
) -> list[LinkResult] | None:
    """``link_artist_ids`` for many rows at once (row id, candidate, exact fields), none of the
    candidates sharing an id with another: the rows and the holders of their ids read in a few
    statements, the changes written by one executemany per set of columns. The same decisions,
    the same writes as linking them one by one in this order (a row's link touches that row
    only, so no decision depends on another's write). Returns ``None``, having written nothing,
    when one of them would merge another row into its own: the caller links them one by one
    (``link_artist_ids``, which merges). ``LookupError`` when a row no longer exists."""
    ids = sorted({artist_id for artist_id, _, _ in found})
    keys = [(name, value) for _, candidate, _ in found for name, value in candidate.ids.items()]
    if len(ids) != len(found) or len(set(keys)) != len(keys):
        raise ValueError("link_artists_ids takes distinct rows whose candidates share no id")
    rows: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        some = ids[start : start + _CHUNK]
        result = await conn.execute(select(artists).where(artists.c.id.in_(some)))
        rows.update((int(row["id"]), dict(row)) for row in result.mappings())
    wanted: dict[str, set[str]] = {}
    for artist_id, candidate, _ in found:
        row = rows.get(artist_id)
        if row is None:
            raise LookupError(f"artist {artist_id} no longer exists (merged into another?)")
        for name, value in candidate.ids.items():
            if row[name] is None:
                wanted.setdefault(name, set()).add(value)
    holders: dict[tuple[str, str], dict[str, Any]] = {}
    for name, values in wanted.items():
        for chunk in _chunks(sorted(values)):
            result = await conn.execute(select(artists).where(artists.c[name].in_(chunk)))
            for held in result.mappings():
                holders.setdefault((name, held[name]), dict(held))
    results: list[LinkResult] = []
    pending: dict[int, dict[str, Any]] = {}
    for artist_id, candidate, exact in found:
        row = rows[artist_id]
        outcome = LinkResult()
        for name, value in candidate.ids.items():
            if row[name] == value:
                continue
            if row[name] is not None:
                outcome.refused[name] = (
                    f"artist {artist_id} ({row['name']}) has {name}={row[name]}, "
                    f"a source says {value}"
                )
                continue
            holder = holders.get((name, value))
            if holder is None:
                continue
            why = _why_not_merged(row, holder, candidate, exact=name in exact, now=now)
            if why is None:
                return None  # a merge: linked one by one instead
            outcome.refused[name] = f"{name}={value} not linked to artist {artist_id} " + (
                f"({row['name']}): {why}"
            )
        changes, linked = _link_changes(candidate, row, outcome.refused)
        if changes:
            changes["updated_at"] = now
            pending[artist_id] = changes
            outcome.linked += int(linked)
            outcome.updated += int(not linked)
        results.append(outcome)
    await _flush_updates(conn, pending)
    for outcome in results:
        for line in outcome.refused.values():
            logger.warning("artist identity conflict: %s", line)
    return results


async def _insert_new(
    conn: AsyncConnection, candidates: Sequence[ArtistCandidate], *, now: datetime
) -> list[int]:
    wanted = {slugify(c.name) for c in candidates}
    taken: set[str] = set()
    for base in _chunks(sorted(wanted)):
        like = or_(*(artists.c.slug.like(f"{b}%") for b in base))
        taken.update((await conn.execute(select(artists.c.slug).where(like))).scalars())
    # One INSERT per set of column keys: an absent field stays out of the statement (SQL NULL),
    # where a None parameter would store JSON ``null`` in ``images``/``genres``.
    batches: dict[frozenset[str], list[dict[str, Any]]] = {}
    slugs: list[str] = []
    for candidate in candidates:
        discriminator = next(iter(candidate.ids.values()), None)
        slug = next(
            (
                s
                for s in slug_candidates(candidate.name, discriminator=discriminator)
                if s not in taken
            ),
            None,
        )
        counter = 2
        while slug is None:
            probe = f"{slugify(candidate.name)}-{counter}"
            slug = probe if probe not in taken else None
            counter += 1
        taken.add(slug)
        slugs.append(slug)
        values = {
            "name": candidate.name,
            "normalized_name": normalize_name(candidate.name),
            "slug": slug,
            **candidate.ids,
            **{
                name: getattr(candidate, name)
                for name in _METADATA_FIELDS
                if getattr(candidate, name) is not None
            },
            "created_at": now,
            "updated_at": now,
            "sync_failures": 0,
        }
        batches.setdefault(frozenset(values), []).append(values)
    # Each new row's id is matched to its candidate by the (unique) slug it comes back with.
    # ``returning(..., sort_by_parameter_order=True)`` would match them by position, but
    # SQLAlchemy cannot guarantee that order on SQLite and sends one INSERT per row there.
    ids_by_slug: dict[str, int] = {}
    statement = insert(artists).returning(artists.c.id, artists.c.slug)
    for params in batches.values():
        inserted = await conn.execute(statement, params)
        ids_by_slug.update((slug, int(new_id)) for new_id, slug in inserted)
    ids = [ids_by_slug[slug] for slug in slugs]
    for candidate in candidates:
        logger.info(
            "artist added: %s (%s)",
            candidate.name,
            ", ".join(f"{k}={v}" for k, v in candidate.ids.items()),
        )
    return ids


async def _flush_updates(conn: AsyncConnection, pending: dict[int, dict[str, Any]]) -> None:
    """Write the pending row changes (row id -> column values), one executemany per set of
    changed columns, and empty ``pending``."""
    batches: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row_id, changes in sorted(pending.items()):
        batches.setdefault(frozenset(changes), []).append({_ROW_ID: row_id, **changes})
    pending.clear()
    for keys, params in batches.items():
        statement = (
            update(artists)
            .where(artists.c.id == bindparam(_ROW_ID))
            .values({name: bindparam(name) for name in sorted(keys)})
        )
        await conn.execute(statement, params)


async def merge_artists(
    conn: AsyncConnection, *, survivor_id: int, loser_id: int, now: datetime | None = None
) -> None:
    """Fold ``loser_id`` into ``survivor_id``: child rows are re-pointed, then the loser goes."""
    now = now or utcnow()
    shows: Table = Show.__table__  # type: ignore[attr-defined]
    acts: Table = ShowSupportAct.__table__  # type: ignore[attr-defined]
    songs: Table = Song.__table__  # type: ignore[attr-defined]
    entries: Table = SetlistEntry.__table__  # type: ignore[attr-defined]
    setlists: Table = Setlist.__table__  # type: ignore[attr-defined]
    activity: Table = UserActivity.__table__  # type: ignore[attr-defined]
    snapshots: Table = ArtistSnapshot.__table__  # type: ignore[attr-defined]

    loser = (await conn.execute(select(artists).where(artists.c.id == loser_id))).mappings().one()
    survivor = (
        (await conn.execute(select(artists).where(artists.c.id == survivor_id))).mappings().one()
    )

    # Songs: the survivor's song of the same title wins; entries follow it.
    twin = songs.alias("twin")
    pairs = (
        await conn.execute(
            select(songs.c.id, twin.c.id)
            .join(twin, twin.c.normalized_title == songs.c.normalized_title)
            .where(songs.c.artist_id == loser_id, twin.c.artist_id == survivor_id)
        )
    ).all()
    if pairs:
        await conn.execute(
            update(entries)
            .where(entries.c.song_id == bindparam("old"))
            .values(song_id=bindparam("new")),
            [{"old": old, "new": new} for old, new in pairs],
        )
        await conn.execute(
            update(activity)
            .where(activity.c.song_id == bindparam("old"))
            .values(song_id=bindparam("new")),
            [{"old": old, "new": new} for old, new in pairs],
        )
        await conn.execute(delete(songs).where(songs.c.id.in_([old for old, _ in pairs])))
    await conn.execute(
        update(songs).where(songs.c.artist_id == loser_id).values(artist_id=survivor_id)
    )
    # Support acts and snapshots: drop the loser's rows that would collide.
    both = select(acts.c.show_id).where(acts.c.artist_id == survivor_id)
    await conn.execute(delete(acts).where(acts.c.artist_id == loser_id, acts.c.show_id.in_(both)))
    await conn.execute(
        update(acts).where(acts.c.artist_id == loser_id).values(artist_id=survivor_id)
    )
    days = select(snapshots.c.day).where(snapshots.c.artist_id == survivor_id)
    await conn.execute(
        delete(snapshots).where(snapshots.c.artist_id == loser_id, snapshots.c.day.in_(days))
    )
    await conn.execute(
        update(snapshots).where(snapshots.c.artist_id == loser_id).values(artist_id=survivor_id)
    )
    for table in (shows, setlists, activity):
        await conn.execute(
            update(table).where(table.c.artist_id == loser_id).values(artist_id=survivor_id)
        )
    # The survivor's stored activity sums miss the loser's events: recount them from the events.
    await forget_artist_activity(conn, artist_ids=[survivor_id])
    # Shows headlined by the survivor no longer list it as a support act.
    headlined = select(shows.c.id).where(shows.c.artist_id == survivor_id)
    await conn.execute(
        delete(acts).where(acts.c.artist_id == survivor_id, acts.c.show_id.in_(headlined))
    )

    await conn.execute(delete(artists).where(artists.c.id == loser_id))
    fill = {
        name: loser[name]
        for name in (
            *ID_FIELDS,
            *_METADATA_FIELDS,
            "spotify_synced_at",
            "ticketmaster_synced_at",
            "setlistfm_synced_at",
        )
        if survivor[name] is None and loser[name] is not None
    }
    if fill:
        fill["updated_at"] = now
        await conn.execute(update(artists).where(artists.c.id == survivor_id).values(**fill))
    logger.info(
        "artists merged: %s (id %s) into %s (id %s)",
        loser["name"],
        loser_id,
        survivor["name"],
        survivor_id,
    )


async def count_artists(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(artists))).scalar_one())


SameNameRow = tuple[tuple[str, ...], tuple[str, ...]]
"""Another row of the searched name without the searched id: its Ticketmaster and Spotify
genres (``models/genres.py``)."""


async def other_rows_knowledge(
    conn: AsyncConnection, artist_id: int, name: str, id_field: str, ids: Iterable[str]
) -> tuple[frozenset[str], list[SameNameRow]]:
    """What the other rows say about a search for row ``artist_id``: which of ``ids`` (any
    kind) they hold, and the rows sharing the normalised ``name`` without an ``id_field`` (each
    as its Ticketmaster and Spotify genres). One statement (a few for thousands of ids): the
    rows of either kind, told apart here."""
    wanted = set(ids)
    normalized = normalize_name(name)
    held: set[str] = set()
    same_name: list[SameNameRow] = []
    columns = (
        artists.c.normalized_name,
        artists.c[id_field],
        artists.c.ticketmaster_genres,
        artists.c.genres,
        *(artists.c[f] for f in ID_FIELDS),
    )
    chunks = list(_chunks(sorted(wanted))) or [[]]
    for index, chunk in enumerate(chunks):
        either: list[ColumnElement[bool]] = [artists.c[f].in_(chunk) for f in ID_FIELDS if chunk]
        if index == 0:  # the rows sharing the name, counted once
            either.append(
                and_(artists.c.normalized_name == normalized, artists.c[id_field].is_(None))
            )
        found = await conn.execute(select(*columns).where(artists.c.id != artist_id, or_(*either)))
        for row in found:
            held.update(value for value in row[4:] if value in wanted)
            if index == 0 and row[0] == normalized and row[1] is None:
                same_name.append((tuple(row[2] or ()), tuple(row[3] or ())))
    return frozenset(held), same_name
