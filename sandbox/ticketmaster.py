"""The fake Ticketmaster Discovery API v2: events, attractions, venues, with the real quirks.

Strict ``YYYY-MM-DDTHH:mm:ssZ`` dates (else 400 ``DIS1015``), ``size`` at most 200 (``DIS1036``),
``size * page < 1000`` (``DIS1035``), no ``_embedded`` in an empty result, Apigee faults for a
bad key, spike arrest and quota, and the ``Rate-Limit*`` headers on every answer.

Listing events without ``startDateTime`` returns events from the sandbox's ``now`` on; an
explicit earlier ``startDateTime`` also reaches the catalogue's last 30 days (real Ticketmaster
drops past events sooner), so show ↔ setlist matching can be exercised without waiting.

Every answer serves the world at the sandbox's ``now``: events announced by then, in their state
then (canceled, postponed, rescheduled, moved), dropped ones gone (``Catalog.listing``,
``Catalog.event_at``; sandbox/timeline.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from sandbox.catalog import Artist, Event, Venue, slug
from sandbox.geo import STATE_NAMES
from sandbox.limits import Refusal
from sandbox.spotify import fold
from sandbox.surface import Endpoint, Surface, json_response

__all__ = ["TicketmasterSurface"]

PREFIX: Final = "/discovery/v2"
MAX_SIZE: Final = 200
DEEP_PAGING_LIMIT: Final = 1000
MAX_TOTAL_ELEMENTS: Final = 10000
_DATETIME: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_MUSIC: Final = {"id": "KZFzniwnSyZfZ7v7nJ", "name": "Music"}
_UNDEFINED_TYPE: Final = {"id": "KZAyXgnZfZ7v7nI", "name": "Undefined"}
_UNDEFINED_SUBTYPE: Final = {"id": "KZFzBErXgnZfZ7v7lJ", "name": "Undefined"}
_PLACEHOLDER_ONSALE: Final = "1900-01-01T18:00:00Z"


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fault(status: int, faultstring: str, errorcode: str) -> Response:
    return json_response(
        {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}, status
    )


def _dis(status: int, code: str, detail: str) -> Response:
    return json_response(
        {
            "errors": [
                {
                    "code": code,
                    "detail": detail,
                    "status": str(status),
                    "_links": {"about": {"href": f"{PREFIX}/errors.html#{code}"}},
                }
            ]
        },
        status,
    )


def _not_found(item_id: str) -> Response:
    return _dis(
        404, "DIS1004", f"Resource not found with provided criteria (locale=en-us, id={item_id})"
    )


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class _BadRequest(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("bad request")
        self.response = response


def _paging_params(request: Request) -> tuple[int, int]:
    raw_size = request.query_params.get("size", "20")
    try:
        size = int(raw_size)
    except ValueError:
        raise _BadRequest(
            _dis(400, "DIS1036", f"Query param with name size has invalid value '{raw_size}'")
        ) from None
    if not 1 <= size <= MAX_SIZE:
        raise _BadRequest(
            _dis(400, "DIS1036", f"Query param with name size must be between 1 and {MAX_SIZE}")
        )
    raw_page = request.query_params.get("page", "0")
    try:
        page = int(raw_page)
    except ValueError:
        page = -1
    if page < 0:
        raise _BadRequest(
            _dis(400, "DIS1001", f"Query param with name page has invalid value '{raw_page}'")
        )
    if size * page >= DEEP_PAGING_LIMIT:
        raise _BadRequest(
            _dis(
                400,
                "DIS1035",
                "API Limits Exceeded: Max paging depth exceeded. (page * size) must be less "
                f"than {DEEP_PAGING_LIMIT}",
            )
        )
    return size, page


def _datetime_param(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not _DATETIME.match(raw):
        raise _BadRequest(
            _dis(
                400,
                "DIS1015",
                f"Query param with name {name} has invalid value '{raw}', "
                "expected format YYYY-MM-DDTHH:mm:ssZ",
            )
        )
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise _BadRequest(
            _dis(400, "DIS1015", f"Query param with name {name} has invalid value '{raw}'")
        ) from None


class TicketmasterSurface(Surface):
    api = "ticketmaster"

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("GET", f"{PREFIX}/events.json", self.events),
            Endpoint("GET", f"{PREFIX}/events/{{id}}.json", self.event),
            Endpoint("GET", f"{PREFIX}/attractions.json", self.attractions),
            Endpoint("GET", f"{PREFIX}/attractions/{{id}}.json", self.attraction),
            Endpoint("GET", f"{PREFIX}/venues/{{id}}.json", self.venue),
        ]

    # policy ---------------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        key = request.query_params.get("apikey")
        if key is not None and key == self.sandbox.config.credential("ticketmaster_api_key"):
            return None
        return _fault(401, "Invalid ApiKey", "oauth.v2.InvalidApiKey")

    def refused(self, request: Request, refusal: Refusal) -> Response:
        if refusal.quota:
            return _fault(
                429,
                "Rate limit quota violation. Quota limit exceeded. Identifier : _default",
                "policies.ratelimit.QuotaViolation",
            )
        rate = self.sandbox.caps[self.api].per_second or 0
        return _fault(
            429,
            "Spike arrest violation. Allowed rate : MessageRate{messagesPerPeriod="
            f"{rate:g}, periodInMicroseconds=1000000, maxBurstMessageCount=1.0}}",
            "policies.ratelimit.SpikeArrestViolation",
        )

    def server_error(self, request: Request, status: int) -> Response:
        if status == 503:
            return _fault(
                503,
                "The Service is temporarily unavailable",
                "messaging.adaptors.http.flow.ServiceUnavailable",
            )
        return _fault(status, "Internal Server Error", "messaging.runtime.InternalServerError")

    def finish(self, response: Response) -> None:
        quota = self.sandbox.daily_quota(self.api)
        if quota is None:
            return
        reset = self.sandbox.now() + timedelta(seconds=self.sandbox.seconds_to_midnight())
        response.headers["Rate-Limit"] = str(quota.limit)
        response.headers["Rate-Limit-Available"] = str(quota.available)
        response.headers["Rate-Limit-Over"] = str(
            self.sandbox.stats.refusals[(self.api, "per_day")]
        )
        response.headers["Rate-Limit-Reset"] = str(int(reset.timestamp() * 1000))

    # rendering ------------------------------------------------------------------------------------

    @staticmethod
    def _images(key: str) -> list[dict[str, Any]]:
        base = f"https://s1.ticketm.net/dam/a/{key[:3]}/{key[:24]}"
        return [
            {"ratio": "16_9", "url": f"{base}_RETINA_PORTRAIT_16_9.jpg", "width": 640,
             "height": 360, "fallback": False},
            {"ratio": "3_2", "url": f"{base}_TABLET_LANDSCAPE_3_2.jpg", "width": 1024,
             "height": 683, "fallback": False},
        ]  # fmt: skip

    @staticmethod
    def _classifications(artist: Artist) -> list[dict[str, Any]]:
        genre = artist.genre
        sub_id, sub_name = artist.sub_genre
        return [
            {
                "primary": True,
                "segment": dict(_MUSIC),
                "genre": {"id": genre.tm_id, "name": genre.name},
                "subGenre": {"id": sub_id, "name": sub_name},
                "type": dict(_UNDEFINED_TYPE),
                "subType": dict(_UNDEFINED_SUBTYPE),
                "family": False,
            }
        ]

    def _upcoming(self, events: Sequence[Event]) -> dict[str, int]:
        now = self.sandbox.now()
        count = sum(1 for e in events if e.sort_instant >= now)
        return {"ticketmaster": count, "_total": count, "_filtered": 0}

    def attraction_json(self, artist: Artist) -> dict[str, Any]:
        tm_id = artist.ticketmaster_id or ""
        links: dict[str, list[dict[str, str]]] = {}
        if artist.index % 3:
            links["youtube"] = [
                {"url": f"https://www.youtube.com/channel/UC{artist.image_key[:22]}"}
            ]
        if artist.link_spotify and artist.spotify_id:
            links["spotify"] = [{"url": f"https://open.spotify.com/artist/{artist.spotify_id}"}]
        if artist.link_musicbrainz and artist.mbid:
            links["musicbrainz"] = [
                {"id": artist.mbid, "url": f"https://musicbrainz.org/artist/{artist.mbid}"}
            ]
        links["homepage"] = [{"url": f"https://www.{slug(artist.name).replace('-', '')}.com/"}]
        body: dict[str, Any] = {
            "name": artist.ticketmaster_name,
            "type": "attraction",
            "id": tm_id,
            "test": False,
            "url": f"https://www.ticketmaster.com/{slug(artist.ticketmaster_name)}-tickets/artist/"
            f"{1_000_000 + artist.index}",
            "locale": "en-us",
            "externalLinks": links,
            "images": self._images(artist.image_key),
            "classifications": self._classifications(artist),
            "upcomingEvents": self._upcoming(self._events_of(artist)),
            "_links": {"self": {"href": f"{PREFIX}/attractions/{tm_id}?locale=en-us"}},
        }
        return body

    def venue_json(self, venue: Venue) -> dict[str, Any]:
        city = venue.city
        return {
            "name": venue.name,
            "type": "venue",
            "id": venue.ticketmaster_id,
            "test": False,
            "url": f"https://www.ticketmaster.com/{slug(venue.name)}-tickets-{slug(city.name)}/"
            f"venue/{200_000 + venue.index}",
            "locale": "en-us",
            "postalCode": venue.postal_code,
            "timezone": venue.timezone,
            "city": {"name": city.name},
            "state": {"name": STATE_NAMES[city.state_code], "stateCode": city.state_code},
            "country": {"name": "United States Of America", "countryCode": "US"},
            "address": {"line1": venue.address},
            "location": {"longitude": str(venue.longitude), "latitude": str(venue.latitude)},
            "markets": [{"name": venue.market.name, "id": str(venue.market.id)}],
            "dmas": [{"id": venue.market.dma_id}],
            "upcomingEvents": self._upcoming(
                self.sandbox.catalog.listing(self.sandbox.now()).by_venue.get(
                    venue.ticketmaster_id, []
                )
            ),
            "_links": {"self": {"href": f"{PREFIX}/venues/{venue.ticketmaster_id}?locale=en-us"}},
        }

    def event_json(self, event: Event) -> dict[str, Any]:
        start: dict[str, Any] = {"localDate": event.local_date.isoformat()}
        starts_at = event.starts_at
        if event.local_time is not None and starts_at is not None:
            start["localTime"] = event.local_time.strftime("%H:%M:%S")
            start["dateTime"] = _iso(starts_at)
        start.update(
            {
                "dateTBD": False,
                "dateTBA": event.date_tba,
                "timeTBA": event.time_tba,
                "noSpecificTime": False,
            }
        )
        venue = event.venue
        body: dict[str, Any] = {
            "name": event.name,
            "type": "event",
            "id": event.id,
            "test": False,
            "url": f"https://www.ticketmaster.com/{slug(event.headliner.ticketmaster_name)}-"
            f"{slug(venue.city.name)}-{venue.city.state_code.lower()}-"
            f"{event.local_date.strftime('%m-%d-%Y')}/event/{event.url_key}",
            "locale": "en-us",
            "images": self._images(event.url_key.lower() + event.headliner.image_key),
            "sales": {
                "public": {
                    "startDateTime": _PLACEHOLDER_ONSALE
                    if event.onsale_placeholder
                    else _iso(event.onsale_start),
                    "startTBD": False,
                    "startTBA": False,
                    "endDateTime": _iso(event.sort_instant),
                }
            },
            "dates": {
                "start": start,
                "timezone": venue.timezone,
                "status": {"code": event.status},
                "spanMultipleDays": False,
            },
            "classifications": self._classifications(event.headliner),
        }
        if event.price_range is not None:
            low, high = event.price_range
            body["priceRanges"] = [
                {"type": "standard", "currency": "USD", "min": float(low), "max": float(high)}
            ]
        attractions = [a for a in event.attractions if a.ticketmaster_id]
        body["_links"] = {
            "self": {"href": f"{PREFIX}/events/{event.id}?locale=en-us"},
            "attractions": [
                {"href": f"{PREFIX}/attractions/{a.ticketmaster_id}?locale=en-us"}
                for a in attractions
            ],
            "venues": [{"href": f"{PREFIX}/venues/{venue.ticketmaster_id}?locale=en-us"}],
        }
        body["_embedded"] = {
            "venues": [self.venue_json(venue)],
            "attractions": [self.attraction_json(a) for a in attractions],
        }
        return body

    @staticmethod
    def _envelope(
        request: Request,
        path: str,
        key: str,
        items: list[dict[str, Any]],
        *,
        total: int,
        size: int,
        page: int,
    ) -> dict[str, Any]:
        query = {k: v for k, v in request.query_params.items() if k != "apikey"}

        def href(number: int) -> dict[str, str]:
            query.update({"page": str(number), "size": str(size)})
            return {"href": f"{PREFIX}/{path}?{urlencode(query)}"}

        reported = min(total, MAX_TOTAL_ELEMENTS)
        pages = math.ceil(reported / size)
        links: dict[str, Any] = {"self": href(page)}
        if pages:
            links["first"] = href(0)
            if page > 0:
                links["prev"] = href(min(page, pages) - 1)
            if page + 1 < pages:
                links["next"] = href(page + 1)
            links["last"] = href(pages - 1)
        body: dict[str, Any] = {"_links": links}
        if items:
            body["_embedded"] = {key: items}
        body["page"] = {
            "size": size,
            "totalElements": reported,
            "totalPages": pages,
            "number": page,
        }
        return body

    # events ---------------------------------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        try:
            size, page = _paging_params(request)
            start = _datetime_param(request, "startDateTime")
            end = _datetime_param(request, "endDateTime")
        except _BadRequest as bad:
            return bad.response
        params = request.query_params
        lower = start if start is not None else self.sandbox.now()
        tests: list[Callable[[Event], bool]] = [lambda e: e.sort_instant >= lower]
        if end is not None:
            tests.append(lambda e: e.sort_instant <= end)
        if markets := _csv(params.get("marketId")):
            tests.append(lambda e: str(e.venue.market.id) in markets)
        if dmas := _csv(params.get("dmaId")):
            tests.append(lambda e: str(e.venue.market.dma_id) in dmas)
        if cities := {fold(c) for c in _csv(params.get("city"))}:
            tests.append(lambda e: fold(e.venue.city.name) in cities)
        if states := {s.upper() for s in _csv(params.get("stateCode"))}:
            tests.append(lambda e: e.venue.city.state_code in states)
        if countries := {c.upper() for c in _csv(params.get("countryCode"))}:
            tests.append(lambda e: "US" in countries)
        if postal := _csv(params.get("postalCode")):
            tests.append(lambda e: e.venue.postal_code in postal)
        if venues := set(_csv(params.get("venueId"))):
            tests.append(lambda e: e.venue.ticketmaster_id in venues)
        if attractions := set(_csv(params.get("attractionId"))):
            tests.append(lambda e: any(a.ticketmaster_id in attractions for a in e.attractions))
        if keyword := fold(params.get("keyword", "").strip()):
            tests.append(
                lambda e: (
                    keyword in fold(e.name)
                    or any(keyword in fold(a.ticketmaster_name) for a in e.attractions)
                )
            )
        if classes := {fold(c) for c in _csv(params.get("classificationName"))}:
            tests.append(lambda e: bool(classes & self._class_names(e.headliner)))
        candidates = self._candidates(attractions, {int(m) for m in markets if m.isdigit()})
        matches = [e for e in candidates if all(test(e) for test in tests)]
        sort = params.get("sort", "relevance,desc")
        if sort.startswith("name,"):
            matches.sort(key=lambda e: (fold(e.name), e.id), reverse=sort.endswith(",desc"))
        elif sort == "date,desc":
            matches.sort(key=lambda e: (e.sort_instant, e.id), reverse=True)
        # date,asc and relevance: the catalogue order (by start, then id)
        window = matches[page * size : (page + 1) * size]
        return json_response(
            self._envelope(
                request,
                "events.json",
                "events",
                [self.event_json(e) for e in window],
                total=len(matches),
                size=size,
                page=page,
            )
        )

    def _candidates(self, attraction_ids: set[str], markets: set[int]) -> Sequence[Event]:
        """The events served now (in catalogue order): every one, those of the attractions asked
        for, or those in the markets asked for (the other filters still apply)."""
        catalog = self.sandbox.catalog
        now = self.sandbox.now()
        if attraction_ids:
            found: dict[str, Event] = {}
            for attraction_id in attraction_ids:
                artist = catalog.artist_by_ticketmaster_id.get(attraction_id)
                if artist is not None:
                    found.update((e.id, e) for e in self._events_of(artist))
            return sorted(found.values(), key=lambda e: (e.sort_instant, e.id))
        listing = catalog.listing(now)
        if len(markets) == 1:
            return listing.by_market.get(next(iter(markets)), [])  # already in listing order
        if markets:
            chosen = [e for m in markets for e in listing.by_market.get(m, [])]
            return sorted(chosen, key=lambda e: (e.sort_instant, e.id))
        return listing.events

    def _events_of(self, artist: Artist) -> list[Event]:
        """The artist's events served now (headlined or supported), in catalogue order."""
        catalog = self.sandbox.catalog
        now = self.sandbox.now()
        events = []
        for event_id in catalog.event_ids_by_artist.get(artist.index, ()):
            event = catalog.event_at(event_id, now)
            if event is not None:
                events.append(event)
        events.sort(key=lambda e: (e.sort_instant, e.id))
        return events

    @staticmethod
    def _class_names(artist: Artist) -> set[str]:
        return {"music", fold(artist.genre.name), fold(artist.sub_genre[1])}

    async def event(self, request: Request) -> Response:
        event_id = request.path_params["id"]
        event = self.sandbox.catalog.event_at(event_id, self.sandbox.now())
        if event is None:
            return _not_found(event_id)
        return json_response(self.event_json(event))

    # attractions and venues -----------------------------------------------------------------------

    async def attractions(self, request: Request) -> Response:
        try:
            size, page = _paging_params(request)
        except _BadRequest as bad:
            return bad.response
        params = request.query_params
        keyword = fold(params.get("keyword", "").strip())
        classes = {fold(c) for c in _csv(params.get("classificationName"))}
        ids = set(_csv(params.get("id")))
        ranked: list[tuple[int, str, str, Artist]] = []
        for artist in self.sandbox.catalog.artists:
            if artist.ticketmaster_id is None:
                continue
            name = fold(artist.ticketmaster_name)
            if keyword and keyword not in name:
                continue
            if classes and not classes & self._class_names(artist):
                continue
            if ids and artist.ticketmaster_id not in ids:
                continue
            rank = 0 if name == keyword else 1 if keyword and name.startswith(keyword) else 2
            ranked.append((rank, name, artist.ticketmaster_id, artist))
        sort = params.get("sort", "relevance,desc")
        if sort.startswith("name,"):
            ranked.sort(key=lambda row: (row[1], row[2]), reverse=sort.endswith(",desc"))
        else:
            ranked.sort(key=lambda row: row[:3])
        window = ranked[page * size : (page + 1) * size]
        return json_response(
            self._envelope(
                request,
                "attractions.json",
                "attractions",
                [self.attraction_json(row[3]) for row in window],
                total=len(ranked),
                size=size,
                page=page,
            )
        )

    async def attraction(self, request: Request) -> Response:
        attraction_id = request.path_params["id"]
        artist = self.sandbox.catalog.artist_by_ticketmaster_id.get(attraction_id)
        if artist is None:
            return _not_found(attraction_id)
        return json_response(self.attraction_json(artist))

    async def venue(self, request: Request) -> Response:
        venue_id = request.path_params["id"]
        venue = self.sandbox.catalog.venue_by_ticketmaster_id.get(venue_id)
        if venue is None:
            return _not_found(venue_id)
        return json_response(self.venue_json(venue))
