"""Whether Ticketmaster's and Spotify's genres can describe one artist (``models/genres.py``)."""

from __future__ import annotations

import pytest

from models.genres import FAMILIES, genres_contradict
from models.identity import normalize_name
from sandbox.names import GENRES


@pytest.mark.parametrize(
    ("ticketmaster", "spotify", "contradict"),
    [
        # The two twins of the 5,000-artist month that took each other's ids.
        (["Rock", "Alternative Rock"], ["alt country"], True),
        (["R&B", "Soul"], ["metalcore", "metal", "hard rock"], True),
        (["Hip-Hop/Rap", "Trap"], ["bossa nova", "smooth jazz"], True),
        # A family word, whole or inside a word, or the sub-genre's own name: they fit.
        (["Rock", "Alternative Rock"], ["alternative rock"], False),
        (["Pop", "Indie Pop"], ["synthpop"], False),
        (["Metal", "Hard Rock"], ["deathcore"], False),
        (["Dance/Electronic", "House"], ["uk garage", "deep house"], False),
        (["R&B", "Soul"], ["alternative r&b"], False),
        (["Country", "Alternative Country"], ["country rock"], False),
        (["Rock", "Pop Rock"], ["country rock"], False),  # broad on purpose: "rock" fits
        # No evidence: a side without genres, or a genre the table does not know.
        ([], ["metal"], False),
        (None, ["metal"], False),
        (["R&B"], [], False),
        (["R&B"], None, False),
        (["Undefined"], ["metal"], False),
        (["Other", "Undefined"], ["metal"], False),
    ],
)
def test_genres_contradict_only_when_both_are_known_and_nothing_fits(
    ticketmaster: list[str] | None, spotify: list[str] | None, contradict: bool
) -> None:
    assert genres_contradict(ticketmaster, spotify) is contradict


def test_every_family_is_a_ticketmaster_genre_as_normalised() -> None:
    assert sorted(FAMILIES) == sorted(normalize_name(name) for name in FAMILIES)
    # The sandbox's genres (Ticketmaster's taxonomy) all have a family.
    assert {normalize_name(g.name) for g in GENRES} <= set(FAMILIES)


def test_an_artists_own_spotify_genres_never_contradict_its_ticketmaster_genre() -> None:
    """Recall: each genre's Spotify tags fit its Ticketmaster genre, whatever the sub-genre."""
    clashes = [
        (genre.name, sub, tag)
        for genre in GENRES
        for _, sub in genre.sub_genres
        for tag in genre.spotify
        if genres_contradict([genre.name, sub], [tag])
    ]
    assert clashes == []


def test_most_pairs_of_different_genres_contradict() -> None:
    """Precision: of the 132 ordered pairs of two of the 12 genres, these 30 fit (a Ticketmaster
    genre, then a genre any of whose Spotify tags fits it: the families overlap where music
    does — rock words for Alternative, Metal and Blues, "soul" for Jazz and Blues); the other
    102 pairs contradict whatever tags the artist has."""
    fitting = sorted(
        (a.name, b.name)
        for a in GENRES
        for b in GENRES
        if a is not b and not genres_contradict([a.name], b.spotify)
    )
    assert fitting == [
        ("Alternative", "Blues"),
        ("Alternative", "Country"),
        ("Alternative", "Folk"),
        ("Alternative", "Metal"),
        ("Alternative", "Pop"),
        ("Alternative", "R&B"),
        ("Alternative", "Rock"),
        ("Blues", "Country"),
        ("Blues", "Folk"),
        ("Blues", "Metal"),
        ("Blues", "R&B"),
        ("Blues", "Rock"),
        ("Dance/Electronic", "Pop"),
        ("Folk", "Country"),
        ("Jazz", "Blues"),
        ("Jazz", "R&B"),
        ("Metal", "Blues"),
        ("Metal", "Country"),
        ("Metal", "Folk"),
        ("Metal", "Rock"),
        ("Pop", "Folk"),
        ("Pop", "Latin"),
        ("R&B", "Blues"),
        ("Rock", "Alternative"),
        ("Rock", "Blues"),
        ("Rock", "Country"),
        ("Rock", "Folk"),
        ("Rock", "Metal"),
        ("Rock", "Pop"),
        ("Rock", "R&B"),
    ]
