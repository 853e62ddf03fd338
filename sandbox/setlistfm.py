"""The fake setlist.fm API 1.0: artist search, setlists by artist, edited since, one setlist.

JSON only with ``Accept: application/json`` (else XML, the real default); ``x-api-key`` checked
(403); 404 for "no results"; 20 items a page, ``p`` 1-based; ``sets: {"set": [...]}``.
Rate caps answer 429 with a ``Retry-After`` header in whole seconds (the real API does not
document one; the sandbox sends the time until its bucket has a token again, at least 1 s).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response

from sandbox.catalog import Artist, Performance, SetContent, SongEntry, Venue, slug
from sandbox.geo import STATE_NAMES
from sandbox.limits import Refusal
from sandbox.spotify import fold
from sandbox.surface import Endpoint, Surface, json_response

__all__ = ["ITEMS_PER_PAGE", "SetlistFmSurface", "to_xml"]

PREFIX: Final = "/rest/1.0"
ITEMS_PER_PAGE: Final = 20
_STATUS_TEXT: Final = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def setlistfm_time(instant: datetime) -> str:
    """``2013-10-20T05:18:08.000+0000``."""
    instant = instant.astimezone(UTC)
    return f"{instant:%Y-%m-%dT%H:%M:%S}.{instant.microsecond // 1000:03d}+0000"


def to_xml(root: str, payload: Any) -> bytes:
    """A JSON-shaped payload as setlist.fm-style XML (scalars as attributes, lists repeated)."""
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>']
    _element(root, payload, out)
    return "".join(out).encode("utf-8")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(name: str, value: Any, out: list[str]) -> None:
    if not isinstance(value, dict):
        out.append(f"<{name}>{escape(_scalar(value))}</{name}>")
        return
    attributes = "".join(
        f" {key}={quoteattr(_scalar(item))}"
        for key, item in value.items()
        if not isinstance(item, dict | list) and item is not None
    )
    children = [(k, v) for k, v in value.items() if isinstance(v, dict | list)]
    if not children:
        out.append(f"<{name}{attributes}/>")
        return
    out.append(f"<{name}{attributes}>")
    for key, item in children:
        for element in item if isinstance(item, list) else [item]:
            _element(key, element, out)
    out.append(f"</{name}>")


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _page(request: Request) -> int:
    raw = request.query_params.get("p", "1")
    try:
        page = int(raw)
    except ValueError:
        page = 0
    if page < 1:
        raise _Refused(400, "p must be a positive integer")
    return page


class SetlistFmSurface(Surface):
    api = "setlistfm"

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("GET", f"{PREFIX}/search/artists", self.search_artists),
            Endpoint("GET", f"{PREFIX}/artist/{{mbid}}", self.artist),
            Endpoint("GET", f"{PREFIX}/artist/{{mbid}}/setlists", self.artist_setlists),
            Endpoint("GET", f"{PREFIX}/search/setlists", self.search_setlists),
            Endpoint("GET", f"{PREFIX}/setlist/{{id}}", self.setlist),
        ]

    # answers --------------------------------------------------------------------------------------

    @staticmethod
    def _wants_json(request: Request) -> bool:
        return "application/json" in request.headers.get("accept", "").lower()

    def _answer(self, request: Request, root: str, payload: Any, status: int = 200) -> Response:
        if self._wants_json(request):
            return json_response(payload, status)
        return Response(to_xml(root, payload), status_code=status, media_type="application/xml")

    def _error(self, request: Request, status: int, message: str) -> Response:
        body = {
            "code": status,
            "status": _STATUS_TEXT.get(status, "Error"),
            "message": message,
            "timestamp": setlistfm_time(self.sandbox.now()),
        }
        return self._answer(request, "error", body, status)

    # policy ---------------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        key = request.headers.get("x-api-key")
        if key is not None and key == self.sandbox.config.credential("setlistfm_api_key"):
            return None
        return self._error(request, 403, "Forbidden")

    def refused(self, request: Request, refusal: Refusal) -> Response:
        response = self._error(request, 429, "Too Many Requests")
        response.headers["retry-after"] = refusal.retry_after_header
        return response

    def server_error(self, request: Request, status: int) -> Response:
        return self._error(request, status, _STATUS_TEXT.get(status, "Error"))

    # rendering ------------------------------------------------------------------------------------

    @staticmethod
    def artist_json(artist: Artist) -> dict[str, Any]:
        body: dict[str, Any] = {"mbid": artist.mbid}
        if artist.setlistfm_tmid is not None:
            body["tmid"] = artist.setlistfm_tmid
        body.update(
            {
                "name": artist.name,
                "sortName": artist.sort_name,
                "disambiguation": "",
                "url": f"https://www.setlist.fm/setlists/{slug(artist.name)}-"
                f"{artist.setlistfm_url_id}.html",
            }
        )
        return body

    @staticmethod
    def _ref(artist: Artist) -> dict[str, Any]:
        return {
            "mbid": artist.mbid,
            "name": artist.name,
            "sortName": artist.sort_name,
            "disambiguation": "",
            "url": f"https://www.setlist.fm/setlists/{slug(artist.name)}-"
            f"{artist.setlistfm_url_id}.html",
        }

    @staticmethod
    def venue_json(venue: Venue) -> dict[str, Any]:
        city = venue.city
        return {
            "id": venue.setlistfm_id,
            "name": venue.name,
            "city": {
                "id": venue.geonames_id,
                "name": city.name,
                "state": STATE_NAMES[city.state_code],
                "stateCode": city.state_code,
                "coords": {"lat": city.latitude, "long": city.longitude},
                "country": {"code": "US", "name": "United States"},
            },
            "url": f"https://www.setlist.fm/venue/{slug(venue.name)}-{slug(city.name)}-"
            f"{city.state_code.lower()}-usa-{venue.setlistfm_id}.html",
        }

    def _song(self, song: SongEntry) -> dict[str, Any]:
        body: dict[str, Any] = {"name": song.name}
        if song.with_artist is not None:
            body["with"] = self._ref(song.with_artist)
        if song.cover is not None:
            body["cover"] = self._ref(song.cover)
        if song.info is not None:
            body["info"] = song.info
        if song.tape:
            body["tape"] = True
        return body

    def _set(self, content: SetContent) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if content.name is not None:
            body["name"] = content.name
        if content.encore:
            body["encore"] = content.encore
        body["song"] = [self._song(song) for song in content.songs]
        return body

    def setlist_json(self, performance: Performance, now: datetime) -> dict[str, Any]:
        catalog = self.sandbox.catalog
        version = max(0, performance.version_at(now))
        artist, venue = performance.artist, performance.venue
        body: dict[str, Any] = {
            "id": performance.setlist_id,
            "versionId": catalog.version_id(performance, version),
            "eventDate": performance.event_date.strftime("%d-%m-%Y"),
            "lastUpdated": setlistfm_time(performance.versions[version]),
            "artist": self.artist_json(artist),
            "venue": self.venue_json(venue),
        }
        if performance.tour is not None:
            body["tour"] = {"name": performance.tour}
        body["sets"] = {"set": [self._set(s) for s in catalog.sets(performance, version)]}
        if performance.info is not None:
            body["info"] = performance.info
        body["url"] = (
            f"https://www.setlist.fm/setlist/{slug(artist.name)}/{performance.event_date.year}/"
            f"{slug(venue.name)}-{slug(venue.city.name)}-{venue.city.state_code.lower()}-"
            f"{performance.setlist_id}.html"
        )
        return body

    def _setlist_page(
        self, request: Request, performances: list[Performance], page: int
    ) -> Response:
        window = performances[(page - 1) * ITEMS_PER_PAGE : page * ITEMS_PER_PAGE]
        if not window:
            return self._error(request, 404, "not found")
        now = self.sandbox.now()
        return self._answer(
            request,
            "setlists",
            {
                "type": "setlists",
                "itemsPerPage": ITEMS_PER_PAGE,
                "page": page,
                "total": len(performances),
                "setlist": [self.setlist_json(p, now) for p in window],
            },
        )

    # artists --------------------------------------------------------------------------------------

    async def search_artists(self, request: Request) -> Response:
        params = request.query_params
        name = params.get("artistName")
        mbid = params.get("artistMbid")
        tmid = params.get("artistTmid")
        try:
            page = _page(request)
            if not (name or mbid or tmid):
                raise _Refused(
                    400, "at least one of artistName, artistMbid, artistTmid is required"
                )
        except _Refused as refused:
            return self._error(request, refused.status, refused.message)
        wanted = fold(name.strip()) if name else None
        matches = [
            artist
            for artist in self.sandbox.catalog.artists
            if artist.on_setlistfm
            and (mbid is None or artist.mbid == mbid)
            and (tmid is None or artist.setlistfm_tmid == tmid)
            and (wanted is None or wanted in fold(artist.name))
        ]
        if params.get("sort") == "relevance" and wanted is not None:
            matches.sort(
                key=lambda a: (
                    0 if fold(a.name) == wanted else 1 if fold(a.name).startswith(wanted) else 2,
                    fold(a.sort_name),
                    a.index,
                )
            )
        else:
            matches.sort(key=lambda a: (fold(a.sort_name), a.index))
        window = matches[(page - 1) * ITEMS_PER_PAGE : page * ITEMS_PER_PAGE]
        if not window:
            return self._error(request, 404, "not found")
        return self._answer(
            request,
            "artists",
            {
                "type": "artists",
                "itemsPerPage": ITEMS_PER_PAGE,
                "page": page,
                "total": len(matches),
                "artist": [self.artist_json(a) for a in window],
            },
        )

    async def artist(self, request: Request) -> Response:
        artist = self.sandbox.catalog.artist_by_mbid.get(request.path_params["mbid"])
        if artist is None:
            return self._error(request, 404, "not found")
        return self._answer(request, "artist", self.artist_json(artist))

    # setlists -------------------------------------------------------------------------------------

    async def artist_setlists(self, request: Request) -> Response:
        try:
            page = _page(request)
        except _Refused as refused:
            return self._error(request, refused.status, refused.message)
        artist = self.sandbox.catalog.artist_by_mbid.get(request.path_params["mbid"])
        if artist is None:
            return self._error(request, 404, "not found")
        performances = self.sandbox.catalog.setlists(artist, self.sandbox.now())
        return self._setlist_page(request, performances, page)

    async def search_setlists(self, request: Request) -> Response:
        params = request.query_params
        searchable = ("artistMbid", "artistName", "artistTmid", "cityName", "date", "lastUpdated",
                      "tourName", "venueId", "year")  # fmt: skip
        try:
            page = _page(request)
            if not any(params.get(name) for name in searchable):
                raise _Refused(400, "at least one search parameter is required")
            since = self._last_updated(params.get("lastUpdated"))
            on_date = self._event_date(params.get("date"))
            year = self._year(params.get("year"))
        except _Refused as refused:
            return self._error(request, refused.status, refused.message)
        catalog = self.sandbox.catalog
        now = self.sandbox.now()
        if mbid := params.get("artistMbid"):  # one lookup, not a scan of the catalogue
            by_mbid = catalog.artist_by_mbid.get(mbid)
            artists = [by_mbid] if by_mbid is not None else []
        else:
            artists = [a for a in catalog.artists if a.on_setlistfm]
        if tmid := params.get("artistTmid"):
            artists = [a for a in artists if a.setlistfm_tmid == tmid]
        if name := params.get("artistName"):
            artists = [a for a in artists if fold(name.strip()) in fold(a.name)]
        city = fold(params.get("cityName", "").strip())
        tour = fold(params.get("tourName", "").strip())
        venue_id = params.get("venueId")
        found: list[Performance] = []
        for artist in artists:
            for performance in catalog.setlists(artist, now):
                if since is not None:
                    version = performance.version_at(now)
                    if performance.versions[version] < since:
                        continue
                if on_date is not None and performance.event_date != on_date:
                    continue
                if year is not None and performance.event_date.year != year:
                    continue
                if venue_id and performance.venue.setlistfm_id != venue_id:
                    continue
                if city and fold(performance.venue.city.name) != city:
                    continue
                if tour and fold(performance.tour or "") != tour:
                    continue
                found.append(performance)
        found.sort(key=lambda p: (p.event_date, p.setlist_id), reverse=True)
        return self._setlist_page(request, found, page)

    @staticmethod
    def _last_updated(raw: str | None) -> datetime | None:
        if not raw:
            return None
        try:
            if len(raw) != 14 or not raw.isdigit():
                raise ValueError(raw)
            return datetime.strptime(raw, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            raise _Refused(400, "lastUpdated must be formatted yyyyMMddHHmmss") from None

    @staticmethod
    def _event_date(raw: str | None) -> date | None:
        if not raw:
            return None
        try:
            return datetime.strptime(raw, "%d-%m-%Y").date()
        except ValueError:
            raise _Refused(400, "date must be formatted dd-MM-yyyy") from None

    @staticmethod
    def _year(raw: str | None) -> int | None:
        if not raw:
            return None
        if not raw.isdigit():
            raise _Refused(400, "year must be a number")
        return int(raw)

    async def setlist(self, request: Request) -> Response:
        performance = self.sandbox.catalog.performance_by_setlist_id(request.path_params["id"])
        now = self.sandbox.now()
        if performance is None or not performance.published(now):
            return self._error(request, 404, "not found")
        return self._answer(request, "setlist", self.setlist_json(performance, now))
