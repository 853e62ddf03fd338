"""Ticketmaster Discovery API v2 client: music events by market, city or attraction; lookups.

The key travels in the ``apikey`` query parameter, so every logged URL is redacted.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Final, Unpack
from urllib.parse import quote

import httpx
from pydantic import (
    AliasChoices,
    AliasPath,
    BeforeValidator,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from clients._base import (
    BaseClient,
    Image,
    Payload,
    TransportOptions,
    client_transport,
    nested,
    transport_options,
)
from clients._bounds import (
    AddressText,
    CityName,
    CountryCode,
    CurrencyCode,
    GenreName,
    HttpUrl,
    IsoDate,
    IsoDateTime,
    Latitude,
    Longitude,
    Mbid,
    Name,
    OptionalName,
    PostalCode,
    Price,
    ShortCode,
    SpotifyId,
    StateCode,
    TicketmasterId,
    TimezoneName,
)
from clients._transport import (
    ErrorInfo,
    Params,
    Reply,
    join_url,
)
from clients.clock import Clock
from clients.errors import (
    AuthError,
    BadRequest,
    MalformedRecord,
    NotFound,
    QuotaExhausted,
    UpstreamError,
)
from clients.ratelimit import TICKETMASTER, RateLimiter

if TYPE_CHECKING:
    from settings import Settings

__all__ = [
    "DEEP_PAGING_LIMIT",
    "MAX_PAGE_SIZE",
    "MAX_REPORTED_TOTAL",
    "EventPage",
    "Image",
    "PriceRange",
    "TicketmasterClient",
    "TmAttraction",
    "TmEvent",
    "TmVenue",
    "format_tm_datetime",
    "page_contradictions",
    "reachable_elements",
    "spotify_id_from_url",
    "ticketmaster_error_in_body",
    "ticketmaster_error_info",
]

MAX_PAGE_SIZE: Final = 200  # 201 answers 400 DIS1036
DEEP_PAGING_LIMIT: Final = 1000  # a page is reachable while size * page < 1000
END_OF_DEEP_PAGING: Final = "DIS1035"
MAX_REPORTED_TOTAL: Final = 10000  # huge searches report 10,000 (docs/upstream-apis.md)
DEFAULT_MAX_SPLITS_PER_QUERY: Final = 15  # at most 16 windows: 16,000 events of one market
DEFAULT_MAX_SPLITS_PER_RUN: Final = 200
MIN_SPLIT_WINDOW: Final = timedelta(minutes=1)
MAX_LIST: Final = 50  # venues, attractions, images, genres, price ranges of one record
UNDEFINED: Final = "Undefined"

_SPOTIFY_ARTIST_URL = re.compile(
    r"^https?://open\.spotify\.com/(?:intl-[A-Za-z-]+/)?artist/([A-Za-z0-9]{22})(?:[/?#].*)?$"
)
_MBID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def spotify_id_from_url(url: str) -> str | None:
    """The artist id of ``https://open.spotify.com/artist/<id>`` (query strings tolerated)."""
    match = _SPOTIFY_ARTIST_URL.match(url.strip())
    return match.group(1) if match else None


def format_tm_datetime(value: datetime) -> str:
    """``YYYY-MM-DDTHH:mm:ssZ`` in UTC, the only form Ticketmaster accepts; naive is refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Ticketmaster date-times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reachable_elements(size: int) -> int:
    """How many results deep paging can reach with pages of ``size``."""
    pages = (DEEP_PAGING_LIMIT - 1) // size + 1
    return pages * size


def _classification_names(classifications: Any, *levels: str) -> list[str]:
    names: list[str] = []
    if not isinstance(classifications, list):
        return names
    for classification in classifications:
        for level in levels:
            name = nested(classification, level, "name")
            if isinstance(name, str) and name and name != UNDEFINED and name not in names:
                names.append(name)
    return names


def _primary_genre(classifications: Any) -> str | None:
    if not isinstance(classifications, list) or not classifications:
        return None
    primary = next(
        (c for c in classifications if isinstance(c, dict) and c.get("primary") is True),
        classifications[0],
    )
    names = _classification_names([primary], "genre")
    return names[0] if names else None


def _false_if_none(value: Any) -> Any:
    return False if value is None else value


def _local_time_text(value: Any) -> Any:
    """``HH:MM[:SS]`` text only: a number is not a time of day."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", value):
        raise ValueError("expected a local time HH:MM:SS")
    return value


LocalTime = Annotated[time, BeforeValidator(_local_time_text)]
MarketId = Annotated[int, Field(ge=0, le=1_000_000)]


class PriceRange(Payload):
    type: ShortCode | None = None
    currency: CurrencyCode | None = None
    min: Price | None = None
    max: Price | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PriceRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("price range with min above max")
        return self


class TmVenue(Payload):
    """A venue (coordinates arrive as strings and are parsed to floats)."""

    id: TicketmasterId
    name: OptionalName
    url: HttpUrl | None = None
    city: CityName | None = Field(
        default=None, validation_alias=AliasChoices(AliasPath("city", "name"), "city")
    )
    state_code: StateCode | None = Field(
        default=None, validation_alias=AliasChoices(AliasPath("state", "stateCode"), "state_code")
    )
    state_name: CityName | None = Field(
        default=None, validation_alias=AliasChoices(AliasPath("state", "name"), "state_name")
    )
    country_code: CountryCode | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("country", "countryCode"), "country_code"),
    )
    postal_code: PostalCode | None = Field(
        default=None, validation_alias=AliasChoices("postalCode", "postal_code")
    )
    address: AddressText | None = Field(
        default=None, validation_alias=AliasChoices(AliasPath("address", "line1"), "address")
    )
    latitude: Latitude | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("location", "latitude"), "latitude"),
    )
    longitude: Longitude | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("location", "longitude"), "longitude"),
    )
    timezone: TimezoneName | None = None
    market_ids: list[MarketId] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        validation_alias=AliasChoices("markets", "market_ids"),
    )

    @field_validator("market_ids", mode="before")
    @classmethod
    def _market_ids(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [item.get("id") if isinstance(item, dict) else item for item in value]
        return value

    @field_validator("latitude", "longitude", mode="before")
    @classmethod
    def _blank_coordinate(cls, value: Any) -> Any:
        return None if value == "" else value


class TmAttraction(Payload):
    """An attraction (artist) with its cross-API links."""

    id: TicketmasterId
    name: Name
    url: HttpUrl | None = None
    images: list[Image] = Field(default_factory=list, max_length=MAX_LIST)
    genres: list[GenreName] = Field(default_factory=list, max_length=MAX_LIST)
    spotify_id: SpotifyId | None = None
    mbid: Mbid | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_payload(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "classifications" in data and "genres" not in data:
            data["genres"] = _classification_names(data["classifications"], "genre", "subGenre")
        links = data.get("externalLinks")
        if isinstance(links, dict):
            if "spotify_id" not in data:
                data["spotify_id"] = next(
                    (
                        spotify_id
                        for link in links.get("spotify") or []
                        if isinstance(url := nested(link, "url"), str)
                        and (spotify_id := spotify_id_from_url(url))
                    ),
                    None,
                )
            if "mbid" not in data:
                data["mbid"] = next(
                    (
                        mbid.lower()
                        for link in links.get("musicbrainz") or []
                        if isinstance(mbid := nested(link, "id"), str) and _MBID.match(mbid)
                    ),
                    None,
                )
        if data.get("images") is None:
            data.pop("images", None)
        return data


class TmEvent(Payload):
    """A music event with its venues and attractions (headliner first)."""

    id: TicketmasterId
    name: OptionalName
    url: HttpUrl | None = None
    local_date: IsoDate | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("dates", "start", "localDate"), "local_date"),
    )
    local_time: LocalTime | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("dates", "start", "localTime"), "local_time"),
    )
    start_utc: IsoDateTime | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("dates", "start", "dateTime"), "start_utc"),
    )
    date_tbd: StrictBool = Field(
        default=False,
        validation_alias=AliasChoices(AliasPath("dates", "start", "dateTBD"), "date_tbd"),
    )
    date_tba: StrictBool = Field(
        default=False,
        validation_alias=AliasChoices(AliasPath("dates", "start", "dateTBA"), "date_tba"),
    )
    time_tba: StrictBool = Field(
        default=False,
        validation_alias=AliasChoices(AliasPath("dates", "start", "timeTBA"), "time_tba"),
    )
    timezone: TimezoneName | None = Field(
        default=None, validation_alias=AliasChoices(AliasPath("dates", "timezone"), "timezone")
    )
    status_code: ShortCode | None = Field(
        default=None,
        validation_alias=AliasChoices(AliasPath("dates", "status", "code"), "status_code"),
    )
    price_ranges: list[PriceRange] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        validation_alias=AliasChoices("priceRanges", "price_ranges"),
    )
    venues: list[TmVenue] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        validation_alias=AliasChoices(AliasPath("_embedded", "venues"), "venues"),
    )
    attractions: list[TmAttraction] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        validation_alias=AliasChoices(AliasPath("_embedded", "attractions"), "attractions"),
    )
    genre: GenreName | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_payload(cls, data: Any) -> Any:
        if isinstance(data, dict) and "classifications" in data and "genre" not in data:
            data = {**data, "genre": _primary_genre(data["classifications"])}
        return data

    @field_validator("date_tbd", "date_tba", "time_tba", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        return _false_if_none(value)

    @field_validator("price_ranges", "venues", "attractions", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        return [] if value is None else value


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of ``events.json``: the valid events, the rejected ones, and paging figures.

    ``deep_paging_end`` marks the empty page standing for a ``DIS1035`` answer. ``trusted`` is
    False when the page contradicts itself (its contradictions are in ``errors``): its events
    are kept, but its figures are not used to page further or to split the window.
    ``total_elements`` never exceeds what the API reports at most (``MAX_REPORTED_TOTAL``).
    """

    events: list[TmEvent]
    errors: list[MalformedRecord]
    page: int
    total_pages: int
    total_elements: int
    deep_paging_end: bool = field(default=False)
    trusted: bool = field(default=True)

    @property
    def is_last(self) -> bool:
        return not self.trusted or self.deep_paging_end or self.page + 1 >= self.total_pages


def page_contradictions(
    *, requested: int, size: int, items: int, number: Any, total_pages: Any, total_elements: Any
) -> list[str]:
    """What makes an ``events.json`` page impossible: figures that are not counts, another page
    than the one asked for, more items than ``size``, items past ``totalPages``, a
    ``totalPages`` that does not follow from ``totalElements``, or a page short of ``size``
    before the last (Discovery pages are full but the last)."""
    figures = {"number": number, "totalPages": total_pages, "totalElements": total_elements}
    bad = [name for name, value in figures.items() if not _is_count(value)]
    if bad:
        return [f"page.{name}: not a count" for name in bad]
    found = []
    if number != requested:
        found.append(f"page.number: {number} where page {requested} was asked for")
    if items > size:
        found.append(f"page: {items} events where size is {size}")
    if items and number >= total_pages:
        found.append(f"page.number: {number} is beyond totalPages {total_pages}")
    if total_pages != -(-total_elements // size):
        found.append(
            f"page.totalPages: {total_pages} does not follow from totalElements "
            f"{total_elements} at size {size}"
        )
    elif items < size and number + 1 < total_pages:
        found.append(
            f"page: {items} events on page {number} of {total_pages} "
            f"(totalElements {total_elements}, size {size})"
        )
    return found


def ticketmaster_error_info(status: int, body: Any) -> ErrorInfo:
    """Apigee faults (key, quota, spike arrest) and Discovery ``errors[]`` (DIS codes)."""
    fault = nested(body, "fault")
    if isinstance(fault, dict):
        faultstring = str(fault.get("faultstring") or "fault")
        errorcode = nested(fault, "detail", "errorcode")
        code = str(errorcode) if errorcode else None
        if code is not None and code.endswith("QuotaViolation"):
            return ErrorInfo(QuotaExhausted, faultstring, code)
        if code is not None and code.endswith("SpikeArrestViolation"):
            return ErrorInfo(UpstreamError, faultstring, code, retryable=True)
        if status == 401 or (code is not None and "InvalidApiKey" in code):
            return ErrorInfo(AuthError, faultstring, code, retryable=False)
        return ErrorInfo(UpstreamError, faultstring, code)
    errors = nested(body, "errors")
    code = None
    message = f"HTTP {status}"
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = str(errors[0].get("code")) if errors[0].get("code") else None
        detail = errors[0].get("detail")
        message = str(detail) if detail else (code or message)
    kinds: dict[int, type[UpstreamError]] = {400: BadRequest, 401: AuthError, 404: NotFound}
    return ErrorInfo(kinds.get(status, UpstreamError), message, code)


def ticketmaster_error_in_body(body: Any) -> bool:
    """An Apigee fault or a Discovery ``errors[]`` list, whatever the status says."""
    return isinstance(body, dict) and (
        isinstance(body.get("fault"), dict) or isinstance(body.get("errors"), list)
    )


class TicketmasterClient(BaseClient):
    """The Discovery API v2."""

    def __init__(
        self,
        *,
        api_key: str,
        api_url: str,
        max_splits_per_query: int = DEFAULT_MAX_SPLITS_PER_QUERY,
        max_splits_per_run: int = DEFAULT_MAX_SPLITS_PER_RUN,
        **options: Unpack[TransportOptions],
    ) -> None:
        if not api_key:
            raise AuthError("a Ticketmaster API key is required", api=TICKETMASTER)
        if max_splits_per_query < 0 or max_splits_per_run < 0:
            raise ValueError("split budgets must not be negative")
        super().__init__(
            client_transport(
                TICKETMASTER,
                ticketmaster_error_info,
                [api_key],
                options,
                body_error=ticketmaster_error_in_body,
            )
        )
        self._api_key = api_key
        self._api_url = api_url
        self.max_splits_per_query = max_splits_per_query
        self.max_splits_per_run = max_splits_per_run
        self.splits = 0  # window splits made by this client (its run's budget)
        self.split_budget_spent = 0  # searches left partly out of reach by a spent budget

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> TicketmasterClient:
        """A client from the settings; without ``limiter``, the product caps apply in-process."""
        if settings.ticketmaster_api_key is None:
            raise AuthError("TICKETMASTER_API_KEY is not configured", api=TICKETMASTER)
        return cls(
            api_key=settings.ticketmaster_api_key.get_secret_value(),
            api_url=settings.ticketmaster_api_url,
            max_splits_per_query=settings.ticketmaster_max_splits_per_query,
            max_splits_per_run=settings.ticketmaster_max_splits_per_run,
            **transport_options(settings, http=http, limiter=limiter, clock=clock, rng=rng),
        )

    async def _get(self, path: str, params: Params | None = None) -> Reply:
        query: dict[str, str | int] = {"apikey": self._api_key}
        if params:
            query.update(params)
        return await self._transport.request(
            "GET",
            join_url(self._api_url, path),
            params=query,
            headers={"Accept": "application/json"},
        )

    # events --------------------------------------------------------------------------------------

    async def events_page(
        self,
        *,
        market_id: int | None = None,
        city: str | None = None,
        attraction_id: str | None = None,
        keyword: str | None = None,
        start: datetime,
        end: datetime,
        page: int = 0,
        size: int = MAX_PAGE_SIZE,
        sort: str = "date,asc",
    ) -> EventPage:
        """One page of music events starting in ``[start, end]``; a DIS1035 answer is the end."""
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"size must be between 1 and {MAX_PAGE_SIZE}, got {size}")
        if page < 0:
            raise ValueError(f"page must not be negative, got {page}")
        start_text, end_text = format_tm_datetime(start), format_tm_datetime(end)
        if end < start:
            raise ValueError("end must not be before start")
        params: dict[str, str | int] = {"classificationName": "music"}
        if market_id is not None:
            params["marketId"] = market_id
        if city is not None:
            params["city"] = city
        if attraction_id is not None:
            params["attractionId"] = attraction_id
        if keyword is not None:
            params["keyword"] = keyword
        params.update(
            {
                "startDateTime": start_text,
                "endDateTime": end_text,
                "size": size,
                "page": page,
                "sort": sort,
            }
        )
        try:
            reply = await self._get("events.json", params)
        except BadRequest as exc:
            if exc.code != END_OF_DEEP_PAGING:
                raise
            self._transport.logger.info(
                "ticketmaster: page %d is past deep paging (%s); treating it as the end",
                page,
                END_OF_DEEP_PAGING,
            )
            return EventPage(
                events=[],
                errors=[],
                page=page,
                total_pages=page,
                total_elements=0,
                deep_paging_end=True,
            )
        raw = nested(reply.body, "_embedded", "events")
        events, errors = self._validate_items("event", raw, TmEvent)
        figures = nested(reply.body, "page")
        if not isinstance(figures, dict):  # no paging figures: nothing to trust beyond the page
            return EventPage(events, errors, page, page + 1, len(events), trusted=True)
        number = figures.get("number")
        total_pages = figures.get("totalPages")
        total_elements = figures.get("totalElements")
        key = f"{_query_key(params)}#p{page}"
        found = page_contradictions(
            requested=page,
            size=size,
            items=len(raw) if isinstance(raw, list) else 0,
            number=number,
            total_pages=total_pages,
            total_elements=total_elements,
        )
        if found:
            errors.append(self._malformed("events page", key, found, figures))
            return EventPage(events, errors, page, page + 1, len(events), trusted=False)
        total_pages, total_elements = int(figures["totalPages"]), int(figures["totalElements"])
        if total_elements > MAX_REPORTED_TOTAL:
            errors.append(
                self._malformed(
                    "events page",
                    key,
                    [
                        f"page.totalElements: {total_elements} is more than the API reports "
                        f"({MAX_REPORTED_TOTAL}); capped"
                    ],
                    figures,
                )
            )
            total_elements = MAX_REPORTED_TOTAL
            total_pages = min(total_pages, -(-MAX_REPORTED_TOTAL // size))
        return EventPage(events, errors, page, total_pages, total_elements)

    async def iter_events(
        self,
        *,
        market_id: int | None = None,
        city: str | None = None,
        attraction_id: str | None = None,
        keyword: str | None = None,
        start: datetime,
        end: datetime,
        size: int = MAX_PAGE_SIZE,
        sort: str = "date,asc",
        min_window: timedelta = MIN_SPLIT_WINDOW,
    ) -> AsyncIterator[EventPage]:
        """Every page of the search; windows too big for deep paging are split in halves.

        Splits are budgeted: at most ``max_splits_per_query`` for this search and
        ``max_splits_per_run`` over the client's life; past either, a window is paged as deep as
        it can be and a warning says how many events stay out of reach. A page that contradicts
        itself ends its window. Events already yielded (by id) are left out of later pages.
        """
        format_tm_datetime(start)  # refuse naive datetimes before the first request
        format_tm_datetime(end)
        seen: set[str] = set()
        filters: dict[str, Any] = {
            "market_id": market_id,
            "city": city,
            "attraction_id": attraction_id,
            "keyword": keyword,
            "size": size,
            "sort": sort,
        }
        budget = [self.max_splits_per_query]
        async for page in self._iter_window(filters, start, end, min_window, budget):
            fresh = [event for event in page.events if event.id not in seen]
            seen.update(event.id for event in fresh)
            yield replace(page, events=fresh)

    async def _iter_window(
        self,
        filters: dict[str, Any],
        start: datetime,
        end: datetime,
        min_window: timedelta,
        budget: list[int],
    ) -> AsyncIterator[EventPage]:
        size: int = filters["size"]
        current = await self.events_page(**filters, start=start, end=end, page=0)
        reachable = reachable_elements(size)
        if current.trusted and current.total_elements > reachable:
            middle = (start + (end - start) / 2).replace(microsecond=0)
            divisible = end - start >= 2 * min_window and start < middle < end
            affordable = budget[0] > 0 and self.splits < self.max_splits_per_run
            if divisible and affordable:
                budget[0] -= 1
                self.splits += 1
                self._transport.logger.info(
                    "ticketmaster: %d events between %s and %s exceed deep paging (%d); "
                    "splitting the window at %s",
                    current.total_elements,
                    format_tm_datetime(start),
                    format_tm_datetime(end),
                    reachable,
                    format_tm_datetime(middle),
                )
                async for page in self._iter_window(filters, start, middle, min_window, budget):
                    yield page
                async for page in self._iter_window(filters, middle, end, min_window, budget):
                    yield page
                return
            if divisible:
                self.split_budget_spent += 1
            self._transport.logger.warning(
                "ticketmaster: %d events between %s and %s exceed deep paging (%d) and the "
                "window %s; %d are out of reach",
                current.total_elements,
                format_tm_datetime(start),
                format_tm_datetime(end),
                reachable,
                "cannot be split further"
                if not divisible
                else f"split budget is spent ({self.max_splits_per_query} per search, "
                f"{self.max_splits_per_run} per run)",
                current.total_elements - reachable,
            )
        yield current
        number = current.page
        while not current.is_last and size * (number + 1) < DEEP_PAGING_LIMIT:
            number += 1
            current = await self.events_page(**filters, start=start, end=end, page=number)
            yield current

    # lookups -------------------------------------------------------------------------------------

    async def search_attractions(
        self, keyword: str, *, size: int = 20, page: int = 0
    ) -> list[TmAttraction]:
        """``attractions.json?keyword=`` among music attractions."""
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"size must be between 1 and {MAX_PAGE_SIZE}, got {size}")
        reply = await self._get(
            "attractions.json",
            {"keyword": keyword, "classificationName": "music", "size": size, "page": page},
        )
        attractions, _ = self._validate_items(
            "attraction", nested(reply.body, "_embedded", "attractions"), TmAttraction
        )
        return attractions

    async def get_attraction(self, attraction_id: str) -> TmAttraction | None:
        """``attractions/{id}.json``; None when unknown (404 DIS1004)."""
        body = await self._lookup("attractions", attraction_id)
        if body is None:
            return None
        return self._validate_one("attraction", body, TmAttraction, key=attraction_id)

    async def get_venue(self, venue_id: str) -> TmVenue | None:
        """``venues/{id}.json``; None when unknown."""
        body = await self._lookup("venues", venue_id)
        if body is None:
            return None
        return self._validate_one("venue", body, TmVenue, key=venue_id)

    async def get_event(self, event_id: str) -> TmEvent | None:
        """``events/{id}.json``; None when unknown."""
        body = await self._lookup("events", event_id)
        if body is None:
            return None
        return self._validate_one("event", body, TmEvent, key=event_id)

    async def _lookup(self, collection: str, item_id: str) -> Any:
        if not item_id:
            raise ValueError("id must not be empty")
        try:
            reply = await self._get(f"{collection}/{quote(item_id, safe='')}.json")
        except NotFound:
            return None
        return reply.body


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_QUERY_FILTERS: Final = (
    ("marketId", "market"),
    ("attractionId", "attraction"),
    ("city", "city"),
    ("keyword", "keyword"),
)


def _query_key(params: Mapping[str, str | int]) -> str:
    """A page's search, as the key its contradictions are recorded under."""
    filters = [f"{name}={params[param]}" for param, name in _QUERY_FILTERS if param in params]
    window = f"{params['startDateTime']}/{params['endDateTime']}"
    return f"{','.join(filters) or 'all'}@{window}"
