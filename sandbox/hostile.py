"""Hostile mode: a broken upstream serving the bad values real APIs have been seen to send.

On a configurable share of records (``SandboxConfig.hostile_rate``), a record is served
corrupted, always the same way wherever it appears (the choice is a hash of the record's id,
not a draw, so a retried or repeated request sees the same world):

* ``nul_byte``: a NUL inside a name (a Ticketmaster venue's, a setlist's venue, an artist's);
* ``long_name``: a 5,000-character name;
* ``long_id``: a 200-character id;
* ``javascript_url``: a ``javascript:`` URL where a ticket, setlist or artist link goes;
* ``year_0001`` / ``year_9999``: a show or setlist dated in year 1 or 9999;
* ``huge_number``: a ticket price of 1e15, a coordinate of 1e15, 1e15 followers.

On a share of answers (``hostile_answer_rate``, by default the same; a hash of the request),
the whole answer is replaced:

* ``error_body``: a 200 carrying the API's own error object;
* ``inflated_total``: a Ticketmaster page claiming 1,000,000 results (``totalElements``, with
  the ``totalPages`` that follows) over the real records. (setlist.fm pages until its 404, so an
  inflated ``total`` costs nothing there.)

Everything served wrong is logged in ``Hostility.records`` and ``Hostility.answers`` (what the
test suite checks the flows recorded), with the good records that shared a page with a bad one
in ``Hostility.pages``. Off (rate 0) by default.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.catalog import stable_hash

__all__ = [
    "ALL_HOSTILE_KINDS",
    "ANSWER_KINDS",
    "RECORD_KINDS",
    "BadAnswer",
    "BadRecord",
    "HostileKind",
    "Hostility",
    "SharedPage",
]

HostileKind = Literal[
    "nul_byte",
    "long_name",
    "long_id",
    "javascript_url",
    "year_0001",
    "year_9999",
    "huge_number",
    "error_body",
    "inflated_total",
]
RECORD_KINDS: Final[tuple[HostileKind, ...]] = (
    "nul_byte",
    "long_name",
    "long_id",
    "javascript_url",
    "year_0001",
    "year_9999",
    "huge_number",
)
ANSWER_KINDS: Final[tuple[HostileKind, ...]] = ("error_body", "inflated_total")
ALL_HOSTILE_KINDS: Final[tuple[HostileKind, ...]] = RECORD_KINDS + ANSWER_KINDS

HUGE: Final = 1e15
INFLATED: Final = 1_000_000
JAVASCRIPT: Final = "javascript:alert(document.cookie)"
_CREDENTIALS: Final = frozenset({"apikey"})


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record served corrupted: where, which (its real id and the id as served), how."""

    api: str
    kind: str  # as the clients name it: event, setlist, artist
    key: str
    served_id: Any
    hostile: HostileKind


@dataclass(frozen=True, slots=True)
class BadAnswer:
    """A whole answer replaced: the endpoint template, the request's query, how."""

    api: str
    endpoint: str
    path: str
    query: tuple[tuple[str, str], ...]
    hostile: HostileKind


@dataclass(frozen=True, slots=True)
class SharedPage:
    """An answer that carried bad records: their keys and the good records' keys beside them."""

    api: str
    kind: str
    bad: tuple[str, ...]
    good: tuple[str, ...]


Corrupter = Callable[[dict[str, Any], HostileKind], bool]


def _set_path(record: dict[str, Any], path: tuple[str | int, ...], value: Any) -> bool:
    """Write ``value`` at ``path`` when every level up to it exists."""
    node: Any = record
    for part in path[:-1]:
        if isinstance(part, int):
            if not isinstance(node, list) or len(node) <= part:
                return False
        elif not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or len(node) <= last:
            return False
    elif not isinstance(node, dict):
        return False
    node[last] = value
    return True


def _long_id(value: Any) -> str:
    return (str(value) + "Z" * 200)[:200]


def _event(record: dict[str, Any], kind: HostileKind) -> bool:
    """A Ticketmaster event (with its embedded venue and attractions)."""
    if kind == "nul_byte":
        venues = record.get("_embedded", {}).get("venues") or [{}]
        name = venues[0].get("name") if isinstance(venues[0], dict) else None
        if isinstance(name, str):
            return _set_path(record, ("_embedded", "venues", 0, "name"), name + "\x00 Hall")
        return _set_path(record, ("name",), f"{record.get('name')}\x00")
    if kind == "long_name":
        return _set_path(record, ("_embedded", "attractions", 0, "name"), "N" * 5000) or (
            _set_path(record, ("name",), "N" * 5000)
        )
    if kind == "long_id":
        return _set_path(record, ("id",), _long_id(record.get("id")))
    if kind == "javascript_url":
        return _set_path(record, ("url",), JAVASCRIPT)
    if kind in ("year_0001", "year_9999"):
        day = "0001-01-01" if kind == "year_0001" else "9999-12-31"
        done = _set_path(record, ("dates", "start", "localDate"), day)
        if "dateTime" in record.get("dates", {}).get("start", {}):
            _set_path(record, ("dates", "start", "dateTime"), f"{day}T20:00:00Z")
        return done
    if kind == "huge_number":
        prices = [{"type": "standard", "currency": "USD", "min": HUGE, "max": HUGE}]
        return _set_path(record, ("priceRanges",), prices)
    return False


def _setlist(record: dict[str, Any], kind: HostileKind) -> bool:
    """A setlist.fm setlist (with its venue, artist and songs)."""
    if kind == "nul_byte":
        return _set_path(record, ("venue", "name"), f"{record['venue']['name']}\x00")
    if kind == "long_name":
        return _set_path(record, ("tour",), {"name": "T" * 5000})
    if kind == "long_id":
        return _set_path(record, ("id",), _long_id(record.get("id")))
    if kind == "javascript_url":
        return _set_path(record, ("url",), JAVASCRIPT)
    if kind == "year_0001":
        return _set_path(record, ("eventDate",), "01-01-0001")
    if kind == "year_9999":
        return _set_path(record, ("eventDate",), "31-12-9999")
    if kind == "huge_number":
        return _set_path(record, ("venue", "city", "coords"), {"lat": HUGE, "long": HUGE})
    return False


def _sfm_artist(record: dict[str, Any], kind: HostileKind) -> bool:
    if kind == "nul_byte":
        return _set_path(record, ("name",), f"{record.get('name')}\x00")
    if kind == "long_name":
        return _set_path(record, ("name",), "A" * 5000)
    if kind == "long_id":
        return _set_path(record, ("mbid",), _long_id(record.get("mbid")))
    if kind == "javascript_url":
        return _set_path(record, ("url",), JAVASCRIPT)
    return False


def _spotify_artist(record: dict[str, Any], kind: HostileKind) -> bool:
    if kind == "nul_byte":
        return _set_path(record, ("name",), f"{record.get('name')}\x00")
    if kind == "long_name":
        return _set_path(record, ("name",), "S" * 5000)
    if kind == "long_id":
        return _set_path(record, ("id",), _long_id(record.get("id")))
    if kind == "javascript_url":
        return _set_path(record, ("external_urls",), {"spotify": JAVASCRIPT})
    if kind == "huge_number":
        return _set_path(record, ("followers",), {"href": None, "total": int(HUGE)})
    return False


@dataclass(frozen=True, slots=True)
class _Listing:
    """Where an endpoint's records are, what they are and how they are corrupted."""

    api: str
    kind: str
    key_field: str
    path: tuple[str, ...]  # to the list; () for a single record
    corrupt: Corrupter
    applicable: tuple[HostileKind, ...]
    paged: bool = False  # a Ticketmaster page whose total can be inflated


_TM = "/discovery/v2"
_SFM = "/rest/1.0"
_ALL_RECORD: Final = RECORD_KINDS
_NO_DATES: Final[tuple[HostileKind, ...]] = ("nul_byte", "long_name", "long_id", "javascript_url")
LISTINGS: Final[dict[str, _Listing]] = {
    f"{_TM}/events.json": _Listing(
        "ticketmaster", "event", "id", ("_embedded", "events"), _event, _ALL_RECORD, paged=True
    ),
    f"{_TM}/events/{{id}}.json": _Listing("ticketmaster", "event", "id", (), _event, _ALL_RECORD),
    f"{_SFM}/artist/{{mbid}}/setlists": _Listing(
        "setlistfm", "setlist", "id", ("setlist",), _setlist, _ALL_RECORD
    ),
    f"{_SFM}/search/setlists": _Listing(
        "setlistfm", "setlist", "id", ("setlist",), _setlist, _ALL_RECORD
    ),
    f"{_SFM}/setlist/{{id}}": _Listing("setlistfm", "setlist", "id", (), _setlist, _ALL_RECORD),
    f"{_SFM}/search/artists": _Listing(
        "setlistfm", "artist", "mbid", ("artist",), _sfm_artist, _NO_DATES
    ),
    "/v1/search": _Listing(
        "spotify",
        "artist",
        "id",
        ("artists", "items"),
        _spotify_artist,
        (*_NO_DATES, "huge_number"),
    ),
    "/v1/artists": _Listing(
        "spotify", "artist", "id", ("artists",), _spotify_artist, (*_NO_DATES, "huge_number")
    ),
    "/v1/artists/{id}": _Listing(
        "spotify", "artist", "id", (), _spotify_artist, (*_NO_DATES, "huge_number")
    ),
}


def _error_object(api: str) -> dict[str, Any]:
    """Each API's own error object, as its 5xx answers carry it."""
    if api == "ticketmaster":
        return {
            "fault": {
                "faultstring": "Internal Server Error",
                "detail": {"errorcode": "messaging.runtime.InternalServerError"},
            }
        }
    if api == "spotify":
        return {"error": {"status": 500, "message": "Server error."}}
    return {
        "code": 500,
        "status": "Internal Server Error",
        "message": "Internal Server Error",
        "timestamp": "2026-03-01T00:00:00.000+0000",
    }


class Hostility:
    """Decides and applies the corruption of answers; logs what it served."""

    def __init__(
        self,
        *,
        rate: float,
        kinds: tuple[HostileKind, ...],
        seed: int,
        answer_rate: float | None = None,
    ) -> None:
        self.rate = rate
        self.answer_rate = rate if answer_rate is None else answer_rate
        self.seed = seed
        self.record_kinds = tuple(k for k in kinds if k in RECORD_KINDS)
        self.answer_kinds = tuple(k for k in kinds if k in ANSWER_KINDS)
        self.records: dict[tuple[str, str, str], BadRecord] = {}
        self.answers: list[BadAnswer] = []
        self.pages: list[SharedPage] = []

    @property
    def enabled(self) -> bool:
        return (self.rate > 0 and bool(self.record_kinds)) or (
            self.answer_rate > 0 and bool(self.answer_kinds)
        )

    def _draw(self, *parts: object) -> float:
        return (stable_hash(self.seed, "hostile", *parts) % 2**53) / 2**53

    def record_kind(self, listing: _Listing, record_id: str) -> HostileKind | None:
        """The corruption of one record, or None: the same for every answer it appears in."""
        kinds = [k for k in self.record_kinds if k in listing.applicable]
        if not kinds or self._draw(listing.api, listing.kind, record_id) >= self.rate:
            return None
        return kinds[stable_hash(self.seed, "hostile-kind", listing.api, record_id) % len(kinds)]

    def answer_kind(
        self, listing: _Listing, path: str, query: tuple[tuple[str, str], ...]
    ) -> HostileKind | None:
        kinds = [k for k in self.answer_kinds if k == "error_body" or listing.paged]
        if not kinds or self._draw("answer", path, query) >= self.answer_rate:
            return None
        return kinds[stable_hash(self.seed, "answer-kind", path, query) % len(kinds)]

    def apply(self, endpoint: str, request: Request, response: Response) -> Response:
        """The answer as the hostile upstream serves it (unchanged when it is spared)."""
        listing = LISTINGS.get(endpoint)
        if listing is None or response.status_code != 200 or not self.enabled:
            return response
        if not response.headers.get("content-type", "").startswith("application/json"):
            return response
        query = tuple(
            sorted((k, v) for k, v in request.query_params.multi_items() if k not in _CREDENTIALS)
        )
        path = request.url.path
        answer = self.answer_kind(listing, path, query)
        if answer == "error_body":
            self.answers.append(BadAnswer(listing.api, endpoint, path, query, answer))
            return self._json(response, _error_object(listing.api))
        body = json.loads(bytes(response.body))
        self._corrupt_records(listing, body)
        if answer == "inflated_total" and self._inflate(listing, body):
            self.answers.append(BadAnswer(listing.api, endpoint, path, query, answer))
        return self._json(response, body)

    def _records(self, listing: _Listing, body: Any) -> Iterator[dict[str, Any]]:
        node = body
        for part in listing.path:
            node = node.get(part) if isinstance(node, dict) else None
        items = [node] if not listing.path else node
        if isinstance(items, list):
            yield from (item for item in items if isinstance(item, dict))

    def _corrupt_records(self, listing: _Listing, body: Any) -> None:
        bad: list[str] = []
        good: list[str] = []
        for record in self._records(listing, body):
            record_id = str(record.get(listing.key_field))
            kind = self.record_kind(listing, record_id)
            if kind is None or not listing.corrupt(record, kind):
                good.append(record_id)
                continue
            bad.append(record_id)
            served = BadRecord(
                listing.api, listing.kind, record_id, record.get(listing.key_field), kind
            )
            self.records[(listing.api, listing.kind, record_id)] = served
        if bad:
            self.pages.append(SharedPage(listing.api, listing.kind, tuple(bad), tuple(good)))

    @staticmethod
    def _inflate(listing: _Listing, body: Any) -> bool:
        if listing.paged and isinstance(body.get("page"), dict):
            size = max(1, int(body["page"].get("size") or 1))
            body["page"]["totalElements"] = INFLATED
            body["page"]["totalPages"] = math.ceil(INFLATED / size)
            return True
        return False

    @staticmethod
    def _json(response: Response, body: Any) -> Response:
        headers = {
            k: v for k, v in response.headers.items() if k.lower() not in ("content-length",)
        }
        return JSONResponse(body, status_code=200, headers=headers)
