"""Whether Ticketmaster's genres and Spotify's can describe one artist (a pure rule).

A name search links two records by name alone. When two artists share a name, the genres the
two sources give are the one other evidence at hand: Ticketmaster classifies an attraction
with one genre of its fixed taxonomy and a sub-genre ("Rock", "Alternative Rock"); Spotify
tags an artist with free genre strings ("indie rock", "alt country"). A record is taken for an
artist only if the genres do not **contradict**: both are known, and no Spotify genre contains
a word of the Ticketmaster genre's family (``FAMILIES``) or of its own names.

The rule only ever *removes* a candidate: genres that are missing (a development-tier Spotify
app reads none, many attractions carry "Undefined"), or a Ticketmaster genre not in the table,
are no evidence, and the name rules decide as before. The families are broad on purpose (rock
words count for Alternative, Metal, Blues and Country alike): a genre tag that fits the
artist loosely must never hold back its own record, since a missed link costs an artist its
metadata while a contradiction is taken as proof of two artists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from models.identity import normalize_name

__all__ = ["FAMILIES", "genres_contradict"]

# fmt: off
_ROCK: Final = ("rock", "indie", "alternative", "garage", "punk", "grunge", "psych", "shoegaze",
                "britpop", "emo", "new wave", "surf", "stoner", "prog")
_ELECTRONIC: Final = ("edm", "house", "techno", "electro", "electronic", "bass", "trance",
                      "dubstep", "drum and bass", "dnb", "disco", "dance", "ambient", "idm",
                      "breakbeat", "hardstyle", "synth")

#: Ticketmaster's music genres (normalised) and the words of Spotify genres that fit each.
FAMILIES: Final[dict[str, tuple[str, ...]]] = {
    "rock": (*_ROCK, "metal", "hard rock", "blues rock", "folk rock", "country rock", "pop rock"),
    "pop": ("pop", "dance", "synth", "idol", "boy band", "girl group", "teen", "singer songwriter"),
    "hip hop rap": ("hip hop", "rap", "trap", "drill", "grime", "boom bap", "phonk"),
    "country": ("country", "americana", "bluegrass", "honky tonk", "outlaw", "red dirt", "cowboy",
                "nashville", "western"),
    "alternative": (*_ROCK, "lo fi", "dream pop", "noise", "post"),
    "r and b": ("r and b", "soul", "funk", "motown", "quiet storm", "new jack swing", "gospel"),
    "dance electronic": _ELECTRONIC,
    "metal": ("metal", "core", "hard rock", "thrash", "doom", "grind", "djent", "sludge",
              "hardcore", "heavy", "rock"),
    "folk": ("folk", "singer songwriter", "acoustic", "americana", "bluegrass", "celtic",
             "chamber", "roots"),
    "latin": ("latin", "reggaeton", "urbano", "cumbia", "salsa", "bachata", "banda", "corrido",
              "mariachi", "norteno", "regional mexican", "tango", "bossa nova", "sertanejo",
              "dembow", "merengue", "mexican", "tropical"),
    "jazz": ("jazz", "bebop", "swing", "big band", "bossa nova", "fusion", "smooth", "soul"),
    "blues": ("blues", "boogie", "delta", "soul", "rock"),
    "classical": ("classical", "orchestra", "opera", "baroque", "choral", "chamber", "symphon",
                  "composer", "string quartet", "early music"),
    "reggae": ("reggae", "dancehall", "ska", "dub", "rocksteady", "roots"),
    "religious": ("gospel", "christian", "worship", "ccm", "praise"),
    "children s music": ("children", "kids", "lullab"),
    "new age": ("new age", "ambient", "meditation", "healing"),
    "world": ("world", "afro", "k pop", "j pop", "c pop", "bollywood", "desi", "celtic",
              "flamenco", "fado", "highlife", "soukous"),
}
# fmt: on


def _words(text: str) -> str:
    """A genre folded like a name (case, accents, punctuation), padded to match whole words."""
    return f" {normalize_name(text)} "


def genres_contradict(ticketmaster: Iterable[str] | None, spotify: Iterable[str] | None) -> bool:
    """True when Ticketmaster's genres (genre and sub-genre names) and Spotify's genres are both
    known and no Spotify genre fits: none contains a word of a family the Ticketmaster genres
    name, nor a Ticketmaster genre's own name. Unknown genres (none, or none in ``FAMILIES``)
    never contradict."""
    tm_names = [n for n in (normalize_name(g) for g in ticketmaster or ()) if n]
    spotify_genres = [_words(g) for g in spotify or () if normalize_name(g)]
    if not tm_names or not spotify_genres:
        return False
    families = [FAMILIES[name] for name in tm_names if name in FAMILIES]
    if not families:
        return False  # "Undefined", "Other", a genre this table does not know: no evidence
    words = {f" {w} " for family in families for w in family} | {f" {n} " for n in tm_names}
    stems = {w for family in families for w in family if " " not in w}
    for genre in spotify_genres:
        if any(word in genre for word in words):
            return False
        if any(stem in token for token in genre.split() for stem in stems):
            return False  # "synthpop", "metalcore", "electropop": a family word inside a word
    return True
