"""Spotify Web API client: client-credentials token, artist search and lookup, playlist artists.

Development-mode apps lose endpoints and fields (see docs/upstream-apis.md); the client degrades,
records what it found missing in ``capabilities`` and says so in ``degradation_notes()``.
"""

from __future__ import annotations

import asyncio
import base64
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any, Final, Unpack
from urllib.parse import quote

import httpx
from pydantic import Field, StringConstraints, model_validator

from clients._base import (
    BaseClient,
    Image,
    Payload,
    TransportOptions,
    client_transport,
    nested,
    transport_options,
)
from clients._bounds import Followers, GenreName, HttpUrl, Name, Popularity, SpotifyId
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
    EndpointUnavailable,
    MalformedRecord,
    NotFound,
    QuotaExhausted,
    UpstreamError,
)
from clients.ratelimit import SPOTIFY, RateLimiter

if TYPE_CHECKING:
    from settings import Settings

__all__ = [
    "Image",
    "SpotifyArtist",
    "SpotifyArtistRef",
    "SpotifyCapabilities",
    "SpotifyClient",
    "spotify_error_in_body",
    "spotify_error_info",
    "token_error_info",
]

SEARCH_LIMIT_MAX: Final = 10  # development-mode maximum (was 50)
BATCH_SIZE: Final = 50
PLAYLIST_PAGE_SIZE: Final = 50
MAX_PLAYLIST_PAGES: Final = 200  # 10,000 entries, the playlist maximum
TOKEN_RENEW_MARGIN: Final = 60.0  # renew when fewer seconds remain (as spotipy does)
PROBE_QUERY: Final = "the"
_TOKEN: Final = re.compile(r"^[\x21-\x7e]{1,2048}$")  # printable ASCII, fit for a header
MAX_LIST: Final = 50  # images and genres of one artist


def _flatten_external_url(data: Any) -> Any:
    if isinstance(data, dict) and "url" not in data:
        url = nested(data, "external_urls", "spotify")
        if url is not None:
            data = {**data, "url": url}
    return data


SpotifyUri = Annotated[str, StringConstraints(pattern=r"^spotify:artist:[0-9A-Za-z]{22}$")]


class SpotifyArtistRef(Payload):
    """An artist as named inside a track (the simplified artist object)."""

    id: SpotifyId
    name: Name
    uri: SpotifyUri | None = None
    url: HttpUrl | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_payload(cls, data: Any) -> Any:
        return _flatten_external_url(data)


class SpotifyArtist(Payload):
    """A full artist object. Only ``id`` and ``name`` are guaranteed on every app tier."""

    id: SpotifyId
    name: Name
    uri: SpotifyUri | None = None
    url: HttpUrl | None = None
    images: list[Image] = Field(default_factory=list, max_length=MAX_LIST)
    genres: list[GenreName] | None = Field(default=None, max_length=MAX_LIST)
    popularity: Popularity | None = None
    followers: Followers | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_payload(cls, data: Any) -> Any:
        data = _flatten_external_url(data)
        if isinstance(data, dict):
            followers = data.get("followers")
            if isinstance(followers, dict):
                data = {**data, "followers": followers.get("total")}
            if data.get("images") is None and "images" in data:
                data = {**data, "images": []}
        return data


@dataclass(frozen=True, slots=True)
class SpotifyCapabilities:
    """What this app may use; None = not learnt yet."""

    batch_artists: bool | None = None
    playlists: bool | None = None
    popularity_fields: bool | None = None


def _spotify_error(body: Any) -> tuple[str, str | None]:
    error = nested(body, "error")
    if isinstance(error, dict):
        message = error.get("message")
        reason = error.get("reason")
        return (
            str(message) if message else "no message",
            str(reason) if reason else None,
        )
    return "no message", None


def spotify_error_info(status: int, body: Any) -> ErrorInfo:
    """Spotify's ``{"error": {"status", "message", "reason"?}}`` answers."""
    message, reason = _spotify_error(body)
    if status == 429 and reason == "QUOTA_EXCEEDED":
        return ErrorInfo(QuotaExhausted, message, reason)
    kinds: dict[int, type[UpstreamError]] = {
        400: BadRequest,
        401: AuthError,
        403: EndpointUnavailable,
        404: NotFound,
    }
    return ErrorInfo(kinds.get(status, UpstreamError), message, reason)


def token_error_info(status: int, body: Any) -> ErrorInfo:
    """The token endpoint's ``{error, error_description}``: a 4xx other than 429 is an AuthError."""
    error = nested(body, "error")
    description = nested(body, "error_description")
    code = str(error) if isinstance(error, str) and error else None
    message = str(description) if description else (code or "token request refused")
    if status == 429 or status >= 500:
        return ErrorInfo(UpstreamError, message, code)
    return ErrorInfo(AuthError, f"token request refused: {message}", code, retryable=False)


def spotify_error_in_body(body: Any) -> bool:
    """Spotify's ``{"error": ...}`` object (API or token endpoint) instead of a payload."""
    return isinstance(body, dict) and "error" in body


class _Bearer:
    """The access token as the transport's ``Authenticator``: a refused token (401) is
    forgotten, and the one retry asks for a fresh one."""

    def __init__(self, client: SpotifyClient) -> None:
        self._client = client

    async def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {await self._client._access_token()}"}

    def refused(self, headers: Mapping[str, str]) -> None:
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        self._client._forget_token(token)


class SpotifyClient(BaseClient):
    """The Spotify Web API with client-credentials auth."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        api_url: str,
        accounts_url: str,
        **options: Unpack[TransportOptions],
    ) -> None:
        if not client_id or not client_secret:
            raise AuthError("Spotify client id and secret are required", api=SPOTIFY)
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        super().__init__(
            client_transport(
                SPOTIFY,
                spotify_error_info,
                [client_id, client_secret, basic],
                options,
                body_error=spotify_error_in_body,
            )
        )
        self._api_url = api_url
        self._token_url = join_url(accounts_url, "api/token")
        self._basic = basic
        self._token: str | None = None
        self._token_renew_at = 0.0
        self._token_lock = asyncio.Lock()
        self._capabilities = SpotifyCapabilities()
        self._playlist_items_refused = False
        self._bearer = _Bearer(self)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> SpotifyClient:
        """A client from the settings; without ``limiter``, the product caps apply in-process."""
        if settings.spotify_client_id is None or settings.spotify_client_secret is None:
            raise AuthError(
                "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET are not configured", api=SPOTIFY
            )
        return cls(
            client_id=settings.spotify_client_id.get_secret_value(),
            client_secret=settings.spotify_client_secret.get_secret_value(),
            api_url=settings.spotify_api_url,
            accounts_url=settings.spotify_accounts_url,
            **transport_options(settings, http=http, limiter=limiter, clock=clock, rng=rng),
        )

    # capabilities ------------------------------------------------------------------------------

    @property
    def capabilities(self) -> SpotifyCapabilities:
        return self._capabilities

    def degradation_notes(self) -> list[str]:
        """One sentence per capability found missing, for the run summary."""
        notes = []
        if self._capabilities.popularity_fields is False:
            notes.append("Spotify app in development mode: popularity and followers unavailable")
        if self._capabilities.batch_artists is False:
            notes.append(
                "Spotify batch artist lookup (GET /artists?ids=) unavailable: "
                "artists fetched one by one"
            )
        if self._capabilities.playlists is False:
            notes.append(
                "Spotify playlist items unavailable to this app: playlist discovery skipped"
            )
        return notes

    async def probe(self, *, playlist_id: str | None = None) -> SpotifyCapabilities:
        """Learn the capabilities cheaply: one search, one batch lookup, one playlist page."""
        artists = await self.search_artists(PROBE_QUERY, limit=1)
        if artists and self._capabilities.batch_artists is None:
            await self._fetch_batch([artists[0].id])
        if playlist_id is not None and self._capabilities.playlists is None:
            await self._playlist_refs(playlist_id, max_pages=1)
        return self._capabilities

    def _learn(self, **changes: bool) -> None:
        current = self._capabilities
        updated = replace(current, **changes)
        if updated != current:
            self._capabilities = updated
            self._transport.logger.info("spotify capabilities: %s", updated)

    def _learn_popularity(self, payloads: Iterable[Any]) -> None:
        for payload in payloads:
            if not isinstance(payload, dict):
                continue
            present = "popularity" in payload and "followers" in payload
            if not present:
                self._learn(popularity_fields=False)
                return
            if self._capabilities.popularity_fields is None:
                self._learn(popularity_fields=True)

    # token ---------------------------------------------------------------------------------------

    async def _access_token(self) -> str:
        clock = self._transport.clock
        token = self._token
        if token is not None and clock.now() < self._token_renew_at:
            return token
        async with self._token_lock:
            if self._token is not None and clock.now() < self._token_renew_at:
                return self._token
            asked_at = clock.now()
            reply = await self._transport.request(
                "POST",
                self._token_url,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {self._basic}"},
                error_mapper=token_error_info,
            )
            access_token = nested(reply.body, "access_token")
            expires_in = nested(reply.body, "expires_in")
            if not isinstance(access_token, str) or not _TOKEN.match(access_token):
                raise AuthError(
                    "token answer without access_token", api=SPOTIFY, status=reply.status
                )
            self._transport.add_secret(access_token)
            lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
            self._token = access_token
            self._token_renew_at = asked_at + lifetime - min(TOKEN_RENEW_MARGIN, lifetime / 2)
            return access_token

    def _forget_token(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def _get(self, url: str, *, params: Params | None = None) -> Reply:
        return await self._transport.request("GET", url, params=params, auth=self._bearer)

    # artists -------------------------------------------------------------------------------------

    async def search_artists(
        self, query: str, *, limit: int = 10, offset: int = 0
    ) -> list[SpotifyArtist]:
        """``GET /search?type=artist``; ``limit`` clamped to 1..10 (the development-mode cap)."""
        if not query.strip():
            raise ValueError("search query must not be empty")
        params: dict[str, str | int] = {
            "q": query,
            "type": "artist",
            "limit": max(1, min(SEARCH_LIMIT_MAX, limit)),
        }
        if offset > 0:
            params["offset"] = offset
        reply = await self._get(join_url(self._api_url, "search"), params=params)
        items = nested(reply.body, "artists", "items")
        artists, _ = self._validate_items("artist", items, SpotifyArtist)
        if isinstance(items, list):
            self._learn_popularity(items)
        return artists

    async def get_artist(self, artist_id: str) -> SpotifyArtist | None:
        """``GET /artists/{id}``; None for a non-existing (404) or invalid (400) id."""
        if not artist_id:
            raise ValueError("artist id must not be empty")
        url = join_url(self._api_url, f"artists/{quote(artist_id, safe='')}")
        try:
            reply = await self._get(url)
        except (NotFound, BadRequest):
            return None
        self._learn_popularity([reply.body])
        return self._validate_one("artist", reply.body, SpotifyArtist, key=artist_id)

    async def get_artists(self, ids: Sequence[str]) -> list[SpotifyArtist]:
        """Artists by id (batches of 50, or one by one once the batch endpoint is refused).

        Unknown ids are left out; duplicates are asked once.
        """
        unique = list(dict.fromkeys(artist_id for artist_id in ids if artist_id))
        found: list[SpotifyArtist] = []
        for start in range(0, len(unique), BATCH_SIZE):
            batch = unique[start : start + BATCH_SIZE]
            fetched = None
            if self._capabilities.batch_artists is not False:
                fetched = await self._fetch_batch(batch)
            if fetched is None:
                fetched = await self._fetch_one_by_one(batch)
            found.extend(fetched)
        return found

    async def _fetch_batch(self, batch: Sequence[str]) -> list[SpotifyArtist] | None:
        """``GET /artists?ids=``; None when refused (capability recorded) or invalid (400)."""
        url = join_url(self._api_url, "artists")
        try:
            reply = await self._get(url, params={"ids": ",".join(batch)})
        except (EndpointUnavailable, NotFound) as exc:
            self._transport.logger.warning(
                "spotify: batch artist endpoint refused (HTTP %s); "
                "falling back to one request per artist",
                exc.status,
            )
            self._learn(batch_artists=False)
            return None
        except BadRequest:
            self._transport.logger.warning(
                "spotify: batch of %d artist ids refused as invalid; asking one by one",
                len(batch),
            )
            return None
        self._learn(batch_artists=True)
        items = nested(reply.body, "artists")
        if isinstance(items, list):
            items = [item for item in items if item is not None]
            self._learn_popularity(items)
        artists, _ = self._validate_items("artist", items, SpotifyArtist)
        return artists

    async def _fetch_one_by_one(self, batch: Sequence[str]) -> list[SpotifyArtist]:
        found = []
        for artist_id in batch:
            try:
                artist = await self.get_artist(artist_id)
            except MalformedRecord:
                continue
            if artist is not None:
                found.append(artist)
        return found

    # playlists -----------------------------------------------------------------------------------

    async def playlist_artists(self, playlist_id: str) -> list[SpotifyArtistRef]:
        """Every artist credited on a playlist's tracks, in order of first appearance.

        ``/playlists/{id}/items`` first, ``/tracks`` when refused; [] when both are refused.
        """
        refs = await self._playlist_refs(playlist_id, max_pages=MAX_PLAYLIST_PAGES)
        return refs if refs is not None else []

    async def _playlist_refs(
        self, playlist_id: str, *, max_pages: int
    ) -> list[SpotifyArtistRef] | None:
        if not playlist_id:
            raise ValueError("playlist id must not be empty")
        endpoints = ["tracks"] if self._playlist_items_refused else ["items", "tracks"]
        for endpoint in endpoints:
            url = join_url(self._api_url, f"playlists/{quote(playlist_id, safe='')}/{endpoint}")
            try:
                refs = await self._playlist_pages(url, max_pages=max_pages)
            except (EndpointUnavailable, NotFound) as exc:
                self._transport.logger.warning(
                    "spotify: playlist %s endpoint refused (HTTP %s)", endpoint, exc.status
                )
                continue
            if endpoint == "tracks" and "items" in endpoints:
                self._playlist_items_refused = True
            self._learn(playlists=True)
            return refs
        self._learn(playlists=False)
        return None

    async def _playlist_pages(self, url: str, *, max_pages: int) -> list[SpotifyArtistRef]:
        refs: dict[str, SpotifyArtistRef] = {}
        next_url: str | None = url
        params: Params | None = {"limit": PLAYLIST_PAGE_SIZE}
        pages = 0
        while next_url is not None and pages < max_pages:
            reply = await self._get(next_url, params=params)
            pages += 1
            for ref in self._refs_of_page(reply.body):
                refs.setdefault(ref.id, ref)
            following = nested(reply.body, "next")
            next_url = following if isinstance(following, str) and following else None
            if next_url is not None and not next_url.startswith(self._api_url.rstrip("/") + "/"):
                # Our bearer token goes wherever ``next`` points: only to the API itself.
                self._malformed(
                    "playlist page", url, ["next: points outside the API"], {"next": next_url}
                )
                next_url = None
            params = None  # ``next`` carries its own query
        return list(refs.values())

    def _refs_of_page(self, body: Any) -> list[SpotifyArtistRef]:
        entries = nested(body, "items")
        if not isinstance(entries, list):
            return []
        raw_artists: list[Any] = []
        for entry in entries:
            track = nested(entry, "item")
            if track is None:
                track = nested(entry, "track")
            if (
                not isinstance(track, dict)
                or track.get("is_local")
                or track.get("type") == "episode"
            ):
                continue
            artists = track.get("artists")
            if isinstance(artists, list):
                raw_artists.extend(
                    artist
                    for artist in artists
                    if not (isinstance(artist, dict) and artist.get("id") is None)
                )
        refs, _ = self._validate_items("artist ref", raw_artists, SpotifyArtistRef)
        return refs
