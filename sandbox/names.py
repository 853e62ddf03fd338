"""Word lists and name makers for the sandbox catalogue: artists, songs, venues, tours."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = [
    "GENRES",
    "Genre",
    "artist_name",
    "song_title",
    "tour_name",
    "venue_name",
]


@dataclass(frozen=True, slots=True)
class Genre:
    """A Ticketmaster genre with its sub-genres and matching Spotify genre strings."""

    tm_id: str
    name: str
    sub_genres: tuple[tuple[str, str], ...]
    spotify: tuple[str, ...]


GENRES: tuple[Genre, ...] = (
    Genre(
        "KnvZfZ7vAeA",
        "Rock",
        (("KZazBEonSMnZfZ7v6dt", "Alternative Rock"), ("KZazBEonSMnZfZ7v6F1", "Pop Rock")),
        ("rock", "modern rock", "alternative rock", "indie rock", "garage rock"),
    ),
    Genre(
        "KnvZfZ7vAev",
        "Pop",
        (("KZazBEonSMnZfZ7v6F1", "Pop"), ("KZazBEonSMnZfZ7vk1t", "Indie Pop")),
        ("pop", "dance pop", "indie pop", "synthpop", "electropop"),
    ),
    Genre(
        "KnvZfZ7vAv1",
        "Hip-Hop/Rap",
        (("KZazBEonSMnZfZ7vkda", "Hip-Hop/Rap"), ("KZazBEonSMnZfZ7vAkJ", "Trap")),
        ("hip hop", "rap", "trap", "southern hip hop", "conscious hip hop"),
    ),
    Genre(
        "KnvZfZ7vAv6",
        "Country",
        (("KZazBEonSMnZfZ7vFJA", "Country"), ("KZazBEonSMnZfZ7vkdI", "Alternative Country")),
        ("country", "contemporary country", "alt country", "americana", "country rock"),
    ),
    Genre(
        "KnvZfZ7vAvv",
        "Alternative",
        (("KZazBEonSMnZfZ7vAvJ", "Alternative"), ("KZazBEonSMnZfZ7vAnJ", "Indie")),
        ("alternative", "indie", "shoegaze", "post-punk", "emo"),
    ),
    Genre(
        "KnvZfZ7vAee",
        "R&B",
        (("KZazBEonSMnZfZ7vkdt", "R&B"), ("KZazBEonSMnZfZ7vAd7", "Soul")),
        ("r&b", "neo soul", "contemporary r&b", "soul", "alternative r&b"),
    ),
    Genre(
        "KnvZfZ7vAvF",
        "Dance/Electronic",
        (("KZazBEonSMnZfZ7vAJk", "House"), ("KZazBEonSMnZfZ7vAJt", "Techno")),
        ("edm", "house", "techno", "electronica", "future bass"),
    ),
    Genre(
        "KnvZfZ7vAvt",
        "Metal",
        (("KZazBEonSMnZfZ7vkd7", "Metal"), ("KZazBEonSMnZfZ7vkdl", "Hard Rock")),
        ("metal", "metalcore", "hard rock", "thrash metal", "progressive metal"),
    ),
    Genre(
        "KnvZfZ7vAva",
        "Folk",
        (("KZazBEonSMnZfZ7vk1I", "Folk"), ("KZazBEonSMnZfZ7vkdA", "Singer-Songwriter")),
        ("folk", "indie folk", "singer-songwriter", "chamber folk", "folk rock"),
    ),
    Genre(
        "KnvZfZ7vAJ6",
        "Latin",
        (("KZazBEonSMnZfZ7vAJa", "Latin Pop"), ("KZazBEonSMnZfZ7vAJe", "Reggaeton")),
        ("latin pop", "reggaeton", "urbano latino", "latin", "cumbia"),
    ),
    Genre(
        "KnvZfZ7vAvE",
        "Jazz",
        (("KZazBEonSMnZfZ7vk1e", "Jazz"), ("KZazBEonSMnZfZ7vk1l", "Fusion")),
        ("jazz", "contemporary jazz", "jazz fusion", "vocal jazz", "nu jazz"),
    ),
    Genre(
        "KnvZfZ7vAvd",
        "Blues",
        (("KZazBEonSMnZfZ7vk17", "Blues"), ("KZazBEonSMnZfZ7vk1J", "Blues Rock")),
        ("blues", "blues rock", "electric blues", "modern blues", "soul blues"),
    ),
)

_ADJECTIVES = (
    "Midnight",
    "Velvet",
    "Electric",
    "Silver",
    "Golden",
    "Hollow",
    "Neon",
    "Paper",
    "Crimson",
    "Quiet",
    "Wild",
    "Static",
    "Northern",
    "Lonesome",
    "Broken",
    "Glass",
    "Young",
    "Cosmic",
    "Rusty",
    "Lucky",
    "Sleepy",
    "Bitter",
    "Sunday",
    "Desert",
    "Ocean",
    "Fading",
    "Burning",
    "Blue",
    "Pale",
    "Savage",
)
_NOUNS = (
    "Owls",
    "Harbor",
    "Lanterns",
    "Wolves",
    "Machines",
    "Sparrows",
    "Ghosts",
    "Rivers",
    "Satellites",
    "Kings",
    "Daughters",
    "Arrows",
    "Tides",
    "Horses",
    "Mirrors",
    "Canyons",
    "Pilots",
    "Strangers",
    "Comets",
    "Foxes",
    "Saints",
    "Echoes",
    "Thieves",
    "Lights",
    "Parade",
    "Motel",
    "Orchard",
    "Engine",
    "Choir",
    "District",
)
_FIRST_NAMES = (
    "Maya",
    "Jonah",
    "Lucía",
    "Theo",
    "Nadia",
    "Eli",
    "Zoë",
    "Marcus",
    "Priya",
    "Caleb",
    "Renée",
    "Oscar",
    "Ines",
    "Tobias",
    "June",
    "Andrés",
    "Hazel",
    "Kofi",
    "Sofia",
    "Declan",
    "Amara",
    "Felix",
    "Noémie",
    "Rafael",
    "Willa",
)
_LAST_NAMES = (
    "Torres",
    "Hart",
    "Lindqvist",
    "Okafor",
    "Reyes",
    "Whitaker",
    "Moreau",
    "Castillo",
    "Brennan",
    "Nakamura",
    "Delgado",
    "Fitzgerald",
    "Haddad",
    "Sullivan",
    "Baptiste",
    "Kowalski",
    "Ibáñez",
    "Okoro",
    "Vance",
    "Marlowe",
)
_PREFIXES = ("DJ", "Lil", "MC", "Young")
_SUFFIXES = ("Band", "Trio", "Collective", "Revue", "Project", "Orchestra", "Experience")
_PLACES = ("Memphis", "Ohio", "Carolina", "Texas", "Brooklyn", "Tulsa", "Oakland", "Detroit")

_SONG_WORDS_A = (
    "Neon",
    "Paper",
    "Golden",
    "Silver",
    "Summer",
    "Midnight",
    "Broken",
    "Holy",
    "Hollow",
    "Sweet",
    "Lonely",
    "Electric",
    "Cold",
    "Wild",
    "Slow",
    "Little",
    "Dark",
    "Bright",
    "Last",
    "First",
)
_SONG_WORDS_B = (
    "Heart",
    "Lanterns",
    "Highway",
    "Dreams",
    "Fire",
    "Rain",
    "Money",
    "Ghost",
    "Wine",
    "Water",
    "Kids",
    "Stars",
    "Lights",
    "Road",
    "Bones",
    "Hands",
    "Eyes",
    "Sky",
    "Love",
    "Town",
)
_SONG_PATTERNS = (
    "{a} {b}",
    "{b}",
    "{a} {b}",
    "The {a} {b}",
    "{b} of {p}",
    "Ghosts of {p}",
    "{a} in {p}",
    "Don't Let Me {v}",
    "Let It {v}",
    "{b} ({a} Version)",
    "Where the {b} {v}",
    "{a} & {b}",
    "Song for {n}",
    "{n}",
    "Back to {p}",
)
_VERBS = ("Go", "Down", "Fall", "Wait", "Run", "Shine", "Break", "Burn", "Drift", "Dance")

_VENUE_TYPES = (
    "Theatre",
    "Theater",
    "Music Hall",
    "Ballroom",
    "Amphitheatre",
    "Arena",
    "Pavilion",
    "Hall",
    "Auditorium",
    "Lounge",
    "Opera House",
    "Center",
)
_VENUE_WORDS = (
    "Orpheum",
    "Fillmore",
    "Paramount",
    "Crystal",
    "Riverside",
    "Lakeshore",
    "Union",
    "Majestic",
    "Liberty",
    "Granada",
    "Palace",
    "Summit",
    "Capitol",
    "Harbor",
    "Empire",
    "Tower",
    "Coliseum",
    "Mercury",
    "Beacon",
    "Warfield",
)

_TOUR_PATTERNS = (
    "{a} {b} Tour",
    "The {a} {b} World Tour",
    "{b} Tour {y}",
    "North American Tour {y}",
    "{a} {b} Tour {y}",
    "An Evening With {n}",
)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"


def artist_name(rng: random.Random) -> tuple[str, bool]:
    """A plausible artist name (band, soloist, DJ...) and whether it is a person's name."""
    kind = rng.random()
    if kind < 0.30:
        return f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}", False
    if kind < 0.50:
        return f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}", False
    if kind < 0.72:
        return _person(rng), True
    if kind < 0.80:
        return f"{rng.choice(_PREFIXES)} {rng.choice(_NOUNS).rstrip('s')}", False
    if kind < 0.88:
        return f"{_person(rng)} & The {rng.choice(_NOUNS)}", False
    if kind < 0.94:
        return f"{rng.choice(_LAST_NAMES)} {rng.choice(_SUFFIXES)}", False
    return f"{rng.choice(_NOUNS)} of {rng.choice(_PLACES)}", False


def song_title(rng: random.Random) -> str:
    """A plausible song title."""
    pattern = rng.choice(_SONG_PATTERNS)
    return pattern.format(
        a=rng.choice(_SONG_WORDS_A),
        b=rng.choice(_SONG_WORDS_B),
        p=rng.choice(_PLACES),
        v=rng.choice(_VERBS),
        n=rng.choice(_FIRST_NAMES),
    )


def venue_name(rng: random.Random, city: str) -> str:
    """A plausible venue name in ``city``."""
    kind = rng.random()
    if kind < 0.55:
        return f"{rng.choice(_VENUE_WORDS)} {rng.choice(_VENUE_TYPES)}"
    if kind < 0.75:
        return f"The {rng.choice(_VENUE_WORDS)}"
    if kind < 0.90:
        return f"{city} {rng.choice(_VENUE_TYPES)}"
    return f"{rng.choice(_LAST_NAMES)} {rng.choice(_VENUE_TYPES)}"


def tour_name(rng: random.Random, *, year: int, artist: str) -> str:
    """A plausible tour name for ``artist`` in ``year``."""
    pattern = rng.choice(_TOUR_PATTERNS)
    return pattern.format(
        a=rng.choice(_SONG_WORDS_A),
        b=rng.choice(_SONG_WORDS_B),
        y=year,
        n=artist,
    )
