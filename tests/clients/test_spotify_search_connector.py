"""The master sync's Spotify name search (``tasks.upstream.search_spotify_artist``) asks once
more with the connector spelled the other way when no result has the name: Ticketmaster writes
"Maya Marlowe and The Foxes" for the artist Spotify calls "Maya Marlowe & The Foxes", and a
search matches words. Exact requests against respx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from clients.clock import VirtualClock
from tasks.deps import Upstream
from tasks.upstream import other_connector, search_spotify_artist
from tests.clients.conftest import SPOTIFY_API, load
from tests.clients.test_spotify import TOKEN_URL, make_client


def _artist(spotify_id: str, name: str) -> dict[str, Any]:
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{spotify_id}"},
        "followers": {"href": None, "total": 1200},
        "genres": ["indie folk"],
        "href": f"https://api.spotify.com/v1/artists/{spotify_id}",
        "id": spotify_id,
        "images": [],
        "name": name,
        "popularity": 40,
        "type": "artist",
        "uri": f"spotify:artist:{spotify_id}",
    }


def _page(query: str, *artists: dict[str, Any]) -> dict[str, Any]:
    return {
        "artists": {
            "href": f"https://api.spotify.com/v1/search?offset=0&limit=10&query={query}&type=artist",
            "items": list(artists),
            "limit": 10,
            "next": None,
            "offset": 0,
            "previous": None,
            "total": len(artists),
        }
    }


FOXES = _artist("1a2B3c4D5e6F7g8H9i0JkL", "Maya Marlowe & The Foxes")
OTHER = _artist("0OdUWJ0sBjDrqHygGUXeCF", "Maya Marlowe")


@pytest.fixture
def upstream(router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock) -> Upstream:
    router.post(TOKEN_URL).respond(200, json=load("spotify_token.json"))
    return Upstream(spotify=make_client(http, clock))


def _queries(route: respx.Route) -> list[tuple[str, str, str]]:
    return [
        (c.request.url.params["q"], c.request.url.params["type"], c.request.url.params["limit"])
        for c in route.calls
    ]


async def test_no_result_of_the_name_asks_again_with_the_other_connector(
    router: respx.MockRouter, upstream: Upstream
) -> None:
    search = router.get(f"{SPOTIFY_API}/search").mock(
        side_effect=[
            httpx.Response(200, json=_page("Maya+Marlowe+and+The+Foxes", OTHER)),
            httpx.Response(200, json=_page("Maya+Marlowe+%26+The+Foxes", FOXES, OTHER)),
        ]
    )

    found = await search_spotify_artist(upstream, "Maya Marlowe and The Foxes")

    assert [a.name for a in found] == ["Maya Marlowe", "Maya Marlowe & The Foxes"]
    assert _queries(search) == [
        ("Maya Marlowe and The Foxes", "artist", "10"),
        ("Maya Marlowe & The Foxes", "artist", "10"),
    ]
    assert str(search.calls[1].request.url) == (
        f"{SPOTIFY_API}/search?q=Maya+Marlowe+%26+The+Foxes&type=artist&limit=10"
    )


async def test_a_result_of_the_name_is_enough(router: respx.MockRouter, upstream: Upstream) -> None:
    search = router.get(f"{SPOTIFY_API}/search").respond(
        200, json=_page("Maya+Marlowe+%26+The+Foxes", FOXES)
    )

    found = await search_spotify_artist(upstream, "Maya Marlowe & The Foxes")

    assert [a.id for a in found] == [FOXES["id"]]
    assert _queries(search) == [("Maya Marlowe & The Foxes", "artist", "10")]


async def test_a_name_without_a_connector_is_searched_once(
    router: respx.MockRouter, upstream: Upstream
) -> None:
    search = router.get(f"{SPOTIFY_API}/search").respond(200, json=_page("Sandy+Andrews"))

    assert await search_spotify_artist(upstream, "Sandy Andrews") == []
    assert _queries(search) == [("Sandy Andrews", "artist", "10")]


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("Maya Marlowe and The Foxes", "Maya Marlowe & The Foxes"),
        ("Caleb Brennan & The Mirrors", "Caleb Brennan and The Mirrors"),
        ("Earth, Wind AND Fire", "Earth, Wind & Fire"),
        ("Sandy Andrews", None),
        ("Band&Co", None),
    ],
)
def test_the_other_connector(name: str, other: str | None) -> None:
    assert other_connector(name) == other
