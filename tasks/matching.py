"""Which search result is the artist we searched for: the homonym rules (pure functions).

A name search (Spotify, Ticketmaster, setlist.fm) answers with every artist whose name fits. Two
different artists may share a name once normalised (``models.identity.normalize_name``: case,
accents, punctuation, ``&``/``and`` and a leading article do not count). A leading article is
*sometimes* a variant of one name between sources (Ticketmaster lists "The Young Owls" as "Young
Owls"), and sometimes the only difference between two artists ("Young Owls", known to
Ticketmaster alone, and "The Young Owls" on Spotify and setlist.fm). So a result is taken only
when it is *unambiguous*:

1. an exact link wins: the result carries one of the artist's own ids (a Ticketmaster attraction
   linking the artist's Spotify id, a setlist.fm artist with the artist's Ticketmaster id);
2. otherwise the results of the same normalised name are the candidates, minus those whose ids
   say they are someone else: an id of theirs contradicts one of ours (a setlist.fm ``tmid`` or
   an attraction's Spotify / MusicBrainz link that is not the artist's), another of our rows
   holds their id (that row is that artist), or their genres contradict the artist's from the
   other source (``models/genres.py``: an attraction classified "R&B" is not a Spotify artist
   tagged only "metal");
3. exactly one candidate left, and no other row of ours with the same name still lacking that
   kind of id (the result could be either's), unless that row's genres contradict the
   candidate's (it cannot be that row's);
4. and the candidate is *spelled alike* (``models.identity.spelled_alike``: the same leading
   article, or none on both sides), either with the name we searched for or with a name a
   source linked to the artist by id gives it (``also_known_as``: setlist.fm's sort name
   "Young Owls, The" stored with the MusicBrainz id, setlist.fm's answer to the artist's own
   Ticketmaster id, Spotify's name for the artist's stored Spotify id). A candidate that only a
   leading article sets apart is *held back* (``Pick.held_back``): not taken now, and taken
   later in the same sync only if such a linked source spells it so (``confirm``).

A result that passes is taken; otherwise none is, and ``Pick.why`` says why; the search is
stamped, so it waits its pause before being asked again. A candidate of the same normalised name
still counts in rule 3 whatever its article: "Young Owls" and "The Young Owls" both found for
"Young Owls" are two candidates, and neither is taken.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from clients.setlistfm import SfmArtist
from clients.spotify import SpotifyArtist
from clients.ticketmaster import TmAttraction
from models.artists import SameNameRow, other_rows_knowledge
from models.genres import genres_contradict
from models.identity import normalize_name, spelled_alike
from tasks.store import Writer

__all__ = [
    "Known",
    "Pick",
    "confirm",
    "known_for",
    "names_from_sort_name",
    "pick_attraction",
    "pick_setlistfm_artist",
    "pick_spotify_artist",
    "spelled_alike",
    "tmid_contradicts",
]

T = TypeVar("T")

#: A sort name that moved a leading article to the end: "Young Owls, The".
_SORTED_ARTICLE = re.compile(r"(.+?),\s*(the|a|an)", re.IGNORECASE)


@dataclass(frozen=True)
class Known:
    """What we know besides the searched artist's own row: which of the results' ids other rows
    hold, and how many other rows share its normalised name but lack the id the search is for
    (``models.artists.other_rows_knowledge``)."""

    held_elsewhere: frozenset[str] = frozenset()
    same_name_rows_without_id: int = 0
    #: Of those rows, the Ticketmaster and Spotify genres (when read): a row whose genres
    #: contradict the candidate's cannot be the candidate's artist (``models/genres.py``).
    same_name_genres: tuple[SameNameRow, ...] = ()


@dataclass(frozen=True)
class Pick(Generic[T]):
    """The result taken (``None``: none), whether it was an exact link, and why none was
    (``ambiguous``: results of the name were there, but could be another artist's).
    ``held_back``: the one candidate, not taken because only a leading article sets it apart
    from the name searched for (``spelled``: its name); ``confirm`` takes it when a source
    linked to the artist by id spells it so."""

    found: T | None = None
    exact: bool = False
    why: str | None = None
    ambiguous: bool = False
    held_back: T | None = None
    spelled: str | None = None


def names_from_sort_name(sort_name: str | None) -> tuple[str, ...]:
    """The name with its leading article that a sort name like setlist.fm's ``"Young Owls, The"``
    stands for (``("The Young Owls",)``); none for any other sort name."""
    if not sort_name:
        return ()
    found = _SORTED_ARTICLE.fullmatch(sort_name.strip())
    return (f"{found.group(2)} {found.group(1)}",) if found is not None else ()


def confirm(pick: Pick[T], names: Iterable[str]) -> T | None:
    """The held-back candidate of ``pick`` when one of ``names`` (given to the artist by a source
    linked to it by id) spells it alike; else ``None``."""
    if pick.held_back is None or pick.spelled is None:
        return None
    spelled = pick.spelled
    return pick.held_back if any(spelled_alike(name, spelled) for name in names) else None


async def known_for(
    writer: Writer, artist_id: int, name: str, id_field: str, ids: Iterable[str]
) -> Known:
    """What our other rows say about a search for row ``artist_id`` (one read)."""
    async with writer.read() as conn:
        held, same_name = await other_rows_knowledge(conn, artist_id, name, id_field, ids)
    return Known(
        held_elsewhere=held,
        same_name_rows_without_id=len(same_name),
        same_name_genres=tuple(same_name),
    )


def tmid_contradicts(tmid: int | str | None, ticketmaster_id: str | None) -> bool:
    """setlist.fm's ``tmid`` names another attraction than ours. A legacy numeric id cannot be
    compared with a Discovery id (``K8vZ9…``): only two ids of one form contradict."""
    if tmid is None or not ticketmaster_id:
        return False
    theirs = str(tmid)
    if theirs.isdigit() != ticketmaster_id.isdigit():
        return False
    return theirs != ticketmaster_id


def _one(
    name: str,
    results: Iterable[T],
    *,
    ids: Callable[[T], list[str]],
    label: str,
    known: Known,
    excluded: Callable[[T], str | None],
    spelling: Callable[[T], str],
    also_known_as: Iterable[str],
    apart: Callable[[T, SameNameRow], bool] = lambda result, row: False,
) -> Pick[T]:
    """Rules 2 to 4 over ``results`` (already of the searched normalised name); ``ids`` gives a
    result's own id first, then the ids it links; ``spelling`` its name."""

    def key(result: T) -> str:
        return ids(result)[0]

    candidates: dict[str, T] = {}
    reasons: list[str] = []
    for result in results:
        why = excluded(result)
        if why is None and (held := [i for i in ids(result) if i in known.held_elsewhere]):
            why = f"another of our artists holds {held[0]}"
        if why is not None:
            reasons.append(f"{key(result)} ({why})")
        else:
            candidates.setdefault(key(result), result)
    if len(candidates) > 1:
        listed = ", ".join(sorted(candidates))
        return Pick(
            why=f"{len(candidates)} {label} artists named {name!r}: {listed}", ambiguous=True
        )
    if not candidates:
        if reasons:
            listed = ", ".join(reasons)
            return Pick(
                why=f"the {label} artists named {name!r} are others: {listed}", ambiguous=True
            )
        return Pick(why=f"no {label} artist named {name!r}")
    (candidate,) = candidates.values()
    others = known.same_name_rows_without_id - sum(
        apart(candidate, row) for row in known.same_name_genres
    )
    if others > 0:
        return Pick(
            why=f"one {label} artist named {name!r}, but {others + 1} "
            "of our artists have that name: it could be any of theirs",
            ambiguous=True,
        )
    spelled = spelling(candidate)
    if not any(spelled_alike(known_name, spelled) for known_name in (name, *also_known_as)):
        return Pick(
            why=f"one {label} artist named {name!r}, spelled {spelled!r}: a leading article "
            "apart, it may be another artist",
            ambiguous=True,
            held_back=candidate,
            spelled=spelled,
        )
    return Pick(candidate)


def _genres(values: Sequence[str]) -> str:
    return ", ".join(values)


def pick_spotify_artist(
    name: str,
    results: Sequence[SpotifyArtist],
    known: Known,
    *,
    also_known_as: Iterable[str] = (),
    ticketmaster_genres: Sequence[str] = (),
) -> Pick[SpotifyArtist]:
    """The Spotify artist named ``name`` (a search by name: Spotify artists carry no other id).
    ``ticketmaster_genres``: the artist's attraction's; a result whose genres contradict them is
    another artist (``models/genres.py``)."""
    wanted = normalize_name(name)
    same = [a for a in results if normalize_name(a.name) == wanted]

    def excluded(artist: SpotifyArtist) -> str | None:
        if genres_contradict(ticketmaster_genres, artist.genres):
            return (
                f"its genres {_genres(artist.genres or ())} are not Ticketmaster's "
                f"{_genres(ticketmaster_genres)}"
            )
        return None

    return _one(
        name,
        same,
        ids=lambda a: [a.id],
        label="Spotify",
        known=known,
        excluded=excluded,
        spelling=lambda a: a.name,
        also_known_as=also_known_as,
        apart=lambda artist, row: genres_contradict(row[0], artist.genres),
    )


def pick_attraction(
    name: str,
    results: Sequence[TmAttraction],
    known: Known,
    *,
    spotify_id: str | None,
    mbid: str | None,
    also_known_as: Iterable[str] = (),
    spotify_genres: Sequence[str] = (),
) -> Pick[TmAttraction]:
    """The Ticketmaster attraction of the artist named ``name`` with these ids: the one linking
    its Spotify id (exact), else by name without a link to another artist and without genres
    that contradict the artist's Spotify ``spotify_genres`` (``models/genres.py``)."""
    if spotify_id:
        linked = {a.id: a for a in results if a.spotify_id == spotify_id}
        if len(linked) == 1:
            return Pick(next(iter(linked.values())), exact=True)
    wanted = normalize_name(name)

    def excluded(attraction: TmAttraction) -> str | None:
        if spotify_id and attraction.spotify_id not in (None, spotify_id):
            return f"links Spotify {attraction.spotify_id}"
        if mbid and attraction.mbid not in (None, mbid):
            return f"links MusicBrainz {attraction.mbid}"
        if genres_contradict(attraction.genres, spotify_genres):
            return (
                f"its genres {_genres(attraction.genres)} are not Spotify's "
                f"{_genres(spotify_genres)}"
            )
        return None

    same = [a for a in results if normalize_name(a.name) == wanted]
    return _one(
        name,
        same,
        ids=lambda a: [i for i in (a.id, a.spotify_id, a.mbid) if i],
        label="Ticketmaster",
        known=known,
        excluded=excluded,
        spelling=lambda a: a.name,
        also_known_as=also_known_as,
        apart=lambda attraction, row: genres_contradict(attraction.genres, row[1]),
    )


def pick_setlistfm_artist(
    name: str,
    results: Sequence[SfmArtist],
    known: Known,
    *,
    ticketmaster_id: str | None,
    also_known_as: Iterable[str] = (),
) -> Pick[SfmArtist]:
    """The setlist.fm artist of the artist named ``name``: the one with its Ticketmaster id
    (exact), else by name without another ``tmid``."""
    if ticketmaster_id:
        linked = {a.mbid: a for a in results if str(a.tmid or "") == ticketmaster_id}
        if len(linked) == 1:
            return Pick(next(iter(linked.values())), exact=True)
    wanted = normalize_name(name)

    def excluded(artist: SfmArtist) -> str | None:
        if tmid_contradicts(artist.tmid, ticketmaster_id):
            return f"Ticketmaster id {artist.tmid}"
        return None

    same = [a for a in results if normalize_name(a.name) == wanted]
    return _one(
        name,
        same,
        ids=lambda a: [a.mbid, *([str(a.tmid)] if a.tmid is not None else [])],
        label="setlist.fm",
        known=known,
        excluded=excluded,
        spelling=lambda a: a.name,
        also_known_as=also_known_as,
    )
