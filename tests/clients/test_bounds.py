"""The validation boundary: every out-of-bounds upstream value is refused at the payload models,
with a message naming the field and never the value; the bounds fit the columns storing them."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from clients import _bounds as bounds
from clients.errors import MalformedRecord, clean_text, record_key
from clients.setlistfm import SfmSetlist
from clients.spotify import SpotifyArtist
from clients.ticketmaster import TmAttraction, TmEvent
from models.tables import Artist, Setlist, SetlistEntry, Show, Song, Venue
from tests.clients.conftest import load

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """A mutation writing ``value`` at a dotted path (list indexes as numbers)."""

    def mutate(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = payload
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _errors(model: type[BaseModel], payload: dict[str, Any]) -> list[str]:
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        return [
            ".".join(str(p) for p in e["loc"]) + ": " + e["msg"]
            for e in exc.errors(include_url=False, include_input=False)
        ]
    return []


EVENT = load("tm_event.json")
SETLIST = load("sfm_setlist.json")
ARTIST = load("spotify_artist.json")
NUL_NAME = "Crypto.com\x00Arena"
LONG = "x" * 5000
LONG_ID = "K" * 200

# (model, fixture, mutation, the error's location and message)
REFUSED: list[tuple[type[BaseModel], dict[str, Any], Mutation, str]] = [
    # text without control characters, lengths bounded
    (TmEvent, EVENT, _set("name", "Radio\x00head"), "name: Value error, contains a control "
     "character (U+0000)"),
    (TmEvent, EVENT, _set("_embedded.venues.0.name", NUL_NAME), "_embedded.venues.0.name: Value "
     "error, contains a control character (U+0000)"),
    (TmEvent, EVENT, _set("name", "Bad\x1bname"), "name: Value error, contains a control "
     "character (U+001B)"),
    (TmEvent, EVENT, _set("name", "lone \ud800 surrogate"), "name: Input should be a valid "
     "string, unable to parse raw data as a unicode string"),
    (TmEvent, EVENT, _set("name", LONG), "name: String should have at most 512 characters"),
    (TmEvent, EVENT, _set("_embedded.attractions.0.name", LONG), "_embedded.attractions.0.name: "
     "String should have at most 512 characters"),
    (TmEvent, EVENT, _set("_embedded.venues.0.city.name", "y" * 257),
     "_embedded.venues.0.city.name: String should have at most 256 characters"),
    (SfmSetlist, SETLIST, _set("sets.set.0.song.0.name", LONG), "sets.0.song.0.name: String "
     "should have at most 512 characters"),
    (SfmSetlist, SETLIST, _set("tour.name", "Tour\x00"), "tour.name: Value error, contains a "
     "control character (U+0000)"),
    (SpotifyArtist, ARTIST, _set("name", LONG), "name: String should have at most 512 "
     "characters"),
    (SpotifyArtist, ARTIST, _set("name", ""), "name: String should have at least 1 character"),
    # ids in their real formats
    (TmEvent, EVENT, _set("id", LONG_ID), "id: String should match pattern "
     "'^[0-9A-Za-z_\\-]{1,64}$'"),
    (TmEvent, EVENT, _set("_embedded.venues.0.id", "Kov\x00"), "_embedded.venues.0.id: String "
     "should match pattern '^[0-9A-Za-z_\\-]{1,64}$'"),
    (SpotifyArtist, ARTIST, _set("id", "4Z8W4fKeB5YxbusRsdQVPbX"), "id: String should match "
     "pattern '^[0-9A-Za-z]{22}$'"),
    (SfmSetlist, SETLIST, _set("artist.mbid", "not-a-uuid"), "artist.mbid: Value error, not a "
     "MusicBrainz id (a UUID)"),
    (SfmSetlist, SETLIST, _set("id", "63de4613/../x"), "id: String should match pattern "
     "'^[0-9A-Za-z]{1,16}$'"),
    # URLs only http(s)
    (TmEvent, EVENT, _set("url", "javascript:alert(1)"), "url: Value error, not an http(s) URL"),
    (TmEvent, EVENT, _set("url", "data:text/html,x"), "url: Value error, not an http(s) URL"),
    (TmEvent, EVENT, _set("url", "https:///path"), "url: Value error, not an http(s) URL"),
    (SfmSetlist, SETLIST, _set("url", "ftp://setlist.fm/x"), "url: Value error, not an http(s) "
     "URL"),
    (SpotifyArtist, ARTIST, _set("images.0.url", "javascript:x"), "images.0.url: Value error, "
     "not an http(s) URL"),
    # dates within a plausible window, ISO 8601 only
    (TmEvent, EVENT, _set("dates.start.localDate", "0001-01-01"), "dates.start.localDate: Value "
     "error, date outside 1900-01-01..2100-12-31"),
    (TmEvent, EVENT, _set("dates.start.localDate", "9999-12-31"), "dates.start.localDate: Value "
     "error, date outside 1900-01-01..2100-12-31"),
    (TmEvent, EVENT, _set("dates.start.dateTime", "9999-12-31T23:00:00Z"), "dates.start.dateTime: "
     "Value error, date outside 1900-01-01..2100-12-31"),
    (TmEvent, EVENT, _set("dates.start.dateTime", 0), "dates.start.dateTime: Value error, "
     "expected an ISO 8601 date-time"),
    (TmEvent, EVENT, _set("dates.start.localDate", 20261205), "dates.start.localDate: Value "
     "error, expected an ISO 8601 date (YYYY-MM-DD)"),
    (TmEvent, EVENT, _set("dates.start.localTime", 68400), "dates.start.localTime: Value error, "
     "expected a local time HH:MM:SS"),
    (SfmSetlist, SETLIST, _set("eventDate", "01-01-0001"), "eventDate: Value error, date outside "
     "1900-01-01..2100-12-31"),
    (SfmSetlist, SETLIST, _set("eventDate", 1754352000), "eventDate: Value error, expected a "
     "dd-MM-yyyy date"),
    (SfmSetlist, SETLIST, _set("lastUpdated", "9999-01-01T00:00:00.000+0000"), "lastUpdated: "
     "Value error, date outside 1900-01-01..2100-12-31"),
    # prices, coordinates and counts within range; strict types where the docs say so
    (TmEvent, EVENT, _set("priceRanges", [{"currency": "USD", "min": 1e15}]),
     "priceRanges.0.min: Input should be less than or equal to 1000000"),
    (TmEvent, EVENT, _set("priceRanges", [{"currency": "USD", "min": -1, "max": 10}]),
     "priceRanges.0.min: Input should be greater than or equal to 0"),
    (TmEvent, EVENT, _set("priceRanges", [{"currency": "USD", "min": 90, "max": 10}]),
     "priceRanges.0: Value error, price range with min above max"),
    (TmEvent, EVENT, _set("priceRanges", [{"currency": "USD", "min": "10"}]),
     "priceRanges.0.min: Value error, a price is a JSON number"),
    (TmEvent, EVENT, _set("priceRanges", [{"currency": "usd$", "min": 10}]),
     "priceRanges.0.currency: String should match pattern '^[A-Z]{3}$'"),
    (TmEvent, EVENT, _set("_embedded.venues.0.location", {"latitude": "91", "longitude": "0"}),
     "_embedded.venues.0.location.latitude: Input should be less than or equal to 90"),
    (TmEvent, EVENT, _set("_embedded.venues.0.location", {"latitude": "nan", "longitude": "0"}),
     "_embedded.venues.0.location.latitude: Value error, a coordinate is a finite number"),
    (TmEvent, EVENT, _set("dates.start.timeTBA", "false"), "dates.start.timeTBA: Input should be "
     "a valid boolean"),
    (SfmSetlist, SETLIST, _set("venue.city.coords", {"lat": 40.7, "long": 1e15}),
     "venue.city.coords.long: Input should be less than or equal to 180"),
    (SfmSetlist, SETLIST, _set("sets.set.1.encore", "1"), "sets.1.encore: Input should be a "
     "valid integer"),
    (SpotifyArtist, ARTIST, _set("popularity", 101), "popularity: Input should be less than or "
     "equal to 100"),
    (SpotifyArtist, ARTIST, _set("popularity", "79"), "popularity: Input should be a valid "
     "integer"),
    (SpotifyArtist, ARTIST, _set("followers", {"total": 10**15}), "followers: Input should be "
     "less than or equal to 2147483647"),
]  # fmt: skip


@pytest.mark.parametrize(("model", "fixture", "mutate", "expected"), REFUSED)
def test_an_out_of_bounds_value_refuses_its_record_naming_the_field_not_the_value(
    model: type[BaseModel], fixture: dict[str, Any], mutate: Mutation, expected: str
) -> None:
    assert _errors(model, fixture) == []
    payload = copy.deepcopy(fixture)
    mutate(payload)
    assert _errors(model, payload) == [expected]


@pytest.mark.parametrize(
    ("model", "fixture", "mutate"),
    [
        (TmEvent, EVENT, _set("name", "n" * 512)),
        (TmEvent, EVENT, _set("dates.start.localDate", "1900-01-01")),
        (TmEvent, EVENT, _set("dates.start.localDate", "2100-12-31")),
        (TmEvent, EVENT, _set("priceRanges", [{"currency": "USD", "min": 0, "max": 1_000_000}])),
        (TmEvent, EVENT, _set("_embedded.venues.0.location", {"latitude": -90, "longitude": 180})),
        (SfmSetlist, SETLIST, _set("info", "line one\nline two\ttabbed")),
        (SfmSetlist, SETLIST, _set("artist.tmid", "K8vZ9171o-f")),
        (SpotifyArtist, ARTIST, _set("name", "Sigur Rós 日本 🎸")),
        (SpotifyArtist, ARTIST, _set("followers", {"total": 2**31 - 1})),
    ],
)
def test_values_at_the_bounds_are_accepted(
    model: type[BaseModel], fixture: dict[str, Any], mutate: Mutation
) -> None:
    payload = copy.deepcopy(fixture)
    mutate(payload)
    assert _errors(model, payload) == []


def test_the_mbid_is_stored_lower_case() -> None:
    payload = copy.deepcopy(SETLIST)
    payload["artist"]["mbid"] = payload["artist"]["mbid"].upper()
    assert SfmSetlist.model_validate(payload).artist.mbid == SETLIST["artist"]["mbid"]


def test_a_bad_spotify_link_of_an_attraction_is_dropped_not_the_attraction() -> None:
    payload = copy.deepcopy(load("tm_attraction.json"))
    payload["externalLinks"]["spotify"] = [{"url": "https://open.spotify.com/artist/" + "a" * 200}]
    attraction = TmAttraction.model_validate(payload)
    assert (attraction.id, attraction.spotify_id) == ("K8vZ9171o-f", None)


def _length(table: Any, column: str) -> int:
    length: int = table.__table__.c[column].type.length
    return length


@pytest.mark.parametrize(
    ("bound", "table", "column"),
    [
        (bounds.NAME_LENGTH, Artist, "name"),
        (bounds.NAME_LENGTH, Artist, "sort_name"),
        (bounds.NAME_LENGTH, Venue, "name"),
        (bounds.NAME_LENGTH, Show, "name"),
        (bounds.NAME_LENGTH, Song, "title"),
        (bounds.NAME_LENGTH, Setlist, "tour_name"),
        (bounds.NAME_LENGTH, SetlistEntry, "cover_artist_name"),
        (bounds.NAME_LENGTH, SetlistEntry, "with_artist_name"),
        (bounds.CITY_LENGTH, Venue, "city"),
        (bounds.SET_NAME_LENGTH, SetlistEntry, "set_name"),
        (bounds.STATE_CODE_LENGTH, Venue, "state_code"),
        (bounds.POSTAL_CODE_LENGTH, Venue, "postal_code"),
        (bounds.TIMEZONE_LENGTH, Venue, "timezone"),
        (bounds.ID_LENGTH, Artist, "ticketmaster_id"),
        (bounds.ID_LENGTH, Show, "ticketmaster_id"),
        (bounds.ID_LENGTH, Venue, "setlistfm_id"),
        (bounds.ID_LENGTH, Setlist, "version_id"),
        (36, Artist, "mbid"),
    ],
)
def test_text_bounds_equal_the_columns_storing_them(bound: int, table: Any, column: str) -> None:
    assert _length(table, column) == bound


def test_number_bounds_fit_the_columns_storing_them() -> None:
    price = Show.__table__.c["min_price"].type  # type: ignore[attr-defined]
    assert 10 ** (price.impl.precision - price.impl.scale) > bounds.MAX_PRICE
    assert bounds.MAX_FOLLOWERS == 2**31 - 1  # artists.followers is INTEGER on PostgreSQL


# --- what a refusal records --------------------------------------------------------------------

DIGEST = "a digest"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("vvG1zZ9K5Qb7fA", "vvG1zZ9K5Qb7fA"),
        ("a74b1b7f-71a5-4011-9441-d0b5e4122711", "a74b1b7f-71a5-4011-9441-d0b5e4122711"),
        (763468, 763468),
        (None, 3),
        ("", 3),
        (True, DIGEST),
        ("K" * 200, DIGEST),
        ("vvG1\x00", DIGEST),
        ({"nested": 1}, DIGEST),
    ],
)
def test_a_record_key_is_its_plain_id_else_its_position_else_a_digest(
    value: object, expected: str | int
) -> None:
    key = record_key(value, index=3)
    if expected == DIGEST:
        assert isinstance(key, str)
        assert key.startswith("bad-id-")
        assert len(key) == len("bad-id-") + 16
        assert key == record_key(value, index=7)  # stable: one error row per bad record
    else:
        assert key == expected


def test_a_record_key_digest_tells_two_bad_ids_apart() -> None:
    assert record_key("K" * 200, index=0) != record_key("K" * 201, index=0)


def test_clean_text_escapes_control_characters_and_bounds_the_length() -> None:
    assert clean_text("a\x00b\x1b\ud800é\nz\t") == "a\\x00b\\x1b\\ud800é\nz\\x09"
    assert clean_text("y" * 10, limit=4) == "yyy\u2026"


def test_a_malformed_record_holds_no_control_character_and_a_bounded_excerpt() -> None:
    excerpt = json.dumps({"name": "x\x7f\ud800" + "z" * 3000}, ensure_ascii=False)
    record = MalformedRecord(
        api="ticketmaster",
        kind="event",
        key="evil\x00" + "k" * 500,
        errors=["name: bad\x00"],
        excerpt=excerpt,
    )
    assert record.key == "evil\\x00" + "k" * 191 + "\u2026"
    assert record.errors == ["name: bad\\x00"]
    assert record.excerpt.startswith('{"name": "x\\x7f\\ud800zzz')
    assert len(record.excerpt) == 2000
    assert bounds.control_character(str(record)) is None


def test_today_is_inside_the_plausible_window() -> None:
    assert bounds.FIRST_PLAUSIBLE_DAY < date.today() < bounds.LAST_PLAUSIBLE_DAY


def _every_code_point() -> str:
    return "".join(chr(point) for point in range(0x110000))


def test_control_characters_are_exactly_the_unicode_categories_cc_and_cs() -> None:
    import unicodedata

    every = _every_code_point()
    refused = {c for c in every if unicodedata.category(c) in ("Cc", "Cs")}
    assert len(refused) == 65 + 2048
    assert {c for c in every if bounds.control_character(c) is not None} == refused
    kept = {c for c in every if bounds.control_character(c, multiline=True) is not None}
    assert kept == refused - {"\t", "\n", "\r"}
    assert bounds.control_character("a\tb\x85") == "U+0009"
    assert bounds.control_character("a\tb\x85", multiline=True) == "U+0085"
    assert bounds.control_character("ok \u00e9\u4e2d\U0001f3b8") is None


def test_an_url_with_any_kind_of_whitespace_is_refused() -> None:
    class Link(BaseModel):
        url: bounds.HttpUrl

    spaces = [c for c in _every_code_point() if c.isspace()]
    assert len(spaces) == 29
    for space in spaces:
        if bounds.control_character(space) is not None:
            continue  # refused as a control character first
        with pytest.raises(ValidationError, match="whitespace"):
            Link(url=f"https://example.com/a{space}b")
    assert Link(url="https://example.com/a%20b").url == "https://example.com/a%20b"
