"""The fake Spotify Web API: client-credentials tokens, search, artists, top tracks, playlists.

Two app tiers as in docs/upstream-apis.md: ``extended`` serves everything; ``development``
refuses ``/artists?ids=``, top tracks and ``/playlists/{id}/tracks`` (403), refuses
``/playlists/{id}/items`` for playlists the app's user does not own (403; editorial playlists
404), drops ``popularity``, ``followers`` and ``genres``, and caps the search ``limit`` at 10.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from datetime import datetime
from functools import lru_cache
from typing import Any, Final
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import Response

from sandbox.catalog import Artist, Playlist, Track
from sandbox.core import SPOTIFY_ACCOUNTS
from sandbox.limits import Refusal
from sandbox.surface import Endpoint, Surface, json_response

__all__ = ["SpotifySurface", "fold"]

_ID: Final = re.compile(r"^[0-9A-Za-z]{22}$")
_FILTER: Final = re.compile(r'(\w+):("[^"]*"|\S+)')
MAX_BATCH: Final = 50
MAX_OFFSET: Final = 1000
DEVELOPER_USER: Final = "sandbox-developer"
_IMAGE_SIZES: Final = (
    ("ab6761610000e5eb", 640),
    ("ab67616100005174", 320),
    ("ab6761610000f178", 160),
)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case- and accent-insensitive form for matching search queries."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str, *, reason: str | None = None) -> Response:
    error: dict[str, Any] = {"status": status, "message": message}
    if reason is not None:
        error["reason"] = reason
    return json_response({"error": error}, status)


def _int_param(request: Request, name: str, default: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


class SpotifySurface(Surface):
    api = "spotify"

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "POST",
                "/api/token",
                self.token,
                api=SPOTIFY_ACCOUNTS,
                capped=False,
                authenticated=False,
                token_endpoint=True,
            ),
            Endpoint("GET", "/v1/search", self.search),
            Endpoint("GET", "/v1/artists", self.several_artists),
            Endpoint("GET", "/v1/artists/{id}", self.artist),
            Endpoint("GET", "/v1/artists/{id}/top-tracks", self.top_tracks),
            Endpoint("GET", "/v1/playlists/{id}/items", self.playlist_items),
            Endpoint("GET", "/v1/playlists/{id}/tracks", self.playlist_tracks),
        ]

    @property
    def extended(self) -> bool:
        return self.sandbox.config.spotify_tier == "extended"

    # policy ---------------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not token.strip():
            return _error(401, "No token provided")
        state = self.sandbox.token_state(token.strip())
        if state == "valid":
            return None
        message = "The access token expired" if state == "expired" else "Invalid access token"
        response = _error(401, message)
        response.headers["www-authenticate"] = (
            f'Bearer realm="spotify", error="invalid_token", error_description="{message}"'
        )
        return response

    def refused(self, request: Request, refusal: Refusal) -> Response:
        if refusal.reason == "quota":
            response = _error(429, "Too many requests", reason="QUOTA_EXCEEDED")
        else:
            response = _error(429, "API rate limit exceeded")
        response.headers["retry-after"] = refusal.retry_after_header
        return response

    def server_error(self, request: Request, status: int) -> Response:
        return _error(status, "Server error." if status == 500 else "Service unavailable")

    # token ----------------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("latin-1")).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            client_id, _, client_secret = decoded.partition(":")
        config = self.sandbox.config
        if client_id != config.credential("spotify_client_id") or client_secret != (
            config.credential("spotify_client_secret")
        ):
            return json_response(
                {"error": "invalid_client", "error_description": "Invalid client"}, 400
            )
        grant = form.get("grant_type")
        if grant is None:
            return json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type parameter is missing",
                },
                400,
            )
        if grant != "client_credentials":
            return json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": (
                        "grant_type must be client_credentials, authorization_code or refresh_token"
                    ),
                },
                400,
            )
        return json_response(
            {
                "access_token": self.sandbox.issue_token(),
                "token_type": "bearer",
                "expires_in": round(config.token_ttl_seconds),
            }
        )

    # rendering ------------------------------------------------------------------------------------

    @staticmethod
    def _base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + "/v1"

    def _images(self, key: str) -> list[dict[str, Any]]:
        return [
            {"url": f"https://i.scdn.co/image/{prefix}{key[:24]}", "height": size, "width": size}
            for prefix, size in _IMAGE_SIZES
        ]

    def _artist_ref(self, artist: Artist, base: str) -> dict[str, Any]:
        spotify_id = artist.spotify_id or ""
        return {
            "external_urls": {"spotify": f"https://open.spotify.com/artist/{spotify_id}"},
            "href": f"{base}/artists/{spotify_id}",
            "id": spotify_id,
            "name": artist.name,
            "type": "artist",
            "uri": f"spotify:artist:{spotify_id}",
        }

    def artist_json(self, artist: Artist, base: str) -> dict[str, Any]:
        body = self._artist_ref(artist, base)
        body["images"] = self._images(artist.image_key)
        if self.extended:
            day = self.sandbox.catalog.day_offset(self.sandbox.now())
            body["followers"] = {"href": None, "total": artist.followers_on(day)}
            body["genres"] = list(artist.spotify_genres)
            body["popularity"] = artist.popularity_on(day)
        return dict(sorted(body.items()))

    def track_json(self, track: Track, base: str) -> dict[str, Any]:
        artists = [self._artist_ref(a, base) for a in track.artists]
        album = {
            "album_type": "album",
            "artists": artists[:1],
            "external_urls": {"spotify": f"https://open.spotify.com/album/{track.album_id}"},
            "href": f"{base}/albums/{track.album_id}",
            "id": track.album_id,
            "images": self._images(track.album_id.encode().hex()),
            "name": track.album_name,
            "release_date": f"{track.album_year}-05-{1 + track.song_index % 28:02d}",
            "release_date_precision": "day",
            "total_tracks": 10,
            "type": "album",
            "uri": f"spotify:album:{track.album_id}",
        }
        body: dict[str, Any] = {
            "album": album,
            "artists": artists,
            "disc_number": 1,
            "duration_ms": track.duration_ms,
            "explicit": track.explicit,
            "external_ids": {"isrc": f"US{track.id[:3].upper()}{track.album_year % 100:02d}"},
            "external_urls": {"spotify": f"https://open.spotify.com/track/{track.id}"},
            "href": f"{base}/tracks/{track.id}",
            "id": track.id,
            "is_local": False,
            "name": track.title,
            "preview_url": None,
            "track_number": track.song_index % 10 + 1,
            "type": "track",
            "uri": f"spotify:track:{track.id}",
        }
        if self.extended:
            body["popularity"] = track.popularity
        return body

    @staticmethod
    def _paging(
        *,
        href: str,
        items: list[Any],
        limit: int,
        offset: int,
        total: int,
        extra: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        def link(at: int) -> str:
            query = dict(extra or {})
            query.update({"offset": str(at), "limit": str(limit)})
            return f"{href}?{urlencode(query)}"

        return {
            "href": link(offset),
            "items": items,
            "limit": limit,
            "next": link(offset + limit) if offset + limit < total else None,
            "offset": offset,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "total": total,
        }

    # search ---------------------------------------------------------------------------------------

    async def search(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        if not query:
            return _error(400, "No search query")
        types = [t.strip() for t in request.query_params.get("type", "").split(",") if t.strip()]
        if not types:
            return _error(400, "Missing parameter type")
        known = {"album", "artist", "playlist", "track", "show", "episode", "audiobook"}
        if any(t not in known for t in types):
            return _error(400, "Bad search type field")
        max_limit = 50 if self.extended else 10
        limit = _int_param(request, "limit", min(20, max_limit))
        if limit is None or not 1 <= limit <= max_limit:
            return _error(400, "Invalid limit")
        offset = _int_param(request, "offset", 0)
        if offset is None or not 0 <= offset <= MAX_OFFSET:
            return _error(400, "Invalid offset")
        base = self._base(request)
        body: dict[str, Any] = {}
        for kind in types:
            matches = self._search_artists(query) if kind == "artist" else []
            page = matches[offset : offset + limit]
            body[f"{kind}s"] = self._paging(
                href=f"{base}/search",
                items=[self.artist_json(a, base) for a in page],
                limit=limit,
                offset=offset,
                total=len(matches),
                extra={"query": query, "type": kind},
            )
        return json_response(body)

    def _search_artists(self, query: str) -> list[Artist]:
        genre: str | None = None
        words: list[str] = []
        for field, value in _FILTER.findall(query):
            if field == "genre":
                genre = fold(value.strip('"'))
            elif field == "artist":
                words.extend(value.strip('"').split())
        words.extend(_FILTER.sub(" ", query).replace('"', " ").split())
        tokens = [fold(word) for word in words if word.strip()]
        matched: list[tuple[int, int, int, Artist]] = []
        for artist in self.sandbox.catalog.artists:
            if not artist.on_spotify:
                continue
            name = fold(artist.name)
            if not all(token in name for token in tokens):
                continue
            if genre is not None and genre not in (fold(g) for g in artist.spotify_genres):
                continue
            phrase = " ".join(tokens)
            rank = 0 if name == phrase else 1 if name.startswith(phrase) else 2
            matched.append((rank, -artist.base_popularity, artist.index, artist))
        matched.sort(key=lambda row: row[:3])
        return [row[3] for row in matched]

    # artists --------------------------------------------------------------------------------------

    def _lookup(self, spotify_id: str) -> Artist | Response:
        if not _ID.match(spotify_id):
            return _error(400, "invalid id")
        artist = self.sandbox.catalog.artist_by_spotify_id.get(spotify_id)
        if artist is None:
            return _error(404, "non existing id")
        return artist

    async def artist(self, request: Request) -> Response:
        found = self._lookup(request.path_params["id"])
        if isinstance(found, Response):
            return found
        return json_response(self.artist_json(found, self._base(request)))

    async def several_artists(self, request: Request) -> Response:
        if not self.extended:
            return _error(403, "Forbidden")
        raw = request.query_params.get("ids", "")
        ids = [part for part in raw.split(",")] if raw else []
        if not ids:
            return _error(400, "invalid id")
        if len(ids) > MAX_BATCH:
            return _error(400, "Too many ids requested")
        if any(not _ID.match(spotify_id) for spotify_id in ids):
            return _error(400, "invalid id")
        base = self._base(request)
        catalog = self.sandbox.catalog
        artists = [catalog.artist_by_spotify_id.get(spotify_id) for spotify_id in ids]
        return json_response(
            {"artists": [self.artist_json(a, base) if a is not None else None for a in artists]}
        )

    async def top_tracks(self, request: Request) -> Response:
        if not self.extended:
            return _error(403, "Forbidden")
        found = self._lookup(request.path_params["id"])
        if isinstance(found, Response):
            return found
        base = self._base(request)
        tracks = self.sandbox.catalog.top_tracks(found)
        return json_response({"tracks": [self.track_json(t, base) for t in tracks]})

    # playlists ------------------------------------------------------------------------------------

    def _playlist(self, playlist_id: str) -> Playlist | Response:
        if not _ID.match(playlist_id):
            return _error(400, "Invalid base62 id")
        playlist = self.sandbox.catalog.playlist_by_id.get(playlist_id)
        if playlist is None or (not self.extended and playlist.owner == "spotify"):
            return _error(404, "Resource not found")
        return playlist

    async def playlist_items(self, request: Request) -> Response:
        found = self._playlist(request.path_params["id"])
        if isinstance(found, Response):
            return found
        if not self.extended and found.owner != "developer":
            return _error(403, "Forbidden")
        return self._playlist_page(request, found, entry_key="item", max_limit=50, default=20)

    async def playlist_tracks(self, request: Request) -> Response:
        if not self.extended:
            return _error(403, "Forbidden")
        found = self._playlist(request.path_params["id"])
        if isinstance(found, Response):
            return found
        return self._playlist_page(request, found, entry_key=None, max_limit=100, default=100)

    def _playlist_page(
        self,
        request: Request,
        playlist: Playlist,
        *,
        entry_key: str | None,
        max_limit: int,
        default: int,
    ) -> Response:
        limit = _int_param(request, "limit", default)
        if limit is None or not 1 <= limit <= max_limit:
            return _error(400, "Invalid limit")
        offset = _int_param(request, "offset", 0)
        if offset is None or offset < 0:
            return _error(400, "Invalid offset")
        base = self._base(request)
        owner = DEVELOPER_USER if playlist.owner == "developer" else playlist.owner
        items = []
        for track, added_at in playlist.tracks[offset : offset + limit]:
            rendered = self.track_json(track, base)
            entry: dict[str, Any] = {
                "added_at": _iso(added_at),
                "added_by": {"id": owner, "type": "user", "uri": f"spotify:user:{owner}"},
                "is_local": False,
                "track": rendered,
            }
            if entry_key is not None:
                entry[entry_key] = rendered
            items.append(entry)
        endpoint = "items" if entry_key is not None else "tracks"
        return json_response(
            self._paging(
                href=f"{base}/playlists/{playlist.id}/{endpoint}",
                items=items,
                limit=limit,
                offset=offset,
                total=len(playlist.tracks),
            )
        )
