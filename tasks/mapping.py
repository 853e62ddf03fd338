"""Pure mappings from upstream payloads (clients' models) to storage records (models' records)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from clients.setlistfm import SfmSetlist, SfmSong, SfmVenue
from clients.spotify import SpotifyArtist
from clients.ticketmaster import TmAttraction, TmEvent, TmVenue
from models.artists import ArtistCandidate
from models.catalog import SetlistRecord, SetRecord, ShowRecord, SongRecord, VenueRecord
from models.tables import ShowStatus

__all__ = [
    "attraction_candidate",
    "setlist_record",
    "show_record",
    "show_status",
    "spotify_candidate",
    "tm_venue_record",
]

_CANCELLED = {"canceled", "cancelled"}
_POSTPONED = {"postponed"}


def show_status(status_code: str | None, local_date: date, *, today: date) -> ShowStatus:
    """Ticketmaster's status as ours: cancelled and postponed are kept as such; any other status
    (onsale, offsale, rescheduled, none) is upcoming until the date has passed."""
    code = (status_code or "").lower()
    if code in _CANCELLED:
        return ShowStatus.CANCELLED
    if code in _POSTPONED:
        return ShowStatus.POSTPONED
    return ShowStatus.COMPLETED if local_date < today else ShowStatus.UPCOMING


def attraction_candidate(attraction: TmAttraction) -> ArtistCandidate:
    image = attraction.images[0].url if attraction.images else None
    return ArtistCandidate(
        name=attraction.name,
        ticketmaster_id=attraction.id,
        spotify_id=attraction.spotify_id,
        mbid=attraction.mbid,
        image_url=image,
        ticketmaster_genres=attraction.genres or None,
        fill_only=frozenset({"image_url"}),  # Spotify's image wins where there is one
        primary="ticketmaster_id",
    )


def spotify_candidate(artist: SpotifyArtist) -> ArtistCandidate:
    images = [image.model_dump() for image in artist.images] or None
    return ArtistCandidate(
        name=artist.name,
        spotify_id=artist.id,
        image_url=artist.images[0].url if artist.images else None,
        images=images,
        genres=artist.genres or None,
        popularity=artist.popularity,
        followers=artist.followers,
    )


def tm_venue_record(venue: TmVenue) -> VenueRecord:
    return VenueRecord(
        name=venue.name or venue.id,
        ticketmaster_id=venue.id,
        city=venue.city,
        state_code=venue.state_code,
        country_code=venue.country_code,
        postal_code=venue.postal_code,
        address=venue.address,
        latitude=venue.latitude,
        longitude=venue.longitude,
        timezone=venue.timezone,
        url=venue.url,
        market_id=venue.market_ids[0] if venue.market_ids else None,
    )


def sfm_venue_record(venue: SfmVenue) -> VenueRecord | None:
    if not venue.id or not venue.name:
        return None
    return VenueRecord(
        name=venue.name,
        setlistfm_id=venue.id,
        city=venue.city,
        state_code=venue.state_code,
        country_code=venue.country_code,
        city_latitude=venue.city_latitude,
        city_longitude=venue.city_longitude,
    )


def _price_bounds(event: TmEvent) -> tuple[Decimal | None, Decimal | None, str | None]:
    minimums = [p.min for p in event.price_ranges if p.min is not None]
    maximums = [p.max for p in event.price_ranges if p.max is not None]
    currency = next((p.currency for p in event.price_ranges if p.currency), None)
    return (min(minimums) if minimums else None, max(maximums) if maximums else None, currency)


def show_record(event: TmEvent, *, artist_ids: dict[str, int], today: date) -> ShowRecord | None:
    """The show of a Ticketmaster event, or ``None`` when it has no date or no known headliner."""
    if event.local_date is None or not event.attractions:
        return None
    headliner = artist_ids.get(event.attractions[0].id)
    if not headliner:  # an attraction we do not know (0) or did not resolve
        return None
    support = tuple(artist_ids[a.id] for a in event.attractions[1:] if artist_ids.get(a.id))
    minimum, maximum, currency = _price_bounds(event)
    return ShowRecord(
        ticketmaster_id=event.id,
        artist_id=headliner,
        local_date=event.local_date,
        status=show_status(event.status_code, event.local_date, today=today),
        venue=tm_venue_record(event.venues[0]) if event.venues else None,
        name=event.name,
        local_time=event.local_time,
        starts_at=event.start_utc,
        ticket_url=event.url,
        min_price=minimum,
        max_price=maximum,
        currency=currency,
        support_artist_ids=support,
    )


def setlist_record(setlist: SfmSetlist) -> SetlistRecord:
    return SetlistRecord(
        setlistfm_id=setlist.id,
        version_id=setlist.version_id,
        event_date=setlist.event_date,
        venue=sfm_venue_record(setlist.venue) if setlist.venue is not None else None,
        tour_name=setlist.tour_name,
        info=setlist.info,
        url=setlist.url,
        last_updated=setlist.last_updated,
        sets=tuple(
            SetRecord(name=s.name, encore=s.encore, songs=_song_records(s.songs))
            for s in setlist.sets
        ),
    )


def _song_records(songs: list[SfmSong]) -> tuple[SongRecord, ...]:
    """The named songs of a set, in order (a hot loop: tens of thousands of songs per sync)."""
    records = []
    for song in songs:
        if not song.name:
            continue
        cover, guest = song.cover, song.with_artist
        records.append(
            SongRecord(
                song.name,
                song.info,
                song.tape,
                cover.name if cover else None,
                cover.mbid if cover else None,
                guest.name if guest else None,
            )
        )
    return tuple(records)
