"""The fake Spotify: tokens, bearer checks, artists, search, playlists, and the two app tiers."""

from __future__ import annotations

import base64

from tests.sandbox.conftest import BASE_URL, Harness, HarnessFactory

INVALID_CLIENT = {"error": "invalid_client", "error_description": "Invalid client"}


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def test_token_is_granted_for_the_configured_client_credentials(harness: Harness) -> None:
    response = await harness.http.post(
        "/api/token",
        data={"grant_type": "client_credentials"},
        headers={
            "Authorization": _basic("sandbox-spotify-client-id", "sandbox-spotify-client-secret")
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].startswith("BQ")
    assert harness.sandbox.token_state(body["access_token"]) == "valid"
    assert harness.sandbox.stats.count("spotify_accounts", "/api/token", 200) == 1


async def test_wrong_client_secret_is_refused_as_invalid_client(harness: Harness) -> None:
    response = await harness.http.post(
        "/api/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": _basic("sandbox-spotify-client-id", "wrong")},
    )
    assert response.status_code == 400
    assert response.json() == INVALID_CLIENT
    assert harness.sandbox.tokens_issued == 0


async def test_missing_basic_auth_is_refused_as_invalid_client(harness: Harness) -> None:
    response = await harness.http.post("/api/token", data={"grant_type": "client_credentials"})
    assert (response.status_code, response.json()) == (400, INVALID_CLIENT)


async def test_credentials_in_the_form_body_are_accepted(harness: Harness) -> None:
    response = await harness.http.post(
        "/api/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-spotify-client-id",
            "client_secret": "sandbox-spotify-client-secret",
        },
    )
    assert response.status_code == 200


async def test_token_request_without_grant_type_is_refused(harness: Harness) -> None:
    response = await harness.http.post(
        "/api/token",
        data={},
        headers={
            "Authorization": _basic("sandbox-spotify-client-id", "sandbox-spotify-client-secret")
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant_type parameter is missing",
    }


async def test_credentials_come_from_the_settings_when_given(make_harness: HarnessFactory) -> None:
    from pydantic import SecretStr

    from settings import Settings

    settings = Settings.model_construct(
        spotify_client_id=SecretStr("real-id"), spotify_client_secret=SecretStr("real-secret")
    )
    harness = await make_harness(settings=settings)
    demo = await harness.http.post(
        "/api/token",
        data={"grant_type": "client_credentials"},
        headers={
            "Authorization": _basic("sandbox-spotify-client-id", "sandbox-spotify-client-secret")
        },
    )
    real = await harness.http.post(
        "/api/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": _basic("real-id", "real-secret")},
    )
    assert (demo.status_code, real.status_code) == (400, 200)


async def test_api_call_without_token_answers_401(harness: Harness) -> None:
    artist = harness.catalog.artists[0]
    response = await harness.http.get(f"/v1/artists/{artist.spotify_id}")
    assert response.status_code == 401
    assert response.json() == {"error": {"status": 401, "message": "No token provided"}}


async def test_unknown_token_answers_401_invalid_access_token(harness: Harness) -> None:
    artist = harness.catalog.artists[0]
    response = await harness.spotify(f"/artists/{artist.spotify_id}", token="BQnotatoken")
    assert response.status_code == 401
    assert response.json() == {"error": {"status": 401, "message": "Invalid access token"}}
    assert response.headers["www-authenticate"].startswith('Bearer realm="spotify"')


async def test_token_expires_after_3600_seconds_of_sandbox_clock(harness: Harness) -> None:
    artist = harness.catalog.artists[0]
    token = await harness.token()
    harness.clock.advance(3599.5)
    assert (await harness.spotify(f"/artists/{artist.spotify_id}", token=token)).status_code == 200
    harness.clock.advance(0.5)
    expired = await harness.spotify(f"/artists/{artist.spotify_id}", token=token)
    assert expired.status_code == 401
    assert expired.json() == {"error": {"status": 401, "message": "The access token expired"}}


async def test_artist_has_every_field_on_the_extended_tier(harness: Harness) -> None:
    artist = harness.catalog.artists[0]
    response = await harness.spotify(f"/artists/{artist.spotify_id}")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist.spotify_id}"},
        "followers": {"href": None, "total": artist.base_followers},
        "genres": list(artist.spotify_genres),
        "href": f"{BASE_URL}/v1/artists/{artist.spotify_id}",
        "id": artist.spotify_id,
        "images": body["images"],
        "name": artist.name,
        "popularity": artist.base_popularity,
        "type": "artist",
        "uri": f"spotify:artist:{artist.spotify_id}",
    }
    assert [(i["height"], i["width"]) for i in body["images"]] == [
        (640, 640),
        (320, 320),
        (160, 160),
    ]


async def test_followers_grow_as_the_sandbox_calendar_moves(harness: Harness) -> None:
    artist = max(harness.catalog.artists, key=lambda a: a.daily_growth if a.on_spotify else -1)
    harness.sandbox.advance(days=30)
    body = (await harness.spotify(f"/artists/{artist.spotify_id}")).json()
    assert body["followers"]["total"] == artist.followers_on(30) > artist.base_followers


async def test_malformed_artist_id_answers_400_and_unknown_id_404(harness: Harness) -> None:
    token = await harness.token()
    bad = await harness.spotify("/artists/not-an-id", token=token)
    unknown = await harness.spotify("/artists/0000000000000000000000", token=token)
    assert (bad.status_code, bad.json()) == (
        400,
        {"error": {"status": 400, "message": "invalid id"}},
    )
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"error": {"status": 404, "message": "non existing id"}},
    )


async def test_several_artists_keep_order_and_answer_null_for_unknown_ids(
    harness: Harness,
) -> None:
    first, second = [a for a in harness.catalog.artists if a.spotify_id][:2]
    ids = f"{second.spotify_id},0000000000000000000000,{first.spotify_id}"
    response = await harness.spotify("/artists", params={"ids": ids})
    assert response.status_code == 200
    artists = response.json()["artists"]
    assert [a["id"] if a else None for a in artists] == [second.spotify_id, None, first.spotify_id]


async def test_more_than_50_ids_answers_400(harness: Harness) -> None:
    ids = ",".join(a.spotify_id for a in harness.catalog.artists if a.spotify_id)
    response = await harness.spotify("/artists", params={"ids": ids})
    assert response.status_code == 400
    assert response.json() == {"error": {"status": 400, "message": "Too many ids requested"}}


async def test_search_finds_an_artist_by_name_exact_match_first(harness: Harness) -> None:
    artist = harness.catalog.artists[0]
    response = await harness.spotify(
        "/search", params={"q": artist.name.upper(), "type": "artist", "limit": 5}
    )
    assert response.status_code == 200
    page = response.json()["artists"]
    assert page["items"][0]["id"] == artist.spotify_id
    assert page["limit"] == 5
    assert page["offset"] == 0


async def test_search_pages_with_next_links_until_the_total(harness: Harness) -> None:
    params = {"q": "the", "type": "artist", "limit": 7}
    first = (await harness.spotify("/search", params=params)).json()["artists"]
    total = first["total"]
    assert total > 7
    assert first["next"] == f"{BASE_URL}/v1/search?query=the&type=artist&offset=7&limit=7"
    assert first["previous"] is None
    last_offset = (total - 1) // 7 * 7
    last = (await harness.spotify("/search", params={**params, "offset": last_offset})).json()
    assert last["artists"]["next"] is None
    assert len(last["artists"]["items"]) == total - last_offset


async def test_search_with_a_genre_filter_keeps_only_that_genre(harness: Harness) -> None:
    artist = harness.catalog.artists[0]
    genre = artist.spotify_genres[0]
    response = await harness.spotify(
        "/search", params={"q": f'genre:"{genre}"', "type": "artist", "limit": 50}
    )
    items = response.json()["artists"]["items"]
    assert artist.spotify_id in [i["id"] for i in items]
    assert all(genre in i["genres"] for i in items)


async def test_search_errors_have_spotify_messages(harness: Harness) -> None:
    token = await harness.token()
    cases = {
        (("type", "artist"),): "No search query",
        (("q", "x"),): "Missing parameter type",
        (("q", "x"), ("type", "artist"), ("limit", "51")): "Invalid limit",
        (("q", "x"), ("type", "artist"), ("offset", "1001")): "Invalid offset",
    }
    for params, message in cases.items():
        response = await harness.spotify("/search", params=dict(params), token=token)
        assert (response.status_code, response.json()) == (
            400,
            {"error": {"status": 400, "message": message}},
        )


async def test_top_tracks_are_the_artists_best_known_songs(harness: Harness) -> None:
    artist = harness.catalog.artists[0]
    response = await harness.spotify(f"/artists/{artist.spotify_id}/top-tracks")
    tracks = response.json()["tracks"]
    assert [t["name"] for t in tracks] == list(harness.catalog.songs(artist)[:10])
    assert all(t["artists"][0]["id"] == artist.spotify_id for t in tracks)


async def test_playlist_items_carry_item_and_track_and_page_with_next(harness: Harness) -> None:
    playlist = harness.catalog.playlists[0]
    response = await harness.spotify(f"/playlists/{playlist.id}/items", params={"limit": 50})
    body = response.json()
    assert response.status_code == 200
    assert body["total"] == 54
    assert len(body["items"]) == 50
    assert body["items"][0]["item"] == body["items"][0]["track"]
    assert body["next"] == f"{BASE_URL}/v1/playlists/{playlist.id}/items?offset=50&limit=50"
    rest = await harness.spotify(
        f"/playlists/{playlist.id}/items", params={"offset": 50, "limit": 50}
    )
    assert len(rest.json()["items"]) == 4
    assert rest.json()["next"] is None


async def test_playlist_tracks_have_no_item_key(harness: Harness) -> None:
    playlist = harness.catalog.playlists[1]
    body = (await harness.spotify(f"/playlists/{playlist.id}/tracks")).json()
    assert body["limit"] == 100
    assert len(body["items"]) == body["total"] == 59
    assert "item" not in body["items"][0]
    track, added_at = playlist.tracks[0]
    assert body["items"][0]["track"]["id"] == track.id
    assert body["items"][0]["added_at"] == added_at.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_unknown_playlist_answers_404(harness: Harness) -> None:
    response = await harness.spotify("/playlists/0000000000000000000000/items")
    assert response.status_code == 404
    assert response.json() == {"error": {"status": 404, "message": "Resource not found"}}


# --- development mode -----------------------------------------------------------------------------


async def test_development_tier_drops_popularity_followers_and_genres(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(spotify_tier="development")
    artist = harness.catalog.artists[0]
    body = (await harness.spotify(f"/artists/{artist.spotify_id}")).json()
    assert sorted(body) == ["external_urls", "href", "id", "images", "name", "type", "uri"]


async def test_development_tier_refuses_batch_artists_top_tracks_and_tracks_with_403(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(spotify_tier="development")
    token = await harness.token()
    artist = harness.catalog.artists[0]
    playlist = harness.catalog.playlists[0]
    forbidden = {"error": {"status": 403, "message": "Forbidden"}}
    for path, params in (
        ("/artists", {"ids": artist.spotify_id}),
        (f"/artists/{artist.spotify_id}/top-tracks", None),
        (f"/playlists/{playlist.id}/tracks", None),
    ):
        response = await harness.spotify(path, params=params, token=token)
        assert (response.status_code, response.json()) == (403, forbidden), path


async def test_development_tier_serves_items_only_for_the_developers_own_playlist(
    make_harness: HarnessFactory,
) -> None:
    harness = await make_harness(spotify_tier="development")
    token = await harness.token()
    own, others, editorial, _ = harness.catalog.playlists
    assert (await harness.spotify(f"/playlists/{own.id}/items", token=token)).status_code == 200
    assert (await harness.spotify(f"/playlists/{others.id}/items", token=token)).status_code == 403
    assert (
        await harness.spotify(f"/playlists/{editorial.id}/items", token=token)
    ).status_code == 404


async def test_development_tier_caps_search_limit_at_10(make_harness: HarnessFactory) -> None:
    harness = await make_harness(spotify_tier="development")
    token = await harness.token()
    ten = await harness.spotify(
        "/search", params={"q": "a", "type": "artist", "limit": 10}, token=token
    )
    eleven = await harness.spotify(
        "/search", params={"q": "a", "type": "artist", "limit": 11}, token=token
    )
    default = await harness.spotify("/search", params={"q": "a", "type": "artist"}, token=token)
    assert ten.status_code == 200
    assert default.json()["artists"]["limit"] == 10
    assert (eleven.status_code, eleven.json()) == (
        400,
        {"error": {"status": 400, "message": "Invalid limit"}},
    )
