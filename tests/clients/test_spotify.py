from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from clients.clock import VirtualClock
from clients.errors import AuthError, QuotaExhausted, RetriesExhausted, UpstreamError
from clients.spotify import (
    Image,
    SpotifyArtist,
    SpotifyArtistRef,
    SpotifyCapabilities,
    SpotifyClient,
)
from settings import Settings
from tests.clients.conftest import (
    SPOTIFY_ACCOUNTS,
    SPOTIFY_API,
    SPOTIFY_CLIENT_ID,
    SPOTIFY_CLIENT_SECRET,
    MaxJitter,
    RecordingLimiter,
    assert_no_secret,
    load,
)

TOKEN_URL = f"{SPOTIFY_ACCOUNTS}/api/token"
PLAYLIST = "37i9dQZF1DXcBWIGoYBM5M"
BASIC = base64.b64encode(f"{SPOTIFY_CLIENT_ID}:{SPOTIFY_CLIENT_SECRET}".encode()).decode()

RADIOHEAD = SpotifyArtist(
    id="4Z8W4fKeB5YxbusRsdQVPb",
    name="Radiohead",
    uri="spotify:artist:4Z8W4fKeB5YxbusRsdQVPb",
    url="https://open.spotify.com/artist/4Z8W4fKeB5YxbusRsdQVPb",
    images=[
        Image(
            url="https://i.scdn.co/image/ab6761610000e5eba03696716c9ee605006047fd",
            height=640,
            width=640,
        )
    ],
    genres=["alternative rock", "art rock"],
    popularity=79,
    followers=12500000,
)


def make_client(
    http: httpx.AsyncClient, clock: VirtualClock, limiter: RecordingLimiter | None = None
) -> SpotifyClient:
    return SpotifyClient(
        client_id=SPOTIFY_CLIENT_ID,
        client_secret=SPOTIFY_CLIENT_SECRET,
        api_url=SPOTIFY_API,
        accounts_url=SPOTIFY_ACCOUNTS,
        http=http,
        limiter=limiter,
        clock=clock,
        rng=MaxJitter(),
    )


def token(value: str, expires_in: int = 3600) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": value, "token_type": "bearer", "expires_in": expires_in}
    )


AAA, BBB, CCC = "a" * 22, "b" * 22, "c" * 22


def sid(number: int) -> str:
    """A Spotify id (22 base62 characters) numbered ``number``."""
    return f"id{number:03d}".ljust(22, "Z")


def artist_payload(artist_id: str) -> dict[str, Any]:
    return {
        "id": artist_id,
        "name": f"Artist {artist_id}",
        "uri": f"spotify:artist:{artist_id}",
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
        "images": [],
    }


def single_artist_or(status: int, failing_id: str) -> Callable[..., httpx.Response]:
    """A ``GET /artists/{id}`` answer: the artist, or ``status`` for ``failing_id``."""
    errors = {400: "spotify_error_400_invalid_id.json", 404: "spotify_error_404.json"}

    def answer(request: httpx.Request, artist_id: str) -> httpx.Response:
        if artist_id == failing_id:
            return httpx.Response(status, json=load(errors[status]))
        return httpx.Response(200, json=artist_payload(artist_id))

    return answer


@pytest.fixture
def token_route(router: respx.MockRouter) -> respx.Route:
    return router.post(TOKEN_URL).respond(200, json=load("spotify_token.json"))


# --- token -------------------------------------------------------------------------------------


async def test_token_is_requested_once_with_basic_auth_and_reused_for_many_calls(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    search = router.get(f"{SPOTIFY_API}/search").respond(
        200, json=load("spotify_search_artists.json")
    )
    client = make_client(http, clock)
    for _ in range(3):
        await client.search_artists("band")

    assert token_route.call_count == 1
    sent = token_route.calls.last.request
    assert sent.method == "POST"
    assert str(sent.url) == "https://accounts.spotify.com/api/token"
    assert sent.headers["Authorization"] == f"Basic {BASIC}"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.content == b"grant_type=client_credentials"
    assert search.call_count == 3
    for call in search.calls:
        assert call.request.headers["Authorization"] == "Bearer BQD-access-token-one"


async def test_token_is_renewed_when_fewer_than_60_seconds_remain(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    tokens = router.post(TOKEN_URL).mock(side_effect=[token("first"), token("second")])
    artist = router.get(f"{SPOTIFY_API}/artists/4Z8W4fKeB5YxbusRsdQVPb").respond(
        200, json=load("spotify_artist.json")
    )
    client = make_client(http, clock)

    await client.get_artist("4Z8W4fKeB5YxbusRsdQVPb")
    clock.advance(3539.0)  # 61 s of validity left: still cached
    await client.get_artist("4Z8W4fKeB5YxbusRsdQVPb")
    assert tokens.call_count == 1
    clock.advance(1.0)  # 60 s left: renewed
    await client.get_artist("4Z8W4fKeB5YxbusRsdQVPb")

    assert tokens.call_count == 2
    bearers = [call.request.headers["Authorization"] for call in artist.calls]
    assert bearers == ["Bearer first", "Bearer first", "Bearer second"]


async def test_concurrent_first_calls_share_one_token_request(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    artist = router.get(f"{SPOTIFY_API}/artists/4Z8W4fKeB5YxbusRsdQVPb").respond(
        200, json=load("spotify_artist.json")
    )
    client = make_client(http, clock)
    found = await asyncio.gather(*(client.get_artist("4Z8W4fKeB5YxbusRsdQVPb") for _ in range(5)))
    assert found == [RADIOHEAD] * 5
    assert token_route.call_count == 1
    assert artist.call_count == 5


async def test_a_401_renews_the_token_once_and_retries_the_request_once(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    tokens = router.post(TOKEN_URL).mock(side_effect=[token("stale"), token("fresh")])
    artist = router.get(f"{SPOTIFY_API}/artists/4Z8W4fKeB5YxbusRsdQVPb").mock(
        side_effect=[
            httpx.Response(401, json=load("spotify_error_401.json")),
            httpx.Response(200, json=load("spotify_artist.json")),
        ]
    )
    client = make_client(http, clock)

    assert await client.get_artist("4Z8W4fKeB5YxbusRsdQVPb") == RADIOHEAD
    assert tokens.call_count == 2
    bearers = [call.request.headers["Authorization"] for call in artist.calls]
    assert bearers == ["Bearer stale", "Bearer fresh"]
    assert clock.sleeps == []


async def test_a_second_401_after_renewal_raises_auth_error(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    tokens = router.post(TOKEN_URL).mock(side_effect=[token("one"), token("two"), token("x")])
    artist = router.get(f"{SPOTIFY_API}/artists/4Z8W4fKeB5YxbusRsdQVPb").respond(
        401, json=load("spotify_error_401.json")
    )
    client = make_client(http, clock)

    with pytest.raises(AuthError) as caught:
        await client.get_artist("4Z8W4fKeB5YxbusRsdQVPb")
    assert caught.value.status == 401
    assert caught.value.api == "spotify"
    assert tokens.call_count == 2
    assert artist.call_count == 2


async def test_refused_credentials_raise_auth_error_without_retry_or_secret(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
) -> None:
    tokens = router.post(TOKEN_URL).respond(400, json=load("spotify_token_error.json"))
    client = make_client(http, clock)

    with pytest.raises(AuthError) as caught:
        await client.search_artists("band")
    assert str(caught.value) == (
        "spotify: HTTP 400 from POST https://accounts.spotify.com/api/token: "
        "token request refused: Invalid client secret"
    )
    assert caught.value.code == "invalid_client"
    assert tokens.call_count == 1
    assert_no_secret(client_logs, caught.value, caught.value.url)
    assert BASIC not in str(caught.value)


async def test_token_answer_without_access_token_is_an_auth_error(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.post(TOKEN_URL).respond(200, json={"token_type": "bearer"})
    client = make_client(http, clock)
    with pytest.raises(AuthError, match="without access_token"):
        await client.get_artist("4Z8W4fKeB5YxbusRsdQVPb")


def test_missing_credentials_are_refused_at_construction() -> None:
    with pytest.raises(AuthError, match="SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET"):
        SpotifyClient.from_settings(Settings())


# --- search and lookup -------------------------------------------------------------------------


async def test_search_artists_sends_type_artist_clamps_limit_and_parses_artists(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    search = router.get(f"{SPOTIFY_API}/search").respond(
        200, json=load("spotify_search_artists.json")
    )
    client = make_client(http, clock)

    artists = await client.search_artists("band of", limit=50)

    sent = search.calls.last.request
    assert sent.method == "GET"
    assert sent.url.copy_with(query=None) == httpx.URL("https://api.spotify.com/v1/search")
    assert sent.url.params.multi_items() == [("q", "band of"), ("type", "artist"), ("limit", "10")]
    assert artists == [
        SpotifyArtist(
            id="0OdUWJ0sBjDrqHygGUXeCF",
            name="Band of Horses",
            uri="spotify:artist:0OdUWJ0sBjDrqHygGUXeCF",
            url="https://open.spotify.com/artist/0OdUWJ0sBjDrqHygGUXeCF",
            images=[
                Image(url="https://i.scdn.co/image/ab6761610000e5eb0f0f0f", height=640, width=640),
                Image(url="https://i.scdn.co/image/ab676161000051740f0f0f", height=160, width=160),
            ],
            genres=["indie folk", "chamber pop"],
            popularity=61,
            followers=2345678,
        ),
        SpotifyArtist(
            id="7Ln80lUS6He07XvHI8qqHH",
            name="The Band Camino",
            uri="spotify:artist:7Ln80lUS6He07XvHI8qqHH",
            url="https://open.spotify.com/artist/7Ln80lUS6He07XvHI8qqHH",
            images=[],
            genres=[],
            popularity=48,
            followers=30123,
        ),
    ]
    assert client.capabilities.popularity_fields is True
    assert client.degradation_notes() == []


async def test_search_offset_is_sent_only_when_asked(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    search = router.get(f"{SPOTIFY_API}/search").respond(
        200, json=load("spotify_search_artists.json")
    )
    client = make_client(http, clock)
    await client.search_artists("band", limit=0, offset=20)
    assert search.calls.last.request.url.params.multi_items() == [
        ("q", "band"),
        ("type", "artist"),
        ("limit", "1"),
        ("offset", "20"),
    ]
    with pytest.raises(ValueError, match="empty"):
        await client.search_artists("  ")


async def test_dev_mode_artists_lack_popularity_and_a_malformed_one_is_isolated(
    router: respx.MockRouter,
    token_route: respx.Route,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
) -> None:
    router.get(f"{SPOTIFY_API}/search").respond(
        200, json=load("spotify_search_artists_dev_mode.json")
    )
    client = make_client(http, clock)

    artists = await client.search_artists("band")

    assert [artist.id for artist in artists] == ["0OdUWJ0sBjDrqHygGUXeCF"]
    assert artists[0].popularity is None
    assert artists[0].followers is None
    assert artists[0].genres is None
    [bad] = client.malformed_records
    assert (bad.api, bad.kind, bad.key) == ("spotify", "artist", "3bad0000000000000000aa")
    assert bad.errors == ["name: Field required"]
    assert bad.excerpt.startswith('{"external_urls": {"spotify": ')
    assert client.stats.malformed_records == 1
    warnings = [r.getMessage() for r in client_logs.records if r.levelname == "WARNING"]
    assert warnings == [
        "spotify artist 3bad0000000000000000aa: malformed record: name: Field required"
    ]
    assert client.capabilities == SpotifyCapabilities(popularity_fields=False)
    assert client.degradation_notes() == [
        "Spotify app in development mode: popularity and followers unavailable"
    ]


async def test_get_artist_parses_one_artist(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(f"{SPOTIFY_API}/artists/4Z8W4fKeB5YxbusRsdQVPb").respond(
        200, json=load("spotify_artist.json")
    )
    client = make_client(http, clock)
    assert await client.get_artist("4Z8W4fKeB5YxbusRsdQVPb") == RADIOHEAD
    assert str(route.calls.last.request.url) == (
        "https://api.spotify.com/v1/artists/4Z8W4fKeB5YxbusRsdQVPb"
    )


@pytest.mark.parametrize(
    ("status", "fixture"),
    [(404, "spotify_error_404.json"), (400, "spotify_error_400_invalid_id.json")],
)
async def test_get_artist_returns_none_for_unknown_or_invalid_ids(
    router: respx.MockRouter,
    token_route: respx.Route,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    status: int,
    fixture: str,
) -> None:
    route = router.get(f"{SPOTIFY_API}/artists/nope").respond(status, json=load(fixture))
    client = make_client(http, clock)
    assert await client.get_artist("nope") is None
    assert route.call_count == 1


# --- batch artists -----------------------------------------------------------------------------


async def test_get_artists_asks_in_batches_of_50_and_skips_unknown_ids(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["ids"].split(",")
        return httpx.Response(
            200,
            json={"artists": [None if i.endswith("x") else artist_payload(i) for i in ids]},
        )

    batch = router.get(f"{SPOTIFY_API}/artists").mock(side_effect=answer)
    client = make_client(http, clock)
    ids = [sid(n) for n in range(119)] + ["unknownx", sid(0)]

    artists = await client.get_artists(ids)

    sent = [call.request.url.params["ids"].split(",") for call in batch.calls]
    assert [len(batch_ids) for batch_ids in sent] == [50, 50, 20]
    assert sent[2][-1] == "unknownx"
    assert [artist.id for artist in artists] == [sid(n) for n in range(119)]
    assert client.capabilities.batch_artists is True


async def test_get_artists_parses_the_documented_batch_answer(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    route = router.get(f"{SPOTIFY_API}/artists").respond(
        200, json=load("spotify_artists_batch.json")
    )
    client = make_client(http, clock)
    artists = await client.get_artists(["4Z8W4fKeB5YxbusRsdQVPb", "gone", "0OdUWJ0sBjDrqHygGUXeCF"])
    assert route.calls.last.request.url.params.multi_items() == [
        ("ids", "4Z8W4fKeB5YxbusRsdQVPb,gone,0OdUWJ0sBjDrqHygGUXeCF")
    ]
    assert [(a.name, a.popularity, a.followers) for a in artists] == [
        ("Radiohead", 79, 12500000),
        ("Band of Horses", 61, 2345678),
    ]


async def test_refused_batch_endpoint_falls_back_to_single_lookups_and_is_never_asked_again(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    batch = router.get(f"{SPOTIFY_API}/artists").respond(403, json=load("spotify_error_403.json"))
    single = router.get(url__regex=rf"^{SPOTIFY_API}/artists/(?P<artist_id>\w+)$").mock(
        side_effect=single_artist_or(404, "gone")
    )
    client = make_client(http, clock)

    first = await client.get_artists([AAA, "gone", BBB])
    second = await client.get_artists([CCC])

    assert [artist.id for artist in first] == [AAA, BBB]
    assert [artist.id for artist in second] == [CCC]
    assert batch.call_count == 1
    assert [str(call.request.url) for call in single.calls] == [
        f"{SPOTIFY_API}/artists/{AAA}",
        f"{SPOTIFY_API}/artists/gone",
        f"{SPOTIFY_API}/artists/{BBB}",
        f"{SPOTIFY_API}/artists/{CCC}",
    ]
    assert client.capabilities.batch_artists is False
    assert client.degradation_notes() == [
        "Spotify app in development mode: popularity and followers unavailable",
        "Spotify batch artist lookup (GET /artists?ids=) unavailable: artists fetched one by one",
    ]


async def test_a_batch_refused_as_invalid_is_asked_one_by_one_without_losing_the_capability(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.get(f"{SPOTIFY_API}/artists").respond(
        400, json=load("spotify_error_400_invalid_id.json")
    )
    single = router.get(url__regex=rf"^{SPOTIFY_API}/artists/(?P<artist_id>\w+)$").mock(
        side_effect=single_artist_or(400, "bad")
    )
    client = make_client(http, clock)
    artists = await client.get_artists([AAA, "bad"])
    assert [artist.id for artist in artists] == [AAA]
    assert single.call_count == 2
    assert client.capabilities.batch_artists is None


# --- playlists ---------------------------------------------------------------------------------


async def test_playlist_artists_follow_next_and_read_item_or_track_entries(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    items = router.get(f"{SPOTIFY_API}/playlists/{PLAYLIST}/items").mock(
        side_effect=[
            httpx.Response(200, json=load("spotify_playlist_items_page1.json")),
            httpx.Response(200, json=load("spotify_playlist_items_page2.json")),
        ]
    )
    client = make_client(http, clock)

    refs = await client.playlist_artists(PLAYLIST)

    assert [str(call.request.url) for call in items.calls] == [
        f"{SPOTIFY_API}/playlists/{PLAYLIST}/items?limit=50",
        f"{SPOTIFY_API}/playlists/{PLAYLIST}/items?offset=50&limit=50",
    ]
    assert refs == [
        SpotifyArtistRef(
            id="0SwO7SWeDHJijQ3XNS7xEE",
            name="MGMT",
            uri="spotify:artist:0SwO7SWeDHJijQ3XNS7xEE",
            url="https://open.spotify.com/artist/0SwO7SWeDHJijQ3XNS7xEE",
        ),
        SpotifyArtistRef(
            id="4Z8W4fKeB5YxbusRsdQVPb",
            name="Radiohead",
            uri="spotify:artist:4Z8W4fKeB5YxbusRsdQVPb",
            url="https://open.spotify.com/artist/4Z8W4fKeB5YxbusRsdQVPb",
        ),
        SpotifyArtistRef(
            id="0C0XlULifJtAgn6ZNCW2eu",
            name="The Killers",
            uri="spotify:artist:0C0XlULifJtAgn6ZNCW2eu",
            url="https://open.spotify.com/artist/0C0XlULifJtAgn6ZNCW2eu",
        ),
    ]
    assert client.capabilities.playlists is True
    assert client.malformed_records == []


async def test_refused_playlist_items_fall_back_to_tracks_and_remember_it(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    items = router.get(f"{SPOTIFY_API}/playlists/{PLAYLIST}/items").respond(
        403, json=load("spotify_error_403.json")
    )
    tracks = router.get(f"{SPOTIFY_API}/playlists/{PLAYLIST}/tracks").respond(
        200, json=load("spotify_playlist_tracks.json")
    )
    client = make_client(http, clock)

    first = await client.playlist_artists(PLAYLIST)
    second = await client.playlist_artists(PLAYLIST)

    assert [ref.name for ref in first] == ["The Killers"]
    assert second == first
    assert items.call_count == 1
    assert tracks.call_count == 2
    assert str(tracks.calls.last.request.url) == (
        f"{SPOTIFY_API}/playlists/{PLAYLIST}/tracks?limit=50"
    )
    assert client.capabilities.playlists is True


async def test_playlist_refused_on_both_endpoints_gives_no_artists_and_a_note(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    items = router.get(f"{SPOTIFY_API}/playlists/{PLAYLIST}/items").respond(
        403, json=load("spotify_error_403.json")
    )
    tracks = router.get(f"{SPOTIFY_API}/playlists/{PLAYLIST}/tracks").respond(
        404, json=load("spotify_error_404.json")
    )
    client = make_client(http, clock)

    assert await client.playlist_artists(PLAYLIST) == []
    assert (items.call_count, tracks.call_count) == (1, 1)
    assert client.capabilities.playlists is False
    assert client.degradation_notes() == [
        "Spotify playlist items unavailable to this app: playlist discovery skipped"
    ]


async def test_probe_learns_every_capability_with_three_cheap_requests(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    search = router.get(f"{SPOTIFY_API}/search").respond(
        200, json=load("spotify_search_artists_dev_mode.json")
    )
    batch = router.get(f"{SPOTIFY_API}/artists").respond(403, json=load("spotify_error_403.json"))
    items = router.get(f"{SPOTIFY_API}/playlists/{PLAYLIST}/items").respond(
        200, json=load("spotify_playlist_items_page2.json")
    )
    client = make_client(http, clock)
    assert client.capabilities == SpotifyCapabilities()

    capabilities = await client.probe(playlist_id=PLAYLIST)

    assert capabilities == SpotifyCapabilities(
        batch_artists=False, playlists=True, popularity_fields=False
    )
    assert search.calls.last.request.url.params.multi_items() == [
        ("q", "the"),
        ("type", "artist"),
        ("limit", "1"),
    ]
    assert batch.calls.last.request.url.params["ids"] == "0OdUWJ0sBjDrqHygGUXeCF"
    assert (search.call_count, batch.call_count, items.call_count) == (1, 1, 1)
    assert client.degradation_notes() == [
        "Spotify app in development mode: popularity and followers unavailable",
        "Spotify batch artist lookup (GET /artists?ids=) unavailable: artists fetched one by one",
    ]


# --- limits ------------------------------------------------------------------------------------


async def test_quota_exceeded_stops_the_client_for_good(
    router: respx.MockRouter,
    token_route: respx.Route,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    limiter: RecordingLimiter,
) -> None:
    search = router.get(f"{SPOTIFY_API}/search").respond(
        429, json=load("spotify_error_429_quota.json"), headers={"Retry-After": "86400"}
    )
    client = make_client(http, clock, limiter)

    with pytest.raises(QuotaExhausted) as first:
        await client.search_artists("band")
    assert first.value.code == "QUOTA_EXCEEDED"
    assert first.value.status == 429
    acquired = len(limiter.calls)
    with pytest.raises(QuotaExhausted):
        await client.search_artists("band")
    with pytest.raises(QuotaExhausted):
        await client.get_artist("4Z8W4fKeB5YxbusRsdQVPb")

    assert search.call_count == 1
    assert len(limiter.calls) == acquired == 2  # token + the one search
    assert clock.sleeps == []


async def test_rate_limited_429_waits_exactly_retry_after_then_succeeds(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    search = router.get(f"{SPOTIFY_API}/search").mock(
        side_effect=[
            httpx.Response(429, json=load("spotify_error_429.json"), headers={"Retry-After": "7"}),
            httpx.Response(200, json=load("spotify_search_artists.json")),
        ]
    )
    client = make_client(http, clock)
    artists = await client.search_artists("band")
    assert len(artists) == 2
    assert search.call_count == 2
    assert clock.sleeps == [7.0]
    assert clock.now() == 1007.0
    assert client.stats.by_status == {200: 2, 429: 1}


async def test_client_credentials_and_access_token_never_reach_logs_or_errors(
    router: respx.MockRouter,
    http: httpx.AsyncClient,
    clock: VirtualClock,
    client_logs: pytest.LogCaptureFixture,
) -> None:
    router.post(TOKEN_URL).mock(
        return_value=token(f"tok-{SPOTIFY_CLIENT_SECRET}")  # a token echoing a secret
    )
    router.get(f"{SPOTIFY_API}/search").respond(
        503, json={"error": {"status": 503, "message": f"echo {SPOTIFY_CLIENT_ID}"}}
    )
    client = SpotifyClient(
        client_id=SPOTIFY_CLIENT_ID,
        client_secret=SPOTIFY_CLIENT_SECRET,
        api_url=SPOTIFY_API,
        accounts_url=SPOTIFY_ACCOUNTS,
        http=http,
        clock=clock,
        max_retries=1,
        rng=MaxJitter(),
    )
    with pytest.raises(RetriesExhausted) as caught:
        await client.search_artists("band")
    assert str(caught.value) == (
        "spotify: GET https://api.spotify.com/v1/search?q=band&type=artist&limit=10 failed "
        "after 2 attempts: HTTP 503 (echo ***)"
    )
    assert_no_secret(client_logs, caught.value, caught.value.args)
    assert all(f"tok-{SPOTIFY_CLIENT_SECRET}" not in r.getMessage() for r in client_logs.records)


# --- answers that cannot be trusted ------------------------------------------------------------


async def test_a_200_carrying_the_error_object_is_an_error_not_no_results(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    search = router.get(f"{SPOTIFY_API}/search").respond(
        200, json={"error": {"status": 500, "message": "Server error."}}
    )
    client = make_client(http, clock)
    with pytest.raises(UpstreamError) as caught:
        await client.search_artists("band")
    assert caught.value.status == 200
    assert str(caught.value).endswith(": Server error.")
    assert search.call_count == 1


async def test_a_token_answer_carrying_an_error_is_an_auth_error(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.post(TOKEN_URL).respond(200, json=load("spotify_token_error.json"))
    client = make_client(http, clock)
    with pytest.raises(AuthError, match="token request refused: Invalid client secret"):
        await client.search_artists("band")


async def test_a_token_unfit_for_a_header_is_refused(
    router: respx.MockRouter, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    router.post(TOKEN_URL).respond(200, json={"access_token": "BQ\r\nX-Evil: 1", "expires_in": 9})
    client = make_client(http, clock)
    with pytest.raises(AuthError, match="without access_token"):
        await client.search_artists("band")


async def test_a_next_link_outside_the_api_is_not_followed_and_is_recorded(
    router: respx.MockRouter, token_route: respx.Route, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    page = load("spotify_playlist_items_page1.json")
    page["next"] = "https://collector.example/steal?offset=50"
    items = router.get(f"{SPOTIFY_API}/playlists/{PLAYLIST}/items").respond(200, json=page)
    client = make_client(http, clock)

    refs = await client.playlist_artists(PLAYLIST)

    assert items.call_count == 1
    assert [ref.name for ref in refs][:1] == ["MGMT"]
    [record] = client.malformed_records
    assert (record.kind, record.errors) == ("playlist page", ["next: points outside the API"])
