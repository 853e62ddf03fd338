"""setlist.fm API 1.0 client: artist search, setlists (all or recently edited), one setlist.

404 also means "no results" here: it maps to an empty list or page.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Final, Unpack
from urllib.parse import quote

import httpx
from pydantic import (
    AliasChoices,
    AliasPath,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from clients._base import (
    BaseClient,
    Payload,
    TransportOptions,
    client_transport,
    nested,
    transport_options,
)
from clients._bounds import (
    CityName,
    CountryCode,
    FreeText,
    HttpUrl,
    IsoDateTime,
    Latitude,
    Longitude,
    Mbid,
    Name,
    OptionalName,
    SetlistFmId,
    SetName,
    StateCode,
    TicketmasterId,
    plausible_day,
)
from clients._transport import (
    ErrorInfo,
    Params,
    Reply,
    join_url,
)
from clients.clock import Clock
from clients.errors import AuthError, BadRequest, MalformedRecord, NotFound, UpstreamError
from clients.ratelimit import SETLISTFM, RateLimiter

if TYPE_CHECKING:
    from settings import Settings

__all__ = [
    "ITEMS_PER_PAGE",
    "SetlistFmClient",
    "SetlistPage",
    "SfmArtist",
    "SfmArtistRef",
    "SfmSet",
    "SfmSetlist",
    "SfmSong",
    "SfmVenue",
    "format_last_updated",
    "parse_event_date",
    "setlist_page_contradictions",
    "setlistfm_error_in_body",
    "setlistfm_error_info",
]

ITEMS_PER_PAGE: Final = 20
_EVENT_DATE = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")


def parse_event_date(value: str) -> date:
    """A setlist.fm ``dd-MM-yyyy`` date."""
    match = _EVENT_DATE.match(value.strip())
    if match is None:
        raise ValueError(f"expected a dd-MM-yyyy date, got {value!r}")
    day, month, year = (int(part) for part in match.groups())
    return date(year, month, day)


def format_last_updated(since: datetime) -> str:
    """The ``lastUpdated`` search value, ``yyyyMMddHHmmss`` in UTC; naive is refused."""
    if since.tzinfo is None or since.utcoffset() is None:
        raise ValueError("lastUpdated must be timezone-aware")
    return since.astimezone(UTC).strftime("%Y%m%d%H%M%S")


MAX_SETS: Final = 20
MAX_SONGS_PER_SET: Final = 300
MAX_ENCORE: Final = 20
# setlist.fm's ``tmid`` is Ticketmaster's legacy numeric attraction id (or a Discovery id).
LegacyTmid = Annotated[StrictInt, Field(ge=0, le=10**12)]


class SfmArtistRef(Payload):
    """An artist named on a song: a cover's original artist or a guest."""

    mbid: Mbid | None = None
    name: OptionalName


class SfmArtist(Payload):
    mbid: Mbid
    tmid: LegacyTmid | TicketmasterId | None = None
    name: Name
    sort_name: OptionalName | None = Field(
        default=None, validation_alias=AliasChoices("sortName", "sort_name")
    )
    url: HttpUrl | None = None


class SfmVenue(Payload):
    id: SetlistFmId
    name: OptionalName
    city_id: SetlistFmId | None = Field(
        default=None, validation_alias=AliasChoices(AliasPath("city", "id"), "city_id")
    )
    city: CityName | None = Field(
        default=None, validation_alias=AliasChoices(AliasPath("city", "name"), "city")
    )
    state: CityName | None = Field(
        default=None, validation_alias=AliasChoices(AliasPath("city", "state"), "state")
    )
    state_code: StateCode | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("city", "stateCode"), "state_code"),
    )
    country_code: CountryCode | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("city", "country", "code"), "country_code"),
    )
    country_name: CityName | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("city", "country", "name"), "country_name"),
    )
    # setlist.fm gives the coordinates of the venue's city (its centre), not of the venue.
    city_latitude: Latitude | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("city", "coords", "lat"), "city_latitude"),
    )
    city_longitude: Longitude | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("city", "coords", "long"), "city_longitude"),
    )

    @field_validator("city_id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class SfmSong(Payload):
    name: OptionalName
    info: FreeText | None = None
    tape: StrictBool = False
    cover: SfmArtistRef | None = None
    with_artist: SfmArtistRef | None = Field(
        default=None, validation_alias=AliasChoices("with", "with_artist")
    )

    @field_validator("tape", mode="before")
    @classmethod
    def _tape(cls, value: Any) -> Any:
        return False if value is None else value


class SfmSet(Payload):
    """One set; ``encore`` 0 is the main set, 1 the first encore, ..."""

    name: SetName | None = None
    encore: StrictInt = Field(default=0, ge=0, le=MAX_ENCORE)
    songs: list[SfmSong] = Field(
        default_factory=list,
        max_length=MAX_SONGS_PER_SET,
        validation_alias=AliasChoices("song", "songs"),
    )

    @field_validator("encore", mode="before")
    @classmethod
    def _encore(cls, value: Any) -> Any:
        return 0 if value is None else value

    @field_validator("songs", mode="before")
    @classmethod
    def _songs(cls, value: Any) -> Any:
        return [] if value is None else value


class SfmSetlist(Payload):
    id: SetlistFmId
    version_id: SetlistFmId = Field(validation_alias=AliasChoices("versionId", "version_id"))
    event_date: date = Field(validation_alias=AliasChoices("eventDate", "event_date"))
    last_updated: IsoDateTime | None = Field(
        default=None, validation_alias=AliasChoices("lastUpdated", "last_updated")
    )
    url: HttpUrl | None = None
    info: FreeText | None = None
    tour_name: OptionalName | None = Field(
        default=None, validation_alias=AliasChoices(AliasPath("tour", "name"), "tour_name")
    )
    artist: SfmArtist
    venue: SfmVenue | None = None
    sets: list[SfmSet] = Field(default_factory=list, max_length=MAX_SETS)

    @model_validator(mode="before")
    @classmethod
    def _sets(cls, data: Any) -> Any:
        """``sets.set`` as documented, or the Swagger examples' top-level ``set``."""
        if not isinstance(data, dict):
            return data
        sets = data.get("sets")
        if isinstance(sets, dict):
            return {**data, "sets": sets.get("set") or []}
        if sets is None:
            legacy = data.get("set")
            return {**data, "sets": legacy if legacy is not None else []}
        return data

    @field_validator("event_date", mode="before")
    @classmethod
    def _event_date(cls, value: Any) -> Any:
        """``dd-MM-yyyy`` text only (a number is not a date)."""
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            raise ValueError("expected a dd-MM-yyyy date")
        return parse_event_date(value)

    @field_validator("event_date")
    @classmethod
    def _plausible(cls, value: date) -> date:
        return plausible_day(value)


@dataclass(frozen=True, slots=True)
class SetlistPage:
    """One page of setlists (1-based ``page``; setlist.fm serves 20 a page).

    ``trusted`` is False when the page contradicts itself (recorded in ``errors``): its
    setlists are kept, and it is the last page read."""

    setlists: list[SfmSetlist]
    errors: list[MalformedRecord]
    page: int
    total: int
    items_per_page: int
    trusted: bool = True

    @property
    def is_last(self) -> bool:
        if not self.trusted or self.items_per_page <= 0:
            return True
        return self.page * self.items_per_page >= self.total or (
            not self.setlists and not self.errors
        )


def setlistfm_error_info(status: int, body: Any) -> ErrorInfo:
    """``{code, status, message, timestamp}`` answers; 401/403 mean a bad key."""
    message = nested(body, "message")
    text = str(message) if message else f"HTTP {status}"
    kinds: dict[int, type[UpstreamError]] = {
        400: BadRequest,
        401: AuthError,
        403: AuthError,
        404: NotFound,
    }
    return ErrorInfo(kinds.get(status, UpstreamError), text, None)


_PAYLOAD_KEYS: Final = frozenset({"setlist", "artist", "id", "mbid", "type", "versionId"})


def setlistfm_error_in_body(body: Any) -> bool:
    """The ``{code, status, message, timestamp}`` error object instead of a payload."""
    return (
        isinstance(body, dict)
        and "message" in body
        and ("code" in body or "status" in body)
        and not _PAYLOAD_KEYS & body.keys()
    )


class SetlistFmClient(BaseClient):
    """The setlist.fm REST API 1.0 (JSON)."""

    def __init__(
        self,
        *,
        api_key: str,
        api_url: str,
        **options: Unpack[TransportOptions],
    ) -> None:
        if not api_key:
            raise AuthError("a setlist.fm API key is required", api=SETLISTFM)
        super().__init__(
            client_transport(
                SETLISTFM,
                setlistfm_error_info,
                [api_key],
                options,
                body_error=setlistfm_error_in_body,
            )
        )
        self._api_url = api_url
        self._headers = {"x-api-key": api_key, "Accept": "application/json"}

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> SetlistFmClient:
        """A client from the settings; without ``limiter``, the product caps apply in-process."""
        if settings.setlistfm_api_key is None:
            raise AuthError("SETLISTFM_API_KEY is not configured", api=SETLISTFM)
        return cls(
            api_key=settings.setlistfm_api_key.get_secret_value(),
            api_url=settings.setlistfm_api_url,
            **transport_options(settings, http=http, limiter=limiter, clock=clock, rng=rng),
        )

    async def _get(self, path: str, params: Params | None = None) -> Reply | None:
        """The answer, or None for a 404 (setlist.fm's "no results")."""
        try:
            return await self._transport.request(
                "GET", join_url(self._api_url, path), params=params, headers=self._headers
            )
        except NotFound:
            return None

    async def search_artists(
        self,
        *,
        name: str | None = None,
        mbid: str | None = None,
        tmid: str | int | None = None,
        page: int = 1,
    ) -> list[SfmArtist]:
        """``search/artists`` by name, MusicBrainz id or Ticketmaster attraction id; [] on 404."""
        params: dict[str, str | int] = {}
        if name is not None:
            params["artistName"] = name
        if mbid is not None:
            params["artistMbid"] = mbid
        if tmid is not None:
            params["artistTmid"] = tmid
        if not params:
            raise ValueError("search_artists needs a name, an mbid or a tmid")
        params.update({"p": _page(page), "sort": "relevance"})
        reply = await self._get("search/artists", params)
        if reply is None:
            return []
        artists, _ = self._validate_items(
            "artist", nested(reply.body, "artist"), SfmArtist, key_field="mbid"
        )
        return artists

    async def artist_setlists(self, mbid: str, *, page: int = 1) -> SetlistPage:
        """``artist/{mbid}/setlists`` (newest first); an empty page on 404."""
        if not mbid:
            raise ValueError("mbid must not be empty")
        path = f"artist/{quote(mbid, safe='')}/setlists"
        reply = await self._get(path, {"p": _page(page)})
        return self._setlist_page(reply, page, query=f"artist={mbid}")

    async def iter_artist_setlists(
        self, mbid: str, *, max_pages: int | None = None
    ) -> AsyncIterator[SetlistPage]:
        """Pages of ``artist_setlists`` from the newest until the last (or ``max_pages``)."""
        number = 1
        while max_pages is None or number <= max_pages:
            current = await self.artist_setlists(mbid, page=number)
            yield current
            if current.is_last:
                return
            number += 1

    async def setlists_updated_since(
        self, mbid: str, since: datetime, *, page: int = 1
    ) -> SetlistPage:
        """``search/setlists?artistMbid=&lastUpdated=`` : setlists edited at or after ``since``."""
        if not mbid:
            raise ValueError("mbid must not be empty")
        params: dict[str, str | int] = {
            "artistMbid": mbid,
            "lastUpdated": format_last_updated(since),
            "p": _page(page),
        }
        reply = await self._get("search/setlists", params)
        query = f"artist={mbid},lastUpdated={params['lastUpdated']}"
        return self._setlist_page(reply, page, query=query)

    async def recently_updated(self, since: datetime, *, page: int = 1) -> SetlistPage:
        """``search/setlists?lastUpdated=`` without an artist: every setlist published or
        edited at or after ``since``, whoever played it (20 a page)."""
        params: dict[str, str | int] = {
            "lastUpdated": format_last_updated(since),
            "p": _page(page),
        }
        reply = await self._get("search/setlists", params)
        return self._setlist_page(reply, page, query=f"lastUpdated={params['lastUpdated']}")

    async def get_setlist(self, setlist_id: str) -> SfmSetlist | None:
        """``setlist/{id}``; None when unknown."""
        if not setlist_id:
            raise ValueError("setlist id must not be empty")
        reply = await self._get(f"setlist/{quote(setlist_id, safe='')}")
        if reply is None:
            return None
        return self._validate_one("setlist", reply.body, SfmSetlist, key=setlist_id)

    def _setlist_page(self, reply: Reply | None, page: int, *, query: str) -> SetlistPage:
        if reply is None:
            return SetlistPage(
                setlists=[], errors=[], page=page, total=0, items_per_page=ITEMS_PER_PAGE
            )
        raw = nested(reply.body, "setlist")
        setlists, errors = self._validate_items("setlist", raw, SfmSetlist)
        served = len(raw) if isinstance(raw, list) else 0
        number = nested(reply.body, "page")
        total = nested(reply.body, "total")
        per_page = nested(reply.body, "itemsPerPage")
        found = setlist_page_contradictions(
            requested=page,
            served=served,
            number=number if number is not None else page,
            total=total if total is not None else served,
            items_per_page=per_page if per_page is not None else ITEMS_PER_PAGE,
        )
        if found:
            figures = {"page": number, "total": total, "itemsPerPage": per_page}
            errors.append(self._malformed("setlists page", f"{query}#p{page}", found, figures))
            return SetlistPage(setlists, errors, page, served, ITEMS_PER_PAGE, trusted=False)
        return SetlistPage(
            setlists=setlists,
            errors=errors,
            page=page,
            total=total if isinstance(total, int) else served,
            items_per_page=per_page if isinstance(per_page, int) else ITEMS_PER_PAGE,
        )


def _page(page: int) -> int:
    if page < 1:
        raise ValueError(f"setlist.fm pages start at 1, got {page}")
    return page


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def setlist_page_contradictions(
    *, requested: int, served: int, number: Any, total: Any, items_per_page: Any
) -> list[str]:
    """What makes a setlist.fm page impossible: figures that are not counts, another page than
    the one asked for, more setlists than ``itemsPerPage``, or fewer in ``total`` than the pages
    up to this one hold."""
    figures = {"page": number, "total": total, "itemsPerPage": items_per_page}
    bad = [name for name, value in figures.items() if not _is_count(value)]
    if bad or items_per_page == 0:
        return [f"{name}: not a count" for name in bad] or ["itemsPerPage: 0"]
    found = []
    if number != requested:
        found.append(f"page: {number} where page {requested} was asked for")
    if served > items_per_page:
        found.append(f"setlist: {served} setlists where itemsPerPage is {items_per_page}")
    if total < (requested - 1) * items_per_page + served:
        found.append(
            f"total: {total} is fewer than the {(requested - 1) * items_per_page + served} "
            f"setlists up to page {requested}"
        )
    return found
