"""The validation boundary: what an upstream value may be before it enters the database.

Every payload model of the clients builds its fields from these types, so a record that carries a
control character, an over-long text, an id in the wrong format, a ``javascript:`` URL, a date in
year 1 or 9999, or a price of 1e15 is refused as a ``MalformedRecord`` and never reaches storage.

The bounds come from the APIs' documented formats (docs/upstream-apis.md) and from the columns
that store them (models/tables.py; ``tests/clients/test_bounds.py`` keeps the two equal, since
this layer may not import the models).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, Field, StrictInt, StringConstraints

__all__ = [
    "FIRST_PLAUSIBLE_DAY",
    "LAST_PLAUSIBLE_DAY",
    "MAX_FOLLOWERS",
    "MAX_PRICE",
    "MAX_URL_LENGTH",
    "AddressText",
    "CityName",
    "CountryCode",
    "CurrencyCode",
    "Followers",
    "FreeText",
    "GenreName",
    "HttpUrl",
    "ImageSize",
    "IsoDate",
    "IsoDateTime",
    "Latitude",
    "Longitude",
    "Mbid",
    "Name",
    "OptionalName",
    "Popularity",
    "PostalCode",
    "Price",
    "SetName",
    "SetlistFmId",
    "ShortCode",
    "SpotifyId",
    "StateCode",
    "TicketmasterId",
    "TimezoneName",
    "check_text",
    "control_character",
    "plausible_day",
]

# Columns of models/tables.py (VARCHAR lengths) and sane bounds for the TEXT ones.
NAME_LENGTH: Final = 512  # artists.name, venues.name, shows.name, songs.title, tour_name, ...
CITY_LENGTH: Final = 256  # venues.city
SET_NAME_LENGTH: Final = 256  # setlist_entries.set_name
STATE_CODE_LENGTH: Final = 16  # venues.state_code
POSTAL_CODE_LENGTH: Final = 32  # venues.postal_code
TIMEZONE_LENGTH: Final = 64  # venues.timezone
ID_LENGTH: Final = 64  # every *_id column
ADDRESS_LENGTH: Final = 512  # venues.address (TEXT)
FREE_TEXT_LENGTH: Final = 2000  # setlists.info, setlist_entries.info (TEXT)
MAX_URL_LENGTH: Final = 2048  # shows.ticket_url, venues.url, setlists.url, image urls (TEXT)
GENRE_LENGTH: Final = 128

# Dates both databases store the same way, and a show or setlist can plausibly carry: setlist.fm
# holds setlists from the 1950s on; Ticketmaster lists events at most a few years ahead.
FIRST_PLAUSIBLE_DAY: Final = date(1900, 1, 1)
LAST_PLAUSIBLE_DAY: Final = date(2100, 12, 31)
MAX_PRICE: Final = Decimal(1_000_000)  # a ticket; shows.min_price is NUMERIC(12, 2)
MAX_FOLLOWERS: Final = 2**31 - 1  # artists.followers is a 32-bit INTEGER
MAX_IMAGE_SIZE: Final = 100_000

# Control characters (Unicode category Cc: C0 with NUL, DEL, C1) and surrogates (Cs), which
# PostgreSQL cannot store as UTF-8; multiline text may keep tab and line breaks. One regular
# expression scan: a loop over ``unicodedata.category`` per character took 5 % of a simulated
# month. ``tests/clients/test_bounds.py`` checks both against every code point.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_MULTILINE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_WHITESPACE: Final = re.compile(r"\s")


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character of ``text`` no column should hold, as ``U+XXXX``, or None.

    Refused: control characters (C0 with NUL, DEL, C1) and lone surrogates, which PostgreSQL
    cannot store as UTF-8; ``multiline`` text may keep tab and line breaks."""
    found = (_CONTROL_MULTILINE if multiline else _CONTROL).search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def check_text(value: str, *, multiline: bool = False) -> str:
    found = control_character(value, multiline=multiline)
    if found is not None:
        raise ValueError(f"contains a control character ({found})")
    return value


def _single_line(value: str) -> str:
    return check_text(value)


def _multiline(value: str) -> str:
    return check_text(value, multiline=True)


_Line = AfterValidator(_single_line)

Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_LENGTH), _Line]
OptionalName = Annotated[str, StringConstraints(max_length=NAME_LENGTH), _Line]
CityName = Annotated[str, StringConstraints(max_length=CITY_LENGTH), _Line]
SetName = Annotated[str, StringConstraints(max_length=SET_NAME_LENGTH), _Line]
StateCode = Annotated[str, StringConstraints(max_length=STATE_CODE_LENGTH), _Line]
PostalCode = Annotated[str, StringConstraints(max_length=POSTAL_CODE_LENGTH), _Line]
AddressText = Annotated[str, StringConstraints(max_length=ADDRESS_LENGTH), _Line]
GenreName = Annotated[str, StringConstraints(max_length=GENRE_LENGTH), _Line]
ShortCode = Annotated[str, StringConstraints(max_length=32), _Line]  # a status or price type
FreeText = Annotated[
    str, StringConstraints(max_length=FREE_TEXT_LENGTH), AfterValidator(_multiline)
]

TimezoneName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_+\-/]{1,64}$", max_length=TIMEZONE_LENGTH)
]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

# Ids in their real formats.
SpotifyId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{22}$")]
TicketmasterId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_\-]{1,64}$")]
# setlist.fm: setlists and venues 8 hex digits, versions ``g`` + 8, cities a GeoNames number.
SetlistFmId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,16}$")]
_MBID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _mbid(value: str) -> str:
    if not _MBID.match(value):
        raise ValueError("not a MusicBrainz id (a UUID)")
    return value.lower()


Mbid = Annotated[str, StringConstraints(max_length=36), AfterValidator(_mbid)]


def _http_url(value: str) -> str:
    check_text(value)
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or rest[0] in "/?#":
        raise ValueError("not an http(s) URL")
    if _WHITESPACE.search(value):
        raise ValueError("an URL may not contain whitespace")
    return value


HttpUrl = Annotated[str, StringConstraints(max_length=MAX_URL_LENGTH), AfterValidator(_http_url)]


# Dates: ISO 8601 text only (no numbers read as timestamps), inside the plausible window.


def _iso_date_text(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected an ISO 8601 date (YYYY-MM-DD)")
    return date.fromisoformat(value)


def plausible_day(value: date) -> date:
    if not FIRST_PLAUSIBLE_DAY <= value <= LAST_PLAUSIBLE_DAY:
        raise ValueError(
            f"date outside {FIRST_PLAUSIBLE_DAY.isoformat()}..{LAST_PLAUSIBLE_DAY.isoformat()}"
        )
    return value


def _iso_datetime_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not re.match(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", value):
        raise ValueError("expected an ISO 8601 date-time")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("expected an ISO 8601 date-time") from None


def _plausible_instant(value: datetime) -> datetime:
    """In UTC (a naive value is taken as UTC), inside the plausible window."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    plausible_day(value.date())
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text), AfterValidator(plausible_day)]
IsoDateTime = Annotated[
    datetime, BeforeValidator(_iso_datetime_text), AfterValidator(_plausible_instant)
]


# Numbers.


def _coordinate_text(value: Any) -> Any:
    """Ticketmaster sends coordinates as strings: parse those; refuse booleans."""
    if isinstance(value, bool):
        raise ValueError("a coordinate is a number")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError("a coordinate is a number") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a coordinate is a finite number")
    return value


Latitude = Annotated[
    float, BeforeValidator(_coordinate_text), Field(ge=-90, le=90, allow_inf_nan=False)
]
Longitude = Annotated[
    float, BeforeValidator(_coordinate_text), Field(ge=-180, le=180, allow_inf_nan=False)
]


def _json_number(value: Any) -> Any:
    """A decimal from a JSON number (Ticketmaster's min/max are numbers, never strings)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("a price is a JSON number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a price is a finite number")
    return Decimal(str(value))


Price = Annotated[
    Decimal, BeforeValidator(_json_number), Field(ge=0, le=int(MAX_PRICE), allow_inf_nan=False)
]
ImageSize = Annotated[StrictInt, Field(ge=0, le=MAX_IMAGE_SIZE)]
Popularity = Annotated[StrictInt, Field(ge=0, le=100)]
Followers = Annotated[StrictInt, Field(ge=0, le=MAX_FOLLOWERS)]
